"""The pages' validation report: read from the disk cache, refreshed in the page for small datasets and by a
background job (mujo validate --cached) for large ones, with a note while it is not current."""

from __future__ import annotations

import os
import time

from app_helpers import BROWSE, app_env, app_test, table_ids  # noqa: F401  (app_env: fixture)
from fimad_factory import corrupt_header

from mujo import jobs
from mujo.fimad import report_cache
from mujo.ui import dataset as uds
from mujo.ui import report as ureport
from mujo.ui.state import StateKeys


def _wait_refresh(data) -> jobs.Job:
    deadline = time.monotonic() + 120
    while True:
        job = jobs.latest("validate", ureport.refresh_job_inputs(uds.DatasetRef.of(data)))
        assert job is not None
        if not job.active:
            return job
        assert time.monotonic() < deadline, job
        jobs.poll()
        time.sleep(0.2)


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def test_a_small_dataset_is_checked_in_the_page(app_env):
    corrupt_header(app_env["data"] / "pose" / "clip003.npy")
    at = app_test(BROWSE).run()
    assert not at.exception
    assert "background" not in _captions(at)
    assert jobs.list_jobs() == []  # nothing ran in the background
    at.toggle(key=StateKeys.ONLY_PROBLEMS).set_value(True).run()
    assert table_ids(at) == ["clip003"]
    assert report_cache.load_report(app_env["data"]) is not None  # kept for the next visit


def test_a_large_dataset_is_checked_by_a_background_job(app_env, monkeypatch):
    monkeypatch.setattr(ureport, "SYNC_CLIPS", 2)
    corrupt_header(app_env["data"] / "pose" / "clip005.npy")
    at = app_test(BROWSE).run()
    assert not at.exception
    assert "Checking the dataset's files in the background" in _captions(at)
    job = _wait_refresh(app_env["data"])
    assert job.state == jobs.DONE, job
    at.run()
    assert "background" not in _captions(at)
    at.toggle(key=StateKeys.ONLY_PROBLEMS).set_value(True).run()
    assert table_ids(at) == ["clip005"]

    # A file changes: the last report is shown with its age while a new job re-checks the changed clip only.
    later = time.time() + 5
    broken = app_env["data"] / "pose" / "clip006.npy"
    corrupt_header(broken)
    os.utime(broken, (later, later))
    os.utime(broken.parent, (later, later))
    at.run()
    assert "Validation report from just now; files changed since" in _captions(at)
    assert table_ids(at) == ["clip005"]
    assert _wait_refresh(app_env["data"]).state == jobs.DONE
    at.run()
    assert table_ids(at) == ["clip005", "clip006"]


def test_age_text():
    assert ureport.age_text(5) == "just now"
    assert ureport.age_text(600) == "10 min ago"
    assert ureport.age_text(3 * 3600) == "3 h ago"
    assert ureport.age_text(5 * 86400) == "5 days ago"
