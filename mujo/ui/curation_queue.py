"""The Curation page's queue and decisions: cached NULL signals, the queue snapshot, moving in it, writing labels.

The queue is a snapshot of clip ids (most NULL-like first) taken when the filters change or on "Refresh": a clip
labelled a moment ago keeps its place, so Previous goes back to it and the position ("clip 3 of 120") stays put.
Decisions are button callbacks (they run before the page is drawn): each writes one label event to the store and
moves on. Nothing here draws widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from mujo import models_registry as registry
from mujo.curation import suggest as nsg
from mujo.fimad.dataset import FimadDataset
from mujo.store import LABELS, Store, dataset_key
from mujo.ui import dataset as uds
from mujo.ui.model import demo_training, store_stamp
from mujo.ui.state import QP_CLIP, StateKeys, start_player, write_clip_param

LABEL_NAMES = {"null": "NULL", "activity": "Activity", "unsure": "Unsure", "bad": "Bad"}


# --- the ranking ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """The checkpoint whose embeddings feed the prompt and uncertainty signals (None fields: text and IMU only)."""

    checkpoint: str | None = None
    stamp: tuple[float, ...] = ()
    embeddings: str | None = None
    embeddings_stamp: float = 0.0


def current_model(root: str) -> Model:
    """The checkpoint in use when it has an embedding store of this dataset, else an empty Model."""
    folder = registry.model_dir()
    info = registry.current_checkpoint() if demo_training(folder) is None else None
    if info is None:
        return Model()
    emb = registry.find_store(info.path, root)
    if emb is None:
        return Model()
    return Model(str(info.path), info.stamp, str(emb), store_stamp(emb))


@st.cache_data(max_entries=4, show_spinner="Ranking the clips by how NULL-like they look…")
def _signals(root: str, stamp: uds.Stamp, model: Model, _ds: FimadDataset) -> pd.DataFrame:
    return nsg.compute_signals(_ds, embeddings=model.embeddings, checkpoint=model.checkpoint)


def signals(ref: uds.DatasetRef, ds: FimadDataset, model: Model) -> pd.DataFrame:
    """Every clip's four NULL signals and reasons (`compute_signals`), computed once per dataset and model version.

    The labels are not part of this: `rank_signals` applies them on every run (cheap), so a decision shows at once.
    """
    return _signals(ref.root, ref.stamp, model, ds)


def store() -> Store:
    """The project's store (only a path: each call opens its own connection)."""
    return Store()


def current_labels(key: str) -> pd.DataFrame:
    """The labels in force of a dataset; no rows when there is no store file yet (reading never creates it)."""
    s = store()
    if not Path(s.path).exists():
        return pd.DataFrame(columns=["id", "dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator",
                                     "note", "created"])
    return s.current_labels(key)


@dataclass(frozen=True)
class QueueFilter:
    """What the queue holds: None or empty = no restriction."""

    videos: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    min_score: float = 0.0
    status: tuple[str, ...] = ("unlabelled",)
    only: tuple[str, ...] | None = None  # only these clip ids (the Embedding Space selection)


def build_queue(sig: pd.DataFrame, labels: pd.DataFrame, flt: QueueFilter) -> list[str]:
    """Clip ids matching the filter, most NULL-like first (`rank_signals`)."""
    ranked = nsg.rank_signals(sig, labels=labels, videos=flt.videos or None, splits=flt.splits or None,
                              min_score=flt.min_score if flt.min_score > 0 else None, status=flt.status or None)
    ids = ranked["clip_id"].tolist()
    if flt.only is not None:
        keep = set(flt.only)
        ids = [c for c in ids if c in keep]
    return ids


def sync_queue(sig: pd.DataFrame, labels: pd.DataFrame, flt: QueueFilter, signature: tuple[Any, ...],
               refresh: bool = False) -> list[str]:
    """The queue snapshot in the session, rebuilt when `signature` (dataset, model, filter) changed or on refresh.

    After a rebuild the shown clip stays when the new queue has it; otherwise the first clip is shown. On the
    session's first build a clip asked for by the URL stays even when the queue lacks it.
    """
    first = st.session_state.get(StateKeys.CUR_QUEUE_FOR) is None
    if refresh or st.session_state.get(StateKeys.CUR_QUEUE_FOR) != signature:
        queue = build_queue(sig, labels, flt)
        st.session_state[StateKeys.CUR_QUEUE] = queue
        st.session_state[StateKeys.CUR_QUEUE_FOR] = signature
        clip = st.session_state.get(StateKeys.CUR_CLIP)
        known = set(sig["clip_id"])
        if clip not in queue and not (first and clip in known):
            if first and clip:
                feedback("warning", f"There is no clip {clip!r} in this dataset; showing the queue's first clip.")
            goto(queue[0] if queue else None)
    return list(st.session_state[StateKeys.CUR_QUEUE])


