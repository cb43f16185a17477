"""In a real browser, over one server with a tiny real checkpoint and its embeddings: the Embedding Space draws its
WebGL scatter, hover shows a chapter literally, a lasso lists clips; a lasso around part of the points selects exactly
those and hands their clips to Curation, which labels exactly them; the Retrieval page answers a free-text query
(MiniLM + the checkpoint) with animated result cards; the Zero-shot page runs the checkpoint on the open dataset and
shows the stored run (metrics, per-class F1, confusion matrix)."""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import _require_browser  # the `browser` fixture comes from conftest.py too
from e2e_server import streamlit_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))  # the page tests' fixtures: dataset, checkpoint, store
SCRIPT = "<script>alert(1)</script>"


@dataclass
class ModelServer:
    """The running app and what the tests check it against: its folders and the default view's points."""

    base: str
    home: Path
    data: Path
    clip_of_point: list[str]  # per point of the Embedding Space's default view, in the page's order
    coords: np.ndarray  # (N, 2) float32: the same points' projected coordinates


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelServer]:
    """`streamlit run app.py` over a small dataset with a tiny checkpoint, its embeddings and the default view's
    projection already cached (made with a stand-in for UMAP, so the test measures the page, not UMAP)."""
    _require_browser()
    from app_helpers import make_dataset  # noqa: PLC0415
    from embedding_fixtures import fast_project, make_checkpoint, make_store  # noqa: PLC0415

    root = tmp_path_factory.mktemp("e2e_model")
    home = root / "home"
    data = make_dataset(root / "fimad", n_clips=12, n_frames=600)
    old = os.environ.get("MUJO_HOME")
    os.environ["MUJO_HOME"] = str(home)
    try:
        ckpt = make_checkpoint(home / "models" / "demo")
        store_dir = make_store(home, ckpt, data)
        clips, coords = _warm_default_view(store_dir, fast_project)
    finally:
        os.environ.pop("MUJO_HOME") if old is None else os.environ.__setitem__("MUJO_HOME", old)
    with streamlit_server({"MUJO_DATA": str(data), "MUJO_HOME": str(home)}, root) as base:
        yield ModelServer(base, home, data, clips, coords)


def _warm_default_view(store_dir: Path, project) -> tuple[list[str], np.ndarray]:
    """Cache the projection of the view the page opens on (mujo.eval.embedding_view.warm_default_view); return each
    point's clip and coordinates, in the order of the page's points."""
    import mujo.eval.projection as projection  # noqa: PLC0415
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415
    from mujo.eval.embedding_view import ViewSpec, build_points, default_space, warm_default_view  # noqa: PLC0415

    real, projection.project = projection.project, project
    try:
        store = EmbeddingStore.open(store_dir)
        coords = warm_default_view(store)
    finally:
        projection.project = real
    points = build_points(store, ViewSpec(modality=default_space(store.modalities)))
    return points.frame["clip_id"].astype(str).tolist(), np.asarray(coords, np.float32)


def _store(server: ModelServer):
    from mujo.store import Store  # noqa: PLC0415

    return Store(server.home / "mujo.sqlite")


