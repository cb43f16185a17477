"""In a real browser: on the Curation page an annotator types a name, presses N, and the clip is labelled NULL; after
a reload the label is still there, on the page and in the store. Every other key of the decision bar too: J/→ next,
K/← previous, A activity, B bad, Z undo (the last decision, or this clip's own label)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import _require_browser  # the `browser` fixture comes from conftest.py too
from e2e_server import streamlit_server

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "app"))  # the page tests' dataset factory
POSITION = re.compile(r"Clip (\d+) of (\d+) · (clip\d{3})")
LEASE_S = 4


@pytest.fixture(scope="module")
def curation_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """`streamlit run app.py` over an 8-clip dataset without video and an empty store; (base URL, home, data)."""
    _require_browser()
    from app_helpers import make_dataset  # noqa: PLC0415

    root = tmp_path_factory.mktemp("e2e_curation")
    home = root / "home"
    home.mkdir()
    data = make_dataset(root / "fimad", n_clips=8, n_frames=300)
    # Short leases: a tab that the first test reloads (a session nobody closes) gives its clip back within seconds,
    # so the second test's annotator walks the queue from its first clip (a held clip would be skipped).
    env = {"MUJO_DATA": str(data), "MUJO_HOME": str(home), "MUJO_LEASE_S": str(LEASE_S)}
    with streamlit_server(env, root) as base:
        yield base, home, data


def _no_leases(home: Path, data: Path) -> None:
    """Wait (at most a few lease times) until no session holds a clip of the dataset."""
    from mujo.store import Store, dataset_key  # noqa: PLC0415  (the page tests' import style)

    deadline = time.monotonic() + 5 * LEASE_S
    while Store(home / "mujo.sqlite").active_leases(dataset_key(data)):
        assert time.monotonic() < deadline, "a lease outlived its time"
        time.sleep(0.5)


def _position(page) -> tuple[int, int, str]:
    page.wait_for_function("() => /Clip \\d+ of \\d+ · clip\\d{3}/.test(document.body.innerText)", timeout=30_000)
    m = POSITION.search(page.inner_text("body"))
    return int(m.group(1)), int(m.group(2)), m.group(3)


def _store_labels(home: Path, data: Path, annotator: str | None = None) -> dict[str, str]:
    """{clip: label} in force in the store (of one annotator when given; an activity as "activity: <name>")."""
    from mujo.store import (
        Store,  # noqa: PLC0415
        dataset_key,  # noqa: PLC0415
    )

    labels = Store(home / "mujo.sqlite").current_labels(dataset_key(data))
    if annotator is not None:
        labels = labels[labels["annotator"] == annotator]
    return {c: f"{lab}: {act}" if lab == "activity" else lab
            for c, lab, act in zip(labels["clip_id"], labels["label"], labels["activity"])}


def _press(page, key: str, position: int, total: int) -> str:
    """Press a key with the focus on the page; wait until the page shows clip `position` of `total`; its id."""
    page.keyboard.press(key)
    page.wait_for_function(f"() => /Clip {position} of {total} ·/.test(document.body.innerText)", timeout=30_000)
    return _position(page)[2]


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
        assert _position(page)[:2] == (1, 8)
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
        page.wait_for_function("() => /Clip 2 of 8/.test(document.body.innerText)", timeout=30_000)
        assert _position(page)[2] != clip
        assert _store_labels(home, data) == {clip: "null"}
        # a key pressed while the player (an iframe) has the focus still reaches the page's shortcuts
        _, _, clip2 = _position(page)
        player = page.frame_locator("iframe").first
        player.locator("#mujo-player").click(position={"x": 5, "y": 5})
        page.keyboard.press("u")
        page.wait_for_function("() => /Clip 3 of 8/.test(document.body.innerText)", timeout=30_000)
        assert _store_labels(home, data) == {clip: "null", clip2: "unsure"}
        # a reload starts a new session: the label is in the page's list of recent labels ...
        page.reload()
        page.wait_for_function("() => document.body.innerText.includes('Recent labels')", timeout=30_000)
        recent = page.locator("[data-testid='stTable']").inner_text()
        assert clip in recent and "NULL" in recent and "Ada" in recent
        # ... and the browser remembered who labels (a cookie): as after a server restart, no name to type again
        assert page.get_by_role("textbox", name="Annotator").input_value() == "Ada"
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


def test_every_key_of_the_decision_bar(curation_server, browser) -> None:
    """J/→ and K/← move through the queue; A and B label and move on; Z undoes the last decision (and goes back to its
    clip) or, where this annotator has labelled the shown clip, that label. Checked on the page and in the store."""
    base, home, data = curation_server
    from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415

    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{base}/")  # Streamlit names the pages after a first run of app.py
        page.wait_for_selector("h1", timeout=30_000)
        _no_leases(home, data)  # the first test's sessions hold nothing any more
        page.goto(f"{base}/Curation")
        pos, total, c1 = _position(page)
        assert pos == 1 and total >= 4  # the unlabelled clips (an earlier test may have labelled some)
        page.wait_for_function("() => /No labels yet|Recent labels/.test(document.body.innerText)", timeout=30_000)
        annotator = page.get_by_role("textbox", name="Annotator")
        annotator.fill("Bo")
        annotator.press("Enter")
        page.wait_for_function("() => [...document.querySelectorAll('button')].some("
                               "b => b.innerText.includes('NULL') && !b.disabled)", timeout=30_000)
        page.evaluate("document.activeElement && document.activeElement.blur()")  # keys go to the page

        # moving: J and the right arrow go on, K and the left arrow come back, nothing is written
        c2 = _press(page, "j", 2, total)
        c3 = _press(page, "ArrowRight", 3, total)
        assert len({c1, c2, c3}) == 3
        assert _press(page, "k", 2, total) == c2
        assert _press(page, "ArrowLeft", 1, total) == c1
        assert _store_labels(home, data, "Bo") == {}

        # A: the activity the page offers for the clip, its own label in clips.csv; B: bad; each moves on
        activity = str(FimadDataset(data).clips.at[c1, "label"])
        assert activity in {"squat", "lunge", "plank", "burpee"}  # app_helpers.LABELS: activities, none NULL
        assert _press(page, "a", 2, total) == c2
        assert _press(page, "b", 3, total) == c3
        assert _store_labels(home, data, "Bo") == {c1: f"activity: {activity}", c2: "bad"}

        # Z on a clip without a label of Bo's: undo the last decision (c2 bad) and go back to its clip
        assert _press(page, "z", 2, total) == c2
        assert _store_labels(home, data, "Bo") == {c1: f"activity: {activity}"}
        # Z on a clip Bo has labelled: that label goes, the page stays on the clip
        assert _press(page, "ArrowLeft", 1, total) == c1
        page.keyboard.press("z")
        page.wait_for_function(f"() => document.body.innerText.includes('Undid your last label of {c1}')",
                               timeout=30_000)
        assert _position(page)[:3] == (1, total, c1)
        assert _store_labels(home, data, "Bo") == {}
        assert not errors, errors
    finally:
        page.close()
