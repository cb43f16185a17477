"""The Disagreements page: agreement between annotators (Cohen's kappa per pair), the clips whose annotators
disagree or that someone marked disputed, each with its history, settling them, and the per-annotator export.

Votes, kappa and the list come from `mujo.curation.agreement` on `Store.annotator_labels` (each annotator's own
latest whole-clip label). Settling writes through `Store.settle_clip`: versioned like a Curation decision (a label
changed since the page was drawn is a conflict, nothing written). Names, notes and activities are shown as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from mujo import actions
from mujo.access import Action
from mujo.curation import agreement as ag
from mujo.curation.label_export import FORMATS, annotator_labels, label_history, table_bytes
from mujo.fimad.dataset import FimadDataset
from mujo.ui import curation_queue as cq
from mujo.ui import dataset as uds
from mujo.ui.access import can, current_user
from mujo.ui.curation import annotator_sidebar
from mujo.ui.state import StateKeys
from mujo.ui.text import file_stem, label_text, md_escape, short_cells

MIME = {"csv": "text/csv", "jsonl": "application/jsonl", "parquet": "application/vnd.apache.parquet"}


def _feedback() -> None:
    fb = st.session_state.pop(StateKeys.DIS_FEEDBACK, None)
    if fb:
        getattr(st, fb[0] if fb[0] in ("success", "info", "warning", "error") else "info")(md_escape(fb[1]))


def settle(key: str, clip_id: str, base: int, label: str | None, activity: str | None) -> None:
    """Button callback: settle a clip (label None: keep the label in force), based on the version drawn."""
    who = cq.annotator()
    if not who:
        st.session_state[StateKeys.DIS_FEEDBACK] = ("warning", "Type your name in the sidebar first.")
        return
    try:
        d = actions.label_store(current_user(), cq.store()).settle_clip(
            key, clip_id, who, base_event=base, label=label, activity=activity,
            note="settles a disagreement" if label else "")
    except (ValueError, PermissionError) as e:
        st.session_state[StateKeys.DIS_FEEDBACK] = ("error", f"Not settled: {e}")
        return
    if not d.applied:
        by = (d.change or {}).get("annotator") or "someone"
        st.session_state[StateKeys.DIS_FEEDBACK] = (
            "warning", f"Not settled: {by} changed {clip_id} since this page was drawn; look at its history again.")
        return
    what = "keeping its label" if label is None else f"as {cq.describe(label, activity)}"
    st.session_state[StateKeys.DIS_FEEDBACK] = ("success", f"Settled {clip_id} {what}.")


def kappa_panel(v: pd.DataFrame) -> None:
    """Cohen's kappa for every pair of annotators on the clips both labelled."""
    st.subheader("Agreement between annotators", anchor=False)
    k = ag.pairwise_kappa(v)
    if k.empty:
        st.caption("Agreement needs whole-clip labels by at least two annotators.")
        return
    st.dataframe(short_cells(k), hide_index=True, width="stretch",
                 column_config={"annotator_a": st.column_config.TextColumn("annotator"),
                                "annotator_b": st.column_config.TextColumn("annotator"),
                                "clips_both": st.column_config.NumberColumn("clips both labelled", format="%d"),
                                "agreement": st.column_config.NumberColumn("agreement", format="percent"),
                                "kappa": st.column_config.NumberColumn("Cohen's κ", format="%.3f"),
                                "note": st.column_config.TextColumn("note")})
    st.caption("κ = (observed agreement − chance agreement) / (1 − chance agreement), over each annotator's latest "
               "whole-clip label (an activity counts with its name). Empty where it is undefined.")


def _history(key: str, clip_id: str) -> None:
    hist = label_history(cq.store(), key, clip_id)
    shown = pd.DataFrame({
        "when": hist["created"], "who": hist["annotator"],
        "event": [k if pd.isna(u) else f"undo of {int(u)}" for k, u in zip(hist["kind"], hist["undo_of"])],
        "label": [cq.describe(a, None if pd.isna(b) else b) for a, b in zip(hist["label"], hist["activity"])],
        "in force after": [cq.describe(a, None if pd.isna(b) else b)
                           for a, b in zip(hist["after_label"], hist["after_activity"])],
        "note": hist["note"]}).iloc[::-1]
    st.dataframe(short_cells(shown), hide_index=True, width="stretch")
    for dsp in cq.store().label_disputes(key, clip_id):
        state = "open" if dsp["resolved"] is None else f"settled by {dsp['resolved_by']} at {dsp['resolved']}"
        st.caption(label_text(f"Dispute raised by {dsp['raised_by']} at {dsp['created']} ({state}): {dsp['note']}",
                              600))


