"""Jobs page: the queue in order with owner, progress and Cancel; cancelling a queued and a running job; recent jobs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from app_helpers import app_test
from job_helpers import inline_jobs  # noqa: F401  (the fixture)

from mujo import jobs

PAGE = "pages/8_Jobs.py"


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption]
                     + [str(p.proto) for p in at.get("progress")])


def test_empty_registry(app_env: dict[str, Path]) -> None:
    at = app_test(PAGE).run()
    _ok(at)
    assert "No job is queued or running." in _texts(at) and "No finished job yet." in _texts(at)


def test_queue_cancel_and_recent(app_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch, inline_jobs) -> None:
    monkeypatch.setenv("MUJO_MAX_JOBS", "1")
    running = jobs.submit("umap", ["jobs", "sleep", "20"], key_inputs="a", owner="ada")
    queued = jobs.submit("zeroshot", ["jobs", "sleep", "1"], key_inputs="b", owner="bob")
    assert (running.state, queued.state) == (jobs.RUNNING, jobs.QUEUED)
    at = app_test(PAGE).run()
    _ok(at)
    text = _texts(at)
    assert f"**#{running.id}** umap" in text and f"**#{queued.id}** zeroshot" in text
    assert text.index(f"#{running.id}**") < text.index(f"#{queued.id}**"), "the queue in FIFO order"
    assert "waiting in the queue" in text and "1 of at most 1 heavy jobs running" in text
    assert "ada" in text and "bob" in text
    at.button(key=f"jobs.cancel.{queued.id}").click().run()  # the local admin may cancel any job
    _ok(at)
    assert jobs.get(queued.id).state == jobs.CANCELLED and jobs.get(queued.id).pid is None
    at.button(key=f"jobs.cancel.{running.id}").click().run()
    _ok(at)
    assert jobs.get(running.id).state == jobs.CANCELLED
    # no signal reaches a job here (as on another host): its next progress write finds it cancelled and stops it
    inline_jobs[running.id].join(5)
    assert not inline_jobs[running.id].is_alive()
    recent = at.dataframe[0].value
    assert sorted(recent["id"]) == sorted([running.id, queued.id])
    assert set(recent["state"]) == {jobs.CANCELLED}
    assert "No job is queued or running." in _texts(at)


def test_a_finished_job_is_listed_with_its_message(app_env: dict[str, Path], inline_jobs) -> None:
    job = jobs.submit("umap", ["jobs", "sleep", "0.2"], key_inputs="c", owner="ada")
    deadline = time.monotonic() + 20
    while jobs.get(job.id).active and time.monotonic() < deadline:
        time.sleep(0.05)
    at = app_test(PAGE).run()
    _ok(at)
    row = at.dataframe[0].value.iloc[0]
    assert (row["id"], row["state"], row["owner"]) == (job.id, jobs.DONE, "ada") and "slept" in row["message"]
