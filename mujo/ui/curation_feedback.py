"""The Curation page's feedback panel: pre-train with the curated NULL chapters, then compare zero-shot's NULL rows.

The pre-training is a background job (`mujo pretrain ... --null-anchor TEXT --null-labels curated` in its own
process, like Home's demo build: it outlives the tab and every session sees it); the comparison is a job too
(`mujo null-compare`) that stores its zero-shot runs, which the panel reads back, so a reload keeps both.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pandas as pd
import streamlit as st

from mujo import actions, jobs
from mujo import models_registry as registry
from mujo.access import Action
from mujo.curation import feedback as nf
from mujo.curation import feedback_runs as fr
from mujo.store import LABELS
from mujo.ui import background
from mujo.ui import curation_queue as cq
from mujo.ui.access import can, current_user
from mujo.ui.nav import ZEROSHOT_PAGE, home_link
from mujo.ui.state import StateKeys
from mujo.ui.text import md_escape

JOB = "pretrain-curated-null"  # one feedback pre-training at a time, whoever started it
ROW_NAMES = {"mean": "mean of the classes (paper)", "learned": "learned NULL", "centroid": "NULL windows' centroid"}


def _base() -> tuple[Path | None, str]:
    """(the loaded checkpoint, "") when NULL can be learned from its settings, else (None, why not)."""
    base = registry.model_dir()
    if not registry.is_checkpoint(base):
        return None, f"No model is loaded ({base} holds no checkpoint): Home builds the demo model or loads one."
    try:
        info = registry.read_checkpoint(base)
    except Exception as e:  # noqa: BLE001 - an unreadable checkpoint must not take the page down
        return None, f"The loaded model {base} cannot be read: {e}"
    if info.method != "mujo" or "text" not in info.modalities:
        return None, (f"The loaded model {base.name} has no text encoder (method {info.method}); a NULL anchor is "
                      "learned by a MuJo model: load one on Home.")
    return base, ""


def _settings(root: str, base: Path, anchor: str, resume: bool = False) -> tuple[list[str] | None, str]:
    """(`mujo pretrain` argv, "") for the feedback run, or (None, why it cannot be made)."""
    try:
        return fr.pretrain_argv(fr.feedback_settings(base, root, nf.feedback_out(base), anchor=anchor,
                                                     resume=resume)), ""
    except ValueError as e:
        return None, str(e)


@st.fragment(run_every=2.0)
def _follow_job() -> None:
    status = jobs.status(JOB)
    if status.state != jobs.RUNNING:
        st.rerun()  # the whole page: the new model, or why the job failed
    st.progress(min(max(status.fraction, 0.0), 1.0),
                text=md_escape(f"Pre-training with the curated NULL chapters: {status.fraction:.0%} "
                               f"{status.message}"))


def _pretrain_controls(root: str, base: Path, counts: dict[str, int]) -> None:
    st.text_input("NULL anchor text", key=StateKeys.CUR_FB_ANCHOR, max_chars=200,
                  help="What NULL chapters are, in words: every curated NULL clip's windows train against this text "
                       "instead of their chapter title, so the text encoder learns one NULL point.")
    anchor = " ".join(str(st.session_state.get(StateKeys.CUR_FB_ANCHOR) or "").split())
    status = jobs.status(JOB)
    if status.state == jobs.RUNNING:
        _follow_job()
        return
    out = nf.feedback_out(base)
    if status.state == jobs.FAILED:
        st.warning(md_escape(f"The last feedback pre-training stopped: {status.error or status.message}"),
                   icon=":material/error:")
        resume, _ = _settings(root, base, anchor or nf.DEFAULT_ANCHOR, resume=True)
        if resume and (out / "last").is_dir() and st.button(
                "Resume it", key=StateKeys.CUR_FB_RESUME, icon=":material/resume:",
                help="Continue from its last epoch (the labels and anchor it started with)."):
            with jobs.acting_as(current_user().name):  # the job's owner on the Jobs page
                actions.start_pretrain(current_user(), JOB, resume)
            st.rerun()
    argv, problem = _settings(root, base, anchor or nf.DEFAULT_ANCHOR)
    if problem:
        st.warning(md_escape(problem), icon=":material/warning:")
    why = ("Label NULL chapters first (whole clips): the run needs at least one." if not counts["null"]
           else "Type the anchor text." if not anchor else "")
    if why:
        st.caption(why)
    help_text = (md_escape(f"Runs mujo {shlex.join(argv)} in the background (the settings of {base.name}, about as "
                           f"long as its own training; a few minutes for the demo model) and writes {out}.")
                 if argv else None)
    if st.button(f"Pre-train with the {counts['null']} curated NULL chapters", key=StateKeys.CUR_FB_PRETRAIN,
                 icon=":material/model_training:", disabled=bool(why or not argv), help=help_text):
        with jobs.acting_as(current_user().name):  # the job's owner on the Jobs page
            actions.start_pretrain(current_user(), JOB, argv)
        st.rerun()


def _compare_controls(root: str, base: Path, out: Path) -> None:
    checkpoints = [str(base)] if base == out else [str(base), str(out)]
    job_id = st.session_state.get(StateKeys.CUR_FB_TASK)
    job = jobs.get(job_id) if isinstance(job_id, int) else None
    if job is not None and job.state in (jobs.FAILED, jobs.CANCELLED):
        what = "was cancelled" if job.state == jobs.CANCELLED else f"failed: {job.error}"
        st.error(md_escape(f"The comparison {what}"), icon=":material/error:")
    if job is not None and job.active:
        background.follow(job.id, "Zero-shot on the validation split")
    elif st.button("Compare NULL's embeddings on the validation split", key=StateKeys.CUR_FB_COMPARE,
                   icon=":material/compare_arrows:",
                   help=md_escape("Zero-shot with the NULL class on the dataset's validation clips (ground-truth "
                                  f"labels): {base.name} with the mean of the class embeddings (the paper's NULL), "
                                  "and the fed-back model with the mean, the learned NULL and its NULL windows' "
                                  "centroid. Each run is stored and listed on the Zero-shot page.")):
        stamps = [registry.read_checkpoint(c).stamp for c in checkpoints]  # a retrained model: afresh
        job = background.submit("null-compare", ["null-compare", root, *checkpoints, "--store", str(cq.store().path)],
                                key_inputs={"root": root, "checkpoints": checkpoints, "stamps": stamps})
        st.session_state[StateKeys.CUR_FB_TASK] = job.id
        st.rerun()
    table = nf.null_comparison(root, cq.store())
    table = table[table["checkpoint"].isin(checkpoints)]
    if table.empty:
        return
    shown = table.assign(model=table["checkpoint"].map(lambda p: Path(p).name),
                         null_row=table["null_row"].map(lambda h: ROW_NAMES.get(h, h)),
                         started=table["started"].astype(str).str.slice(0, 16).str.replace("T", " "))
    st.dataframe(shown, hide_index=True, width="stretch",
                 column_order=["model", "null_row", "macro_f1", "null_f1", "top1", "windows", "run_id", "started"],
                 column_config={"null_row": "NULL's embedding", "macro_f1": st.column_config.NumberColumn(
                     "macro F1 (with NULL)", format="%.3f"), "null_f1": st.column_config.NumberColumn(
                     "NULL F1", format="%.3f"), "top1": st.column_config.NumberColumn("top-1", format="%.3f"),
                     "run_id": st.column_config.NumberColumn("run", format="%d")})
    st.page_link(ZEROSHOT_PAGE, label="Per-class F1 and confusion of these runs on the Zero-shot page",
                 icon=":material/target:")


def feedback_panel(root: str, clip_ids: pd.Index, status: pd.Series | None = None) -> None:
    """Pre-training with the curated NULL chapters and the zero-shot comparison of NULL's embeddings.

    status: each clip's curation status (`ranked_now`) when the page has it: the counts come from it instead of
    another read of the store.
    """
    with st.expander("Feed the curated NULL chapters back into the model", icon=":material/model_training:",
                     key=StateKeys.CUR_FEEDBACK_OPEN, on_change="rerun") as box:
        if not box.open:  # drawn only while open
            return
        if status is None:
            counts = nf.curated_counts(root, cq.store(), clip_ids)
        else:
            counts = {"null": int((status == "null").sum()), "activity": int((status == "activity").sum()),
                      "labelled": int(status.isin(LABELS).sum()), "clips": len(status)}
        st.markdown(f"**{counts['null']}** clips labelled NULL as a whole, {counts['activity']} as an activity "
                    f"({counts['labelled']} of {counts['clips']} clips labelled). Pre-training with them gives the "
                    "joint space a NULL class; zero-shot can then use the learned NULL instead of the mean of the "
                    "class embeddings, which the paper uses and which rarely wins a window.")
        base, problem = _base()
        if base is None:
            st.info(md_escape(problem), icon=":material/model_training:")
            home_link()
            return
        if can(Action.PRETRAIN):
            _pretrain_controls(root, base, counts)
        elif jobs.status(JOB).state == jobs.RUNNING:
            _follow_job()
        else:
            st.caption("Pre-training needs the admin role.")
        out = nf.feedback_out(base)
        if not registry.is_checkpoint(out) or jobs.status(JOB).state == jobs.RUNNING:
            return
        st.caption(md_escape(f"Fed-back model: {out}" + ("" if out == base else
                                                        " (load it on Home to use it on every page)")))
        _compare_controls(root, base, out)


__all__ = ["feedback_panel"]