def clip_panel(key: str, clip_id: str, rows: list[dict[str, Any]]) -> None:
    """A disagreeing clip: the label in force, every vote, its history and the settle buttons."""
    s = cq.store()
    whole = [r for r in s.clip_in_force(key, clip_id) if float(r["t0_s"]) == 0 and r["t1_s"] is None]
    now = whole[0] if whole else None
    st.markdown(f"**{md_escape(clip_id)}** · in force: " + md_escape(
        "unlabelled" if now is None else f"{cq.describe(now['label'], now['activity'])} by {now['annotator']}"))
    choices = list(dict.fromkeys((r["label"], r["activity"] if r["label"] == "activity" else None)
                                 for r in rows if r["clip_id"] == clip_id and r["t1_s"] is None
                                 and float(r["t0_s"]) == 0))
    if not can(Action.LABEL):  # a viewer reads the votes and history; settling is labelling
        _history(key, clip_id)
        return
    base, off = 0 if now is None else int(now["id"]), not cq.annotator()
    cols = st.columns(len(choices) + 1)
    cols[0].button("Keep the label in force", key=StateKeys.DIS_KEEP, on_click=settle,
                   args=(key, clip_id, base, None, None), disabled=off or now is None, icon=":material/check:")
    for i, (label, activity) in enumerate(choices):
        cols[i + 1].button(f"Settle as {label_text(cq.describe(label, activity), 40)}",
                           key=f"{StateKeys.DIS_SETTLE}.{i}", on_click=settle,
                           args=(key, clip_id, base, label, activity), disabled=off, icon=":material/gavel:")
    if off:
        st.caption("Type your name under **Annotator** in the sidebar to settle clips.")
    _history(key, clip_id)


def export_panel(key: str, ds: FimadDataset, rows: list[dict[str, Any]]) -> None:
    """Download one label per annotator (clip × annotator; for agreement statistics elsewhere); `rows`: the
    page's `Store.annotator_labels`."""
    st.subheader("Export one label per annotator", anchor=False)
    fmt = st.radio("Format", list(FORMATS), key=StateKeys.DIS_FORMAT, horizontal=True)
    df = annotator_labels(cq.store(), key, rows)
    name = f"{file_stem(ds.manifest.name, 'fimad')}-labels-per-annotator.{fmt}"
    st.download_button(md_escape(f"Download {name} ({len(df)} rows)"), table_bytes(df, fmt), file_name=name,
                       mime=MIME[fmt], key=StateKeys.DIS_DOWNLOAD, icon=":material/download:", disabled=df.empty,
                       on_click="ignore")


def disagreements_page(ref: uds.DatasetRef, ds: FimadDataset) -> None:
    """The whole page below its title."""
    annotator_sidebar()
    key = cq.the_dataset_key(ds)
    _feedback()
    s = cq.store()
    rows = s.annotator_labels(key) if Path(s.path).exists() else []
    disputes = s.label_disputes(key) if Path(s.path).exists() else []
    v = ag.votes(rows)
    kappa_panel(v)
    d = ag.disagreements(v, disputes)
    st.subheader(f"Clips with conflicting labels ({len(d)})", anchor=False)
    if d.empty:
        st.info("No clip has conflicting labels or an open dispute.", icon=":material/handshake:")
    else:
        st.dataframe(short_cells(d[["clip_id", "votes", "open_dispute"]]), hide_index=True, width="stretch",
                     column_config={"clip_id": st.column_config.TextColumn("clip"),
                                    "votes": st.column_config.TextColumn("each annotator's label", width="large"),
                                    "open_dispute": st.column_config.CheckboxColumn("disputed")})
        ids = d["clip_id"].tolist()
        if st.session_state.get(StateKeys.DIS_CLIP) not in ids:
            st.session_state[StateKeys.DIS_CLIP] = ids[0]
        clip = st.selectbox("Clip", ids, key=StateKeys.DIS_CLIP, format_func=lambda c: label_text(c, 120))
        clip_panel(key, clip, rows)
    export_panel(key, ds, rows)


__all__ = ["clip_panel", "disagreements_page", "export_panel", "kappa_panel", "settle"]
