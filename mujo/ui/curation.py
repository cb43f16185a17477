"""The Curation page: annotator, queue filters, the one-key decision bar, the suggestion, and the page's layout.

The queue and the clip leases live in `mujo.ui.curation_queue`, the versioned decisions and the choices after an
overtaken decision in `mujo.ui.curation_decide`, the label, progress and bulk panels in
`mujo.ui.curation_panels`, export / import / clips.csv in `mujo.ui.curation_io`, the pre-training with the curated
NULL chapters in `mujo.ui.curation_feedback`; the clip is drawn by the Browse page's synchronised view
(`mujo.ui.clip_view`). Dataset text and notes are shown as text (st.text, dataframes, escaped Markdown), never as
HTML.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st

from mujo.access import Action, auth_configured
from mujo.curation import suggest as nsg
from mujo.fimad.dataset import FimadDataset
from mujo.ui import curation_decide as cd
from mujo.ui import curation_queue as cq
from mujo.ui import curation_ranked as cr
from mujo.ui import dataset as uds
from mujo.ui.access import can
from mujo.ui.clip_view import clip_view
from mujo.ui.curation_feedback import feedback_panel
from mujo.ui.curation_io import files_panel
from mujo.ui.curation_panels import (
    activity_options,
    bulk_panel,
    default_activity,
    label_panel,
    progress_panel,
    recent_panel,
)
from mujo.ui.remember import remember, restore_once
from mujo.ui.report import report_or_none
from mujo.ui.state import StateKeys
from mujo.ui.text import md_escape, short, short_cells

SHORTCUTS = {"null": "N", "activity": "A", "unsure": "U", "bad": "B"}
ICONS = {"null": ":material/block:", "activity": ":material/directions_run:", "unsure": ":material/help:",
         "bad": ":material/broken_image:"}


def annotator_sidebar() -> str:
    """The annotator's name: the logged-in user with an access file, else a sidebar text input (kept for the
    session and remembered by the browser across server restarts, `mujo.ui.remember`; "" until typed)."""
    if auth_configured():
        return cq.annotator()
    restore_once(StateKeys.CUR_ANNOTATOR)  # a new session (a restarted server, a new tab)
    with st.sidebar:
        st.text_input("Annotator", key=StateKeys.CUR_ANNOTATOR, persist_state="session", max_chars=80,
                      placeholder="your name or initials",
                      help="Stored with every label you make; this browser remembers it.")
        remember(cq.annotator())
    return cq.annotator()


def _options(sig: pd.DataFrame, col: str, key: StateKeys) -> list[str]:
    opts = sorted(v for v in sig[col].unique() if v)
    kept = [v for v in st.session_state.get(key) or [] if v in opts]
    if kept != list(st.session_state.get(key) or []):
        st.session_state[key] = kept  # choices of another dataset would be invalid values
    return opts


def filter_controls(sig: pd.DataFrame, selection: list[str] | None) -> cq.QueueFilter:
    """The queue filters (in an expander); return what they ask for."""
    videos, splits = _options(sig, "video_id", StateKeys.CUR_VIDEOS), _options(sig, "split", StateKeys.CUR_SPLITS)
    with st.expander("Queue filters", icon=":material/filter_alt:"):
        c = st.columns([1.4, 1, 1.2, 1.6], vertical_alignment="bottom")
        c[0].multiselect("Source video", videos, key=StateKeys.CUR_VIDEOS, placeholder="all",
                         persist_state="session")
        c[1].multiselect("Split", splits, key=StateKeys.CUR_SPLITS, placeholder="all", persist_state="session")
        c[2].slider("Minimum NULL score", 0.0, 1.0, step=0.05, key=StateKeys.CUR_MIN_SCORE,
                    persist_state="session", help="0 keeps every clip, also those without any signal.")
        c[3].multiselect("Status", list(nsg.STATUSES), key=StateKeys.CUR_STATUS, placeholder="any",
                         persist_state="session", help="The clip's curation label now (whole clip), or partly "
                                                       "labelled when only ranges of it are.")
        if selection:
            st.toggle(f"Only the {len(selection)} clips selected in the Embedding Space",
                      key=StateKeys.CUR_ONLY_SELECTION)
        r = st.columns([1, 3], vertical_alignment="center")
        r[0].button("Refresh queue", key=StateKeys.CUR_REFRESH, icon=":material/refresh:",
                    help="Rebuild the queue with the labels as they are now (labelled clips leave an 'unlabelled' "
                         "queue).")
        r[1].caption("The queue is kept while you label (a labelled clip keeps its place, so Previous goes back to "
                     "it); it is rebuilt when a filter changes or on Refresh.")
    only = bool(st.session_state.get(StateKeys.CUR_ONLY_SELECTION)) and selection
    return cq.QueueFilter(videos=tuple(st.session_state[StateKeys.CUR_VIDEOS]),
                          splits=tuple(st.session_state[StateKeys.CUR_SPLITS]),
                          min_score=float(st.session_state[StateKeys.CUR_MIN_SCORE] or 0.0),
                          status=tuple(st.session_state[StateKeys.CUR_STATUS] or ()),
                          only=tuple(selection) if only else None)


def decision_bar(key: str, clip_id: str, ds: FimadDataset, queue: list[str], who: str) -> None:
    """The one-key decisions, the activity choice, Previous/Next/Undo, the note and the time-range panel."""
    options = activity_options(ds)
    # A new clip, or back from another page (the selectbox's state was dropped there): the clip's own default.
    if (st.session_state.get(StateKeys.CUR_ACTIVITY_FOR) != clip_id
            or st.session_state.get(StateKeys.CUR_ACTIVITY) is None):
        st.session_state[StateKeys.CUR_ACTIVITY] = default_activity(ds, clip_id, options)
        st.session_state[StateKeys.CUR_ACTIVITY_FOR] = clip_id
    current = st.session_state.get(StateKeys.CUR_ACTIVITY)
    if current and current not in options:
        options = [current, *options]
    off = not who
    c = st.columns([1, 1.1, 1.9, 1, 1], vertical_alignment="bottom")
    for col, label in zip((c[0], c[1], c[3], c[4]), ("null", "activity", "unsure", "bad")):
        col.button(cq.LABEL_NAMES[label], key=f"{StateKeys.CUR_DECIDE}.{label}", shortcut=SHORTCUTS[label],
                   icon=ICONS[label], on_click=cd.decide, args=(key, clip_id, label), disabled=off, width="stretch",
                   type="primary" if label == "null" else "secondary")
    c[2].selectbox("Activity", options, key=StateKeys.CUR_ACTIVITY, accept_new_options=True,
                   label_visibility="collapsed", placeholder="activity (type a new one)",
                   help="What the Activity decision writes; type to add a name the dataset lacks.")
    pos = cq.position(queue, clip_id)
    n = st.columns([1, 0.5, 0.5, 1, 1], vertical_alignment="bottom")
    first, last = pos is None or pos == 0, pos is not None and pos == len(queue) - 1
    n[0].button("Previous", key=StateKeys.CUR_PREV, shortcut="K", on_click=cq.move, args=(-1,), disabled=first,
                icon=":material/skip_previous:", width="stretch")
    n[1].button("", key=StateKeys.CUR_PREV_ARROW, shortcut="Left", on_click=cq.move, args=(-1,), disabled=first,
                icon=":material/arrow_back:", help="Previous clip", width="stretch")
    n[2].button("", key=StateKeys.CUR_NEXT_ARROW, shortcut="Right", on_click=cq.move, args=(1, key),
                disabled=last or not queue, icon=":material/arrow_forward:", help="Next clip", width="stretch")
    n[3].button("Next", key=StateKeys.CUR_NEXT, shortcut="J", on_click=cq.move, args=(1, key),
                disabled=last or not queue, icon=":material/skip_next:", width="stretch")
    n[4].button("Undo", key=StateKeys.CUR_UNDO, shortcut="Z", on_click=cd.undo, args=(key, clip_id), disabled=off,
                icon=":material/undo:", width="stretch", help="Undo your latest label of this clip (or, when it has "
                                                               "none, your last decision and go back to it).")
    st.text_input("Note (optional, stored with the next decision)", key=StateKeys.CUR_NOTE, max_chars=500)
    range_panel(ds, clip_id)
    st.caption("Keys work while no text box has focus (letter keys also while the player has it; there the arrows "
               "and space stay with the video): N NULL · A activity · U unsure · B bad · J/→ next · K/← previous "
               "· Z undo. A whole-clip decision moves to the next clip.")


def range_panel(ds: FimadDataset, clip_id: str) -> None:
    """Label a time range inside the clip instead of the whole clip."""
    duration = float(ds.clips.at[clip_id, "duration_s"]) if "duration_s" in ds.clips.columns else None
    on = bool(st.session_state.get(StateKeys.CUR_RANGE))
    with st.expander("Label a time range" + (" (on)" if on else ""), expanded=on, icon=":material/timeline:"):
        st.toggle("Decisions label this range, not the whole clip (and stay on the clip)", key=StateKeys.CUR_RANGE)
        c = st.columns(2)
        c[0].number_input("From (s)", min_value=0.0, step=0.5, key=StateKeys.CUR_T0, format="%.2f")
        c[1].number_input("To (s; empty = the clip's end)", min_value=0.0, step=0.5, key=StateKeys.CUR_T1,
                          format="%.2f")
        if duration is not None and np.isfinite(duration):
            st.caption(f"The clip is {duration:.2f} s long.")


def suggestion_panel(ranked: pd.DataFrame, clip_id: str) -> None:
    """The combined NULL score and each signal's score and reason."""
    st.markdown("**Suggestion**")
    rows = ranked[ranked["clip_id"] == clip_id]
    if rows.empty:
        st.caption("No signals for this clip.")
        return
    row = rows.iloc[0]
    combined = row["combined"]
    if pd.notna(combined):
        verdict = "looks like NULL" if combined >= 0.5 else "looks like an activity"
        st.markdown(f"NULL score **{combined:.2f}** ({verdict}; {int(row['n_signals'])} of {len(nsg.SIGNALS)} "
                    "signals available)")
    else:
        st.caption("No signal is available for this clip.")
    weights = nsg.NullWeights()
    table = pd.DataFrame({"signal": list(nsg.SIGNALS),
                          "score": [row[s] for s in nsg.SIGNALS],
                          "weight": [getattr(weights, s) for s in nsg.SIGNALS],
                          "reason": [str(row[f"{s}_reason"]) for s in nsg.SIGNALS]})
    st.dataframe(short_cells(table, ["reason"], 400), hide_index=True, width="stretch",
                 column_config={"score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0,
                                                                         format="%.2f"),
                                "weight": st.column_config.NumberColumn("weight", format="%.1f", width="small"),
                                "reason": st.column_config.TextColumn("reason", width="large")})


