"""Pre-training with a NULL class (issue 5): which clips are NULL, the anchor text, the NULL vectors a checkpoint keeps.

The paper pre-trains without NULL and gives zero-shot's NULL class the mean of the class embeddings. Here the NULL
chapters (ground truth, or the store's curation) can take part:
- with a NULL anchor text, every NULL clip's windows take the anchor's text features instead of their chapter's
  (`WindowBank.with_shared_text`), and the batches' mask keeps them from being each other's negatives: the text
  encoder learns one NULL point that every NULL window is pulled towards, a NULL class in the joint space;
- after each epoch the checkpoint's extra gets `null_embedding` (the anchor through the text encoder: zero-shot's
  "learned" NULL) and `null_centroid` (the normalised mean IMU embedding of the NULL training windows: zero-shot's
  "centroid" NULL), both (D,) unit-norm lists, plus a `null` summary (source, anchor, counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from mujo.features.text import MINILM, embed_texts
from mujo.fimad.layout import CLIPS, NULL_LABEL
from mujo.modality import Modality
from mujo.store import dataset_key, open_store
from mujo.train.settings import PretrainSettings, null_labels

if TYPE_CHECKING:
    from mujo.banks.bank import WindowBank
    from mujo.store import Store

CENTROID_WINDOWS = 4096  # the centroid averages at most this many evenly spaced NULL training windows
_BATCH = 512


def null_clip_ids(bank: WindowBank, source: str, dataset: str | Path, store: Store | str | Path | None = None
                  ) -> list[str]:
    """The bank's NULL clips: label NULL_LABEL in clips.csv ("truth") or a whole-clip "null" label in force in
    the store ("curated", keyed by `dataset_key(dataset)`).

    Raises:
        ValueError: an unknown source, or no NULL clip at all (what to do is named).
    """
    clips = bank.clips
    if source == "truth":
        ids = clips.loc[clips["label"] == NULL_LABEL, "clip_id"].tolist()
        if not ids:
            raise ValueError(f"no clip of {dataset} has the label {NULL_LABEL!r} in {CLIPS}; label the NULL chapters "
                             "in the store and use null_labels 'curated'")
        return ids
    if source == "curated":
        st, key = open_store(store), dataset_key(dataset)
        labels = st.whole_clip_labels(key)
        ids = [c for c in clips["clip_id"] if labels.get(c, ("",))[0] == "null"]
        if not ids:
            raise ValueError(f"the store {st.path} holds no whole-clip 'null' label for {key}; label NULL chapters "
                             "on the curation page (or mujo labels import) first")
        return ids
    raise ValueError(f"unknown NULL label source {source!r}; use truth or curated")


def anchor_features(bank: WindowBank, anchor: str) -> np.ndarray:
    """(Dt,) the anchor text embedded like the bank's text features (all-MiniLM-L6-v2, unit-norm).

    Raises:
        ValueError: the bank has no text, or its text features come from another model (precomputed ones).
    """
    if Modality.TEXT not in bank.modalities:
        raise ValueError("a NULL anchor needs text features; the window bank has none")
    name = (bank.meta.get("text") or {}).get("name")
    if name != MINILM:
        raise ValueError(f"a NULL anchor is embedded with all-MiniLM-L6-v2, but the dataset's text features are "
                         f"{name!r}; pre-train on MiniLM text features (remove the precomputed text_features)")
    return embed_texts([anchor])[0]


@dataclass
class NullSetup:
    """A run's NULL clips and anchor, and how to measure the NULL vectors of its model."""

    source: str  # "truth" | "curated"
    anchor: str | None  # the anchor text, or None (centroid only)
    clip_ids: list[str]  # NULL clips of the bank
    train_rows: np.ndarray  # (n,) window rows of NULL clips in the training split
    features: np.ndarray | None = None  # (Dt,) the anchor's text features

    def extra(self, model: nn.Module, bank: WindowBank) -> dict[str, Any]:
        """`null` summary, `null_embedding` (with an anchor) and `null_centroid` (with an IMU encoder) of `model`
        as it is now, for the checkpoint's extra. Eval mode, no gradients; the training mode is restored."""
        out: dict[str, Any] = {"null": {"labels": self.source, "anchor": self.anchor, "clips": len(self.clip_ids),
                                        "train_windows": int(len(self.train_rows))}}
        modalities = set(model.config.modalities)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                if self.features is not None and Modality.TEXT in modalities:
                    v = model.encode(Modality.TEXT, torch.from_numpy(self.features[None]))[0]  # (D,) unit-norm
                    out["null_embedding"] = v.float().tolist()
                rows = self.train_rows
                if Modality.IMU in modalities and len(rows):
                    if len(rows) > CENTROID_WINDOWS:
                        rows = rows[np.linspace(0, len(rows) - 1, CENTROID_WINDOWS).astype(np.int64)]
                    total = torch.zeros(model.config.embed_dim)
                    for i in range(0, len(rows), _BATCH):
                        x = bank.batch(rows[i: i + _BATCH], [Modality.IMU])[Modality.IMU]
                        total += model.encode(Modality.IMU, x).float().sum(0)
                    out["null_centroid"] = (total / total.norm().clamp_min(1e-12)).tolist()
        finally:
            model.train(was_training)
        return out


def setup_null(settings: PretrainSettings, bank: WindowBank, store: Store | str | Path | None = None
               ) -> tuple[WindowBank, NullSetup | None]:
    """The bank to train on and the run's NULL setup: (bank, None) when the settings ask for no NULL handling;
    with a `null_anchor`, a view of the bank in which every NULL clip has the anchor's text.

    Raises:
        ValueError: no NULL clip, or an anchor without MiniLM text features (see above).
    """
    source = null_labels(settings)
    if source is None:
        return bank, None
    ids = null_clip_ids(bank, source, settings.dataset, store)
    features = None
    if settings.null_anchor is not None:
        features = anchor_features(bank, settings.null_anchor)
        bank = bank.with_shared_text(ids, features)
    is_null = bank.index["clip_id"].isin(set(ids)).to_numpy()  # (N,) per window
    train = np.asarray(bank.rows("train"), np.int64)
    return bank, NullSetup(source=source, anchor=settings.null_anchor, clip_ids=ids, train_rows=train[is_null[train]],
                           features=features)