# --- moving in the queue -------------------------------------------------------------------------------------
def sync_from_url() -> None:
    """?clip= names the clip to show (a shared link, a reload); otherwise the shown clip is written to the URL."""
    url_clip = st.query_params.get(QP_CLIP)
    if url_clip and url_clip != st.session_state.get(StateKeys.CUR_CLIP):
        goto(url_clip, write_url=False)
    elif not url_clip and st.session_state.get(StateKeys.CUR_CLIP):
        st.query_params[QP_CLIP] = st.session_state[StateKeys.CUR_CLIP]


def goto(clip_id: str | None, *, write_url: bool = True) -> None:
    """Show `clip_id` from its start (the player honours a new start token) and put it in the URL."""
    st.session_state[StateKeys.CUR_CLIP] = clip_id
    start_player(0.0)  # a clip of the queue starts at 0, not where Browse was
    if write_url:
        write_clip_param(clip_id)


def position(queue: Sequence[str], clip_id: str | None) -> int | None:
    """The clip's index in the queue, None when the queue lacks it."""
    try:
        return list(queue).index(clip_id)
    except ValueError:
        return None


def neighbour(queue: Sequence[str], clip_id: str | None, step: int) -> str | None:
    """The clip `step` places away in the queue (from outside it: the first clip), None past either end."""
    pos = position(queue, clip_id)
    if pos is None:
        return queue[0] if queue and step > 0 else None
    j = pos + step
    return queue[j] if 0 <= j < len(queue) else None


def move(step: int) -> None:
    """Button callback: Previous (-1) / Next (+1)."""
    queue = st.session_state.get(StateKeys.CUR_QUEUE) or []
    target = neighbour(queue, st.session_state.get(StateKeys.CUR_CLIP), step)
    if target is None:
        feedback("info", "This is the last clip of the queue." if step > 0 else "This is the first clip of the queue.")
    else:
        goto(target)


def feedback(level: str, message: str) -> None:
    """A message for the next run of the page (level: success, info, warning or error; message is our text)."""
    st.session_state[StateKeys.CUR_FEEDBACK] = (level, message)


def annotator() -> str:
    """The annotator's name from the sidebar ("" when not typed yet)."""
    return str(st.session_state.get(StateKeys.CUR_ANNOTATOR) or "").strip()


def describe(label: str | None, activity: str | None = None) -> str:
    """A label as the page writes it: "NULL", "Activity: squat" ..."""
    if label is None or (isinstance(label, float) and pd.isna(label)):
        return "no label"
    name = LABEL_NAMES.get(str(label), str(label))
    return f"{name}: {activity}" if label == "activity" and activity else name


# --- decisions (button callbacks) ----------------------------------------------------------------------------
def decide(key: str, clip_id: str, label: str) -> None:
    """Write one label event for the shown clip (whole clip, or the range of the time-range panel) and move on."""
    who = annotator()
    if not who:
        feedback("warning", "Type your name in the sidebar first: every label records who made it.")
        return
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    activity = None
    if label == "activity":
        activity = str(st.session_state.get(StateKeys.CUR_ACTIVITY) or "").strip() or None
        if activity is None:
            feedback("warning", "Choose or type the activity first.")
            return
    ranged = bool(st.session_state.get(StateKeys.CUR_RANGE))
    t0 = float(st.session_state.get(StateKeys.CUR_T0) or 0.0) if ranged else 0.0
    t1 = st.session_state.get(StateKeys.CUR_T1) if ranged else None
    try:
        event = store().add_label_event(key, clip_id, label, t0_s=t0, t1_s=None if t1 is None else float(t1),
                                        activity=activity, annotator=who,
                                        note=str(st.session_state.get(StateKeys.CUR_NOTE) or ""))
    except ValueError as e:
        feedback("error", f"Not labelled: {e}")
        return
    st.session_state[StateKeys.CUR_LAST] = (clip_id, event)
    st.session_state[StateKeys.CUR_NOTE] = ""
    what = f"{clip_id} labelled {describe(label, activity)}"
    if ranged:
        end = "the end" if t1 is None else f"{float(t1):g} s"
        feedback("success", f"{what} from {t0:g} s to {end}. (Z undoes it.)")
        return  # a range: the annotator may label more ranges of this clip
    nxt = neighbour(st.session_state.get(StateKeys.CUR_QUEUE) or [], clip_id, +1)
    if nxt is None:
        feedback("success", f"{what}. That was the last clip of the queue. (Z undoes it.)")
    else:
        feedback("success", f"{what}. (Z undoes it.)")
        goto(nxt)


