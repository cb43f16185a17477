"""The Curation page's label panels: the clip's labels and history, recent labels, progress, bulk labelling.

Names, notes and activities typed by annotators are shown as text: escaped Markdown, dataframes, or st.table cells
escaped one by one (st.table renders Markdown).
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from mujo.curation import suggest as nsg
from mujo.curation.label_export import label_history
from mujo.fimad.dataset import FimadDataset
from mujo.store import LABELS
from mujo.store.labels import MAX_NAME_CHARS
from mujo.ui import curation_queue as cq
from mujo.ui import curation_ranked as cr
from mujo.ui.state import StateKeys
from mujo.ui.text import CELL_CHARS, label_text, md_escape

RECENT = 10  # label events listed under "Recent labels"


_OPTIONS: weakref.WeakKeyDictionary[FimadDataset, list[str]] = weakref.WeakKeyDictionary()


def activity_options(ds: FimadDataset) -> list[str]:
    """The dataset's activity names: its labels other than the NULL ones (worked out once per loaded dataset)."""
    if "label" not in ds.clips.columns:
        return []
    known = _OPTIONS.get(ds)
    if known is None:
        labels = ds.clips["label"].dropna().astype(str).str.strip()
        # A name longer than the store allows could never be written: it is not offered (the clip keeps it).
        labels = labels[(labels != "") & (labels.str.len() <= MAX_NAME_CHARS) & ~nsg.is_null_label(labels)]
        known = _OPTIONS[ds] = sorted(labels.unique().tolist())
    return list(known)


def default_activity(ds: FimadDataset, clip_id: str, options: list[str]) -> str | None:
    """The clip's own label when it names an activity, else its normalised chapter, else the first option."""
    row = ds.clips.loc[clip_id]
    for col in ("label", "chapter_norm"):
        v = row.get(col)
        if isinstance(v, str) and 0 < len(v.strip()) <= MAX_NAME_CHARS and not nsg.is_null_label([v])[0]:
            return v.strip()
    return options[0] if options else None


def _range_text(t0: Any, t1: Any) -> str:
    t0 = float(t0) if pd.notna(t0) else 0.0
    if (t1 is None or pd.isna(t1)) and t0 <= 0:
        return "whole clip"
    return f"{t0:g} s – " + ("end" if t1 is None or pd.isna(t1) else f"{float(t1):g} s")


def label_panel(key: str, clip_id: str, in_force: list[dict[str, Any]]) -> None:
    """The labels in force on this clip (`Store.clip_in_force`: what the page read for it) and its full history
    (undo events included; read from the store only for this clip)."""
    st.markdown("**Current label**")
    if not in_force:
        st.markdown("Unlabelled")
    for r in in_force:
        by = f" · by {r['annotator']}" if r["annotator"] else ""
        note = f" · note: {r['note']}" if r["note"] else ""
        st.markdown(f"**{md_escape(cq.describe(r['label'], r['activity']))}** "
                    + md_escape(f"({_range_text(r['t0_s'], r['t1_s'])}{by}, {r['created']}){note}"))
    hist = label_history(cq.store(), key, clip_id)
    with st.expander(f"History of this clip ({len(hist)} events)", icon=":material/history:",
                     key=StateKeys.CUR_HISTORY_OPEN, on_change="rerun") as box:
        if not box.open:  # drawn only while open
            return
        if hist.empty:
            st.caption("No label events yet.")
        else:
            shown = pd.DataFrame({
                "when": hist["created"], "who": hist["annotator"],
                "event": [k if pd.isna(u) else f"undo of {int(u)}" for k, u in zip(hist["kind"], hist["undo_of"])],
                "range": [_range_text(a, b) for a, b in zip(hist["t0_s"], hist["t1_s"])],
                "before": [cq.describe(a, None if pd.isna(b) else b)
                           for a, b in zip(hist["before_label"], hist["before_activity"])],
                "after": [cq.describe(a, None if pd.isna(b) else b)
                          for a, b in zip(hist["after_label"], hist["after_activity"])],
                "note": hist["note"]}).iloc[::-1]
            st.dataframe(shown, hide_index=True, width="stretch")


