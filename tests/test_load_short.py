"""The load and fault test, short: 4 annotators over Streamlit's websocket protocol (the messages a browser tab
exchanges with the server) label for 10 s on two server processes over one store (as behind a lab's proxy, two
annotators on each), one of them SIGKILLed once and restarted; nothing the pages acknowledged is lost, nothing is
applied twice, every deliberate collision is detected, whichever processes its two annotators work on
(benchmarks/bench_load.py is the long version: 8 annotators, 60 s, 2 kills; its `--driver browser` drives chromium
pages instead)."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))


def _two_free_ports() -> int:
    """A port p with p + 1 free as well."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two free ports in a row")


def test_four_annotators_two_processes_one_kill_nothing_lost_doubled_or_overwritten(tmp_path: Path) -> None:
    from bench_load import report, run_load  # noqa: PLC0415  (the benchmark's modules: only this test needs them)

    f = asyncio.run(run_load(annotators=4, seconds=10, kills=1, collide_every=3, clips=60, port=_two_free_ports(),
                             think=0.5, seed=1, workdir=tmp_path, driver="ws", servers=2))
    lines: list[str] = []
    report(f, log=lines.append)
    text = "\n".join(lines)
    assert f["lost"] == 0 and f["duplicated"] == 0 and f["undetected"] == 0, text
    assert f["applied"] > 0 and f["moves"] + f["undos"] > 0, text  # the annotators did label and move
    assert len(f["kills"]) == 1 and f["reconnects"] >= 1, text  # the server was killed and the pages came back
    assert f["verdict"].collisions >= 1 and f["verdict"].detected >= 1, text  # a collision was answered on both pages
    assert f["p95_ms"] > 0 and f["page_p95_ms"] >= f["p50_ms"] > 0, text  # latencies were measured
