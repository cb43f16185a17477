"""The checkpoint format, without torch: a folder of `model.safetensors` + `config.json`, rebuilt from the config.

This module owns the file names, the config's format marker and version, reading the config, the folder checks,
the fit between a checkpoint and the data (`compatibility`) and the one error type, CheckpointError. Writing and
loading the weights needs torch and lives in `mujo.models.checkpoint_io`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from mujo.config import ConfigError, ModelConfig, from_dict
from mujo.modality import Modality

__all__ = ["FORMAT", "FORMAT_VERSION", "WEIGHTS", "CONFIG", "RETRIEVAL", "PICKLE_SUFFIXES", "EXPECT_KEYS",
           "MODEL_TYPE_NAMES", "CheckpointError", "read_checkpoint_config", "read_config", "check_folder",
           "compatibility", "safetensors_shapes"]

FORMAT = "mujo-checkpoint"
FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"
RETRIEVAL = "retrieval.json"  # retrieval metrics saved beside a checkpoint (mujo.eval.retrieval.save_retrieval)
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
EXPECT_KEYS = ("modalities", "imu_sites", "imu_channels", "text_dim", "video_dim", "window", "pose_joints")
# The model types a config may name; mujo.models.joint.MODEL_TYPES (torch) maps each to its class and checks, on
# import, that it holds exactly these, so the config can be checked without loading torch.
MODEL_TYPE_NAMES = ("mujo",)


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded or does not fit the data; the message says what differs."""


def read_checkpoint_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The checkpoint's ModelConfig and `extra` without loading the weights (raises CheckpointError)."""
    config, extra, _ = read_config(check_folder(Path(directory)))
    return config, extra


def compatibility(config: ModelConfig, expect: dict[str, Any]) -> list[str]:
    """Differences between what a checkpoint was trained on and what the data has, one sentence each.

    Args:
        config: the checkpoint's model config.
        expect: keys of EXPECT_KEYS with the data's values; `modalities` lists the modalities the caller needs.
    Returns:
        Messages such as "checkpoint was trained on sites RWrist, LWrist; the data has RHip"; empty when it fits.
    """
    unknown = sorted(set(expect) - set(EXPECT_KEYS))
    if unknown:
        raise ValueError(f"unknown expect key(s) {unknown}; known: {', '.join(EXPECT_KEYS)}")
    has = set(config.modalities)
    needs = {Modality(m) for m in expect.get("modalities", config.modalities)}
    out = []
    missing = [m.value for m in Modality if m in needs - has]
    if missing:
        have = ", ".join(m.value for m in config.modalities)
        out.append(f"checkpoint has no {', '.join(missing)} encoder (it has {have}); "
                   f"the data needs {', '.join(m.value for m in Modality if m in needs)}")
    used = has & needs
    if Modality.IMU in used:
        for key, what in (("imu_sites", "sites"), ("imu_channels", "IMU channels")):
            if key in expect and tuple(expect[key]) != tuple(getattr(config, key)):
                out.append(f"checkpoint was trained on {what} {', '.join(getattr(config, key))}; "
                           f"the data has {', '.join(expect[key]) or 'none'}"
                           + (" (same, in another order)" if set(expect[key]) == set(getattr(config, key)) else ""))
    for key, modality, what in (("text_dim", Modality.TEXT, "text"), ("video_dim", Modality.VIDEO, "video")):
        if modality in used and key in expect and int(expect[key]) != getattr(config, key):
            out.append(f"checkpoint expects {getattr(config, key)}-d {what} features; the data has {expect[key]}-d")
    if "window" in expect and int(expect["window"]) != config.window and used & {Modality.POSE, Modality.IMU}:
        out.append(f"checkpoint expects windows of {config.window} samples; the data has {expect['window']}")
    if "pose_joints" in expect and Modality.POSE in used and int(expect["pose_joints"]) != config.pose_joints:
        out.append(f"checkpoint expects {config.pose_joints} pose joints; the data has {expect['pose_joints']}")
    return out


def safetensors_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors header (8-byte length, then JSON), without reading the weights.

    Raises:
        CheckpointError (a ValueError): not a safetensors file. OSError: the file cannot be read.
    """
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise CheckpointError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > 100 << 20:
            raise CheckpointError(f"{path}: not a safetensors file (header of {n} bytes)")
        doc = json.loads(f.read(n))
    return {k: tuple(v["shape"]) for k, v in doc.items() if k != "__metadata__"}


def check_folder(folder: Path) -> Path:
    """The folder, checked: a folder (not a pickle file) that holds both files (raises CheckpointError)."""
    if folder.is_file():
        if folder.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(f"{folder} is a pickle-based PyTorch file; MuJo never unpickles (it can run code). "
                                  f"Give a checkpoint folder with {WEIGHTS} + {CONFIG}")
        hint = f" (did you mean its folder {folder.parent}?)" if folder.name in (WEIGHTS, CONFIG) else ""
        raise CheckpointError(f"{folder} is a file, not a checkpoint folder with {WEIGHTS} + {CONFIG}{hint}")
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    found = f"; it holds {', '.join(pickles)}, pickle-based files that MuJo never loads" if pickles else ""
    for name in (CONFIG, WEIGHTS):
        if not (folder / name).is_file():
            raise CheckpointError(f"{folder} is not a MuJo checkpoint: {name} is missing{found}")
    return folder


def read_config(folder: Path) -> tuple[ModelConfig, dict[str, Any], str | None]:
    """The config.json of a checked folder: its ModelConfig, `extra` and save id (raises CheckpointError)."""
    path = folder / CONFIG
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path} is not readable JSON: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a MuJo checkpoint config (expected \"format\": \"{FORMAT}\")")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format_version {version!r}; this MuJo reads versions up to "
                              f"{FORMAT_VERSION} (update MuJo Studio)")
    model = doc.get("model")
    if not isinstance(model, dict) or "model_type" not in model:
        raise CheckpointError(f"{path} has no model config with an explicit model_type")
    if model["model_type"] not in MODEL_TYPE_NAMES:
        raise CheckpointError(f"{path}: unknown model_type {model['model_type']!r}; "
                              f"known: {', '.join(MODEL_TYPE_NAMES)}")
    try:
        config = from_dict(ModelConfig, model)
    except ConfigError as e:
        raise CheckpointError(f"{path}: bad model config: {e}") from e
    extra = doc.get("extra") or {}
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: 'extra' must be an object")
    return config, extra, doc.get("save_id")
