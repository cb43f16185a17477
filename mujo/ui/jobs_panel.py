"""The Jobs page's panel: the registry's queue (queued and running jobs, in order), recent jobs, and Cancel.

Every long task (first-start build, pre-training, UMAP, zero-shot, sweeps, feedback runs) is a registry job
(mujo.jobs). The panel lists them with owner, age and progress; a user may cancel a job of any kind they may start.
It refreshes itself every few seconds and runs the launcher step on each refresh, so a dead job is marked failed and
a free slot starts the next queued job even when nobody else is watching.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from mujo import jobs
from mujo.ui.access import current_user
from mujo.ui.background import describe
from mujo.ui.text import md_escape

REFRESH_S = 2.0
RECENT = 30
CANCEL_KEY = "jobs.cancel"  # + job id: the Cancel button of that job


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _what(job: jobs.Job) -> str:
    """The job's command, shortened: its kind's first words."""
    return " ".join(str(a) for a in job.argv[:3])[:60]


def _active(user: object) -> None:
    active = jobs.list_jobs(active=True)
    running = sum(j.state == jobs.RUNNING and j.heavy for j in active)
    st.subheader("Queue", anchor=False)
    st.caption(f"{running} of at most {jobs.max_jobs()} heavy jobs running ($MUJO_MAX_JOBS); the others wait in "
               "this order. The same work asked for twice is one job.")
    if not active:
        st.caption("No job is queued or running.")
        return
    now = time.time()
    for job in active:
        c = st.columns([0.7, 3.2, 1.2, 0.9, 1.0], vertical_alignment="center")
        c[0].markdown(f"**#{job.id}** {job.kind}")
        c[1].progress(min(max(job.fraction, 0.0), 1.0), text=md_escape(f"{_what(job)} · {describe(job)}"))
        c[2].caption(md_escape(job.owner or "—") + ("" if job.heavy else " · light"))
        c[3].caption(_age(job.age_s(now)))
        if jobs.may_cancel(job, user) and c[4].button("Cancel", key=f"{CANCEL_KEY}.{job.id}",  # type: ignore[arg-type]
                                                      icon=":material/cancel:"):
            jobs.cancel(job.id, user)  # type: ignore[arg-type]
            st.rerun()


def _recent() -> None:
    done = jobs.list_jobs(active=False, limit=RECENT)
    st.subheader("Recent", anchor=False)
    if not done:
        st.caption("No finished job yet.")
        return
    now = time.time()
    table = pd.DataFrame([{"id": j.id, "kind": j.kind, "state": j.state, "owner": j.owner, "command": _what(j),
                           "ended": f"{_age(now - (j.finished or j.created))} ago",
                           "took": _age((j.finished or now) - (j.started or j.created)) if j.started else "",
                           "message": (j.error.splitlines()[0] if j.error else j.message)[:200]} for j in done])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"id": st.column_config.NumberColumn("job", format="%d")})


@st.fragment(run_every=REFRESH_S)
def jobs_panel() -> None:
    """The queue with Cancel buttons, then the recent jobs; refreshed every REFRESH_S seconds."""
    jobs.poll()
    user = current_user()
    _active(user)
    _recent()