def conflict_panel(key: str, clip_id: str) -> None:
    """A decision someone else's label overtook: who changed the clip, when and to what (as text), and the three
    choices: keep theirs, replace it with this decision, or mark the clip disputed."""
    c = st.session_state.get(StateKeys.CUR_CONFLICT)
    if not c or c.get("clip_id") != clip_id:
        return
    mine = cq.describe(c["label"], c["activity"])
    with st.container(border=True):
        st.warning(md_escape(f"Not labelled: {c['by']} changed {clip_id} after you opened it. At {c['when']} UTC "
                             f"they {c['what']}. Your decision ({mine}) was not written."), icon=":material/group:")
        b = st.columns(3)
        b[0].button(f"Keep {short(c['by'], 40, one_line=True)}'s label", key=StateKeys.CUR_KEEP,
                    on_click=cd.keep_theirs, args=(key,), icon=":material/check:", width="stretch")
        b[1].button(f"Replace it with {mine}", key=StateKeys.CUR_REPLACE, on_click=cd.replace_theirs, args=(key,),
                    icon=":material/swap_horiz:", width="stretch", help="Write your decision over theirs (the "
                                                                         "history keeps both).")
        b[2].button("Mark disputed", key=StateKeys.CUR_DISPUTE, on_click=cd.mark_disputed, args=(key,),
                    icon=":material/flag:", width="stretch", help="Their label stays; the Disagreements page lists "
                                                                   "the clip with both decisions.")


