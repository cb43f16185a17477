"""UMAP projection time and cached reopen time at 50,000 and 200,000 points, plus the scatter's payload.

Random clustered 128-d unit vectors in float16 (as an embedding store holds them). For each size: the projection
computed through `cached_projection` (cold: nothing cached), then the cached reopen (`lookup`, what the page does
on every rerun and in every new session), then building the WebGL figure and serialising it as Streamlit does
(`plotly.io.to_json`), with its size. umap-learn's numba kernels compile once per process; that warm-up is timed
separately first.

    python benchmarks/bench_umap.py [--sizes 50000 200000] [--dim 128] [--fit-max 10000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def clustered(n: int, dim: int, k: int = 40, seed: int = 0, noise: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """(N, dim) float16 unit rows around k centres (overlapping at this noise), and each row's cluster."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, dim))
    labels = rng.integers(0, k, n)
    v = centers[labels] + noise * rng.normal(size=(n, dim))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float16), labels


def neighbour_agreement(coords: np.ndarray, labels: np.ndarray, n: int = 2000) -> float:
    """Share of each point's 10 nearest neighbours in its own cluster (on n points); in 2-D beside the same in the
    original space, it says how faithful the layout is."""
    from mujo.eval.neighbours import exact_knn

    coords = np.asarray(coords, np.float32)
    q = np.arange(min(n, len(coords)))
    idx, _ = exact_knn(coords[q], coords, 11)
    return float((labels[idx[:, 1:]] == labels[q, None]).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000, 200_000])
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--fit-max", type=int, default=None, help="landmarks laid out by UMAP (default FIT_MAX)")
    ap.add_argument("--baseline", action="store_true",
                    help="also time plain umap-learn (pynndescent neighbours, every point laid out) at each size")
    ap.add_argument("--browser", action="store_true",
                    help="also time drawing the scatter in Debian's chromium (plotly.js, WebGL)")
    args = ap.parse_args()

    import plotly.io as pio

    from mujo.eval import projection
    from mujo.ui.embed_plot import scatter_figure

    params = {} if args.fit_max is None else {"fit_max": args.fit_max}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; vectors {args.dim}-d float16; "
          f"laid out by UMAP up to {args.fit_max or projection.FIT_MAX:,} points")
    t = time.perf_counter()
    projection.project(clustered(2000, args.dim)[0], seed=0, n_epochs=10)
    print(f"warm-up (numba compiles umap-learn's kernels, once per process): {time.perf_counter() - t:.1f} s")
    if args.baseline:
        t = time.perf_counter()
        baseline(*clustered(5000, args.dim), quiet=True)  # 5,000 > 4,096: compiles pynndescent too
        print(f"warm-up of plain umap-learn (pynndescent's kernels too): {time.perf_counter() - t:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            x, labels = clustered(n, args.dim)
            key = {"bench": True, "n": n, "dim": args.dim}
            t = time.perf_counter()
            coords = projection.cached_projection(key, lambda: x, params, cache_dir=tmp)
            cold = time.perf_counter() - t
            reopen = []
            for _ in range(5):
                t = time.perf_counter()
                hit = projection.lookup(key, params, tmp)
                reopen.append(time.perf_counter() - t)
            assert hit is not None and np.array_equal(hit, coords)
            t = time.perf_counter()
            chapters = np.array([f"chapter {i % 997} of a workout video" for i in range(n)], dtype=object)
            fig = scatter_figure(coords, labels.astype(str), chapters, np.zeros(n, np.float32)).figure
            spec = pio.to_json(fig, validate=False)
            build = time.perf_counter() - t
            size_kb = sum(p.stat().st_size for p in Path(tmp).glob("*.npy")) / 1024
            print(f"{n:>8,} points: UMAP {cold:6.1f} s (cold) | cached reopen {1e3 * np.median(reopen):6.2f} ms "
                  f"(median of 5) | figure + JSON {build:4.1f} s, {len(spec) / 1e6:.1f} MB | 10-NN cluster agreement "
                  f"2-D {neighbour_agreement(coords, labels):.2f} vs {args.dim}-d {neighbour_agreement(x, labels):.2f}"
                  f" | cache so far {size_kb:,.0f} KiB", flush=True)
            if args.browser:
                draw, zoom = browser_times(fig)
                print(f"{'':>8}  chromium: first draw {draw:.2f} s, zoom redraw {1e3 * zoom:.0f} ms", flush=True)
            if args.baseline:
                print(f"{'':>8}  plain umap-learn: {baseline(x, labels):.1f} s", flush=True)


def baseline(x: np.ndarray, labels: np.ndarray, quiet: bool = False) -> float:
    """Seconds of umap-learn's own fit_transform on every point (pynndescent neighbours, spectral start)."""
    import warnings

    import umap

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", random_state=0, low_memory=True
                        ).fit_transform(np.asarray(x, np.float32))
    seconds = time.perf_counter() - t
    if not quiet:
        print(f"{'':>8}  (plain umap-learn 10-NN agreement {neighbour_agreement(out, labels):.2f})")
    return seconds


def browser_times(fig) -> tuple[float, float]:
    """(first draw, one zoom redraw) in seconds of the figure in chromium, plotly.js inlined (no network)."""
    import plotly.io as pio
    from playwright.sync_api import sync_playwright

    html = pio.to_html(fig, include_plotlyjs=True, full_html=True, div_id="plot",
                       post_script="window.__drawn = performance.now();")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = Path(tmp) / "plot.html"
        path.write_text(html, encoding="utf-8")
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.goto(path.as_uri())
        page.wait_for_function("() => window.__drawn !== undefined", timeout=300_000)
        draw = page.evaluate("window.__drawn") / 1000  # from navigation start
        zoom = page.evaluate("""() => { const gd = document.getElementById('plot'), t = performance.now();
            return Plotly.relayout(gd, {'xaxis.range': gd._fullLayout.xaxis.range.map(v => v / 2)})
                .then(() => (performance.now() - t) / 1000); }""")
        b.close()
    return draw, zoom


if __name__ == "__main__":
    main()