def _page(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    page.goto(url)
    page.wait_for_selector("h1", timeout=30_000)
    return page


POINT_JS = """(needle) => {
  const gd = document.querySelector('.js-plotly-plot');
  const fl = gd._fullLayout, box = gd.getBoundingClientRect();
  let first = null, count = 0;
  for (const t of gd._fullData) {
    (t.text || []).forEach((text, i) => {
      if (text !== needle) return;
      count += 1;
      first = first || {x: box.left + fl._size.l + fl.xaxis.l2p(t.x[i]),
                        y: box.top + fl._size.t + fl.yaxis.l2p(t.y[i])};
    });
  }
  return {first, count};
}"""
# Every drawn point: trace, index in it, data coordinates and where it is on the screen (CSS pixels).
POINTS_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot'), fl = gd._fullLayout, box = gd.getBoundingClientRect();
  const points = [];
  gd._fullData.forEach((t, c) => { for (let i = 0; i < t.x.length; i++)
    points.push({c, i, x: t.x[i], y: t.y[i], t0: t.customdata ? t.customdata[i] : null,
                 px: box.left + fl._size.l + fl.xaxis.l2p(t.x[i]), py: box.top + fl._size.t + fl.yaxis.l2p(t.y[i])});
  });
  const r = gd.querySelector('.nsewdrag').getBoundingClientRect();
  return {points, box: {l: r.left, t: r.top, r: r.right, b: r.bottom}};
}"""


def _lasso(page, path: list[tuple[float, float]]) -> None:
    """Drag the plot's lasso (its default drag mode) along `path`, closing it back at the start."""
    page.mouse.move(*path[0])
    page.mouse.down()
    for x, y in [*path[1:], (path[0][0], path[0][1] + 3)]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def test_embedding_space_draws_webgl_hovers_and_selects(model_server: ModelServer, browser) -> None:
    page = _page(browser, f"{model_server.base}/Embedding_Space")
    try:
        page.wait_for_selector(".js-plotly-plot canvas", timeout=60_000)
        n_canvas = page.evaluate("document.querySelectorAll('.js-plotly-plot canvas').length")
        assert n_canvas >= 1  # scattergl draws with WebGL on canvases
        n_points = page.evaluate("document.querySelector('.js-plotly-plot')._fullData"
                                 ".reduce((n, t) => n + t.x.length, 0)")
        assert n_points == 84
        # hover a point of the clip titled <script>...: the label shows the title as text, no element is made
        found = page.evaluate(POINT_JS, "&lt;script&gt;alert(1)&lt;/script&gt;")
        from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415

        chapters = FimadDataset(model_server.data).clips["chapter"]
        assert found["count"] == sum(chapters[c] == SCRIPT for c in model_server.clip_of_point) > 0
        pt = found["first"]
        page.mouse.move(pt["x"], pt["y"])
        page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
        assert SCRIPT in page.evaluate("document.querySelector('.hoverlayer').textContent")
        assert page.evaluate("document.querySelectorAll('.hoverlayer script, .js-plotly-plot script').length") == 0
        # a lasso around the whole plot selects every point: every clip is listed
        box = page.evaluate(POINTS_JS)["box"]
        _lasso(page, [(box["l"] + 3, box["t"] + 3), (box["r"] - 3, box["t"] + 3), (box["r"] - 3, box["b"] - 3),
                      (box["l"] + 3, box["b"] - 3)])
        page.wait_for_function("() => document.body.innerText.includes('84 points selected')", timeout=30_000)
        assert "from 12 clips" in page.inner_text("body")
        assert not page.js_errors, page.js_errors
    finally:
        page.close()


def test_retrieval_answers_a_text_query(model_server: ModelServer, browser) -> None:
    page = _page(browser, f"{model_server.base}/Retrieval")
    try:
        box = page.get_by_label("Describe a movement")
        box.fill("jumping jacks")
        box.press("Enter")
        page.wait_for_selector("iframe[title^='Retrieval results']", timeout=90_000)
        frame = page.locator("iframe[title^='Retrieval results']").element_handle().content_frame()
        frame.wait_for_selector("#mujo-results[data-ready='1']", timeout=30_000)
        assert frame.evaluate("document.getElementById('mujo-results').dataset.count") == "10"
        assert frame.locator(".card").count() == 10
        # the pose thumbnails animate: the shared frame counter moves on
        f0 = int(frame.evaluate("document.getElementById('mujo-results').dataset.frame"))
        time.sleep(0.5)
        assert int(frame.evaluate("document.getElementById('mujo-results').dataset.frame")) > f0
        href = frame.locator(".card a").first.get_attribute("href")
        assert href.startswith(f"{model_server.base}/Browse?clip=clip") and "&t=" in href
        chapters = frame.locator(".card .chapter").all_inner_texts()
        assert len(chapters) == 10 and all(chapters)
        assert frame.evaluate("document.querySelectorAll('.card script').length") == 0
        assert not page.js_errors, page.js_errors
    finally:
        page.close()


# The rows of a st.dataframe, read from the accessible table the data grid keeps beside its canvas.
GRID_ROWS_JS = """(n) => [...document.querySelectorAll('[data-testid=stDataFrame]')[n].querySelectorAll('tr')]
  .map(tr => [...tr.children].map(c => c.textContent))"""


