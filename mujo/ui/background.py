"""A page's side of the job registry (mujo.jobs): submit work as the logged-in user, wait a moment, follow the rest.

Long computations never run in the server's threads: a page submits a `mujo` command as a registry job (a request
for work already queued or running joins it), waits up to a second or two so that small jobs show their result in
the same run, and otherwise shows the job's progress in a fragment that refreshes itself and reruns the page when
the job has ended. The job outlives the tab, the session and the server.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import streamlit as st

from mujo import jobs
from mujo.ui.access import current_user
from mujo.ui.text import md_escape

FOLLOW_EVERY_S = 1.0


def submit(kind: str, argv: Sequence[str], *, key_inputs: Any, heavy: bool = True) -> jobs.Job:
    """Queue `mujo <argv>` for the current user (or join the same work already queued or running)."""
    return jobs.submit(kind, argv, key_inputs=key_inputs, owner=current_user().name, heavy=heavy)


def wait(job: jobs.Job, seconds: float) -> jobs.Job:
    """The job after it ended or `seconds` passed, whichever comes first."""
    deadline = time.monotonic() + max(0.0, seconds)
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
        job = jobs.get(job.id) or job
    return job


def describe(job: jobs.Job) -> str:
    """One line: where the job stands (its queue position while it waits)."""
    if job.state == jobs.QUEUED:
        ahead = jobs.queue_position(job)
        return (f"waiting in the queue ({ahead} job{'s' * (ahead != 1)} ahead; at most {jobs.max_jobs()} run at "
                "once)")
    elapsed = time.time() - (job.started or job.created)
    return f"{job.fraction:.0%} {job.message} · {elapsed:.0f} s"


@st.fragment(run_every=FOLLOW_EVERY_S)
def follow(job_id: int, label: str, note: str = "") -> None:
    """The job's progress, refreshed every second; the whole page reruns once the job has ended."""
    jobs.poll()  # the launcher step: a dead job is marked failed, a free slot starts the next queued job
    job = jobs.get(job_id)
    if job is None or not job.active:
        st.rerun()
        return
    st.progress(min(max(job.fraction, 0.0), 1.0), text=md_escape(f"{label}: {describe(job)}"))
    if note:
        st.caption(note)
    if jobs.may_cancel(job, current_user()) and st.button("Cancel", key=f"job.cancel.{job_id}",
                                                          icon=":material/cancel:"):
        jobs.cancel(job_id, current_user())
        st.rerun()
