"""Zero-shot inputs: which windows of a target dataset, normalised how, in the model's site order; their embeddings."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import torch

from mujo import datasets
from mujo.checkpoint import CheckpointError
from mujo.datasets.inputs import model_input, site_order, zscore_stats
from mujo.datasets.prepare import PrepareSpec, checkpoint_problem, prepare
from mujo.datasets.splits import dataset_splits, get_split, repeat_split, split_rows
from mujo.modality import Modality

if TYPE_CHECKING:
    from mujo.config import ModelConfig
    from mujo.datasets.windowset import WindowSet
    from mujo.eval.zeroshot_settings import ZeroShotSettings

STATS_WINDOWS = 10_000  # z-score stats from at most this many evenly spaced windows (bounded memory)
Progress = Callable[[float, str], None]


@dataclass
class Selection:
    """The windows to evaluate and how to feed them to the model."""

    ws: WindowSet
    rows: np.ndarray  # (N,) window rows, sorted
    y: np.ndarray  # (N,) int64 class index in ws.class_names(null)
    modality: str  # "imu" or "pose"
    mean: np.ndarray | None = None  # (S, C) IMU z-score, in the window set's site order
    std: np.ndarray | None = None
    order: list[int] | None = None  # window site axis -> the model's site order (IMU)
    split: str | None = None  # the resolved split name, if any
    warnings: list[str] = field(default_factory=list)


def windows_for(s: ZeroShotSettings, config: ModelConfig, extra: Mapping[str, Any],
                windows: WindowSet | None = None, *, progress: Progress | None = None) -> Selection:
    """Prepare (or take) the dataset's windows for the checkpoint and pick the rows to evaluate.

    IMU windows are cut with the checkpoint's window length and channels, from the placements whose virtual site
    the checkpoint has. "dataset" normalisation z-scores with the training part of the split when one is used
    (like fine-tuning), else with all windows (no labels are involved, so nothing leaks).

    Raises:
        CheckpointError: the checkpoint's sites, channels or window length do not fit the windows.
        ValueError: unknown split, NULL asked of a dataset without NULL, no windows left to evaluate.
    """
    ws = windows if windows is not None else _prepare(s, config, progress)
    imu = s.inputs == Modality.IMU.value
    if s.null and not ws.info.has_null:
        raise ValueError(f"{s.dataset} has no NULL class (every window is an activity); run without NULL")
    if ws.spec.window != config.window:
        raise CheckpointError(f"{s.checkpoint} expects windows of {config.window} samples; the windows of "
                              f"{s.dataset} have {ws.spec.window}")
    if imu and tuple(ws.channels) != tuple(config.imu_channels):
        raise CheckpointError(f"{s.checkpoint} was trained on IMU channels {', '.join(config.imu_channels)}; the "
                              f"windows of {s.dataset} have {', '.join(ws.channels)}")
    if not imu and ws.pose is None:
        raise ValueError(f"{s.dataset} has no pose windows; choose inputs 'imu'")
    sel = Selection(ws=ws, rows=np.arange(len(ws)), y=np.zeros(0, np.int64), modality=s.inputs)
    stats_rows = sel.rows
    if s.split or s.part != "all":
        if s.split:
            split = get_split(ws, s.split)
        else:  # the dataset's first split: its fixed one where it has one
            splits = dataset_splits(ws)
            if not splits:
                raise ValueError(f"{s.dataset} has no splits, so it has no {s.part!r} part; use part 'all'")
            split = repeat_split(splits, 0)
        parts = split_rows(ws, split)
        sel.split, stats_rows = split.name, np.sort(np.asarray(parts["train"]))
        if s.part != "all":
            sel.rows = np.sort(np.asarray(parts[s.part], np.int64))
    targets = ws.targets(s.null)
    sel.rows = sel.rows[targets[sel.rows] >= 0]  # without NULL: NULL windows are dropped
    sel.y = targets[sel.rows].astype(np.int64)
    if not len(sel.rows):
        where = f" in the {s.part} part of {sel.split}" if sel.split and s.part != "all" else ""
        raise ValueError(f"{s.dataset}: no windows to evaluate{where}"
                         + ("" if s.null else " (NULL windows are dropped without NULL)"))
    if imu:
        if set(config.imu_sites) < set(ws.sites):  # windows with more sensors than the model: use its sites
            sel.order = [list(ws.sites).index(site) for site in config.imu_sites]
        else:
            sel.order = site_order(ws.sites, config.imu_sites)
        if s.normalize == "checkpoint":
            sel.mean, sel.std = _checkpoint_stats(s, config, extra, sel.order, len(ws.sites))
        else:
            if len(stats_rows) > STATS_WINDOWS:
                stats_rows = stats_rows[np.linspace(0, len(stats_rows) - 1, STATS_WINDOWS).astype(np.int64)]
            sel.mean, sel.std = zscore_stats(np.asarray(ws.imu[stats_rows]))
    missing = [c for c, n in zip(ws.class_names(s.null), np.bincount(sel.y, minlength=len(ws.class_names(s.null))))
               if n == 0]
    if missing:
        sel.warnings.append(f"no windows of class(es) {', '.join(missing)} among those evaluated (they count in "
                            "the predictions, not in macro F1)")
    sel.warnings += [f"skipped: {p}" for p in ws.problems]
    return sel


def _prepare(s: ZeroShotSettings, config: ModelConfig, progress: Progress | None) -> WindowSet:
    ds = datasets.open_target(s.dataset)  # looked up at call time: tests replace it
    imu = s.inputs == Modality.IMU.value
    # only the placements the checkpoint has a site for: a two-wrist dataset still runs a one-wrist model
    placements = tuple(p for p, site in ds.info.placements.items() if site in config.imu_sites) if imu else ()
    info = replace(ds.info, placements={p: ds.info.placements[p] for p in placements}) if placements else ds.info
    problem = checkpoint_problem(info, config, [s.inputs])
    if problem:
        raise CheckpointError(f"{s.checkpoint} cannot run on {s.dataset}: {problem}")
    spec = PrepareSpec(window=config.window, hop=max(1, config.window // 2),
                       channels=tuple(config.imu_channels) if imu else ("acc",),
                       placements=placements or None, pose=not imu)
    return prepare(ds, spec, progress=progress)


def _checkpoint_stats(s: ZeroShotSettings, config: ModelConfig, extra: Mapping[str, Any],
                      order: list[int], n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoint's (S, C) IMU mean/std (its bank's, in its site order) rearranged to the windows' order."""
    stats = ((extra or {}).get("stats") or {}).get("imu") or {}
    if "mean" not in stats or "std" not in stats:
        raise CheckpointError(f"{s.checkpoint} states no IMU normalisation stats (config.json extra.stats.imu); "
                              "normalise with the dataset's own stats instead")
    mean, std = np.asarray(stats["mean"], np.float32), np.asarray(stats["std"], np.float32)
    want = (len(config.imu_sites), 3 * len(config.imu_channels))
    if mean.shape != want or std.shape != want:
        raise CheckpointError(f"{s.checkpoint}: IMU stats have shape {mean.shape}/{std.shape}; its sites and "
                              f"channels make {want}")
    out_mean, out_std = np.zeros((n_sites, want[1]), np.float32), np.ones((n_sites, want[1]), np.float32)
    out_mean[order], out_std[order] = mean, std  # model row j belongs to window site order[j]; others unused
    return out_mean, np.maximum(out_std, 1e-6)


def window_embeddings(model: torch.nn.Module, sel: Selection, batch_size: int = 512, *,
                      progress: Progress | None = None) -> np.ndarray:
    """(N, D) unit-norm float32 embeddings of the selected windows, in batches under inference mode."""
    n = len(sel.rows)
    out = np.empty((n, model.config.embed_dim), np.float32)
    batch_size = max(1, int(batch_size))
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            rows = sel.rows[i: i + batch_size]
            x = model_input(sel.ws, rows, sel.modality, mean=sel.mean, std=sel.std)  # (B, T, S, C) or (B, T, 17, 3)
            if sel.order is not None:
                x = x[:, :, sel.order]
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            out[i: i + len(rows)] = model.encode(sel.modality, x).float().numpy()
            if progress:
                progress((i + len(rows)) / n, f"{sel.modality} windows: {i + len(rows)}/{n}")
    return out
