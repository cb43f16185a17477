"""Real-browser fixtures: a Streamlit server on a free port over a small dataset with video, and Debian chromium."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_server import CHROMIUM, REPO, streamlit_server  # noqa: E402,F401  (REPO: used by the tests)

# What the browser tests need besides chromium and playwright: the modules that write their test videos.
BROWSER_MODULES = ("mujo.fimad.video", "mujo.synth.render", "mujo.sim.imu_sim")


def _require_browser() -> None:
    """Skip where the browser or a module the tests need is missing; in CI such a skip fails the run
    (tests/skip_policy.py), so a renamed module or a missing chromium cannot hide the real-browser tests."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: the real-browser tests need Debian's chromium (apt install chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (pip install playwright; never `playwright install`)")
    for mod in BROWSER_MODULES:
        if importlib.util.find_spec(mod) is None:
            pytest.skip(f"{mod} is not available yet: cannot write the test videos")


@pytest.fixture(scope="module")
def video_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_browser()
    from e2e_media import make_video_dataset  # noqa: PLC0415

    return make_video_dataset(tmp_path_factory.mktemp("e2e") / "fimad")


@pytest.fixture(scope="module")
def server(video_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run app.py` on a free port with MUJO_DATA at the video dataset; yields the base URL."""
    home = tmp_path_factory.mktemp("mujo_home")
    with streamlit_server({"MUJO_DATA": str(video_dataset), "MUJO_HOME": str(home)}, home) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
