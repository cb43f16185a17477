"""The Curation page's queue: cached NULL signals, the queue snapshot, moving in it, clip leases, bulk labels.

The queue is a snapshot of clip ids (most NULL-like first) taken when the filters change or on "Refresh": a clip
labelled a moment ago keeps its place, so Previous goes back to it and the position ("clip 3 of 120") stays put.
Several annotators share one store: the clip shown to an annotator is leased to their session
(`mujo.store.leases`), and moving forward skips clips that other sessions hold; clips whose NULL scores are close
(the same 0.05 step) are ordered per annotator, so two annotators do not walk the same queue in the same order.
Decisions (`mujo.ui.curation_decide`) are button callbacks. Nothing here draws widgets.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import streamlit as st

from mujo import actions
from mujo import models_registry as registry
from mujo.access import Action, auth_configured
from mujo.curation import suggest as nsg
from mujo.fimad.dataset import FimadDataset
from mujo.store import Lease, Store, dataset_key
from mujo.store.decisions import merge_in_force
from mujo.store.leases import lease_seconds
from mujo.ui import dataset as uds
from mujo.ui.access import current_user
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


@st.cache_resource(max_entries=4, show_spinner="Ranking the clips by how NULL-like they look…")
def _signals(root: str, stamp: uds.Stamp, model: Model, _ds: FimadDataset) -> pd.DataFrame:
    return nsg.compute_signals(_ds, embeddings=model.embeddings, checkpoint=model.checkpoint)


def signals(ref: uds.DatasetRef, ds: FimadDataset, model: Model) -> pd.DataFrame:
    """Every clip's four NULL signals and reasons (`compute_signals`), computed once per dataset and model version
    and shared by the sessions (read-only: not copied on every run).

    The labels are not part of this: `ranked_now` applies them once per label version, so a decision shows at once.
    """
    return _signals(ref.root, ref.stamp, model, ds)


def store() -> Store:
    """The project's store (only a path: each call opens its own connection)."""
    return Store()


FULL_RELOAD_RANGES = 2000  # more ranges changed than this since the last read (an import): read them all again


@st.cache_resource
def _labels_cache() -> tuple[dict[tuple[str, str], tuple[int, pd.DataFrame]], threading.Lock]:
    """(store path, dataset) -> (newest event id, the labels in force then), shared by the sessions."""
    return {}, threading.Lock()


def current_labels(key: str) -> pd.DataFrame:
    """The labels in force of a dataset (a copy of `labels_now`'s)."""
    return labels_now(key)[1].copy()


def labels_now(key: str) -> tuple[int, pd.DataFrame]:
    """(the newest event id, the labels in force then), shared by the sessions: read-only; no rows when there is no
    store file yet (reading never creates it). Kept up to date per run from the events newer than the last read
    (`Store.labels_changed_since`: only the ranges they touched), not by reading all labels again on every key.
    """
    s = store()
    if not Path(s.path).exists():
        return 0, pd.DataFrame(columns=["id", "dataset", "clip_id", "t0_s", "t1_s", "label", "activity", "annotator",
                                        "note", "created"])
    cache, lock = _labels_cache()
    ck = (str(s.path), key)
    with lock:
        seen = cache.get(ck)
    if seen is not None and seen[0] == s.last_event_id(key):
        return seen
    if seen is not None:
        newest, touched, rows = s.labels_changed_since(key, seen[0])
        if len(touched) <= FULL_RELOAD_RANGES and newest >= seen[0]:
            fresh = (newest, merge_in_force(seen[1], touched, rows))
            with lock:
                cache[ck] = fresh
            return fresh
    newest = s.last_event_id(key)
    labels = s.current_labels(key)  # newer events than `newest` are merged in next time (idempotent)
    with lock:
        cache[ck] = (newest, labels)
    return newest, labels


@dataclass(frozen=True)
class QueueFilter:
    """What the queue holds: None or empty = no restriction."""

    videos: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    min_score: float = 0.0
    status: tuple[str, ...] = ("unlabelled",)
    only: tuple[str, ...] | None = None  # only these clip ids (the Embedding Space selection)


