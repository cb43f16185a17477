"""The feedback loop's runs (torch): pre-training like a checkpoint with a NULL anchor, and zero-shot's NULL rows
compared on the dataset's validation split.

- `feedback_settings`: the pre-training settings of a base checkpoint (preset, method, modalities, sites, gyro,
  seed, ...) with a NULL anchor text and the NULL clips from the store's curation (or the ground truth);
  `pretrain_argv` is the `mujo pretrain` command line that runs them (the Curation page starts it as a job).
- `compare_null`: zero-shot with the NULL class on the validation part of the dataset's own split, once per NULL
  row the checkpoint offers (mean of the class embeddings, as in the paper; the learned anchor; the NULL windows'
  centroid), every run stored; `mujo.curation.feedback.null_comparison` reads them back.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import pandas as pd

from mujo.checkpoint import CheckpointError, read_checkpoint_config
from mujo.curation.feedback import DEFAULT_ANCHOR, PART, SPLIT, null_rows_of, null_scores, target_spec
from mujo.eval.zeroshot import zeroshot
from mujo.eval.zeroshot_settings import ZeroShotSettings
from mujo.models.checkpoint_io import load_checkpoint
from mujo.train.settings import PretrainSettings

if TYPE_CHECKING:
    from mujo.store import Store

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
