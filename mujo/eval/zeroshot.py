"""Zero-shot HAR (paper 5.4): class prompts through the text encoder, windows through theirs, arg-max cosine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch

from mujo.checkpoint import CheckpointError, read_checkpoint_config
from mujo.datasets.base import NULL_NAME
from mujo.datasets.inputs import INPUTS
from mujo.eval.classification import accuracy, confusion_matrix, macro_f1, per_class_f1, topk_accuracy
from mujo.eval.prompts import check_templates, class_phrases, expand
from mujo.eval.zeroshot_data import window_embeddings, windows_for
from mujo.eval.zeroshot_settings import (
    CHECKPOINT_NULLS,
    NORMALIZE,
    PARTS,
    ZeroShotSettings,
    checkpoint_null_problem,
)
from mujo.features.text import DIM as MINILM_DIM
from mujo.features.text import embed_texts
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import open_store
from mujo.store.runs import now_iso

if TYPE_CHECKING:
    from mujo.datasets.windowset import WindowSet
    from mujo.store import Store

TOPK = (1, 3, 5)
Progress = Callable[[float, str], None]


def mean_null(class_rows: np.ndarray, extra: Mapping[str, Any] | None = None) -> np.ndarray:
    """The paper's NULL embedding: the normalised mean of the activity classes' embeddings. (K, D) -> (D,)"""
    v = class_rows.mean(0)
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _from_checkpoint(name: str) -> Callable[[np.ndarray, Mapping[str, Any] | None], np.ndarray]:
    def null(class_rows: np.ndarray, extra: Mapping[str, Any] | None = None) -> np.ndarray:
        problem = checkpoint_null_problem(name, extra, "the checkpoint")
        if problem:
            raise CheckpointError(problem)
        return null_row(class_rows, extra[CHECKPOINT_NULLS[name][0]])  # checked and renormalised as a vector

    null.__doc__ = f"The checkpoint's extra.{CHECKPOINT_NULLS[name][0]} as the NULL row (CheckpointError if absent)."
    return null


# How the NULL row is made, by name: (class rows (K, D), the checkpoint's extra) -> (D,) unit-norm. "mean" is the
# paper's; "learned" and "centroid" are what a pre-training with NULL chapters stored (issue 5).
NULL_EMBEDDINGS: dict[str, Callable[[np.ndarray, Mapping[str, Any] | None], np.ndarray]] = {
    "mean": mean_null, "learned": _from_checkpoint("learned"), "centroid": _from_checkpoint("centroid")}


@dataclass
class ZeroShotResult:
    """Metrics of one zero-shot evaluation; `results()` gives what the store keeps."""

    top1: float
    top3: float
    top5: float
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float | None]  # None: class neither present nor predicted
    confusion: list[list[int]]  # rows = true class, columns = predicted, in `classes` order
    classes: list[str]
    prompts: dict[str, list[str]]  # class -> its prompts (NULL: [] unless it has a phrase)
    n_windows: int
    seconds: float
    run_id: int | None = None
    macro_f1_top3: float = float("nan")  # paper Table 3: a window counts as right when its class is in the top k
    macro_f1_top5: float = float("nan")
    support: dict[str, int] = field(default_factory=dict)  # windows per true class
    split: str | None = None
    part: str = "all"
    fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float | None]:
        keys = ("top1", "top3", "top5", "macro_f1", "accuracy", "macro_f1_top3", "macro_f1_top5")
        return {k: _finite(getattr(self, k)) for k in keys}

    def results(self) -> dict[str, Any]:
        """The store's result keys: metrics, per_class_f1, confusion, classes, prompts, n_windows, ..."""
        return {"metrics": self.metrics(), "per_class_f1": self.per_class_f1, "confusion": self.confusion,
                "classes": self.classes, "prompts": self.prompts, "n_windows": self.n_windows,
                "support": self.support, "windows": {"split": self.split, "part": self.part,
                                                     "fingerprint": self.fingerprint},
                "warnings": self.warnings, "seconds": round(self.seconds, 2)}


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def check_text_encoder(config: Any, where: str | Path, extra: Mapping[str, Any] | None = None) -> None:
    """Raise CheckpointError unless the model has a text encoder that takes MiniLM (384-d) features."""
    if Modality.TEXT not in config.modalities:
        method = (extra or {}).get("method")
        has = ", ".join(m.value for m in config.modalities)
        raise CheckpointError(f"zero-shot needs a checkpoint with a text encoder; {where} has {has} only"
                              + (f" (a {method} checkpoint)" if method and method != "mujo" else ""))
    if config.text_dim != MINILM_DIM:
        raise CheckpointError(f"{where}: the text encoder takes {config.text_dim}-d text features, but zero-shot "
                              f"prompts are embedded with all-MiniLM-L6-v2 ({MINILM_DIM}-d); use a checkpoint "
                              "pre-trained on MiniLM text features")


