"""Smoke test: app.py and every page run without an exception against a small dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_helpers import BROWSE, REPO, app_test

PAGES = sorted(str(p.relative_to(REPO)) for p in (REPO / "pages").glob("*.py"))


def test_every_page_is_listed() -> None:
    assert BROWSE in PAGES


@pytest.mark.parametrize("page", ["app.py", *PAGES])
def test_page_runs(page: str, app_env: dict[str, Path]) -> None:
    at = app_test(None if page == "app.py" else page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # MUJO_DATA points at an existing dataset: Home must not start building the demo.
    assert not (app_env["home"] / "fimad-demo").exists()


def test_browse_with_a_clip_in_the_url(app_env: dict[str, Path]) -> None:
    at = app_test(BROWSE, {"clip": "clip002", "t": "1.5"}).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("iframe")) == 1
