"""The load and fault test, short: 3 annotators in real browser sessions label for 10 s on one server that is
SIGKILLed once and restarted; nothing the pages acknowledged is lost, nothing is applied twice, every deliberate
collision is detected (benchmarks/bench_load.py is the long version: 8 annotators, 60 s, 2 kills)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from conftest import _require_browser
from e2e_server import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))


def test_three_annotators_one_kill_nothing_lost_doubled_or_overwritten(tmp_path: Path) -> None:
    _require_browser()
    from bench_load import report, run_load  # noqa: PLC0415  (the benchmark's modules: only this test needs them)

    f = asyncio.run(run_load(annotators=3, seconds=10, kills=1, collide_every=4, clips=60, port=free_port(),
                             think=0.2, seed=1, workdir=tmp_path))
    lines: list[str] = []
    report(f, log=lines.append)
    text = "\n".join(lines)
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["undetected"] == 0, text
    assert f["applied"] > 0, text  # the annotators did label
    assert len(f["kills"]) == 1, text  # the server was killed and came back
    assert f["verdict"].collisions >= 1 and f["verdict"].detected >= 1, text  # a collision was answered on both pages
