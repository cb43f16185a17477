"""Helpers for the page tests: a small FiMAD dataset in a temporary folder, AppTest set-up, reading the player."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
if str(TESTS) not in sys.path:  # tests/ is not a package; fimad_factory lives there
    sys.path.insert(0, str(TESTS))

from fimad_factory import make_fimad, read_rows, write_rows  # noqa: E402

from mujo.ui.state import StateKeys  # noqa: E402

TIMEOUT = 60  # seconds per AppTest run: generous for 2 loaded cores
BROWSE = "pages/1_Browse.py"
LABELS = ["squat", "lunge", "plank", "squat", "burpee", "plank", "squat", "lunge"]


def add_column(root: Path, name: str, values: list[str]) -> None:
    """Add a column to clips.csv (one value per clip, in row order)."""
    rows = read_rows(root)
    rows[0].append(name)
    for row, value in zip(rows[1:], values):
        row.append(value)
    write_rows(root, rows)


def make_dataset(root: Path, **kw: Any) -> Path:
    """make_fimad + a `label` column (the factory writes none), 8 clips by default."""
    kw.setdefault("n_clips", 8)
    make_fimad(root, **kw)
    add_column(root, "label", [LABELS[i % len(LABELS)] for i in range(kw["n_clips"])])
    return root


@pytest.fixture()
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """MUJO_HOME in a fresh folder and MUJO_DATA at a fresh small dataset; returns both paths."""
    home = tmp_path / "home"
    home.mkdir()
    data = make_dataset(tmp_path / "fimad")
    monkeypatch.setenv("MUJO_HOME", str(home))
    monkeypatch.setenv("MUJO_DATA", str(data))
    monkeypatch.chdir(REPO)
    return {"home": home, "data": data}


def app_test(page: str | None = None, query: dict[str, str] | None = None):
    """An AppTest of app.py, switched to `page` when given, with query params set (not yet run)."""
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT)
    if page is not None:
        at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def select_row(at, row: int):
    """Select a row of the Browse clip table the way a click does (the selection state is writable)."""
    at.session_state[StateKeys.TABLE] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


_PAYLOAD = re.compile(r'<script type="application/json" id="mujo-payload">(.*?)</script>', re.S)


def player_srcdoc(at) -> str:
    """The HTML of the player iframe (there must be exactly one)."""
    frames = at.get("iframe")
    assert len(frames) == 1, f"expected one player, found {len(frames)}"
    return frames[0].proto.srcdoc


def player_payload(at) -> dict:
    """The JSON the player's JS reads, parsed back."""
    m = _PAYLOAD.search(player_srcdoc(at))
    assert m, "no payload element in the player HTML"
    return json.loads(m.group(1))


def table_ids(at) -> list[str]:
    """Clip ids shown in the Browse table."""
    return [str(i) for i in at.dataframe[0].value.index]


def texts(at) -> list[str]:
    """Everything shown with st.text."""
    return [t.value for t in at.text]