def lease_note(key: str, clip_id: str) -> None:
    """Lease the shown clip to this annotator (renewed on every action); say so when someone else has it open."""
    lease = cq.hold(key, clip_id)
    if lease is not None and not lease.mine(cq.session_id()) and st.session_state.get(StateKeys.CUR_LINKED) != clip_id:
        # The queue put this clip here, but another annotator took it first (they arrived at the same moment):
        # go on to the next free clip rather than label the same one twice. A clip opened by a link stays.
        nxt = cq.advance(key, st.session_state.get(StateKeys.CUR_QUEUE) or [], clip_id)
        if nxt is not None and nxt != clip_id:
            cq.goto(nxt)
            st.rerun()
    if lease is not None and not lease.mine(cq.session_id()):
        until = time.strftime("%H:%M:%S", time.gmtime(lease.expires))
        st.info(md_escape(f"{lease.holder or 'Another annotator'} has this clip open (until {until} UTC unless "
                          "they go on). Your decision is checked against theirs: nothing is overwritten unseen."),
                icon=":material/group:")


def _show_feedback() -> None:
    fb = st.session_state.pop(StateKeys.CUR_FEEDBACK, None)
    if fb:
        level, message = fb
        getattr(st, level if level in ("success", "info", "warning", "error") else "info")(md_escape(message))