def null_row(class_rows: np.ndarray, how: str | Sequence[float] | np.ndarray = "mean",
             extra: Mapping[str, Any] | None = None) -> np.ndarray:
    """The NULL class's (D,) unit-norm embedding: a NULL_EMBEDDINGS method by name (given the checkpoint's
    `extra`, where "learned" and "centroid" live), or a given vector."""
    if isinstance(how, str):
        if how not in NULL_EMBEDDINGS:
            raise ValueError(f"unknown null_embedding {how!r}; known: {', '.join(NULL_EMBEDDINGS)} or a vector")
        return NULL_EMBEDDINGS[how](class_rows, extra)
    v = np.asarray(how, np.float32).ravel()
    if v.shape != (class_rows.shape[1],) or not np.isfinite(v).all() or not np.linalg.norm(v) > 0:
        raise ValueError(f"a NULL embedding vector must be {class_rows.shape[1]} finite values, not all zero "
                         f"(got {v.shape[0]})")
    return v / np.linalg.norm(v)


def embed_prompts(model: torch.nn.Module, prompts: Sequence[str]) -> np.ndarray:
    """Prompts in the joint space: MiniLM, then the model's text encoder. (P,) -> (P, D) unit-norm float32."""
    feats = torch.from_numpy(embed_texts(list(prompts)))  # (P, 384)
    with torch.inference_mode():
        return model.encode(Modality.TEXT, feats).float().numpy()


def class_embeddings(model: torch.nn.Module, classes: Sequence[str], phrases: Mapping[str, str],
                     templates: Sequence[str], *, null_embedding: str | Sequence[float] | np.ndarray = "mean",
                     extra: Mapping[str, Any] | None = None) -> np.ndarray:
    """One joint-space vector per class by prompt ensembling.

    Args:
        model: a model with a text encoder (MiniLM inputs).
        classes: class names in label order; a class named "NULL" gets the NULL row (see `null_embedding`).
        phrases: class -> phrase (see `mujo.eval.prompts.class_phrases`); NULL needs none.
        templates: prompt templates with one "{}".
        null_embedding: a NULL_EMBEDDINGS name ("mean", the paper's normalised mean of the class rows;
            "learned"/"centroid" from `extra`) or a (D,) vector.
        extra: the checkpoint's extra (for "learned" and "centroid").
    Returns:
        (K, D) float32 unit-norm rows: each class's mean of its unit-norm prompt embeddings, renormalised.
    """
    acts = [c for c in classes if c != NULL_NAME]
    prompts = expand({c: phrases[c] for c in acts}, templates)
    flat = [p for c in acts for p in prompts[c]]
    vecs = embed_prompts(model, flat)  # (P, D)
    rows, i = {}, 0
    for c in acts:
        v = vecs[i: i + len(prompts[c])].mean(0)
        rows[c], i = v / max(float(np.linalg.norm(v)), 1e-12), i + len(prompts[c])
    if NULL_NAME in classes:
        rows[NULL_NAME] = null_row(np.stack([rows[c] for c in acts]), null_embedding, extra)
    return np.stack([rows[c] for c in classes]).astype(np.float32)


