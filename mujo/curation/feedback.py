"""Curated NULL chapters fed back into the model (issue 5): what the Curation page reads while it draws (no torch).

- `feedback_out`: where the fed-back model of a checkpoint goes; `curated_counts`: the NULL chapters curated so far.
- `null_comparison`: the stored zero-shot runs with the NULL class on the dataset's validation split, newest per
  (checkpoint, NULL row); `null_scores` adds the NULL class's F1, recall and precision to macro F1.
The runs themselves (the pre-training settings and command line, the zero-shot comparison) need torch and live in
`mujo.curation.feedback_runs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from mujo.datasets.base import NULL_NAME
from mujo.datasets.fimad_target import SPLIT_NAME
from mujo.eval.zeroshot_settings import checkpoint_null_problem, zeroshot_runs
from mujo.fimad.dataset import FimadDataset
from mujo.store import dataset_key, open_store

if TYPE_CHECKING:
    from mujo.eval.zeroshot import ZeroShotResult
    from mujo.store import Store

DEFAULT_ANCHOR = "no exercise: the trainer talks, rests or explains"
NULL_ROWS = ("mean", "learned", "centroid")  # zero-shot's NULL_EMBEDDINGS, in the order they are compared
SPLIT, PART = SPLIT_NAME, "val"  # the FiMAD target's fixed split (its clips' own train/val/test) and the part compared


def target_spec(root: str | Path) -> str:
    """The zero-shot dataset spec of a FiMAD folder labelled by its ground truth ("fimad:/abs/path")."""
    return f"fimad:{Path(root).expanduser().resolve()}"


FEEDBACK_SUFFIX = "-curated-null"


def feedback_out(base: str | Path) -> Path:
    """Where the fed-back model of checkpoint `base` goes: beside it, "<name>-curated-null"; a fed-back model is
    its own (pre-training it again after more curation replaces it)."""
    base = Path(base)
    return base if base.name.endswith(FEEDBACK_SUFFIX) else base.parent / f"{base.name}{FEEDBACK_SUFFIX}"


def curated_counts(root: str | Path, store: Store | str | Path | None = None,
                   clip_ids: Sequence[str] | None = None) -> dict[str, int]:
    """How many clips of the FiMAD folder the store's curation labels as a whole: null, activity, any label; and
    the folder's number of clips (`clip_ids` when given, saving a read of clips.csv)."""
    if clip_ids is None:
        clip_ids = FimadDataset(root).clips.index
    clips = {str(c) for c in clip_ids}
    labels = open_store(store).whole_clip_labels(dataset_key(root))
    kinds = [lab for c, (lab, _) in labels.items() if c in clips]
    return {"null": kinds.count("null"), "activity": kinds.count("activity"), "labelled": len(kinds),
            "clips": len(clips)}


def null_scores(result: ZeroShotResult) -> dict[str, float]:
    """Macro F1, top-1, the NULL class's F1 / recall / precision and the activities' macro F1 of a zero-shot run."""
    out = {"macro_f1": float(result.macro_f1), "top1": float(result.top1)}
    if NULL_NAME not in result.classes:
        return out | {"null_f1": np.nan, "null_recall": np.nan, "null_precision": np.nan,
                      "act_f1": float(result.macro_f1)}
    conf = np.asarray(result.confusion)
    k = result.classes.index(NULL_NAME)
    tp = float(conf[k, k])
    acts = [v for c, v in result.per_class_f1.items() if c != NULL_NAME and result.support.get(c, 0) > 0]
    return out | {"null_f1": float(result.per_class_f1.get(NULL_NAME) or 0.0),
                  "null_recall": tp / max(float(conf[k].sum()), 1.0),
                  "null_precision": tp / max(float(conf[:, k].sum()), 1.0),
                  "act_f1": float(np.mean([v or 0.0 for v in acts])) if acts else np.nan}


def null_rows_of(extra: dict[str, Any]) -> list[str]:
    """The NULL rows a checkpoint offers: always "mean"; "learned" and "centroid" when its extra holds them."""
    return [h for h in NULL_ROWS if checkpoint_null_problem(h, extra, "") is None]


def null_comparison(root: str | Path, store: Store | str | Path | None = None) -> pd.DataFrame:
    """The stored zero-shot runs with NULL on the folder's validation split: the newest per (checkpoint, NULL row).

    Returns:
        Columns checkpoint, null_row, macro_f1, null_f1, top1, windows, run_id, started; by checkpoint, then
        NULL row (mean, learned, centroid).
    """
    cols = ["checkpoint", "null_row", "macro_f1", "null_f1", "top1", "windows", "run_id", "started"]
    store = open_store(store)
    runs = zeroshot_runs(store)
    runs = runs[(runs["dataset"] == target_spec(root)) & runs["null"] & (runs["split"] == SPLIT)
                & (runs["part"] == PART)]
    runs = runs.drop_duplicates(["checkpoint", "null_embedding"])  # newest first: keeps the latest of each
    out = []
    for r in runs.itertuples(index=False):
        f1 = (store.results(int(r.run_id)).get("per_class_f1") or {}).get(NULL_NAME)
        out.append({"checkpoint": r.checkpoint, "null_row": r.null_embedding, "macro_f1": r.macro_f1,
                    "null_f1": np.nan if f1 is None else float(f1), "top1": r.top1, "windows": r.n_windows,
                    "run_id": int(r.run_id), "started": r.started})
    df = pd.DataFrame(out, columns=cols)
    order = {h: i for i, h in enumerate(NULL_ROWS)}
    return df.sort_values(["checkpoint", "null_row"], key=lambda s: s.map(order) if s.name == "null_row" else s,
                          kind="stable").reset_index(drop=True)