def curation_page(ref: uds.DatasetRef, ds: FimadDataset) -> None:
    """The whole page below its title."""
    who = annotator_sidebar()
    key = cq.the_dataset_key(ds)
    cq.sync_from_url()
    model = cq.current_model(ref.root)
    sig = cq.signals(ref, ds, model)
    now = cr.ranked_now(ref, ds, model, key)  # computed again only after a change to the dataset's labels
    labels, ranked = now.labels, now.clips
    selection = [str(c) for c in st.session_state.get(StateKeys.CUR_SELECTION) or []]
    message = st.empty()  # the last decision's feedback: filled once the queue is in place (it may add one)
    if not can(Action.LABEL):
        st.info("Your role does not label: the queue, the clips and their labels are shown read-only.",
                icon=":material/visibility:")
    elif not who:
        st.warning("Type your name under **Annotator** in the sidebar to label: every label records who made it.",
                   icon=":material/person:")
    progress_panel(now)
    files_panel(key, ds)
    feedback_panel(ref.root, ds.clips.index, now.status)
    if selection and can(Action.LABEL):
        bulk_panel(key, ds, selection, who)
    flt = filter_controls(sig, selection)
    signature = (ref.root, ref.stamp, model, flt, who)
    queue = cq.sync_queue(sig, labels, flt, signature, refresh=bool(st.session_state.get(StateKeys.CUR_REFRESH)),
                          key=key)
    with message.container():
        _show_feedback()
    if model.checkpoint is None:
        st.caption("Signals: chapter text and IMU motion only. With a model whose embeddings of this dataset exist "
                   "(Embedding Space computes them), the prompt-distance and uncertainty signals join in.")
    clip_id = st.session_state.get(StateKeys.CUR_CLIP)
    if not clip_id:
        st.info("No clip matches the queue filters." if len(ranked) else "This dataset has no clips.",
                icon=":material/filter_alt_off:")
        recent_panel(key)
        return
    pos = cq.position(queue, clip_id)
    where = (f"Clip {pos + 1} of {len(queue)}" if pos is not None
             else f"Not in the queue (its {len(queue)} clips match the filters; Next goes to the first)")
    status = ranked.loc[ranked["clip_id"] == clip_id, "status"]
    st.markdown(f"**{where}** · {md_escape(clip_id)}" + (f" · status: {md_escape(status.iloc[0])}" if len(status)
                                                          else ""))
    if clip_id not in ds.clips.index:
        clip_view(ref, ds, clip_id, None)  # says that there is no such clip
        return
    lease_note(key, clip_id)
    shown = cd.seen(key, clip_id)  # the version a decision is based on
    conflict_panel(key, clip_id)
    if can(Action.LABEL):
        decision_bar(key, clip_id, ds, queue, who)
    left, right = st.columns([1.4, 1], gap="medium")
    with left:
        suggestion_panel(ranked, clip_id)
    with right:
        label_panel(key, clip_id, shown)
    clip_view(ref, ds, clip_id, report_or_none(ref, len(ds.clips)))
    recent_panel(key)


__all__ = ["conflict_panel", "curation_page", "decision_bar", "filter_controls", "lease_note", "suggestion_panel"]
