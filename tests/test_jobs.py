"""Background jobs by name (the registry's older view): a real `mujo synth` in its own process, followed through the
store, killed and resumed; the JSON progress file of `--progress-file`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from mujo import jobs
from mujo.commands.common import ProgressFile
from mujo.fimad.dataset import FimadDataset


def _wait(name: str, until: set[str], timeout: float = 120.0) -> jobs.JobStatus:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = jobs.status(name)
        if st.state in until:
            return st
        time.sleep(0.2)
    raise AssertionError(f"job {name} did not reach {until}: {jobs.status(name)}")


def _zombie_children() -> dict[int, str]:
    """{pid: name} of this process's children that ended and were not reaped (state Z, shown as `<defunct>`)."""
    try:
        import psutil  # noqa: PLC0415  (optional: read /proc when it is absent)
    except ImportError:
        psutil = None
    if psutil is not None:
        out = {}
        for child in psutil.Process().children():
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    out[child.pid] = child.name()
            except psutil.NoSuchProcess:  # reaped meanwhile
                pass
        return out
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        state, ppid = rest.split()[:2]
        if state == "Z" and int(ppid) == os.getpid():
            out[int(stat.parent.name)] = name.split("(", 1)[1]
    return out


def _assert_reaped(pid: int, timeout: float = 30.0) -> None:
    """The job's process has ended and the process that started it reaped it: no `<defunct>` child is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():  # a zombie keeps its /proc entry
        time.sleep(0.1)
    assert pid not in _zombie_children(), f"job process {pid} was left a zombie: {_zombie_children()}"
    assert not Path(f"/proc/{pid}").exists(), f"job process {pid} is still running"


def test_absent_job() -> None:
    assert jobs.status("nothing-here").state == jobs.ABSENT


def test_bad_job_name() -> None:
    with pytest.raises(ValueError, match="job name"):
        jobs.status("../escape")


def test_job_runs_in_background_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    st = jobs.start("synth-test", ["synth", str(out), "--preset", "tiny", "--no-video", "--workers", "1"])
    assert st.state == jobs.RUNNING and st.pid > 0
    again = jobs.start("synth-test", ["synth", str(out), "--preset", "tiny", "--no-video", "--workers", "1"])
    assert again.pid == st.pid, "a running job is not started twice"
    done = _wait("synth-test", {jobs.DONE, jobs.FAILED})
    assert done.state == jobs.DONE, done.error
    assert done.fraction == 1.0
    assert len(FimadDataset(out)) > 0
    _assert_reaped(st.pid)  # the server (here: this process) does not keep a <defunct> child per finished job


def test_killed_job_is_failed_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    # 20 videos: killed at 30 %, the job has far more work left than the kill takes (no race with its end)
    argv = ["synth", str(out), "--preset", "tiny", "--videos", "20", "--no-video", "--workers", "1"]
    st = jobs.start("synth-kill", argv)
    deadline = time.monotonic() + 60
    while jobs.status("synth-kill").fraction < 0.3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(st.pid, signal.SIGKILL)
    failed = _wait("synth-kill", {jobs.FAILED, jobs.DONE})
    assert failed.state == jobs.FAILED and "ended unexpectedly" in failed.error
    _assert_reaped(st.pid)  # a killed job is reaped too
    assert not (out / "clips.csv").exists()
    kept = len(list((out / ".synth").glob("0*.json")))
    assert kept >= 1
    jobs.start("synth-kill", argv)
    assert _wait("synth-kill", {jobs.DONE, jobs.FAILED}).state == jobs.DONE
    assert FimadDataset(out).clips["video_id"].nunique() == 20


def test_progress_file_is_throttled_and_atomic(tmp_path: Path) -> None:
    """`--progress-file` (a command run by hand or by a script) still writes its JSON, throttled and atomically."""
    path = tmp_path / "jobs" / "x.json"
    pf = ProgressFile(path, min_interval_s=10.0)
    pf(0.1, "a")
    pf(0.2, "b")  # within the interval: not written yet
    st = json.loads(path.read_text())
    assert (st["state"], st["fraction"], st["message"], st["pid"]) == (jobs.RUNNING, 0.1, "a", os.getpid())
    pf.done("finished")
    st = json.loads(path.read_text())
    assert (st["state"], st["fraction"], st["message"]) == (jobs.DONE, 1.0, "finished")
    assert not list((tmp_path / "jobs").glob(".*.tmp"))
