"""The open dataset's validation report for the pages: the last one cached on disk, kept fresh in the background.

A page never checks a large dataset itself. It shows the report cached on disk (`mujo.fimad.report_cache`; reading
it opens no clip file) with its age, and when the dataset changed since, it submits a refresh to the job registry (a
`mujo validate --cached` process that re-checks only the clips whose files changed). A small dataset (at most
`SYNC_CLIPS` clips) is refreshed in the page instead: that takes well under a second and the page then shows a
current report at once, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from mujo import jobs
from mujo.fimad.report import ValidationReport
from mujo.fimad.report_cache import CachedReport, cache_path, load_report, refresh_report
from mujo.ui import dataset as uds

# Up to this many clips the page refreshes a stale report itself (the demo has 330: about 0.3 s unchanged, ~2 s
# from scratch); above it, a background job does.
SYNC_CLIPS = 1000


@dataclass(frozen=True)
class ReportState:
    """What a page knows about the open dataset's report.

    Attributes:
        cached: the last report (None before the first check has finished).
        current: the report covers the dataset as it is now (no file changed since it was made).
        job: the background refresh, when one is queued or running.
    """

    cached: CachedReport | None
    current: bool
    job: jobs.Job | None = None

    @property
    def report(self) -> ValidationReport | None:
        return None if self.cached is None else self.cached.report


def _cache_mtime(root: str) -> int:
    try:
        return Path(cache_path(root)).stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_resource(show_spinner=False, max_entries=8)
def _load(root: str, cache_mtime_ns: int) -> CachedReport | None:
    """The cached report as of that cache file version (keyed by its mtime: a refresh rereads it).

    A resource cache: every session shares the one object (read-only), no copy per page run (a FiMAD-size report
    has thousands of problems).
    """
    return load_report(root) if cache_mtime_ns else None


@st.cache_resource(show_spinner=False, max_entries=8)
def _issues(root: str, cache_mtime_ns: int) -> tuple[pd.Series, frozenset[str]]:
    cached = _load(root, cache_mtime_ns)
    if cached is None or not cached.report.problems:
        return pd.Series(dtype="int64"), frozenset()
    serious = [p.clip_id for p in cached.report.problems
               if p.clip_id is not None and p.severity in uds.PROBLEM_SEVERITIES]
    counts = pd.Series(serious, dtype=object).value_counts() if serious else pd.Series(dtype="int64")
    return counts, frozenset(serious)


def issue_index(ref: uds.DatasetRef) -> tuple[pd.Series, frozenset[str]]:
    """From the last cached report: errors + warnings per clip id, and the clips with any (computed once per report
    version, shared by all sessions)."""
    return _issues(ref.root, _cache_mtime(ref.root))


def _current(cached: CachedReport | None, ref: uds.DatasetRef) -> bool:
    return cached is not None and cached.checked_at >= max(ref.stamp, default=0.0)


def refresh_job_inputs(ref: uds.DatasetRef) -> dict[str, object]:
    """What identifies a refresh of this dataset's report (two pages asking for it join one job)."""
    return {"root": ref.root, "stamp": list(ref.stamp)}


def dataset_report(ref: uds.DatasetRef, n_clips: int, *, owner: str = "") -> ReportState:
    """The report of the dataset `ref` for a page: cached, refreshed here when small, else by a background job."""
    cached = _load(ref.root, _cache_mtime(ref.root))
    if _current(cached, ref):
        return ReportState(cached, True)
    if n_clips <= SYNC_CLIPS:
        with st.spinner("Checking the dataset's files…"):
            refresh_report(ref.root)
        return ReportState(_load(ref.root, _cache_mtime(ref.root)), True)
    job = jobs.submit("validate", ["validate", ref.root, "--cached"], key_inputs=refresh_job_inputs(ref),
                      owner=owner, heavy=False)
    return ReportState(cached, False, job)


def report_or_none(ref: uds.DatasetRef, n_clips: int) -> ValidationReport | None:
    """Just the last report (pages that only mark clips with problems)."""
    return dataset_report(ref, n_clips).report


def age_text(seconds: float) -> str:
    """A report's age in words: "just now", "5 min ago", "3 h ago", "2 days ago"."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def report_note(state: ReportState) -> None:
    """One caption when the report shown is not current: how old it is and how far its refresh has come."""
    if state.current:
        return
    job = state.job
    progress = f" ({job.fraction:.0%}: {job.message})" if job is not None and job.message else ""
    if state.cached is None:
        st.caption(f"Checking the dataset's files in the background{progress}; problems show once it is done.")
    else:
        st.caption(f"Validation report from {age_text(state.cached.age_s)}; files changed since, being re-checked in "
                   f"the background{progress}.")