def bulk_panel(key: str, ds: FimadDataset, selection: list[str], who: str) -> None:
    """Label every clip handed over by the Embedding Space selection at once (with a confirmation)."""
    known = [c for c in selection if c in ds.clips.index]
    with st.container(border=True):
        st.markdown(f"**Label the {len(known)} clips selected in the Embedding Space**")
        if len(known) < len(selection):
            st.caption(f"{len(selection) - len(known)} selected clips are not in this dataset and are left out.")
        st.caption(label_text(", ".join(known[:12]) + (f" … and {len(known) - 12} more" if len(known) > 12 else ""),
                              600))
        c = st.columns([1, 1.6, 2], vertical_alignment="bottom")
        c[0].selectbox("as", list(LABELS), key=StateKeys.CUR_BULK_LABEL, format_func=cq.LABEL_NAMES.get)
        label = st.session_state[StateKeys.CUR_BULK_LABEL]
        options = activity_options(ds)
        if st.session_state.get(StateKeys.CUR_BULK_ACTIVITY) not in options + [None]:
            options = [st.session_state[StateKeys.CUR_BULK_ACTIVITY], *options]
        c[1].selectbox("Activity", options, key=StateKeys.CUR_BULK_ACTIVITY, accept_new_options=True,
                       disabled=label != "activity", placeholder="for Activity: choose or type")
        c[2].text_input("Note (optional)", key=StateKeys.CUR_BULK_NOTE, max_chars=500)
        d = st.columns([2.4, 1.2, 1], vertical_alignment="center")
        what = cq.describe(label, st.session_state.get(StateKeys.CUR_BULK_ACTIVITY))
        d[0].checkbox(f"Yes, label all {len(known)} clips " + label_text(what), key=StateKeys.CUR_BULK_CONFIRM,
                      disabled=not known)
        d[1].button(f"Label {len(known)} clips", key=StateKeys.CUR_BULK_RUN, type="primary",
                    icon=":material/done_all:", on_click=cq.bulk_label, args=(key, known), width="stretch",
                    disabled=not (who and known and st.session_state.get(StateKeys.CUR_BULK_CONFIRM)))
        d[2].button("Forget the selection", key=StateKeys.CUR_BULK_CLEAR, on_click=cq.forget_selection,
                    width="stretch")


def progress_panel(ranked: cr.Ranked) -> None:
    """Overall progress (a bar and the count per status) and a bar per source video (`ranked_now`'s, computed once
    per label version). A clip counts as labelled when it has any label."""
    per = ranked.per_video
    done, total = int(per["labelled"].sum()), int(per["clips"].sum())
    st.progress(done / total if total else 0.0,
                text=f"{done:,} of {total:,} clips labelled ({done / max(total, 1):.0%})")
    counts = ranked.clips["status"].value_counts()
    st.caption(" · ".join(f"{s}: {int(counts.get(s, 0)):,}" for s in nsg.STATUSES))
    with st.expander(f"Progress per source video ({len(per)} videos)", icon=":material/bar_chart:",
                     key=StateKeys.CUR_PROGRESS_OPEN, on_change="rerun") as box:
        if not box.open:  # drawn only while open
            return
        st.dataframe(per.reset_index(), hide_index=True, width="stretch",
                     column_config={"video_id": st.column_config.TextColumn("source video"),
                                    "clips": st.column_config.NumberColumn("clips", format="%d"),
                                    "labelled": st.column_config.NumberColumn("labelled", format="%d"),
                                    "share": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0,
                                                                             format="percent")})


def recent_panel(key: str) -> None:
    """The dataset's latest label events (any annotator), newest first, as text: only those rows are read."""
    s = cq.store()
    tail = s.recent_label_events(key, RECENT) if Path(s.path).exists() else []
    st.markdown("**Recent labels**")
    if not tail:
        st.caption("No labels yet.")
        return
    rows = [{"clip": r["clip_id"],
             "decision": (f"undo of {cq.describe(r['undone_label'], r['undone_activity'])}" if r["undo_of"]
                          is not None else cq.describe(r["label"], r["activity"])),
             "range": _range_text(r["t0_s"], r["t1_s"]), "annotator": r["annotator"] or "",
             "when": str(r["created"] or "")[:19].replace("T", " ")}
            for r in tail]
    # st.table renders Markdown in its cells: every cell is escaped, so names and notes stay text.
    st.table(pd.DataFrame([{k: label_text(v, CELL_CHARS) for k, v in row.items()} for row in rows]), hide_index=True)


__all__ = ["activity_options", "bulk_panel", "default_activity", "label_panel", "progress_panel",
           "recent_panel"]
