"""Curated NULL chapters fed back into the model (issue 5): pre-train like a checkpoint with a NULL anchor, then compare
zero-shot's NULL rows on the dataset's validation split.

- `feedback_settings`: the pre-training settings of a base checkpoint (preset, method, modalities, sites, gyro,
  seed, ...) with a NULL anchor text and the NULL clips from the store's curation (or the ground truth);
  `pretrain_argv` is the `mujo pretrain` command line that runs them (the Curation page starts it as a job).
- `compare_null`: zero-shot with the NULL class on the validation part of the dataset's own split, once per NULL
  row the checkpoint offers (mean of the class embeddings, as in the paper; the learned anchor; the NULL windows'
  centroid), every run stored; `null_scores` adds the NULL class's F1, recall and precision to macro F1.
- `null_comparison`: those stored runs read back, newest per (checkpoint, NULL row), for the page.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mujo.eval.zeroshot import ZeroShotResult
    from mujo.store import Store
    from mujo.train.settings import PretrainSettings

DEFAULT_ANCHOR = "no exercise: the trainer talks, rests or explains"
NULL_ROWS = ("mean", "learned", "centroid")  # zero-shot's NULL_EMBEDDINGS, in the order they are compared
SPLIT, PART = "fimad", "val"  # the FiMAD target's fixed split (its clips' own train/val/test) and the part compared
Progress = Callable[[float, str], None]

# PretrainSettings field -> its `mujo pretrain` option (fields absent here have no option and keep their defaults)
_OPTIONS = {"preset": "--preset", "method": "--method", "modalities": "--modalities", "sites": "--sites",
            "epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "min_lr": "--min-lr",
            "warmup_epochs": "--warmup-epochs", "cycle_epochs": "--cycle-epochs", "patience": "--patience",
            "seed": "--seed", "same_clip": "--same-clip", "monitor": "--monitor", "text_field": "--text-field",
            "video_feature": "--video-feature", "threads": "--threads", "name": "--name",
            "null_anchor": "--null-anchor", "null_labels": "--null-labels"}
_FLAGS = {"resume": "--resume", "overwrite": "--overwrite"}
_NOT_INHERITED = ("dataset", "out", "null_anchor", "null_labels", "name", "resume", "overwrite", "threads")


def null_row_name(config: dict[str, Any]) -> str:
    """How a stored zero-shot run made its NULL row: a NULL_ROWS name, "given vector", or "" without NULL."""
    if not config.get("null"):
        return ""
    how = config.get("null_embedding", "mean")
    return how if isinstance(how, str) else "given vector"


def target_spec(root: str | Path) -> str:
    """The zero-shot dataset spec of a FiMAD folder labelled by its ground truth ("fimad:/abs/path")."""
    return f"fimad:{Path(root).expanduser().resolve()}"


FEEDBACK_SUFFIX = "-curated-null"


def feedback_out(base: str | Path) -> Path:
    """Where the fed-back model of checkpoint `base` goes: beside it, "<name>-curated-null"; a fed-back model is
    its own (pre-training it again after more curation replaces it)."""
    base = Path(base)
    return base if base.name.endswith(FEEDBACK_SUFFIX) else base.parent / f"{base.name}{FEEDBACK_SUFFIX}"


def feedback_settings(base: str | Path, dataset: str | Path, out: str | Path, *, anchor: str = DEFAULT_ANCHOR,
                      labels: str = "curated", threads: int | None = 1, resume: bool = False) -> PretrainSettings:
    """Pre-training settings like those `base` was trained with, plus the NULL anchor and NULL clips.

    Args:
        base: a MuJo checkpoint folder (its config.json's extra.settings is read; no weights).
        dataset: the FiMAD folder to pre-train on (the one whose clips were curated).
        out: the new checkpoint's folder (started over if it holds a run).
        anchor: the NULL anchor text.
        labels: "curated" (the store's whole-clip null labels) or "truth" (clips.csv's null_class).
        threads: torch threads of the run (None: all cores).
        resume: continue the interrupted run in `out` (else a run there is started over).
    Raises:
        ValueError: base is not a checkpoint, or a proxy-task checkpoint (no text encoder to learn NULL with).
    """
    from mujo.checkpoint import CheckpointError, read_checkpoint_config  # noqa: PLC0415
    from mujo.train.settings import PretrainSettings  # noqa: PLC0415

    try:
        _, extra = read_checkpoint_config(base)
    except CheckpointError as e:
        raise ValueError(str(e)) from e
    given = extra.get("settings") or {}
    method = given.get("method") or extra.get("method") or "mujo"
    if method != "mujo":
        raise ValueError(f"{base} was pre-trained with the proxy task {method!r}, which has no text encoder; a NULL "
                         "anchor needs a MuJo checkpoint")
    known = {f.name for f in dataclasses.fields(PretrainSettings)}
    kept = {k: v for k, v in given.items() if k in known and k not in _NOT_INHERITED}
    for k in ("modalities", "sites"):
        if kept.get(k) is not None:
            kept[k] = tuple(kept[k])
    return PretrainSettings(**kept, dataset=str(dataset), out=str(out), null_anchor=anchor, null_labels=labels,
                            threads=threads, name=f"NULL anchor ({labels} NULL clips), settings of {Path(base).name}",
                            overwrite=not resume, resume=resume)


def pretrain_argv(s: PretrainSettings) -> list[str]:
    """The `mujo pretrain` arguments (without "mujo") that run settings `s`.

    Raises:
        ValueError: a setting that differs from its default has no command-line option.
    """
    from mujo.train.settings import PretrainSettings  # noqa: PLC0415

    argv = ["pretrain", str(s.dataset), "--out", str(s.out)]
    defaults = PretrainSettings(dataset="", out="")
    for f in dataclasses.fields(s):
        value = getattr(s, f.name)
        if f.name in ("dataset", "out") or value is None:
            continue
        if f.name in _OPTIONS:
            argv += [_OPTIONS[f.name], *map(str, value)] if isinstance(value, (tuple, list)) else \
                [_OPTIONS[f.name], str(value)]
        elif f.name == "gyro":
            argv.append("--gyro" if value else "--no-gyro")
        elif f.name in _FLAGS:
            argv += [_FLAGS[f.name]] if value else []
        elif value != getattr(defaults, f.name):
            raise ValueError(f"pretrain setting {f.name}={value!r} has no `mujo pretrain` option")
    return argv


def curated_counts(root: str | Path, store: Store | str | Path | None = None,
                   clip_ids: Sequence[str] | None = None) -> dict[str, int]:
    """How many clips of the FiMAD folder the store's curation labels as a whole: null, activity, any label; and
    the folder's number of clips (`clip_ids` when given, saving a read of clips.csv)."""
    from mujo.store import open_store  # noqa: PLC0415
    from mujo.curation.label_io import dataset_key  # noqa: PLC0415

    if clip_ids is None:
        from mujo.fimad.dataset import FimadDataset  # noqa: PLC0415

        clip_ids = FimadDataset(root).clips.index
    clips = {str(c) for c in clip_ids}
    labels = open_store(store).whole_clip_labels(dataset_key(root))
    kinds = [lab for c, (lab, _) in labels.items() if c in clips]
    return {"null": kinds.count("null"), "activity": kinds.count("activity"), "labelled": len(kinds),
            "clips": len(clips)}


def null_scores(result: ZeroShotResult) -> dict[str, float]:
    """Macro F1, top-1, the NULL class's F1 / recall / precision and the activities' macro F1 of a zero-shot run."""
    out = {"macro_f1": float(result.macro_f1), "top1": float(result.top1)}
    if "NULL" not in result.classes:
        return out | {"null_f1": np.nan, "null_recall": np.nan, "null_precision": np.nan,
                      "act_f1": float(result.macro_f1)}
    conf = np.asarray(result.confusion)
    k = result.classes.index("NULL")
    tp = float(conf[k, k])
    acts = [v for c, v in result.per_class_f1.items() if c != "NULL" and result.support.get(c, 0) > 0]
    return out | {"null_f1": float(result.per_class_f1.get("NULL") or 0.0),
                  "null_recall": tp / max(float(conf[k].sum()), 1.0),
                  "null_precision": tp / max(float(conf[:, k].sum()), 1.0),
                  "act_f1": float(np.mean([v or 0.0 for v in acts])) if acts else np.nan}


def null_rows_of(extra: dict[str, Any]) -> list[str]:
    """The NULL rows a checkpoint offers: always "mean"; "learned" and "centroid" when its extra holds them."""
    from mujo.eval.zeroshot import checkpoint_null_problem  # noqa: PLC0415

    return [h for h in NULL_ROWS if checkpoint_null_problem(h, extra, "") is None]


def compare_null(root: str | Path, checkpoints: Sequence[str | Path], *, store: Store | str | Path | None = None,
                 progress: Progress | None = None) -> pd.DataFrame:
    """Zero-shot with the NULL class on the validation clips of a FiMAD folder, every NULL row of every checkpoint.

    Labels are the folder's ground truth (clips.csv), not the curation, so a curated model is judged on the truth.
    Each run is stored (kind "zeroshot") when `store` is given.

    Returns:
        One row per (checkpoint, NULL row): checkpoint, null_row, windows, classes, run_id and `null_scores`.
    Raises:
        ValueError, CheckpointError, DatasetError: as `mujo.eval.zeroshot.zeroshot`.
    """
    from mujo.models.checkpoint_io import load_checkpoint  # noqa: PLC0415
    from mujo.eval.zeroshot import ZeroShotSettings, zeroshot  # noqa: PLC0415

    progress = progress or (lambda f, m: None)
    jobs = []
    loaded = {}
    for ckpt in checkpoints:
        loaded[str(ckpt)] = load_checkpoint(ckpt)
        jobs += [(str(ckpt), how) for how in null_rows_of(loaded[str(ckpt)][1])]
    rows = []
    for i, (ckpt, how) in enumerate(jobs):
        def step(f: float, m: str, i: int = i) -> None:
            progress((i + f) / len(jobs), f"{Path(ckpt).name}, {how} NULL: {m}")

        s = ZeroShotSettings(dataset=target_spec(root), checkpoint=ckpt, null=True, null_embedding=how, split=SPLIT,
                             part=PART)
        r = zeroshot(s, loaded=loaded[ckpt], store=store, progress=step)
        rows.append({"checkpoint": ckpt, "null_row": how, "windows": r.n_windows, "classes": len(r.classes),
                     "run_id": r.run_id, **null_scores(r)})
    progress(1.0, f"{len(rows)} zero-shot runs")
    return pd.DataFrame(rows)


def null_comparison(root: str | Path, store: Store | str | Path | None = None) -> pd.DataFrame:
    """The stored zero-shot runs with NULL on the folder's validation split: the newest per (checkpoint, NULL row).

    Returns:
        Columns checkpoint, null_row, macro_f1, null_f1, top1, windows, run_id, started; by checkpoint, then
        NULL row (mean, learned, centroid).
    """
    from mujo.eval.zeroshot import zeroshot_runs  # noqa: PLC0415
    from mujo.store import open_store  # noqa: PLC0415

    cols = ["checkpoint", "null_row", "macro_f1", "null_f1", "top1", "windows", "run_id", "started"]
    store = open_store(store)
    runs = zeroshot_runs(store)
    runs = runs[(runs["dataset"] == target_spec(root)) & runs["null"] & (runs["split"] == SPLIT)
                & (runs["part"] == PART)]
    runs = runs.drop_duplicates(["checkpoint", "null_embedding"])  # newest first: keeps the latest of each
    out = []
    for r in runs.itertuples(index=False):
        f1 = (store.results(int(r.run_id)).get("per_class_f1") or {}).get("NULL")
        out.append({"checkpoint": r.checkpoint, "null_row": r.null_embedding, "macro_f1": r.macro_f1,
                    "null_f1": np.nan if f1 is None else float(f1), "top1": r.top1, "windows": r.n_windows,
                    "run_id": int(r.run_id), "started": r.started})
    df = pd.DataFrame(out, columns=cols)
    order = {h: i for i, h in enumerate(NULL_ROWS)}
    return df.sort_values(["checkpoint", "null_row"], key=lambda s: s.map(order) if s.name == "null_row" else s,
                          kind="stable").reset_index(drop=True)
