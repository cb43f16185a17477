"""In a real browser: the Embedding Space draws its WebGL scatter, hover shows a chapter literally, a lasso lists
clips; the Retrieval page answers a free-text query (MiniLM + a real tiny checkpoint) with animated result cards."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_server import CHROMIUM, streamlit_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))  # the page tests' fixtures: dataset, checkpoint, store
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` over a small dataset with a tiny checkpoint, its embeddings and the default view's
    projection already cached (made with a stand-in for UMAP, so the test measures the page, not UMAP)."""
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
        _warm_default_view(store_dir, fast_project)
    finally:
        os.environ.pop("MUJO_HOME") if old is None else os.environ.__setitem__("MUJO_HOME", old)
    with streamlit_server({"MUJO_DATA": str(data), "MUJO_HOME": str(home)}, root) as base:
        yield base


def _warm_default_view(store_dir: Path, project) -> None:
    """Cache the projection of the view the page opens on (mujo.eval.embedding_view.warm_default_view)."""
    import mujo.eval.projection as projection  # noqa: PLC0415
    from mujo.eval.embed import EmbeddingStore  # noqa: PLC0415
    from mujo.eval.embedding_view import warm_default_view  # noqa: PLC0415

    real, projection.project = projection.project, project
    try:
        warm_default_view(EmbeddingStore.open(store_dir))
    finally:
        projection.project = real


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: the real-browser tests need Debian's chromium")
    pw = pytest.importorskip("playwright.sync_api")
    with pw.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking",
                                                               "--disable-component-update", "--no-first-run"])
        try:
            yield b
        finally:
            b.close()


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
  for (const t of gd._fullData) {
    const i = (t.text || []).indexOf(needle);
    if (i >= 0) return {x: box.left + fl._size.l + fl.xaxis.l2p(t.x[i]),
                        y: box.top + fl._size.t + fl.yaxis.l2p(t.y[i])};
  }
  return null;
}"""


def test_embedding_space_draws_webgl_hovers_and_selects(model_server: str, browser) -> None:
    page = _page(browser, f"{model_server}/Embedding_Space")
    try:
        page.wait_for_selector(".js-plotly-plot canvas", timeout=60_000)
        n_canvas = page.evaluate("document.querySelectorAll('.js-plotly-plot canvas').length")
        assert n_canvas >= 1  # scattergl draws with WebGL on canvases
        n_points = page.evaluate("document.querySelector('.js-plotly-plot')._fullData"
                                 ".reduce((n, t) => n + t.x.length, 0)")
        assert n_points == 84
        # hover a point of the clip titled <script>...: the label shows the title as text, no element is made
        pt = page.evaluate(POINT_JS, "&lt;script&gt;alert(1)&lt;/script&gt;")
        assert pt is not None
        page.mouse.move(pt["x"], pt["y"])
        page.wait_for_selector(".hoverlayer .hovertext", timeout=10_000)
        assert SCRIPT in page.evaluate("document.querySelector('.hoverlayer').textContent")
        assert page.evaluate("document.querySelectorAll('.hoverlayer script, .js-plotly-plot script').length") == 0
        # a lasso around the whole plot selects every point: every clip is listed
        box = page.evaluate("(() => { const r = document.querySelector('.js-plotly-plot .nsewdrag')"
                            ".getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; })()")
        page.mouse.move(box["l"] + 3, box["t"] + 3)
        page.mouse.down()
        for x, y in ((box["r"] - 3, box["t"] + 3), (box["r"] - 3, box["b"] - 3), (box["l"] + 3, box["b"] - 3),
                     (box["l"] + 3, box["t"] + 6)):
            page.mouse.move(x, y, steps=8)
        page.mouse.up()
        page.wait_for_function("() => document.body.innerText.includes('84 points selected')", timeout=30_000)
        assert "from 12 clips" in page.inner_text("body")
        assert not page.js_errors, page.js_errors
    finally:
        page.close()


def test_retrieval_answers_a_text_query(model_server: str, browser) -> None:
    page = _page(browser, f"{model_server}/Retrieval")
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
        assert href.startswith(f"{model_server}/Browse?clip=clip") and "&t=" in href
        chapters = frame.locator(".card .chapter").all_inner_texts()
        assert len(chapters) == 10 and all(chapters)
        assert frame.evaluate("document.querySelectorAll('.card script').length") == 0
        assert not page.js_errors, page.js_errors
    finally:
        page.close()