def _part_of_the_plot(points: list[dict], box: dict, clear_px: float = 8.0) -> tuple[float, float]:
    """(x, y) screen cuts such that the top-left region x < cut_x, y < cut_y holds part of the points: cut_x in the
    widest gap between points (left of it, one or more clusters), cut_y in a gap of those points near their median,
    every point at least `clear_px` from both cuts and from the plot's edges (so the lasso's outcome is not a matter of
    a pixel)."""
    xs = sorted(q["px"] for q in points)
    gap, cut_x = max((b - a, (a + b) / 2) for a, b in zip(xs, xs[1:]))
    assert gap >= 2 * clear_px, xs
    left = sorted(q["py"] for q in points if q["px"] < cut_x)
    gaps = [(a + b) / 2 for a, b in zip(left, left[1:]) if b - a >= 2 * clear_px]
    assert gaps, left
    cut_y = min(gaps, key=lambda y: abs(y - left[len(left) // 2]))
    assert all(box["l"] + clear_px < q["px"] < box["r"] - clear_px and box["t"] + clear_px < q["py"]
               < box["b"] - clear_px for q in points)
    return cut_x, cut_y


def test_partial_lasso_selects_exactly_the_points_inside_and_hands_their_clips_to_curation(
        model_server: ModelServer, browser) -> None:
    page = _page(browser, f"{model_server.base}/Embedding_Space")
    try:
        page.wait_for_selector(".js-plotly-plot canvas", timeout=60_000)
        drawn = page.evaluate(POINTS_JS)
        points, box = drawn["points"], drawn["box"]
        # which clip each drawn point belongs to: its coordinates are those of one point of the view
        xy = model_server.coords
        for q in points:
            rows = np.flatnonzero((xy[:, 0] == np.float32(q["x"])) & (xy[:, 1] == np.float32(q["y"])))
            assert len(rows) == 1, q
            q["clip"] = model_server.clip_of_point[int(rows[0])]
        assert sorted(Counter(q["clip"] for q in points).items()) == sorted(Counter(model_server.clip_of_point).items())
        cut_x, cut_y = _part_of_the_plot(points, box)
        inside = [q for q in points if q["px"] < cut_x and q["py"] < cut_y]
        per_clip, all_per_clip = Counter(q["clip"] for q in inside), Counter(q["clip"] for q in points)
        clips = set(per_clip)
        # part of the points, from part of the clips, some of them only in part: an index slip would show
        assert 0 < len(inside) < len(points) and 0 < len(clips) < len(all_per_clip)
        assert any(per_clip[c] < all_per_clip[c] for c in clips), per_clip

        _lasso(page, [(box["l"] + 3, box["t"] + 3), (cut_x, box["t"] + 3), (cut_x, cut_y), (box["l"] + 3, cut_y)])
        page.wait_for_function("() => /\\d+ points selected/.test(document.body.innerText)", timeout=30_000)
        assert f"{len(inside)} points selected, from {len(clips)} clips" in page.inner_text("body")
        # the table of selected clips: per clip, how many of its windows and the first one's time, exactly those of
        # the points inside (one point per window in this view; t0 is the point's own customdata)
        page.wait_for_function("() => document.querySelectorAll('[data-testid=stDataFrame] tr').length > 1",
                               timeout=30_000)
        header, *rows = page.evaluate(GRID_ROWS_JS, 0)
        col = {name: header.index(name) for name in ("clip", "selected windows", "first at", "Browse")}
        shown = {r[col["clip"]]: (int(r[col["selected windows"]]), r[col["first at"]]) for r in rows}
        assert shown == {c: (per_clip[c], f"{min(q['t0'] for q in inside if q['clip'] == c):.1f}") for c in clips}
        for r in rows:  # each clip's Browse link opens it at its first selected window
            assert r[col["Browse"]].endswith(f"/Browse?clip={r[col['clip']]}&t={float(r[col['first at']]):.2f}"), r

        # the hand-off: Curation offers exactly these clips for a bulk label, and labels exactly them
        page.get_by_role("button", name=f"Label these {len(clips)} clips in Curation").click()
        page.wait_for_function("() => document.body.innerText.includes('selected in the Embedding Space')",
                               timeout=60_000)
        assert "/Curation" in page.url
        body = page.inner_text("body")
        m = re.search(r"Label the (\d+) clips selected in the Embedding Space\s+([^\n]+)", body)
        assert m, body[:3000]
        assert int(m.group(1)) == len(clips) and set(m.group(2).split(", ")) == clips, m.group(0)
        annotator = page.get_by_role("textbox", name="Annotator")
        annotator.fill("Ada")
        annotator.press("Enter")
        page.get_by_text(f"Yes, label all {len(clips)} clips").click()
        run = page.get_by_role("button", name=f"Label {len(clips)} clips", exact=True)
        page.wait_for_function("(n) => [...document.querySelectorAll('button')].some("
                               "b => b.innerText.trim().endsWith(`Label ${n} clips`) && !b.disabled)",
                               arg=len(clips), timeout=30_000)
        run.click()
        page.wait_for_function(f"() => document.body.innerText.includes('Labelled {len(clips)} selected clips')",
                               timeout=30_000)
        from mujo.store import dataset_key  # noqa: PLC0415

        labels = _store(model_server).current_labels(dataset_key(model_server.data))
        assert dict(zip(labels["clip_id"], labels["label"])) == dict.fromkeys(clips, "null")
        assert set(labels["annotator"]) == {"Ada"}
        assert not page.js_errors, page.js_errors
    finally:
        page.close()


def test_zero_shot_runs_in_the_browser_and_shows_the_stored_run(model_server: ModelServer, browser) -> None:
    page = _page(browser, f"{model_server.base}/Zero_shot")
    try:
        page.get_by_text("Input modality").wait_for(timeout=60_000)
        # the open FiMAD folder as the dataset (its label column is the ground truth); registered real datasets
        # may come first in the list, depending on ../shared
        page.get_by_test_id("stSelectbox").filter(has_text="Dataset").click()
        page.get_by_role("option", name=re.compile(r"^The open FiMAD dataset")).click()
        page.wait_for_function("() => document.body.innerText.includes('Prompt templates')", timeout=60_000)
        assert _store(model_server).runs("zeroshot").empty
        page.get_by_role("button", name=re.compile(r"Run$")).click()
        page.wait_for_function("() => /\\bRun \\d+\\b/.test(document.body.innerText)", timeout=240_000)
        runs = _store(model_server).runs("zeroshot")
        assert len(runs) == 1 and runs["status"].tolist() == ["done"]
        run_id = int(runs["id"].iloc[0])
        res = _store(model_server).results(run_id)
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length === 2", timeout=30_000)
        body = page.inner_text("body")
        assert f"Run {run_id}" in body and f"{res['n_windows']} windows" in body
        # the headline metrics are the stored run's
        metrics = {m.split("\n")[0]: m.split("\n")[-1] for m in page.get_by_test_id("stMetric").all_inner_texts()}
        assert metrics == {name: f"{res['metrics'][key]:.3f}" for name, key in
                           (("Top-1", "top1"), ("Top-3", "top3"), ("Top-5", "top5"), ("Macro F1", "macro_f1"))}
        # per-class F1 bars and the confusion matrix, over the dataset's classes
        traces = page.evaluate("[...document.querySelectorAll('.js-plotly-plot')].map(g => g._fullData.map("
                               "t => ({type: t.type, x: Array.from(t.x || []), y: Array.from(t.y || []),"
                               " z: t.z ? Array.from(t.z, r => Array.from(r)) : null,"
                               " text: t.text && t.type === 'heatmap' ? Array.from(t.text, r => Array.from(r)) : null})"
                               "))")
        (bars,), (heat,) = traces
        assert bars["type"] == "bar" and heat["type"] == "heatmap"
        classes = [str(c) for c in res["classes"]]
        assert sorted(bars["y"]) == sorted(classes)
        f1 = dict(zip(bars["y"], bars["x"]))
        assert all(f1[c] == pytest.approx(v) for c, v in res["per_class_f1"].items()), (f1, res["per_class_f1"])
        assert heat["x"] == classes and heat["y"] == classes
        confusion = np.asarray(res["confusion"], float)  # counts as text, each true class's shares as colour
        assert np.asarray(heat["text"], float).tolist() == confusion.tolist()
        np.testing.assert_allclose(np.asarray(heat["z"], float),
                                   confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1), atol=1e-9)
        assert confusion.sum() == res["n_windows"]
        assert not page.js_errors, page.js_errors
    finally:
        page.close()
