"""The data plan of a fine-tuning run, without torch: the checkpoint's settings, the windows, the split and the
training windows. A sweep's coordinator prepares the windows with it before any worker loads torch."""

from __future__ import annotations

from typing import Callable

import numpy as np

from mujo import datasets
from mujo.checkpoint import CheckpointError, read_checkpoint_config
from mujo.config import ModelConfig, load_preset
from mujo.datasets.base import DatasetError
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import get_split, repeat_split, repeat_splits, sample_fraction, split_rows
from mujo.datasets.windowset import WindowSet
from mujo.train.finetune_settings import FinetuneSettings

Progress = Callable[[float, str], None]


def model_plan(settings: FinetuneSettings) -> tuple[ModelConfig | None, str | None, tuple[str, ...], int]:
    """(checkpoint config or None, its method, IMU channel groups, window length) before any data is read."""
    if not settings.checkpoint:
        return None, None, tuple(settings.channels or ("acc",)), load_preset(settings.preset).model.window
    config, extra = read_checkpoint_config(settings.checkpoint)
    channels = tuple(settings.channels or config.imu_channels)
    if "imu" in settings.inputs and tuple(sorted(channels)) != tuple(sorted(config.imu_channels)):
        raise CheckpointError(f"checkpoint {settings.checkpoint} was pre-trained on IMU channels "
                              f"{', '.join(config.imu_channels)}; the run asks for {', '.join(channels)}")
    return config, str(extra.get("method", "mujo")), tuple(config.imu_channels), config.window


def open_windows(settings: FinetuneSettings, channels: tuple[str, ...], window: int,
                 progress: Progress | None, sites: tuple[str, ...] | None = None) -> WindowSet:
    """Open the dataset named by `settings.dataset` and prepare (or reuse the cached) windows.

    With the checkpoint's `sites`, a dataset with more sensors than the model (a FiMAD folder's 16 sites) is cut
    with only the placements at those sites, as zero-shot does; otherwise every placement is kept.
    """
    ds = datasets.open_target(settings.dataset)
    placements = None
    if sites and "imu" in settings.inputs:
        mine = tuple(p for p, site in ds.info.placements.items() if site in sites)
        if sorted(ds.info.placements[p] for p in mine) == sorted(sites) and len(mine) < len(ds.info.placements):
            placements = mine
    spec = PrepareSpec(window=window, hop=max(1, window // 2), channels=channels, placements=placements,
                       pose="pose" in settings.inputs)
    return prepare(ds, spec, progress=progress)


def run_split(ws: WindowSet, settings: FinetuneSettings) -> tuple[str, dict[str, np.ndarray]]:
    """The run's split (its name, else the one its repeat takes) and the window rows of its parts."""
    if settings.split:
        split = get_split(ws, settings.split)
    else:
        splits = repeat_splits(ws)
        if not splits:
            raise DatasetError(f"{ws.info.name} defines no split (no fixed split and random splits are off)")
        split = repeat_split(splits, settings.repeat)
    return split.name, split_rows(ws, split)


def training_rows(ws: WindowSet, settings: FinetuneSettings, split: str, candidates: np.ndarray,
                  targets: np.ndarray, classes: tuple[str, ...]
                  ) -> tuple[np.ndarray, dict[str, tuple[int, int]], list[str]]:
    """The training windows: sampled per class, or the exact rows of an earlier run (checked against the data)."""
    if settings.train_rows is None:
        sample = sample_fraction(candidates, targets[candidates], classes, settings.fraction,
                                 settings.seed + settings.repeat, split=split)
        return np.asarray(sample.rows, np.int64), dict(sample.per_class), list(sample.warnings)
    if settings.fingerprint and settings.fingerprint != ws.fingerprint:
        raise DatasetError(f"{ws.info.name} has changed since the run being repeated (window fingerprint "
                           f"{ws.fingerprint[:12]}, the run's {settings.fingerprint[:12]}): its training windows "
                           "would be other windows")
    rows = np.asarray(settings.train_rows, np.int64)
    outside = np.setdiff1d(rows, candidates)
    if len(outside):
        raise DatasetError(f"{len(outside)} of the given training windows (e.g. {outside[:5].tolist()}) are not in "
                           f"the training part of split {split} of {ws.info.name}")
    if (targets[rows] < 0).any():
        raise DatasetError("some given training windows are NULL windows, but this run drops NULL")
    avail = np.bincount(targets[candidates][targets[candidates] >= 0], minlength=len(classes))
    taken = np.bincount(targets[rows], minlength=len(classes))
    return rows, {c: (int(avail[k]), int(taken[k])) for k, c in enumerate(classes)}, []
