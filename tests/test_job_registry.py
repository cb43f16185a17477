"""The job registry: dedupe (two processes racing), the cap and its FIFO queue, cancel, dead jobs, restart survival.

The jobs are `mujo jobs sleep S` (a command that only reports progress), each in its own process as in the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_jobs import _assert_reaped

from mujo import jobs
from mujo.access import PermissionDenied, Role, User
from mujo.procs import pid_alive

ADMIN, VIEWER = User("ada", Role.ADMIN), User("vic", Role.VIEWER)


@pytest.fixture(autouse=True)
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store of its own per test (the jobs it starts inherit MUJO_HOME)."""
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MUJO_MAX_JOBS", "1")
    return tmp_path / "home"


def _sleep(seconds: float, tag: str = "", kind: str = "umap") -> jobs.Job:
    return jobs.submit(kind, ["jobs", "sleep", str(seconds)], key_inputs={"s": seconds, "tag": tag}, owner="ada")


def _wait(job_id: int, states: set[str], timeout: float = 60.0) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not reach {states}: {jobs.get(job_id)}")


def test_same_work_joins_the_job_and_finishes() -> None:
    a = _sleep(0.5)
    assert a.state == jobs.RUNNING and a.pid and a.owner == "ada"
    b = _sleep(0.5)
    assert b.id == a.id, "a request for the same kind and inputs joins the running job"
    done = _wait(a.id, {jobs.DONE, jobs.FAILED})
    assert done.state == jobs.DONE and done.fraction == 1.0 and "slept" in done.message, done
    _assert_reaped(a.pid)
    assert _sleep(0.5).id != a.id, "once done, the same work is a new job"


def test_two_processes_racing_submit_start_one_job(fresh_home: Path) -> None:
    code = ("import sys; from mujo import jobs; "
            "print(jobs.submit('umap', ['jobs', 'sleep', '2'], key_inputs='race', owner=sys.argv[1]).id)")
    procs = [subprocess.Popen([sys.executable, "-c", code, f"p{i}"], stdout=subprocess.PIPE, text=True,
                              env=os.environ.copy()) for i in range(3)]
    ids = {int(p.communicate(timeout=120)[0].strip()) for p in procs}
    assert len(ids) == 1, ids
    assert len(jobs.list_jobs()) == 1
    job = _wait(ids.pop(), {jobs.DONE, jobs.FAILED})
    assert job.state == jobs.DONE, job


def test_the_cap_queues_heavy_jobs_in_order_and_the_ending_job_promotes_the_next() -> None:
    a, b, c = _sleep(1.5, "a"), _sleep(0.2, "b"), _sleep(0.2, "c")
    assert (a.state, b.state, c.state) == (jobs.RUNNING, jobs.QUEUED, jobs.QUEUED)
    assert [j.id for j in jobs.list_jobs(active=True)] == [a.id, b.id, c.id]
    assert (jobs.queue_position(b), jobs.queue_position(c)) == (0, 1)
    light = jobs.submit("null-compare", ["jobs", "sleep", "0.1"], key_inputs="light", heavy=False)
    assert light.state == jobs.RUNNING, "a light job does not wait for the cap"
    # nobody polls from here on: each ending job starts the next one itself
    done = [_wait(j.id, {jobs.DONE, jobs.FAILED}) for j in (a, b, c)]
    assert [j.state for j in done] == [jobs.DONE] * 3
    assert done[0].finished <= done[1].started and done[1].finished <= done[2].started  # one at a time, FIFO


def test_cancel_a_queued_and_a_running_job() -> None:
    a, b = _sleep(60, "a", kind="pretrain"), _sleep(60, "b", kind="pretrain")
    assert b.state == jobs.QUEUED
    with pytest.raises(PermissionDenied):
        jobs.cancel(a.id, VIEWER)  # a viewer may not start pre-training, so may not cancel it
    _wait(a.id, {jobs.RUNNING})
    time.sleep(1.0)  # let it install its SIGTERM handler (it would die of the default one anyway)
    gone = jobs.cancel(b.id, ADMIN)
    assert gone.state == jobs.CANCELLED and gone.pid is None, "a queued job is dropped, never started"
    t0 = time.monotonic()
    stopped = jobs.cancel(a.id, ADMIN, grace_s=5.0)
    assert stopped.state == jobs.CANCELLED and stopped.cancelled_by == "ada"
    _assert_reaped(a.pid, timeout=10.0)
    assert time.monotonic() - t0 < 10.0
    assert jobs.get(a.id).state == jobs.CANCELLED, "the stopping process does not overwrite the cancel"
    assert jobs.list_jobs(active=True) == []


def test_a_killed_job_is_marked_failed_with_its_last_message() -> None:
    a = _sleep(60)
    deadline = time.monotonic() + 30
    while "of 60 s" not in jobs.get(a.id).message and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(a.pid, 9)
    _assert_reaped(a.pid)
    jobs.poll()
    failed = jobs.get(a.id)
    assert failed.state == jobs.FAILED and "ended unexpectedly" in failed.error and "of 60 s" in failed.error


def test_a_job_survives_the_server_that_started_it_and_another_process_cancels_it() -> None:
    code = ("from mujo import jobs; j = jobs.submit('umap', ['jobs', 'sleep', '60'], key_inputs='survive'); "
            "print(j.id, j.pid)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=os.environ.copy(), check=True).stdout.split()
    job_id, pid = int(out[0]), int(out[1])  # the "server" that started it has exited
    time.sleep(6.0)  # past the start-up grace: from now on the pid is checked against the job's command line
    jobs.poll()
    seen = jobs.get(job_id)
    assert seen.state == jobs.RUNNING and pid_alive(pid), seen
    assert jobs.status  # the by-name view is the same registry
    jobs.cancel(job_id, ADMIN, grace_s=3.0)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid), "the cancelled job's process group is gone (and, orphaned, reaped by init)"
    assert jobs.get(job_id).state == jobs.CANCELLED


def test_a_named_job_is_a_registry_job_owned_by_who_acts() -> None:
    with jobs.acting_as("cy"):  # what the pages do around library calls that start jobs by name
        st = jobs.start("umap-named", ["jobs", "sleep", "0.2"])
    assert st.state == jobs.RUNNING and st.job_id
    job = _wait(st.job_id, {jobs.DONE, jobs.FAILED})
    assert (job.owner, job.state, jobs.status("umap-named").state) == ("cy", jobs.DONE, jobs.DONE)
