"""In a real browser: the Fine-tuning page's Results tab draws the boxplots of a sweep (one box per model and
fraction, every run a point), the mean ± std table and the CSV download; a class name written as HTML stays text."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _require_browser  # the `browser` fixture comes from conftest.py too
from e2e_server import streamlit_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))  # the page tests' fixtures: dataset, seeded sweep


@pytest.fixture(scope="module")
def results_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` with a store holding one finished sweep (6 repeats x 2 fractions x 2 scenarios)."""
    _require_browser()
    from app_helpers import make_dataset  # noqa: PLC0415
    from target_fixtures import seed_sweep  # noqa: PLC0415

    from mujo.store import Store  # noqa: PLC0415

    root = tmp_path_factory.mktemp("e2e_finetune")
    home = root / "home"
    data = make_dataset(root / "fimad", n_clips=4, n_frames=300)
    old = os.environ.get("MUJO_HOME")
    os.environ["MUJO_HOME"] = str(home)
    try:
        seed_sweep(Store(), dataset="<em>gym", repeats=6)
    finally:
        os.environ.pop("MUJO_HOME") if old is None else os.environ.__setitem__("MUJO_HOME", old)
    with streamlit_server({"MUJO_DATA": str(data), "MUJO_HOME": str(home)}, root) as base:
        yield base


def test_results_tab_draws_boxplots_table_and_download(results_server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{results_server}/Fine_tuning")
        page.wait_for_selector("h1", timeout=30_000)
        page.get_by_role("tab", name="Results").click()
        page.wait_for_selector(".js-plotly-plot g.trace.boxes", timeout=60_000)
        boxes = page.evaluate("document.querySelectorAll('.js-plotly-plot g.trace.boxes path.box').length")
        assert boxes == 2 * 2  # (baseline, fine-tuned) x (2 %, 100 %)
        points = page.evaluate("document.querySelectorAll('.js-plotly-plot g.trace.boxes g.points path').length")
        assert points == 6 * 2 * 2  # every run drawn as a point beside its box
        names = page.evaluate("document.querySelector('.js-plotly-plot')._fullData.map(t => t.name)")
        assert names == ["Baseline", "MuJo (fine-tuned)"]
        page.wait_for_function("() => document.body.innerText.includes('mean ± std')", timeout=30_000)
        assert page.get_by_role("button", name="Download the results (CSV)").count() == 1
        # the dataset's name is HTML; the page and the plot show it as text, never as an <em> element
        assert page.locator("em", has_text="gym").count() == 0
        title = page.evaluate("document.querySelector('.js-plotly-plot .gtitle').textContent")
        assert title.startswith("<em>gym · IMU")
        assert not errors, errors
    finally:
        page.close()
