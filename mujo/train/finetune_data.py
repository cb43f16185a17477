"""The tensors of a fine-tuning run: the plan's windows (mujo.train.finetune_plan) checked against the model, and
their inputs z-scored, in the model's site order and prebuilt once as float32 tensors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from mujo.checkpoint import CheckpointError, compatibility
from mujo.datasets.base import DatasetError
from mujo.datasets.inputs import model_input, site_order, zscore_stats
from mujo.datasets.windowset import WindowSet
from mujo.train.finetune_plan import model_plan, open_windows, run_split, training_rows
from mujo.train.finetune_settings import FinetuneSettings

Progress = Callable[[float, str], None]
MAX_PROBLEMS = 3  # dataset problems quoted in a run's warnings (the rest are counted)


@dataclass
class Prepared:
    """Everything the training loop needs, as float32 / int64 tensors built once."""

    x_train: dict[str, torch.Tensor]  # {modality: (N, ...)} model inputs
    x_val: dict[str, torch.Tensor]
    x_test: dict[str, torch.Tensor]
    y_train: torch.Tensor  # (N,) int64 class indices
    y_val: torch.Tensor
    y_test: torch.Tensor
    train_rows: np.ndarray  # window indices of the training windows, in the order of x_train
    classes: tuple[str, ...]
    split: str
    fingerprint: str
    dataset_name: str
    sites: tuple[str, ...]  # the model's IMU site order
    channels: tuple[str, ...]  # the model's IMU channel groups
    window: int
    method: str | None  # the checkpoint's pre-training method
    warnings: list[str] = field(default_factory=list)
    per_class: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (available, taken)


def prepare_run(settings: FinetuneSettings, windows: WindowSet | None, progress: Progress | None) -> Prepared:
    """Windows, split, training sample and model inputs of one run (see `finetune`).

    Raises:
        CheckpointError: the checkpoint lacks an input's encoder, or its sites/channels/window differ.
        DatasetError, ValueError: unreadable data, an unknown split, no training or test windows, stale rows.
    """
    config, method, channels, window = model_plan(settings)
    if config is not None:
        problems = compatibility(config, {"modalities": list(settings.inputs)})
        if problems:
            raise CheckpointError(f"checkpoint {settings.checkpoint}: " + "; ".join(problems))
    ws = windows if windows is not None else open_windows(settings, channels, window, progress,
                                                          tuple(config.imu_sites) if config is not None else None)
    name = ws.info.name
    if ws.spec.window != window:
        raise DatasetError(f"{name} windows are {ws.spec.window} samples long; the model takes {window}")
    if "pose" in settings.inputs and ws.pose is None:
        raise DatasetError(f"{name} windows have no pose (prepare with pose=True; does the dataset have pose?)")
    lacking = [c for c in channels if c not in ws.channels]
    if "imu" in settings.inputs and lacking:
        raise DatasetError(f"{name} windows have no {', '.join(lacking)} channels (they have "
                           f"{', '.join(ws.channels)})")
    sites = tuple(config.imu_sites) if config is not None else tuple(ws.sites)
    order = site_order(ws.sites, sites) if "imu" in settings.inputs else []

    split, parts = run_split(ws, settings)
    targets = ws.targets(settings.null)
    classes = tuple(ws.class_names(settings.null))
    rows, per_class, warnings = training_rows(ws, settings, split, parts["train"], targets, classes)
    if len(rows) == 0:
        raise DatasetError(f"{name}: no training windows in split {split}" + (" without NULL" if not settings.null
                                                                           else ""))
    val, test = (parts[p][targets[parts[p]] >= 0] for p in ("val", "test"))
    if len(test) == 0:
        raise DatasetError(f"{name}: no test windows in split {split}")
    for part, idx in (("validation", val), ("test", test)):
        present = set(np.unique(targets[idx]).tolist())
        missing = [c for k, c in enumerate(classes) if k not in present]
        if missing:
            warnings.append(f"classes {', '.join(map(repr, missing))} have no {part} windows in split {split}")
    if len(val) == 0:
        warnings.append(f"no validation windows in split {split}: the epoch with the lowest training loss is "
                        "tested")
    if ws.problems:
        more = f" (and {len(ws.problems) - MAX_PROBLEMS} more)" if len(ws.problems) > MAX_PROBLEMS else ""
        warnings.append(f"{name}: {len(ws.problems)} problem(s) while preparing the windows: "
                        + "; ".join(ws.problems[:MAX_PROBLEMS]) + more)

    inputs = _Inputs(ws, settings.inputs, rows, channels, order)
    if progress is not None:
        progress(1.0, f"{len(rows)} training, {len(val)} validation, {len(test)} test windows")
    return Prepared(
        x_train=inputs(rows), x_val=inputs(val), x_test=inputs(test), y_train=_y(targets[rows]),
        y_val=_y(targets[val]), y_test=_y(targets[test]), train_rows=rows, classes=classes, split=split,
        fingerprint=ws.fingerprint, dataset_name=name, sites=sites, channels=channels, window=window,
        method=method, warnings=warnings, per_class=per_class)


def _y(t: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(t, dtype=np.int64))


class _Inputs:
    """Model inputs of window rows: IMU z-scored with the training rows' statistics, channels picked and sites in
    the model's order; pose normalised. Built once per part as contiguous float32 tensors."""

    def __init__(self, ws: WindowSet, modalities: tuple[str, ...], train_rows: np.ndarray,
                 channels: tuple[str, ...], order: list[int]):
        self.ws, self.modalities, self.order = ws, modalities, order
        self.columns = [3 * ws.channels.index(c) + k for c in channels for k in range(3)]
        self.mean = self.std = None
        if "imu" in modalities:
            self.mean, self.std = zscore_stats(ws.imu[np.sort(train_rows)])

    def __call__(self, rows: np.ndarray) -> dict[str, torch.Tensor]:
        out: dict[str, Any] = {}
        for m in self.modalities:
            x = model_input(self.ws, rows, m, mean=self.mean, std=self.std)
            if m == "imu":
                x = x[:, :, self.order][..., self.columns]  # (B, T, S, C) in the model's site/channel order
            out[m] = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return out
