"""NULL-class curation suggestions (issue 5): clips ranked by how NULL-like they look, four signals side by side.

`compute_signals` gives one row per clip with each signal in [0, 1] (1 = looks like NULL) and its reason
(see `mujo.curation.signals`); `rank_signals` adds the combined score and the curation status, filters and sorts;
`rank_clips` does both. `mujo.curation.quality` measures how well each signal finds the NULL clips of a dataset
whose ground truth is known (the synthetic FiMAD's NULL_LABEL).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np
import pandas as pd

from mujo.curation import signals as ns
from mujo.datasets.base import readable
from mujo.eval.embed import EmbeddingStore, checkpoint_id
from mujo.eval.embedding_view import UNCURATED, curation_status
from mujo.eval.queries import embed_text_query
from mujo.fimad.chapter_norm import normalize_chapter
from mujo.fimad.errors import ClipError
from mujo.fimad.layout import NULL_LABEL
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import dataset_key as key_of

if TYPE_CHECKING:
    import torch

    from mujo.fimad.dataset import FimadDataset
    from mujo.store import Store

SIGNALS = ("text", "prompt", "energy", "uncertainty")
# Curation status of a clip: no label, a whole-clip label (mujo.store.labels.LABELS), or labels on parts of it.
STATUSES = ("unlabelled", "null", "activity", "unsure", "bad", "partly labelled")
# Labels that mean "no activity" (compared lower-case): the synthetic FiMAD's, the target datasets' and common ones.
NULL_LABELS = frozenset({NULL_LABEL, "null", "none", "no activity", "no_activity", "no-activity"})
# The synthetic generator's non-exercise chapter kinds (clips.csv `segment_kind`).
NULL_KINDS = frozenset({"intro", "rest", "water_break", "explanation", "cooldown_stretch", "outro"})
DEFAULT_TEMPERATURE = 0.1  # softmax temperature over prompt similarities when the model gives none
MAX_PROMPTS = 64  # activity prompts taken from chapter titles (the most frequent) when the data has no labels
MODALITY_ORDER = (Modality.IMU, Modality.POSE, Modality.VIDEO)  # whose embeddings stand for a clip


@dataclass(frozen=True)
class NullWeights:
    """How much each signal counts in the combined score (a weighted mean over the signals a clip has)."""

    text: float = 1.0  # chapter-title cues: the most direct evidence where uploaders name their breaks
    prompt: float = 1.0  # far from every activity prompt in the joint space
    energy: float = 0.5  # a quiet IMU: planks and curls are quiet too, so it is only a hint
    uncertainty: float = 0.5  # flat prediction over the prompts: overlaps with `prompt`, half weight

    def __post_init__(self) -> None:
        for k, v in asdict(self).items():
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                raise ValueError(f"NullWeights.{k} must be a number >= 0, got {v!r}")

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, s) for s in SIGNALS], np.float64)


def text_col(clips: pd.DataFrame, col: str) -> pd.Series:
    """A column of clips.csv as str, "" where the cell is empty or the column absent."""
    if col not in clips.columns:
        return pd.Series("", index=clips.index, dtype=object)
    s = clips[col].astype(object)
    return s.where(s.notna(), "").map(str)


def is_null_label(labels: Iterable[object]) -> np.ndarray:
    """Whether each label names the NULL class (NULL_LABELS, case-insensitive)."""
    return np.array([isinstance(x, str) and x.strip().lower() in NULL_LABELS for x in labels], bool)


def activity_prompts(ds: FimadDataset, max_prompts: int = MAX_PROMPTS) -> list[str]:
    """The dataset's activity phrases: its non-NULL labels made readable, else its most frequent normalised
    chapter titles that name an exercise (text score < 0.5)."""
    clips = ds.clips
    labels = text_col(clips, "label").str.strip()
    labels = labels[(labels != "") & ~is_null_label(labels)]
    if len(labels):
        return sorted({readable(x) for x in labels})
    if "chapter_norm" in clips.columns:
        titles = text_col(clips, "chapter_norm")
    else:
        titles = text_col(clips, "chapter").map(normalize_chapter)
    titles = titles[titles.str.strip() != ""]
    titles = titles[[ns.text_evidence(t)[0] < 0.5 for t in titles]]
    return titles.value_counts().index[:max_prompts].tolist()


# --- gathering the inputs --------------------------------------------------------------------------------------
def _energies(ds: FimadDataset, trim: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    n = len(ds.clips)
    energy, jerk, missing = np.full(n, np.nan), np.full(n, np.nan), [""] * n
    has = ds.clips["has_imu"].to_numpy() if "has_imu" in ds.clips.columns else np.zeros(n, bool)
    for i, cid in enumerate(ds.clips.index):
        if not has[i]:
            missing[i] = "no IMU file"
            continue
        try:
            acc, _ = ds.imu(cid, interpolate=False)
            energy[i], jerk[i] = ns.motion_energy(acc, ds.fps, trim)
        except (ClipError, ValueError) as e:
            missing[i] = f"IMU unreadable: {e}"
            continue
        if not np.isfinite(energy[i]):
            missing[i] = "IMU all missing"
    return energy, jerk, missing


def _load_model(checkpoint: str | Path | torch.nn.Module) -> tuple[Any, dict[str, Any]]:
    if isinstance(checkpoint, (str, Path)):
        return load_checkpoint(checkpoint)
    return checkpoint, {}


def _model_temperature(model: Any) -> float | None:
    try:
        return float(model.temperature().detach())
    except Exception:  # noqa: BLE001 - a model without a temperature: the caller falls back to the default
        return None


def _prompt_sims(ds: FimadDataset, embeddings: EmbeddingStore | str | Path | None,
                 checkpoint: str | Path | torch.nn.Module | None, prompts: Sequence[str] | None,
                 prompt_vectors: np.ndarray | None, modality: str | None, temperature: float | None
                 ) -> tuple[np.ndarray | None, list[str], float, str]:
    """((clips, K) similarities or None, prompt names, temperature, why not available)."""
    if embeddings is None:
        return None, [], DEFAULT_TEMPERATURE, "no embedding store (run `mujo embed CHECKPOINT DATASET`)"
    store = embeddings if isinstance(embeddings, EmbeddingStore) else EmbeddingStore.open(embeddings)
    if modality is not None:
        m = Modality(modality)
        if m not in store.modalities:
            return None, [], DEFAULT_TEMPERATURE, f"the embedding store has no {m.value} embeddings"
    else:
        m = next((x for x in MODALITY_ORDER if x in store.modalities), None)
        if m is None:
            return None, [], DEFAULT_TEMPERATURE, "the embedding store has no IMU, pose or video embeddings"
    temp = temperature
    if prompt_vectors is not None:
        vecs = np.asarray(prompt_vectors, np.float32)
        names = list(prompts) if prompts is not None else [f"prompt {i}" for i in range(len(vecs))]
        if vecs.ndim != 2 or len(names) != len(vecs):
            raise ValueError(f"prompt_vectors must be (K, D) with K = {len(names)} prompt names, got {vecs.shape}")
    elif checkpoint is None:
        return None, [], DEFAULT_TEMPERATURE, "no checkpoint to embed the activity prompts"
    else:
        why = _store_mismatch(store, checkpoint)
        if why:
            return None, [], DEFAULT_TEMPERATURE, why
        names = list(prompts) if prompts is not None else activity_prompts(ds)
        if not names:
            return None, [], DEFAULT_TEMPERATURE, "no activity prompts (no labels or exercise chapters)"
        model, extra = _load_model(checkpoint)
        try:
            vecs = embed_text_query(model, names, extra)
        except ValueError as e:
            return None, [], DEFAULT_TEMPERATURE, str(e)
        temp = temp if temp is not None else _model_temperature(model)
    ids, means = ns.clip_means(store.vectors(m), store.index["clip_id"].to_numpy())
    if vecs.shape[1] != means.shape[1]:
        return None, [], DEFAULT_TEMPERATURE, (f"prompt vectors are {vecs.shape[1]}-d, the store's {m.value} "
                                               f"embeddings {means.shape[1]}-d")
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    pos = pd.Index(ids).get_indexer(ds.clips.index.astype(str))
    sims = np.full((len(pos), len(vecs)), np.nan)
    sims[pos >= 0] = means[pos[pos >= 0]] @ vecs.T  # (C, K) cosine
    return sims, names, float(temp if temp is not None else DEFAULT_TEMPERATURE), ""


def _store_mismatch(store: EmbeddingStore, checkpoint: Any) -> str:
    """Why the store's vectors cannot be compared with this checkpoint's prompts ("" when they can)."""
    want = (store.meta or {}).get("checkpoint_sha256")
    if not want or not isinstance(checkpoint, (str, Path)):
        return ""
    try:
        return "" if checkpoint_id(checkpoint)[1] == want else "the embedding store was made with another checkpoint"
    except OSError as e:
        return f"checkpoint weights unreadable ({e})"


# --- the signals table -----------------------------------------------------------------------------------------
def compute_signals(ds: FimadDataset, *, embeddings: EmbeddingStore | str | Path | None = None,
                    checkpoint: str | Path | torch.nn.Module | None = None, prompts: Sequence[str] | None = None,
                    prompt_vectors: np.ndarray | None = None, modality: str | None = None,
                    temperature: float | None = None, trim: float = 0.15) -> pd.DataFrame:
    """Every clip's four NULL signals, unfiltered and unsorted.

    Args:
        ds: the dataset.
        embeddings: an EmbeddingStore (or its folder) of `checkpoint` over `ds`: the prompt and uncertainty signals.
        checkpoint: a checkpoint folder or a loaded model whose text encoder embeds the activity prompts.
        prompts: activity phrases (default `activity_prompts(ds)`).
        prompt_vectors: (K, D) joint-space prompt embeddings instead of embedding `prompts` with the checkpoint.
        modality: whose window embeddings stand for a clip (default the first of IMU, pose, video in the store).
        temperature: of the softmax for uncertainty (default the checkpoint's, else DEFAULT_TEMPERATURE).
        trim: fraction cut from each end of a clip for motion energy.
    Returns:
        One row per clip: clip_id, video_id, split, chapter, one column per SIGNALS in [0, 1] (NaN: not
        available), `<signal>_reason` strings, and raw values imu_energy_g, imu_jerk_gps, max_similarity,
        entropy.
    """
    clips = ds.clips
    chapter = text_col(clips, "chapter" if "chapter" in clips.columns else "chapter_norm")
    out = pd.DataFrame({"clip_id": clips.index.astype(str), "video_id": text_col(clips, "video_id").to_numpy(),
                        "split": text_col(clips, "split").to_numpy(), "chapter": chapter.to_numpy()})
    fields = {f: text_col(clips, f).tolist() for f in ("chapter", "caption", "description") if f in clips.columns}
    if "chapter" not in fields and "chapter_norm" in clips.columns:
        fields = {"chapter": chapter.tolist(), **fields}
    if fields:
        out["text"], out["text_reason"] = ns.text_signal(fields)
    else:
        out["text"], out["text_reason"] = np.nan, "not available (no chapter, caption or description)"
    energy, jerk, missing = _energies(ds, trim)
    out["energy"], out["energy_reason"] = ns.energy_signal(energy, missing)
    sims, names, temp, why = _prompt_sims(ds, embeddings, checkpoint, prompts, prompt_vectors, modality, temperature)
    if sims is None:
        for s in ("prompt", "uncertainty"):
            out[s], out[f"{s}_reason"] = np.nan, f"not available ({why})"
        best = ent = np.full(len(out), np.nan)
    else:
        out["prompt"], out["prompt_reason"], best = ns.prompt_signal(sims, names)
        out["uncertainty"], out["uncertainty_reason"], ent = ns.uncertainty_signal(sims, temp)
    out["imu_energy_g"], out["imu_jerk_gps"], out["max_similarity"], out["entropy"] = energy, jerk, best, ent
    first = ["clip_id", "video_id", "split", "chapter", *SIGNALS, *(f"{s}_reason" for s in SIGNALS)]
    return out[first + [c for c in out.columns if c not in first]]


def combine(signals: pd.DataFrame, weights: NullWeights = NullWeights()) -> tuple[np.ndarray, np.ndarray]:
    """(combined score, number of signals used) per row: the weighted mean of the available signals, NaN when
    none is (a signal with weight 0 is not counted)."""
    s = signals[list(SIGNALS)].to_numpy(np.float64)  # (N, 4)
    w = weights.vector()
    use = np.isfinite(s) & (w > 0)
    den = (use * w).sum(axis=1)
    num = (np.where(use, s, 0.0) * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan), use.sum(axis=1)


def clip_status(clip_ids: Sequence[str], labels: pd.DataFrame | None) -> np.ndarray:
    """Each clip's curation status (STATUSES) from `Store.current_labels(dataset)`."""
    frame = pd.DataFrame({"clip_id": list(clip_ids), "t0_s": 0.0})
    raw = curation_status(frame, labels, level="clip")
    return np.array(["unlabelled" if x == UNCURATED else "partly labelled" if x == "partly curated" else x
                     for x in raw], dtype=object)


def _as_set(x: str | Iterable[str] | None) -> set[str] | None:
    if x is None:
        return None
    return {x} if isinstance(x, str) else {str(v) for v in x}


def rank_signals(signals: pd.DataFrame, *, weights: NullWeights = NullWeights(), labels: pd.DataFrame | None = None,
                 videos: str | Iterable[str] | None = None, splits: str | Iterable[str] | None = None,
                 min_score: float | None = None, status: str | Iterable[str] | None = None) -> pd.DataFrame:
    """`compute_signals`'s table with `combined`, `n_signals` and `status`, filtered, most NULL-like first.

    Args:
        signals: from `compute_signals` (not changed).
        weights: of the signals in the combined score.
        labels: `Store.current_labels(dataset)` for the status column (None: every clip "unlabelled").
        videos, splits: keep only these (None: all).
        min_score: keep clips whose combined score is at least this (NaN scores are dropped then).
        status: keep only these STATUSES.
    Returns:
        The rows kept, sorted by combined score (desc; NaN last, then by clip_id), index reset.
    """
    bad = _as_set(status) - set(STATUSES) if status is not None else set()
    if bad:
        raise ValueError(f"unknown status {sorted(bad)}; choose from {', '.join(STATUSES)}")
    df = signals.copy()
    df["combined"], df["n_signals"] = combine(df, weights)
    df["status"] = clip_status(df["clip_id"], labels)
    keep = np.ones(len(df), bool)
    for col, want in (("video_id", _as_set(videos)), ("split", _as_set(splits)), ("status", _as_set(status))):
        if want is not None:
            keep &= df[col].isin(want).to_numpy()
    if min_score is not None:
        keep &= (df["combined"] >= float(min_score)).to_numpy()
    df = df[keep]
    df = df.sort_values(["combined", "clip_id"], ascending=[False, True], na_position="last", kind="stable")
    lead = ["clip_id", "video_id", "split", "chapter", "status", "combined", "n_signals"]
    return df[lead + [c for c in df.columns if c not in lead]].reset_index(drop=True)


def rank_clips(ds: FimadDataset, *, checkpoint: str | Path | torch.nn.Module | None = None,
               embeddings: EmbeddingStore | str | Path | None = None, labels: pd.DataFrame | None = None,
               store: Store | None = None, dataset_key: str | None = None, weights: NullWeights = NullWeights(),
               videos: str | Iterable[str] | None = None, splits: str | Iterable[str] | None = None,
               min_score: float | None = None, status: str | Iterable[str] | None = None,
               **signal_options: Any) -> pd.DataFrame:
    """Clips ranked by how likely they are NULL: `compute_signals` then `rank_signals`.

    Args:
        labels: the curation labels in force; or give `store` (and `dataset_key`, default the store's key of
            `ds.root`) to read them with `store.current_labels`.
        signal_options: prompts, prompt_vectors, modality, temperature, trim (see `compute_signals`).
        Others: see `compute_signals` and `rank_signals`.
    """
    if labels is None and store is not None:
        labels = store.current_labels(dataset_key or key_of(ds.root))
    signals = compute_signals(ds, embeddings=embeddings, checkpoint=checkpoint, **signal_options)
    return rank_signals(signals, weights=weights, labels=labels, videos=videos, splits=splits, min_score=min_score,
                        status=status)