def undo(key: str, clip_id: str) -> None:
    """Undo this annotator's latest label on the shown clip; with none there, this session's last decision (and go
    back to its clip)."""
    who = annotator()
    if not who:
        feedback("warning", "Type your name in the sidebar first: only your own labels can be undone.")
        return
    s = store()
    target = _latest_own_event(s, key, clip_id, who) if Path(s.path).exists() else None
    back = None
    if target is None:
        last = st.session_state.get(StateKeys.CUR_LAST)
        if last and _latest_own_event(s, key, last[0], who) == last[1]:
            back, target = last[0], last[1]
    if target is None:
        feedback("info", f"Nothing of yours to undo on {clip_id}.")
        return
    try:
        s.undo_label_event(int(target), annotator=who)
    except ValueError as e:
        feedback("error", f"Cannot undo: {e}")
        return
    st.session_state[StateKeys.CUR_LAST] = None
    feedback("success", f"Undid your last label of {back or clip_id}.")
    if back is not None and back != clip_id:
        goto(back)


def _latest_own_event(s: Store, key: str, clip_id: str, who: str) -> int | None:
    """The id of the annotator's newest label event on a clip that is not undone yet."""
    if not Path(s.path).exists():
        return None
    ev = s.label_events(key, clip_id)
    undone = set(ev["undo_of"].dropna().astype(int))
    own = ev[(ev["annotator"] == who) & ev["undo_of"].isna() & ~ev["id"].isin(undone)]
    return int(own["id"].iloc[-1]) if len(own) else None


def bulk_label(key: str, clip_ids: Sequence[str]) -> None:
    """Button callback: label every clip of the Embedding Space selection (whole clips) as the bulk panel says,
    all in one transaction (every clip or none)."""
    label = str(st.session_state.get(StateKeys.CUR_BULK_LABEL) or "")
    activity = str(st.session_state.get(StateKeys.CUR_BULK_ACTIVITY) or "").strip() or None
    note = str(st.session_state.get(StateKeys.CUR_BULK_NOTE) or "")
    who = annotator()
    if not who:
        feedback("warning", "Type your name in the sidebar first: every label records who made it.")
        return
    if label == "activity" and activity is None:
        feedback("warning", "Choose or type the activity of the selected clips first.")
        return
    rows = [{"clip_id": cid, "label": label, "activity": activity if label == "activity" else None}
            for cid in clip_ids]
    try:
        store().add_label_events(key, rows, annotator=who, note=note)
    except ValueError as e:
        feedback("error", f"No clip was labelled: {e}")
        return
    finally:
        st.session_state[StateKeys.CUR_BULK_CONFIRM] = False
    feedback("success", f"Labelled {len(rows)} selected clips {describe(label, activity)}.")


def forget_selection() -> None:
    """Button callback: drop the clips handed over by the Embedding Space."""
    st.session_state[StateKeys.CUR_SELECTION] = None
    st.session_state[StateKeys.CUR_ONLY_SELECTION] = False


def the_dataset_key(ds: FimadDataset) -> str:
    """The store's key of the open dataset (the resolved folder), as every page uses it."""
    return dataset_key(ds.root)


__all__ = ["LABEL_NAMES", "Model", "QueueFilter", "annotator", "build_queue", "bulk_label", "current_labels",
           "current_model", "decide", "describe", "feedback", "forget_selection", "goto", "move", "neighbour",
           "position", "signals", "store", "sync_from_url", "sync_queue", "the_dataset_key", "undo"]
