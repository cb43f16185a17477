"""Registry jobs run in a thread of the test process instead of a process of their own.

Page tests replace library functions (a fast UMAP, a zero-shot that waits) with monkeypatch, which a job's own
process would not see. Here the launcher step starts each job as `mujo.cli.main(["--job-id", ...])` in a daemon
thread: the registry's rows, states, dedupe, progress and results are the real ones; only the process is not.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from mujo import jobs

THREADS: dict[int, threading.Thread] = {}


def _run(argv: list[str]) -> None:
    from mujo import cli  # noqa: PLC0415

    try:
        cli.main(argv)
    except BaseException:  # noqa: BLE001 - the job's row says why it failed (run_job / run_as_job wrote it)
        pass


def _spawner(store: Any):
    def spawn(row: dict[str, Any]) -> int:
        argv = ["--job-id", str(row["id"]), "--job-store", str(store.path), *row["argv"]]
        t = THREADS[int(row["id"])] = threading.Thread(target=_run, args=(argv,), daemon=True,
                                                       name=f"inline-job-{row['id']}")
        t.start()  # its first store write waits for the launcher's transaction to commit
        return os.getpid()

    return spawn


def _alive(row: dict[str, Any]) -> bool:
    t = THREADS.get(int(row["id"]))
    return t is not None and t.is_alive()


@pytest.fixture()
def inline_jobs(monkeypatch: pytest.MonkeyPatch) -> dict[int, threading.Thread]:
    """Run registry jobs in threads of this process (see the module docstring); returns {job id: thread}."""
    monkeypatch.setattr(jobs, "_spawner", _spawner)
    monkeypatch.setattr(jobs, "_alive", _alive)
    monkeypatch.setattr(jobs.os, "killpg", lambda pid, sig: None)  # never signal the test process itself
    return THREADS
