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


def test_browse_10k_clips(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_DATA", str(_big_table(tmp_path / "big")))
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    at = app_test(BROWSE).run()
    assert not at.exception
    assert table_ids(at) == [f"clip{i:03d}" for i in range(4)] + [f"c{i:05d}" for i in range(4, N)]
    at.text_input(key=StateKeys.SEARCH).input("squat LEFT").run()
    rows = read_rows(tmp_path / "big")
    cols = [rows[0].index(c) for c in ("chapter", "chapter_norm", "caption", "description") if c in rows[0]]
    expected = [r[rows[0].index("clip_id")] for r in rows[1:]
                if all(any(w in r[c].casefold() for c in cols) for w in ("squat", "left"))]  # a plain scan
    shown = table_ids(at)
    assert 0 < len(shown) < N and sorted(shown) == sorted(expected)
    at.query_params["clip"] = "clip002"
    at.run()
    assert not at.exception and len(at.get("iframe")) == 1
    assert player_payload(at)["clip_id"] == "clip002"
