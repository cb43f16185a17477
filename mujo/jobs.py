"""Background jobs: a `mujo` command run in its own process, its progress in a JSON file that any page can poll.

A job outlives the browser tab (and the Streamlit session) that started it, several sessions see the same job, and
at most one process runs a job of a given name. The commands themselves are resumable, so a job that died (machine
restart, killed process) is simply started again. The starting process (the Streamlit server) reaps each job when it
ends, so no job stays behind as a zombie (`<defunct>`) for the server's lifetime.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from mujo import paths
from mujo.procs import pid_alive

RUNNING, DONE, FAILED, ABSENT = "running", "done", "failed", "absent"


@dataclass
class JobStatus:
    """What a job is doing: state, progress and, when it failed, why."""

    name: str
    state: str = ABSENT  # running / done / failed / absent
    fraction: float = 0.0
    message: str = ""
    error: str = ""
    pid: int = 0
    started: float = 0.0
    updated: float = 0.0


def jobs_dir() -> Path:
    return paths.data_dir() / "jobs"


def _status_path(name: str) -> Path:
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"job name {name!r} must be letters, digits, '-' and '_'")
    return jobs_dir() / f"{name}.json"


def _write(path: Path, status: JobStatus) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(status)), encoding="utf-8")
    os.replace(tmp, path)


def _alive(pid: int, marker: str, started: float = 0.0) -> bool:
    """Whether process `pid` is alive and is our job (its command line names `marker`; guards against pid reuse).

    Just after the start, the child may not have exec'd yet (its command line is still its parent's): a process
    started less than a few seconds ago is trusted without the check.
    """
    if not pid_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists() and time.time() - started > 10.0:
        try:
            return marker in cmdline.read_bytes().decode("utf-8", "replace")
        except OSError:
            return False
    return True


def status(name: str) -> JobStatus:
    """The job's current status; a job whose process died without saying so is reported as failed."""
    path = _status_path(name)
    try:
        st = JobStatus(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return JobStatus(name=name)
    if st.state == RUNNING and not _alive(st.pid, str(path), st.started):
        log = path.with_suffix(".log")
        tail = log.read_text(encoding="utf-8", errors="replace")[-1500:] if log.exists() else ""
        st.state, st.error = FAILED, st.error or f"the job's process ended unexpectedly. Log:\n{tail}"
    return st


def _reap_when_done(proc: subprocess.Popen) -> None:
    """Collect the job's exit status in a daemon thread as soon as it ends.

    The job runs in its own session (a Ctrl-C in the server's terminal does not reach it) but stays our child, and a
    child that nobody waits for stays a zombie until its parent exits. Its outcome is read from its progress file
    and pid (`status`), not from here; once reaped, its pid is free and `_alive` tells a reused pid by its command
    line. `os.killpg(pid, ...)` on a running job keeps working.
    """
    threading.Thread(target=proc.wait, name=f"mujo-job-reaper-{proc.pid}", daemon=True).start()


def start(name: str, argv: list[str]) -> JobStatus:
    """Start `mujo <argv>` in the background unless a job of this name is running; returns its status.

    The command receives `--progress-file <jobs>/<name>.json` and reports through `ProgressFile`.
    """
    current = status(name)
    if current.state == RUNNING:
        return current
    path = _status_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "mujo.cli", *argv, "--progress-file", str(path)]
    with open(path.with_suffix(".log"), "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=paths.project_root())
    _reap_when_done(proc)
    now = time.time()
    st = JobStatus(name=name, state=RUNNING, message="starting", pid=proc.pid, started=now, updated=now)
    _write(path, st)
    return st


class ProgressFile:
    """A progress callback (fraction, message) that a job's command writes its status through.

    Writes are throttled (at most a few per second) and atomic, so a reader never sees half a file.
    """

    def __init__(self, path: str | Path, min_interval_s: float = 0.25):
        self.path = Path(path)
        self.min_interval_s = min_interval_s
        self._last = 0.0
        prev = None
        try:
            prev = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        self.status = JobStatus(name=self.path.stem, state=RUNNING, pid=os.getpid(),
                                started=(prev or {}).get("started", time.time()))
        self._flush()

    def _flush(self) -> None:
        self.status.updated = time.time()
        _write(self.path, self.status)

    def __call__(self, fraction: float, message: str) -> None:
        self.status.fraction, self.status.message = float(fraction), str(message)
        if time.monotonic() - self._last >= self.min_interval_s or fraction >= 1.0:
            self._last = time.monotonic()
            self._flush()

    def done(self, message: str = "done") -> None:
        self.status.state, self.status.fraction, self.status.message = DONE, 1.0, message
        self._flush()

    def fail(self, error: str) -> None:
        self.status.state, self.status.error = FAILED, error
        self._flush()


def tee(*callbacks: Callable[[float, str], None] | None) -> Callable[[float, str], None]:
    """One progress callback that calls several (None entries are skipped)."""
    cbs = [c for c in callbacks if c is not None]

    def call(fraction: float, message: str) -> None:
        for c in cbs:
            c(fraction, message)

    return call