def zeroshot_metrics(scores: np.ndarray, y: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Top-k accuracy, macro F1 (also at top 3/5), accuracy, per-class F1 and confusion of (N, K) scores."""
    k = len(classes)
    pred = scores.argmax(1) if len(y) else np.zeros(0, np.int64)
    conf = confusion_matrix(y, pred, k)
    out: dict[str, Any] = {f"top{t}": topk_accuracy(scores, y, t) for t in TOPK}
    out |= {"macro_f1": macro_f1(conf), "accuracy": accuracy(conf), "confusion": conf}
    for t in TOPK[1:]:
        if len(y):  # right when the true class is among the t best, else the arg-max counts as the prediction
            top = np.argsort(-scores, axis=1)[:, :t]
            pred_t = np.where((top == y[:, None]).any(1), y, pred)
        else:
            pred_t = pred
        out[f"macro_f1_top{t}"] = macro_f1(confusion_matrix(y, pred_t, k))
    out["per_class_f1"] = {c: _finite(f) for c, f in zip(classes, per_class_f1(conf))}
    return out


def zeroshot(settings: ZeroShotSettings, *, store: Store | str | Path | None = None,
             progress: Progress | None = None, windows: WindowSet | None = None,
             loaded: tuple[torch.nn.Module, dict[str, Any]] | None = None) -> ZeroShotResult:
    """Evaluate a checkpoint zero-shot on a target dataset.

    Args:
        settings: what to evaluate.
        store: when given, the run is saved with `Store.save_run("zeroshot", ...)`.
        progress: called with (fraction, message).
        windows: prepared windows of the dataset (skips opening and preparing it; must fit the checkpoint).
        loaded: (model, extra) of `settings.checkpoint` already loaded (e.g. a page's cached model).
    Returns:
        ZeroShotResult (with run_id when stored).
    Raises:
        CheckpointError: no text encoder (or not MiniLM text), no encoder for the inputs, sites/channels differ.
        PromptError: a template without exactly one "{}", class_text naming unknown classes.
        DatasetError, ValueError: dataset unreadable, unknown split/part/inputs, no windows to evaluate.
    """
    t0, started = time.time(), now_iso()
    progress = progress or (lambda f, m: None)
    s = settings
    if s.inputs not in INPUTS or s.part not in PARTS or s.normalize not in NORMALIZE:
        raise ValueError(f"inputs must be one of {INPUTS}, part one of {PARTS}, normalize one of {NORMALIZE}; got "
                         f"{s.inputs!r}, {s.part!r}, {s.normalize!r}")
    templates = check_templates(s.templates)
    if isinstance(s.null_embedding, str) and s.null_embedding not in NULL_EMBEDDINGS:
        raise ValueError(f"unknown null_embedding {s.null_embedding!r}; known: {', '.join(NULL_EMBEDDINGS)}")
    if loaded is None:
        config, extra = read_checkpoint_config(s.checkpoint)  # refuse before loading weights or data
        check_text_encoder(config, s.checkpoint, extra)
    progress(0.0, "loading checkpoint")
    model, extra = loaded or load_checkpoint(s.checkpoint)
    model = model.eval()
    check_text_encoder(model.config, s.checkpoint, extra)
    problem = checkpoint_null_problem(s.null_embedding, extra, s.checkpoint) if s.null else None
    if problem:  # before the windows are prepared
        raise CheckpointError(problem)
    if Modality(s.inputs) not in model.config.modalities:
        has = ", ".join(m.value for m in model.config.modalities)
        raise CheckpointError(f"{s.checkpoint} has no {s.inputs} encoder (it has {has}); choose inputs among them")
    before = torch.get_num_threads()
    if s.threads:
        torch.set_num_threads(s.threads)
    try:
        sel = windows_for(s, model.config, extra, windows,
                          progress=lambda f, m: progress(0.05 + 0.35 * f, m))
        classes = list(sel.ws.class_names(s.null))
        phrases = class_phrases(classes, sel.ws.info.prompts, s.class_text)
        prompts = expand({c: p for c, p in phrases.items() if c != NULL_NAME}, templates)
        if s.null:
            prompts[NULL_NAME] = []  # its row is made from the others (null_embedding), not from prompts
        progress(0.4, f"embedding {sum(map(len, prompts.values()))} prompts")
        null_how = s.null_embedding if isinstance(s.null_embedding, str) else np.asarray(s.null_embedding)
        cls = class_embeddings(model, classes, phrases, templates, null_embedding=null_how, extra=extra)  # (K, D)
        emb = window_embeddings(model, sel, s.batch_size,
                                progress=lambda f, m: progress(0.45 + 0.55 * f, m))  # (N, D)
    finally:
        torch.set_num_threads(before)
    m = zeroshot_metrics(emb @ cls.T, sel.y, classes)  # cosine: both sides unit-norm
    support = np.bincount(sel.y, minlength=len(classes)) if len(sel.y) else np.zeros(len(classes), np.int64)
    result = ZeroShotResult(
        top1=m["top1"], top3=m["top3"], top5=m["top5"], macro_f1=m["macro_f1"], accuracy=m["accuracy"],
        per_class_f1=m["per_class_f1"], confusion=m["confusion"].tolist(), classes=classes, prompts=prompts,
        n_windows=int(len(sel.y)), seconds=time.time() - t0, macro_f1_top3=m["macro_f1_top3"],
        macro_f1_top5=m["macro_f1_top5"], support={c: int(n) for c, n in zip(classes, support)},
        split=sel.split, part=s.part, fingerprint=sel.ws.fingerprint, warnings=sel.warnings)
    if store is not None:
        config = s.to_dict() | {"templates": list(templates), "resolved_split": sel.split,
                                "method": extra.get("method", "mujo"), "fingerprint": sel.ws.fingerprint,
                                "sites": list(sel.ws.sites), "channels": list(sel.ws.channels)}
        name = f"{s.dataset} {s.inputs}" + (" +NULL" if s.null else "") + (f" {sel.split}/{s.part}"
                                                                           if s.part != "all" else "")
        result.run_id = open_store(store).save_run("zeroshot", results=result.results(), name=name,
                                                    dataset=s.dataset, config=config, started=started,
                                                    checkpoint=str(s.checkpoint))
    progress(1.0, f"top-1 {result.top1:.3f}, macro F1 {result.macro_f1:.3f} on {result.n_windows} windows")
    return result