TIE_STEP = 0.05  # NULL scores within one step of this size count as a tie, ordered per annotator


def annotator_order(ranked: pd.DataFrame, who: str) -> pd.DataFrame:
    """`ranked` (most NULL-like first) with the clips of each TIE_STEP score step (and those without a score) in
    an order of their own for `who`: two annotators with the same filters start on different clips."""
    if not who or ranked.empty:
        return ranked
    step = (ranked["combined"] / TIE_STEP).fillna(-1.0).astype(float).apply(lambda v: int(v + 1e-9))
    salt = [hashlib.blake2b(f"{who}\n{c}".encode(), digest_size=8).hexdigest() for c in ranked["clip_id"]]
    order = pd.DataFrame({"step": step.to_numpy(), "salt": salt}).sort_values(["step", "salt"],
                                                                             ascending=[False, True], kind="stable")
    return ranked.iloc[order.index.to_numpy()].reset_index(drop=True)


def build_queue(sig: pd.DataFrame, labels: pd.DataFrame, flt: QueueFilter, who: str = "") -> list[str]:
    """Clip ids matching the filter, most NULL-like first (`rank_signals`; near ties ordered per annotator)."""
    ranked = nsg.rank_signals(sig, labels=labels, videos=flt.videos or None, splits=flt.splits or None,
                              min_score=flt.min_score if flt.min_score > 0 else None, status=flt.status or None)
    ids = annotator_order(ranked, who)["clip_id"].tolist()
    if flt.only is not None:
        keep = set(flt.only)
        ids = [c for c in ids if c in keep]
    return ids


def sync_queue(sig: pd.DataFrame, labels: pd.DataFrame, flt: QueueFilter, signature: tuple[Any, ...],
               refresh: bool = False, key: str = "") -> list[str]:
    """The queue snapshot in the session, rebuilt when `signature` (dataset, model, filter, annotator) changed or on
    refresh.

    After a rebuild the shown clip stays when the new queue has it; otherwise the first clip that no other session
    holds is shown. On the session's first build a clip asked for by the URL stays even when the queue lacks it.
    """
    first = st.session_state.get(StateKeys.CUR_QUEUE_FOR) is None
    if refresh or st.session_state.get(StateKeys.CUR_QUEUE_FOR) != signature:
        queue = build_queue(sig, labels, flt, annotator())
        st.session_state[StateKeys.CUR_QUEUE] = queue
        st.session_state[StateKeys.CUR_QUEUE_FOR] = signature
        clip = st.session_state.get(StateKeys.CUR_CLIP)
        known = set(sig["clip_id"])
        if clip not in queue and not (first and clip in known):
            if first and clip:
                feedback("warning", f"There is no clip {clip!r} in this dataset; showing the queue's first clip.")
            goto(advance(key, queue, None) if key else queue[0] if queue else None)
    return list(st.session_state[StateKeys.CUR_QUEUE])


# --- leases --------------------------------------------------------------------------------------------------
def session_id() -> str:
    """This browser session's id (the holder of its lease), made once per session."""
    sid = st.session_state.get(StateKeys.CUR_SESSION)
    if not sid:
        sid = st.session_state[StateKeys.CUR_SESSION] = uuid.uuid4().hex
    return str(sid)


def _take(key: str, clip_id: str, who: str) -> Lease:
    lease = store().acquire_lease(key, clip_id, who, session_id(), ttl_s=lease_seconds())
    if lease.mine(session_id()):
        st.session_state[StateKeys.CUR_LEASE] = (key, clip_id, time.time())
    return lease


def hold(key: str, clip_id: str) -> Lease | None:
    """Lease the shown clip to this session, or renew the lease (at most every quarter of the lease time; every
    run of the page is activity). None while no annotator name is known: browsing leases nothing.

    Returns:
        The clip's lease: this session's, or that of the other session that holds it.
    """
    who = annotator()
    if not who:
        return None
    held = st.session_state.get(StateKeys.CUR_LEASE)
    if held and held[:2] == (key, clip_id) and time.time() - held[2] < lease_seconds() / 4:
        return Lease(clip_id, who, session_id(), held[2] + lease_seconds())
    return _take(key, clip_id, who)


