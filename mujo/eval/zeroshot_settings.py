"""Zero-shot without torch: the settings, where a NULL row may come from, and the stored runs read back.

The pages and the CLI parser import this; the evaluation itself (torch) is `mujo.eval.zeroshot`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd

from mujo.eval.prompts import DEFAULT_TEMPLATES
from mujo.store import open_store

if TYPE_CHECKING:
    from mujo.store import Store

PARTS = ("all", "train", "val", "test")
NORMALIZE = ("dataset", "checkpoint")


@dataclass
class ZeroShotSettings:
    """What to evaluate; the CLI and the page build the same object."""

    dataset: str  # open_target spec (registry name, "name:/path" or a folder)
    checkpoint: str  # checkpoint folder with a text encoder
    inputs: str = "imu"  # window modality: "imu" or "pose"
    templates: tuple[str, ...] = DEFAULT_TEMPLATES  # each with one "{}" for the class phrase
    class_text: dict[str, str] | None = None  # class -> phrase, overriding the dataset's readable phrases
    null: bool = False  # keep NULL windows as a class (else they are dropped)
    null_embedding: str | tuple[float, ...] = "mean"  # mean (paper), learned (the checkpoint's NULL anchor),
    #   centroid (its NULL training windows' mean embedding): a NULL_EMBEDDINGS name, or a (D,) joint-space vector
    split: str | None = None  # a split name of dataset_splits; None with part != "all": the first split
    part: str = "all"  # "all" windows, or the "test" (or "train"/"val") part of the split
    normalize: str = "dataset"  # IMU z-score: the dataset's own stats or the checkpoint's (its bank's)
    batch_size: int = 512  # windows per forward pass
    threads: int = 1  # torch threads while embedding (restored afterwards)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


# NULL vectors a checkpoint can carry in its extra (mujo.train.null_anchor): name -> (extra key, how to get one)
CHECKPOINT_NULLS: dict[str, tuple[str, str]] = {
    "learned": ("null_embedding", "mujo pretrain --null-anchor TEXT"),
    "centroid": ("null_centroid", "mujo pretrain --null-labels truth|curated (or --null-anchor TEXT)"),
}


def checkpoint_null_problem(how: Any, extra: Mapping[str, Any] | None, where: str | Path) -> str | None:
    """Why the NULL embedding `how` cannot come from this checkpoint's extra, or None (also for other methods)."""
    if not isinstance(how, str) or how not in CHECKPOINT_NULLS:
        return None
    key, hint = CHECKPOINT_NULLS[how]
    if (extra or {}).get(key) is not None:
        return None
    return (f"null_embedding {how!r} needs the checkpoint's extra.{key}, which {where} lacks: it was pre-trained "
            f"without NULL chapters; pre-train with {hint}, or use null_embedding 'mean'")


def null_row_name(config: dict[str, Any]) -> str:
    """How a stored zero-shot run made its NULL row: a NULL_EMBEDDINGS name, "given vector", or "" without NULL."""
    if not config.get("null"):
        return ""
    how = config.get("null_embedding", "mean")
    return how if isinstance(how, str) else "given vector"


RUN_COLUMNS = ("run_id", "started", "dataset", "checkpoint", "method", "inputs", "null", "null_embedding", "templates",
               "split", "part", "n_windows", "top1", "top3", "top5", "macro_f1", "accuracy")


def zeroshot_runs(store: Store | str | Path | None = None) -> pd.DataFrame:
    """Earlier zero-shot runs (newest first), one row each with their settings and metrics, for comparison."""
    out = []
    for r in open_store(store).done_runs("zeroshot", ("metrics", "n_windows")):  # listing never creates a store
        cfg, met = r["config"], r["results"]["metrics"] or {}
        out.append({"run_id": r["id"], "started": r["started"], "dataset": r["dataset"],
                    "checkpoint": r["checkpoint"], "method": cfg.get("method"), "inputs": cfg.get("inputs"),
                    "null": bool(cfg.get("null")), "null_embedding": null_row_name(cfg),
                    "templates": len(cfg.get("templates") or []),
                    "split": cfg.get("resolved_split"), "part": cfg.get("part", "all"),
                    "n_windows": r["results"]["n_windows"],
                    **{k: (np.nan if met.get(k) is None else met[k])
                       for k in ("top1", "top3", "top5", "macro_f1", "accuracy")}})
    return pd.DataFrame(out, columns=list(RUN_COLUMNS))
