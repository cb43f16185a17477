"""In a real browser: on the Curation page an annotator types a name, presses N, and the clip is labelled NULL; after
a reload the label is still there, on the page and in the store."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _require_browser  # the `browser` fixture comes from conftest.py too
from e2e_server import streamlit_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))  # the page tests' dataset factory
POSITION = re.compile(r"Clip (\d+) of (\d+) · (clip\d{3})")


@pytest.fixture(scope="module")
def curation_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """`streamlit run app.py` over a 4-clip dataset without video and an empty store; (base URL, home, data)."""
    _require_browser()
    from app_helpers import make_dataset  # noqa: PLC0415

    root = tmp_path_factory.mktemp("e2e_curation")
    home = root / "home"
    home.mkdir()
    data = make_dataset(root / "fimad", n_clips=4, n_frames=300)
    with streamlit_server({"MUJO_DATA": str(data), "MUJO_HOME": str(home)}, root) as base:
        yield base, home, data


def _position(page) -> tuple[int, int, str]:
    page.wait_for_function("() => /Clip \\d+ of \\d+ · clip\\d{3}/.test(document.body.innerText)", timeout=30_000)
    m = POSITION.search(page.inner_text("body"))
    return int(m.group(1)), int(m.group(2)), m.group(3)


def _store_labels(home: Path, data: Path) -> dict[str, str]:
    from mujo.store import (
        Store,  # noqa: PLC0415
        dataset_key,  # noqa: PLC0415
    )

    labels = Store(home / "mujo.sqlite").current_labels(dataset_key(data))
    return dict(zip(labels["clip_id"], labels["label"]))


def test_label_a_clip_with_the_keyboard_and_find_it_after_a_reload(curation_server, browser) -> None:
    base, home, data = curation_server
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # Until some session has run app.py, Streamlit lists the pages/ folder itself: open Home first.
        page.goto(f"{base}/")
        page.wait_for_selector("h1", timeout=30_000)
        page.goto(f"{base}/Curation")
        assert _position(page)[:2] == (1, 4)
        # the first run ends with the recent labels: typing earlier would interrupt it
        page.wait_for_function("() => document.body.innerText.includes('No labels yet')", timeout=30_000)
        null_button = page.locator("button", has_text="NULL").first
        assert null_button.is_disabled()  # no annotator yet
        annotator = page.get_by_role("textbox", name="Annotator")
        annotator.fill("Ada")
        annotator.press("Enter")
        page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                               "b => b.innerText.includes('NULL') && !b.disabled)", timeout=30_000)
        page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page
        _, _, clip = _position(page)
        page.keyboard.press("n")
        page.wait_for_function("() => /Clip 2 of 4/.test(document.body.innerText)", timeout=30_000)
        assert _position(page)[2] != clip
        assert _store_labels(home, data) == {clip: "null"}
        # a key pressed while the player (an iframe) has the focus still reaches the page's shortcuts
        _, _, clip2 = _position(page)
        player = page.frame_locator("iframe").first
        player.locator("#mujo-player").click(position={"x": 5, "y": 5})
        page.keyboard.press("u")
        page.wait_for_function("() => /Clip 3 of 4/.test(document.body.innerText)", timeout=30_000)
        assert _store_labels(home, data) == {clip: "null", clip2: "unsure"}
        # a reload starts a new session: the label is in the page's list of recent labels ...
        page.reload()
        page.wait_for_function("() => document.body.innerText.includes('Recent labels')", timeout=30_000)
        recent = page.locator("[data-testid='stTable']").inner_text()
        assert clip in recent and "NULL" in recent and "Ada" in recent
        # ... and the clip, opened by its link, shows its label and leaves the queue of unlabelled clips
        page.goto(f"{base}/Curation?clip={clip}")
        page.wait_for_function("() => document.body.innerText.includes('Not in the queue')", timeout=30_000)
        panel = page.inner_text("body")
        assert re.search(r"Current label\s+NULL \(whole clip · by Ada", panel), panel[:2000]
        assert _store_labels(home, data) == {clip: "null", clip2: "unsure"}
        # without a model, the feedback panel links to Home (a function page: the link must name its st.Page)
        page.get_by_text("Feed the curated NULL chapters back").click()
        page.get_by_role("link", name="Go to Home").first.click()
        page.wait_for_function("() => document.body.innerText.includes('MuJo Studio')", timeout=30_000)
        assert page.url.rstrip("/") == base and "Could not find page" not in page.inner_text("body")
        assert not errors, errors
    finally:
        page.close()
