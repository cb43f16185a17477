"""Browse works with 10,000 clips (FiMAD's size): the table, search and opening a clip. How long each takes is
measured by benchmarks/bench_browse.py, not bounded here (wall-clock bounds flake on a loaded machine)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from app_helpers import BROWSE, app_test, player_payload, table_ids
from fimad_factory import make_fimad, read_rows, write_rows

from mujo.ui.state import StateKeys

N = 10_000
WORDS = ["squat", "lunge", "plank", "burpee", "rest", "left", "right", "jump", "push", "up"]


def _big_table(root: Path) -> Path:
    """A dataset whose clips.csv lists N clips; only the first 4 have files (the rest are 'no data' errors)."""
    make_fimad(root, n_clips=4)
    rows = read_rows(root)
    hdr = rows[0]
    rng = np.random.default_rng(0)
    out = [hdr] + [list(r) for r in rows[1:]]
    for i in range(4, N):
        r = list(rows[1 + i % 4])
        r[hdr.index("clip_id")] = f"c{i:05d}"
        r[hdr.index("chapter")] = " ".join(rng.choice(WORDS, 3))
        r[hdr.index("caption")] = " ".join(rng.choice(WORDS, 8))
        r[hdr.index("video_id")] = f"v{i // 8}"
        out.append(r)
    write_rows(root, out)
    return root


def _all_pages(at) -> list[str]:
    """Every clip id the table lists, page by page (the server sends one page at a time)."""
    controls = [w for w in at.number_input if w.key == StateKeys.TABLE_PAGE]
    pages = int(controls[0].max) if controls else 1  # no page controls when one page holds every row
    ids = []
    for page in range(1, pages + 1):
        if page > 1:
            at.number_input(key=StateKeys.TABLE_PAGE).set_value(page).run()
        ids += table_ids(at)
    return ids


def test_browse_10k_clips(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_DATA", str(_big_table(tmp_path / "big")))
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE).run()
    assert not at.exception
    everything = [f"clip{i:03d}" for i in range(4)] + [f"c{i:05d}" for i in range(4, N)]
    # One page goes to the browser, not the whole table.
    assert table_ids(at) == everything[:100]
    assert "rows 1–100 of 10,000" in [c.value for c in at.caption]
    at.selectbox(key=StateKeys.TABLE_PAGE_SIZE).set_value(500).run()
    assert at.number_input(key=StateKeys.TABLE_PAGE).max == 20
    at.number_input(key=StateKeys.TABLE_PAGE).set_value(20).run()
    assert table_ids(at) == everything[-500:]
    at.text_input(key=StateKeys.SEARCH).input("squat LEFT").run()
    assert at.number_input(key=StateKeys.TABLE_PAGE).value == 1  # new filters: back to the first page
    rows = read_rows(tmp_path / "big")
    cols = [rows[0].index(c) for c in ("chapter", "chapter_norm", "caption", "description") if c in rows[0]]
    expected = [r[rows[0].index("clip_id")] for r in rows[1:]
                if all(any(w in r[c].casefold() for c in cols) for w in ("squat", "left"))]  # a plain scan
    shown = _all_pages(at)
    assert 0 < len(shown) < N and shown == expected


def test_a_link_opens_the_page_that_shows_its_clip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_DATA", str(_big_table(tmp_path / "big")))
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE)
    at.query_params["clip"] = "c03712"
    at.run()
    assert not at.exception
    assert at.number_input(key=StateKeys.TABLE_PAGE).value == 3712 // 100 + 1
    assert "c03712" in table_ids(at)
    assert at.session_state[StateKeys.TABLE]["selection"]["rows"] == [3712 % 100]
    at.query_params["clip"] = "clip002"
    at.run()
    assert not at.exception and len(at.get("iframe")) == 1
    assert player_payload(at)["clip_id"] == "clip002"
    assert at.number_input(key=StateKeys.TABLE_PAGE).value == 1