def taken(key: str) -> set[str]:
    """The clips other annotators hold now (a lease of this annotator's other or earlier session does not count)."""
    s = store()
    if not Path(s.path).exists():
        return set()
    me, who = session_id(), annotator()
    return {c for c, lease in s.active_leases(key).items() if not lease.mine(me) and not (who and lease.holder == who)}


def advance(key: str, queue: Sequence[str], clip_id: str | None) -> str | None:
    """The next clip after `clip_id` (from outside the queue: the first) that no other session holds, leased to
    this session when an annotator is named (racing for it, one session wins; the loser goes on to the next)."""
    busy, who = taken(key), annotator()
    pos = position(queue, clip_id)
    for cand in list(queue)[(0 if pos is None else pos + 1):]:
        if cand in busy:
            continue
        if not who or _take(key, cand, who).mine(session_id()):
            return cand
    return None


# --- moving in the queue -------------------------------------------------------------------------------------
def sync_from_url() -> None:
    """?clip= names the clip to show (a shared link, a reload); otherwise the shown clip is written to the URL."""
    url_clip = st.query_params.get(QP_CLIP)
    if url_clip and url_clip != st.session_state.get(StateKeys.CUR_CLIP):
        goto(url_clip, write_url=False)
        st.session_state[StateKeys.CUR_LINKED] = url_clip
    elif not url_clip and st.session_state.get(StateKeys.CUR_CLIP):
        st.query_params[QP_CLIP] = st.session_state[StateKeys.CUR_CLIP]


def goto(clip_id: str | None, *, write_url: bool = True) -> None:
    """Show `clip_id` from its start (the player honours a new start token) and put it in the URL; a decision
    overtaken on the previous clip is dropped."""
    if clip_id != st.session_state.get(StateKeys.CUR_CLIP):
        st.session_state[StateKeys.CUR_CONFLICT] = None
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


def move(step: int, key: str = "") -> None:
    """Button callback: Previous (-1) / Next (+1; skips clips that other sessions hold)."""
    queue = st.session_state.get(StateKeys.CUR_QUEUE) or []
    clip = st.session_state.get(StateKeys.CUR_CLIP)
    target = advance(key, queue, clip) if step > 0 and key else neighbour(queue, clip, step)
    if target is None:
        last = step > 0 and neighbour(queue, clip, step) is not None
        feedback("info", "The queue's other clips are open for other annotators now." if last else
                 "This is the last clip of the queue." if step > 0 else "This is the first clip of the queue.")
    else:
        goto(target)


def feedback(level: str, message: str) -> None:
    """A message for the next run of the page (level: success, info, warning or error; message is our text)."""
    st.session_state[StateKeys.CUR_FEEDBACK] = (level, message)


def annotator() -> str:
    """The annotator's name: with an access file the logged-in user's ("" for a viewer, who does not label), else
    the sidebar's text ("" when not typed yet)."""
    if auth_configured():
        user = current_user()
        return user.name if user.can(Action.LABEL) else ""
    return str(st.session_state.get(StateKeys.CUR_ANNOTATOR) or "").strip()


def describe(label: str | None, activity: str | None = None) -> str:
    """A label as the page writes it: "NULL", "Activity: squat" ..."""
    if label is None or (isinstance(label, float) and pd.isna(label)):
        return "no label"
    name = LABEL_NAMES.get(str(label), str(label))
    return f"{name}: {activity}" if label == "activity" and activity else name


# --- bulk labels (button callbacks) ------------------------------------------------------------------------
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
        actions.label_store(current_user(), store()).add_label_events(key, rows, annotator=who, note=note)
    except (ValueError, PermissionError) as e:
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


__all__ = ["LABEL_NAMES", "Model", "QueueFilter", "advance", "annotator", "annotator_order", "build_queue",
           "bulk_label", "current_labels", "current_model", "describe", "feedback", "forget_selection", "goto", "hold",
           "labels_now", "move", "neighbour", "position", "session_id", "signals", "store",
           "sync_from_url", "sync_queue", "taken", "the_dataset_key"]
