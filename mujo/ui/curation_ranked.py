"""The Curation page's clips ranked with the labels in force, shared by the sessions (`ranked_now`): the order by
NULL score once per signals table, each clip's status and the progress per video once per label version."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mujo.curation import suggest as nsg
from mujo.fimad.dataset import FimadDataset
from mujo.ui import dataset as uds
from mujo.ui.curation_queue import Model, labels_now, signals, store


@dataclass(frozen=True)
class Ranked:
    """Every clip with its NULL score and curation status, most NULL-like first, and the progress per video."""

    labels: pd.DataFrame  # the labels in force
    clips: pd.DataFrame  # `rank_signals` without filters
    per_video: pd.DataFrame  # video_id -> clips, labelled, share

    @property
    def status(self) -> pd.Series:  # clip id -> status
        return pd.Series(self.clips["status"].to_numpy(object), index=self.clips["clip_id"].to_numpy(object))


@st.cache_resource
def _ranked_cache() -> tuple[dict[tuple[Any, ...], tuple[Any, Any]], threading.Lock]:
    return {}, threading.Lock()


def _cached(ck: tuple[Any, ...], version: Any, make: Any) -> Any:  # one value per key, made again when `version` moves
    cache, lock = _ranked_cache()
    with lock:
        hit = cache.get(ck)
    if hit is not None and hit[0] == version:
        return hit[1]
    out = make()
    with lock:
        cache[ck] = (version, out)
    return out


def ranked_now(ref: uds.DatasetRef, ds: FimadDataset, model: Model, key: str) -> Ranked:
    """The clips ranked with the labels in force, shared by the sessions (read-only): the order by NULL score once
    per signals table, the statuses and the progress per video once per label version, so that a key press of one
    annotator does not rank every clip again for each one."""
    version, labels = labels_now(key)
    sig = signals(ref, ds, model)
    ck = (str(store().path), key, ref.root, ref.stamp, model)
    base = _cached(("order", *ck), id(sig), lambda: nsg.rank_signals(sig))  # the labels do not change the order

    def with_labels() -> Ranked:
        clips = base.assign(status=nsg.clip_status(base["clip_id"], labels))
        video, codes = np.unique(clips["video_id"].astype(str).to_numpy(object), return_inverse=True)
        n = np.bincount(codes, minlength=len(video))
        done = np.bincount(codes, weights=(clips["status"] != "unlabelled").to_numpy(float), minlength=len(video))
        per = pd.DataFrame({"clips": n, "labelled": done.astype(int), "share": done / np.maximum(n, 1)},
                           index=pd.Index(video, name="video_id"))
        return Ranked(labels, clips, per)

    return _cached(("labels", *ck), (version, id(sig)), with_labels)


__all__ = ["Ranked", "ranked_now"]
