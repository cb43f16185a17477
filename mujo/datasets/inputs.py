"""What a model sees of a target dataset's windows: the classifier inputs ("imu", "pose"), z-scored IMU, normalised
pose, its site order, and whether a checkpoint fits the dataset at all."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from mujo.banks.pose import normalize_pose
from mujo.checkpoint import CheckpointError
from mujo.config import ModelConfig
from mujo.datasets.base import DatasetError, DatasetInfo
from mujo.datasets.windowset import WindowSet
from mujo.modality import Modality

INPUTS = (Modality.IMU.value, Modality.POSE.value)  # what a classifier (fine-tuning, zero-shot) can take
INPUT_SEP = "+"  # between the inputs of a combination: "imu+pose"


def parse_inputs(value: Any) -> tuple[str, ...]:
    """The inputs named by a tuple/list/array, by "imu+pose", or by a JSON list's text '["imu", "pose"]' (not checked;
    see `valid_inputs`)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(str(v) for v in value)
    text = str(value).strip()
    if text.startswith("["):
        text = text.strip("[]").replace('"', "").replace("'", "")
        return tuple(p.strip() for p in text.split(",") if p.strip())
    return tuple(text.split(INPUT_SEP))


def inputs_text(value: Any) -> str:
    """"imu", "pose" or "imu+pose": the text of the inputs `parse_inputs` reads from `value`."""
    return INPUT_SEP.join(parse_inputs(value))


def valid_inputs(inputs: Sequence[str]) -> bool:
    """Whether `inputs` is a non-empty combination of INPUTS without repeats."""
    return bool(inputs) and len(set(inputs)) == len(inputs) and all(i in INPUTS for i in inputs)


def zscore_stats(imu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site and channel mean and std (floored at 1e-6) of (W, T, S, C) windows: (S, C) float32 each."""
    if len(imu) == 0:
        raise ValueError("z-score statistics need at least one window")
    s = np.zeros(imu.shape[2:], np.float64)
    ss = np.zeros(imu.shape[2:], np.float64)
    n = 0
    for i in range(0, len(imu), 4096):  # chunks keep a memory-mapped set from being read whole as float64
        x = np.asarray(imu[i:i + 4096], np.float64).reshape(-1, *imu.shape[2:])
        s += x.sum(axis=0)
        ss += np.square(x).sum(axis=0)
        n += len(x)
    mean = s / n
    std = np.sqrt(np.maximum(ss / n - mean ** 2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


def model_input(ws: WindowSet, rows: np.ndarray, modality: str, *, mean: np.ndarray | None = None,
                std: np.ndarray | None = None) -> np.ndarray:
    """Windows `rows` as a model takes them.

    Args:
        ws: the windows.
        rows: window indices.
        modality: "imu" -> (B, T, S, C) float32 z-scored with mean/std ((S, C); None: the stats of these rows);
            "pose" -> (B, T, 17, 3) float32 copy passed through `normalize_pose`.

    Returns:
        A new float32 array (the WindowSet is never changed).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if str(modality) == "imu":
        x = np.asarray(ws.imu[rows], dtype=np.float32).copy()
        if mean is None or std is None:
            mean, std = zscore_stats(x) if len(x) else (np.zeros(x.shape[2:], np.float32),
                                                        np.ones(x.shape[2:], np.float32))
        x -= np.asarray(mean, np.float32)
        x /= np.asarray(std, np.float32)
        return x
    if str(modality) == "pose":
        if ws.pose is None:
            raise DatasetError(f"{ws.info.name} windows were prepared without pose (PrepareSpec(pose=True))")
        return normalize_pose(np.asarray(ws.pose[rows], dtype=np.float32).copy())
    raise ValueError(f"modality must be 'imu' or 'pose', got {modality!r}")


def site_order(ws_sites: Sequence[str], model_sites: Sequence[str]) -> list[int]:
    """Permutation of the windows' site axis into the model's site order.

    Raises:
        CheckpointError: the two site sets differ (names both and how to pre-train a matching model).
    """
    ws_sites, model_sites = list(ws_sites), list(model_sites)
    if sorted(ws_sites) != sorted(model_sites) or len(set(ws_sites)) != len(ws_sites):
        raise CheckpointError(f"the dataset's sensors sit at {ws_sites} but the checkpoint was pre-trained for "
                              f"{model_sites}; pre-train one for these sites: mujo pretrain --sites "
                              + " ".join(ws_sites))
    return [ws_sites.index(s) for s in model_sites]


def checkpoint_problem(info: DatasetInfo, config: ModelConfig, inputs: Sequence[str]) -> str | None:
    """Why a checkpoint with `config` cannot run on `info`'s dataset with `inputs` (of INPUTS), or None."""
    modalities = {str(m) for m in config.modalities}
    problems = []
    for inp in inputs:
        if str(inp) not in INPUTS:
            problems.append(f"unknown input {inp!r} (expected imu or pose)")
        elif str(inp) not in modalities:
            problems.append(f"the checkpoint has no {inp} encoder")
    if "imu" in map(str, inputs) and "imu" in modalities:
        sites = list(info.placements.values())  # in the dataset's order, as the windows hold them
        if sorted(sites) != sorted(config.imu_sites):
            problems.append(f"the checkpoint's IMU sites {list(config.imu_sites)} differ from {info.name}'s "
                            f"{sites} (pre-train with: mujo pretrain --sites {' '.join(sites)})")
        lacking = [c for c in config.imu_channels if c not in info.channels]
        if lacking:
            problems.append(f"the checkpoint uses {', '.join(lacking)} channels that {info.name} lacks")
    if "pose" in map(str, inputs) and not info.has_pose:
        problems.append(f"{info.name} has no pose")
    return "; ".join(problems) or None
