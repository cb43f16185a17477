"""The pages at FiMAD's size in a real browser (Playwright + Debian's chromium): Home, a Browse search and filter,
opening a clip, and (with a model) the Embedding Space.

    python benchmarks/bench_fimad_pages.py [--data FOLDER] [--model CHECKPOINT] [--reps 3]

`--data` defaults to a synthetic FiMAD of FiMAD's size (`mujo synth --preset fimad --no-video`: 9,740 clips in
981 videos, pose + IMU + chapter text), built once under `$MUJO_BENCH_DIR` (default ~/.cache/mujo-bench; about
6 min of CPU). Each figure is wall time from the browser's action to the page having answered (the expected text or
element is there and Streamlit's script run has ended), median and worst of `--reps`:

- Home, first visit ever (no cached validation report: the page shows its state and starts the background check),
  Home on a restarted server with the cached report, and Home reloaded (warm);
- the background validation itself (`mujo validate --cached`: all clips, then none changed);
- Browse: first open, a search (from the Enter key in the search box to the filtered table), a split filter (from
  the click on "val" in the open split list to the filtered table), opening a clip by its link (a new page load)
  and from the table in the page (a click on a row's tick box; the issue's "plays in <= 1 s");
- Embedding Space (with `--model`): the page's first answer (a cached projection or the UMAP job's progress), and
  with `--interactive-points N` the plot at up to N points: a hover label's delay and a drag-zoom's redraw;
- the reference, measured in the same run: a trivial Streamlit app (a title and a line) in a new tab, and Home's
  ratio to it.

The issue's targets: Home <= 2 s cold or warm, a Browse filter or search <= 0.5 s, a clip plays in <= 1 s, the
Embedding Space answers within 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from e2e_server import CHROMIUM, streamlit_server  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
IDLE_JS = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
TIMEOUT_MS = 180_000


def bench_dir() -> Path:
    return Path(os.environ.get("MUJO_BENCH_DIR", Path.home() / ".cache" / "mujo-bench")).expanduser()


def fimad_size_dataset() -> Path:
    """The FiMAD-size synthetic dataset, built on first use (resumable)."""
    root = bench_dir() / "fimad-synthetic"
    if not (root / "fimad.json").exists() or not (root / "clips.csv").exists():
        print(f"building a FiMAD-size dataset in {root} (mujo synth --preset fimad --no-video) ...", flush=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mujo.cli", "synth", str(root), "--preset", "fimad", "--no-video"],
                       check=True, cwd=REPO)
        print(f"built in {time.perf_counter() - t:.0f} s", flush=True)
    return root


def settle(page, ready_js: str, arg=None) -> None:
    """Wait until `ready_js` holds and no script run is in progress (twice, 100 ms apart: a rerun may follow)."""
    for _ in range(2):
        page.wait_for_function(ready_js, arg=arg, timeout=TIMEOUT_MS)
        page.wait_for_function(IDLE_JS, timeout=TIMEOUT_MS)
        page.wait_for_timeout(100)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t - 0.2  # settle's two 100 ms pauses are not the page's time


def text_js(text: str) -> str:
    return f"() => document.body.innerText.includes({text!r})"


def summary(name: str, values: list[float], target: float | None = None) -> str:
    med, worst = statistics.median(values), max(values)
    verdict = "" if target is None else ("  (target <= %.1f s: %s)" % (target, "met" if worst <= target else "NOT met"))
    return f"{name:<46} median {med:6.2f} s   worst {worst:6.2f} s   n={len(values)}{verdict}"


def home_visit(browser, base: str) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        return timed(lambda: (page.goto(f"{base}/"), settle(page, text_js("Validation"))))
    finally:
        page.close()


def browse_figures(browser, base: str, reps: int, clip_ids: list[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"Browse first open": [], "Browse search": [], "Browse split filter": [],
                                   "Browse open a clip (player ready)": [],
                                   "Browse open a clip from the table (click, player ready)": []}
    for i in range(reps):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            out["Browse first open"].append(timed(lambda: (page.goto(f"{base}/Browse"),
                                                           settle(page, text_js("select a row to open the clip")))))
            box = page.get_by_label("Search chapter, caption and description")
            word = ["squat", "lunge", "plank"][i % 3]

            box.fill(word)  # typed; the search runs on Enter: from the key to the filtered table

            def search() -> None:
                box.press("Enter")
                settle(page, "() => /[0-9,]+ of 9,?[0-9]{3} clips/.test(document.body.innerText) && "
                             "!document.body.innerText.includes('9,740 of 9,740 clips')")

            out["Browse search"].append(timed(search))
            box.fill("")
            box.press("Enter")
            settle(page, text_js("9,740 of 9,740 clips"))
            page.locator("[data-testid=stMultiSelect]").first.click()  # the split list open: from the click on "val"
            page.get_by_role("option", name="val").wait_for(timeout=TIMEOUT_MS)

            def split_filter() -> None:
                page.get_by_role("option", name="val").click()
                settle(page, "() => /[0-9,]+ of [0-9,]+ clips/.test(document.body.innerText) && "
                             "!document.body.innerText.includes('9,740 of 9,740 clips')")

            out["Browse split filter"].append(timed(split_filter))
            page.keyboard.press("Escape")
            clip = clip_ids[(i * 997) % len(clip_ids)]

            def open_clip() -> None:
                page.goto(f"{base}/Browse?clip={clip}")
                page.wait_for_selector("iframe[title^='Synchronised player']", timeout=TIMEOUT_MS)
                frame = page.locator("iframe[title^='Synchronised player']").element_handle().content_frame()
                frame.wait_for_selector("#mujo-player[data-ready='1']", timeout=TIMEOUT_MS)
                page.wait_for_timeout(200)

            out["Browse open a clip (player ready)"].append(timed(open_clip))

            def click_row() -> None:  # in the page: tick a row of the clip table, as a user does
                page.goto(f"{base}/Browse")
                settle(page, text_js("select a row to open the clip"))
                grid = page.locator("[data-testid=stDataFrame]").first
                box = grid.bounding_box()
                t = time.perf_counter()
                page.mouse.click(box["x"] + 14, box["y"] + 35 + 35 * (1 + i % 5) + 17)  # the row's tick box
                page.wait_for_selector("iframe[title^='Synchronised player']", timeout=TIMEOUT_MS)
                frame = page.locator("iframe[title^='Synchronised player']").element_handle().content_frame()
                frame.wait_for_selector("#mujo-player[data-ready='1']", timeout=TIMEOUT_MS)
                out["Browse open a clip from the table (click, player ready)"].append(time.perf_counter() - t)

            click_row()
        finally:
            page.close()
    return out


FLOOR_APP = 'import streamlit as st\nst.title("Floor")\nst.write("Validation")\n'


def floor_figure(browser, reps: int, workdir: Path) -> list[float]:
    """The reference: a trivial Streamlit app (a title and a line) in a new tab, the same way as Home: what
    Streamlit's frontend and one script run cost on this machine before any page of ours does anything."""
    app = workdir / "floor_app.py"
    app.write_text(FLOOR_APP)
    port = 8000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        page = browser.new_page()
        try:  # wait for the server, and warm it
            deadline = time.monotonic() + 60
            while True:
                try:
                    page.goto(base + "/")
                    break
                except Exception:  # noqa: BLE001  (connection refused until the server listens)
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            settle(page, text_js("Validation"))
        finally:
            page.close()
        return [home_visit(browser, base) for _ in range(reps)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def embedding_figure(browser, base: str, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            out.append(timed(lambda: (page.goto(f"{base}/Embedding_Space"),
                                      settle(page, "() => !!document.querySelector('.js-plotly-plot') || "
                                                   "/projecting|UMAP|queued|embedding/i.test(document.body.innerText)"))))
        finally:
            page.close()
    return out


POINT_PX_JS = """(k) => { const gd = document.querySelector('.js-plotly-plot');
    const t = gd._fullData.find(d => d.x && d.x.length > k) || gd._fullData[0];
    const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, r = gd.getBoundingClientRect();
    return {x: r.left + xa._offset + xa.l2p(t.x[k]), y: r.top + ya._offset + ya.l2p(t.y[k]),
            n: gd._fullData.reduce((n, d) => n + (d.x ? d.x.length : 0), 0)}; }"""
AFTERPLOT_JS = """() => { const gd = document.querySelector('.js-plotly-plot'); window.__afterplot = 0;
    gd.on('plotly_afterplot', () => { window.__afterplot = performance.now(); }); }"""


N_POINTS_JS = """() => { const gd = document.querySelector('.js-plotly-plot');
    return gd && gd._fullData ? gd._fullData.reduce((n, d) => n + (d.x ? d.x.length : 0), 0) : 0; }"""


def interaction_figures(browser, base: str, reps: int, max_points: int = 200_000,
                        umap_timeout_s: float = 1800) -> dict[str, list[float] | int]:
    """The Embedding Space's plot with up to `max_points` points (chosen in the page; a new projection is computed by
    the UMAP job first, up to `umap_timeout_s`): a hover label's delay over a point, and a drag-zoom's redraw (from
    the mouse-up to Plotly's afterplot event)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    out: dict[str, list[float] | int] = {"hover": [], "zoom": [], "points": 0}
    try:
        page.goto(f"{base}/Embedding_Space")
        settle(page, "() => !!document.querySelector('.js-plotly-plot') || "
                     "/projecting|UMAP|queued|embedding/i.test(document.body.innerText)")
        page.get_by_role("combobox", name="Max points").click()
        page.get_by_role("option", name=f"{max_points:,}").click()
        page.wait_for_function(f"() => ({N_POINTS_JS})() > {min(max_points, 20_000)}",
                               timeout=int(umap_timeout_s * 1000), polling=1000)
        settle(page, "() => !!document.querySelector('.js-plotly-plot canvas')")
        for i in range(reps):
            pt = page.evaluate(POINT_PX_JS, 1000 * (i + 1))
            out["points"] = pt["n"]
            page.mouse.move(pt["x"] + 40, pt["y"] + 40)
            page.wait_for_timeout(300)
            t = time.perf_counter()
            page.mouse.move(pt["x"], pt["y"])
            page.wait_for_selector(".hoverlayer .hovertext", timeout=TIMEOUT_MS)
            out["hover"].append(time.perf_counter() - t)
            page.mouse.move(5, 5)
            page.wait_for_timeout(300)
        page.locator(".js-plotly-plot .modebar-btn[data-title='Zoom']").first.click()  # the page's drag lassos
        for i in range(reps):
            page.evaluate(AFTERPLOT_JS)
            box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(cx - 60, cy - 60)
            page.mouse.down()
            page.mouse.move(cx + 60, cy + 60, steps=5)
            t0 = page.evaluate("performance.now()")
            page.mouse.up()
            page.wait_for_function("() => window.__afterplot > 0", timeout=TIMEOUT_MS)
            out["zoom"].append((page.evaluate("window.__afterplot") - t0) / 1000)
            page.mouse.dblclick(cx, cy)  # back to the whole view
            page.wait_for_timeout(1500)
    finally:
        page.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="a FiMAD folder (default: the FiMAD-size synthetic one)")
    ap.add_argument("--model", type=Path, default=None, help="a checkpoint folder for the Embedding Space figure")
    ap.add_argument("--home", type=Path, default=None,
                    help="MUJO_HOME to use (default: a fresh temporary one; give the one holding the model's "
                         "embeddings of --data, `mujo embed MODEL DATA`, for the Embedding Space figure)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--interactive-points", type=int, default=0,
                    help="with --model: also time hover and zoom in the Embedding Space at up to this many points "
                         "(one of the page's Max points choices, e.g. 200000; a new projection runs first)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (a benchmark; not part of the package)

    data = (args.data or fimad_size_dataset()).resolve()
    import pandas as pd  # noqa: PLC0415 (a benchmark; not part of the package)

    clip_ids = pd.read_csv(data / "clips.csv", usecols=["clip_id"], dtype=str)["clip_id"].tolist()
    print(f"dataset {data}: {len(clip_ids):,} clips", flush=True)
    lines = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        home = (args.home or Path(tmp) / "home").resolve()
        home.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(home / "cache" / "validation", ignore_errors=True)  # the first visit ever has no report
        env = {"MUJO_HOME": str(home), "MUJO_DATA": str(data)}
        if args.model:  # the server's model, as Home's model chooser would set it
            subprocess.run([sys.executable, "-c", "import sys; from mujo.models_registry import choose_model_dir; "
                            "choose_model_dir(sys.argv[1])", str(args.model.resolve())], check=True, cwd=REPO,
                           env=dict(os.environ, **env))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            with streamlit_server(env, home) as base:
                lines.append(summary("Home, first visit ever (no cached report)", [home_visit(browser, base)], 2.0))
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "mujo.cli", "validate", str(data), "--cached"], check=True,
                               cwd=REPO, env=dict(os.environ, **env), capture_output=True)
                lines.append(summary("validation in the background (all clips)", [time.perf_counter() - t]))
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "mujo.cli", "validate", str(data), "--cached"], check=True,
                               cwd=REPO, env=dict(os.environ, **env), capture_output=True)
                lines.append(summary("validation in the background (none changed)", [time.perf_counter() - t]))
            with streamlit_server(env, home) as base:
                lines.append(summary("Home, restarted server (cached report)", [home_visit(browser, base)], 2.0))
                warm = [home_visit(browser, base) for _ in range(args.reps)]
                lines.append(summary("Home, warm", warm, 2.0))
                for name, values in browse_figures(browser, base, args.reps, clip_ids).items():
                    target = {"Browse search": 0.5, "Browse split filter": 0.5,
                              "Browse open a clip from the table (click, player ready)": 1.0}.get(name)
                    lines.append(summary(name, values, target))
                if args.model:
                    lines.append(summary("Embedding Space, first answer", embedding_figure(browser, base, args.reps),
                                         2.0))
                if args.model and args.interactive_points:
                    f = interaction_figures(browser, base, args.reps, args.interactive_points)
                    lines.append(summary(f"Embedding Space, {f['points']:,} points: hover label", f["hover"]))
                    lines.append(summary(f"Embedding Space, {f['points']:,} points: drag-zoom redrawn", f["zoom"]))
            floor = floor_figure(browser, args.reps, Path(tmp))
            lines.append(summary("reference: a trivial Streamlit app, new tab", floor))
            lines.append(f"Home warm / reference: {statistics.median(warm) / statistics.median(floor):.2f}x "
                         "(the rest of the figures include the same frontend start where they open a new tab)")
        finally:
            browser.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
