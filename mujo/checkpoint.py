"""The checkpoint format, without torch: a folder of `model.safetensors` + `config.json`, rebuilt from the config.

This module owns the file names, the config's format marker and version, reading the config, the folder checks,
the fit between a checkpoint and the data (`compatibility`) and the one error type, CheckpointError. Writing and
loading the weights needs torch and lives in `mujo.models.checkpoint_io`.
"""

from __future__ import annotations

import json
import math
import os
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
_MAX_HEADER = 100 << 20  # safetensors itself refuses headers above 100 MB
# bytes per element of the safetensors dtypes (others are accepted without the size check)
_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
             "U16": 2, "U32": 4, "U64": 8, "F8_E4M3": 1, "F8_E5M2": 1}
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

    Every entry is checked: an object with a str "dtype", a "shape" list of sizes >= 0 and "data_offsets" that lie
    inside the file and hold exactly the shape's bytes where the dtype's size is known.

    Raises:
        CheckpointError (a ValueError): not a safetensors file, or a malformed entry. OSError: unreadable.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) != 8:
            raise CheckpointError(f"{path}: not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", head)
        if n > min(_MAX_HEADER, size - 8):
            raise CheckpointError(f"{path}: not a safetensors file (a header of {n:,} bytes in a file of {size:,})")
        try:
            doc = json.loads(f.read(n))
        except (ValueError, RecursionError) as e:  # bad UTF-8 or JSON, or nested too deeply
            raise CheckpointError(f"{path}: the safetensors header is not JSON ({_cut(str(e))})") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: the safetensors header is not a JSON object")
    data = size - 8 - n
    out: dict[str, tuple[int, ...]] = {}
    for name, entry in doc.items():
        if name == "__metadata__":
            continue
        what = f"{path}: tensor {_cut(name)!r}"
        if not isinstance(entry, dict):
            raise CheckpointError(f"{what}: the header entry is a {type(entry).__name__}, not an object")
        shape, dtype, offsets = entry.get("shape"), entry.get("dtype"), entry.get("data_offsets")
        if not isinstance(shape, list) or not all(_size_int(d) for d in shape):
            raise CheckpointError(f"{what}: shape {_cut(repr(shape))} is not a list of sizes >= 0")
        if not isinstance(dtype, str):
            raise CheckpointError(f"{what}: dtype {_cut(repr(dtype))} is not a name")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_size_int(o) for o in offsets)
                or not offsets[0] <= offsets[1] <= data):
            raise CheckpointError(f"{what}: data_offsets {_cut(repr(offsets))} do not lie inside the file's "
                                  f"{data:,} bytes of data")
        itemsize = _ITEMSIZE.get(dtype)
        if itemsize is not None and math.prod(shape) * itemsize != offsets[1] - offsets[0]:
            raise CheckpointError(f"{what}: shape {shape} of {dtype} needs {math.prod(shape) * itemsize:,} bytes, "
                                  f"data_offsets hold {offsets[1] - offsets[0]:,}")
        out[name] = tuple(shape)
    return out


def _size_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


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
    except (OSError, ValueError, RecursionError) as e:  # unreadable, bad UTF-8 or JSON, nested too deeply
        raise CheckpointError(f"{path} is not readable JSON: {_cut(str(e), 200)}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a MuJo checkpoint config (expected \"format\": \"{FORMAT}\")")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format_version {version!r}; this MuJo reads versions up to "
                              f"{FORMAT_VERSION} (update MuJo Studio)")
    model = doc.get("model")
    if not isinstance(model, dict) or "model_type" not in model:
        raise CheckpointError(f"{path} has no model config with an explicit model_type")
    if not isinstance(model["model_type"], str) or model["model_type"] not in MODEL_TYPE_NAMES:
        raise CheckpointError(f"{path}: unknown model_type {_cut(repr(model['model_type']))}; "
                              f"known: {', '.join(MODEL_TYPE_NAMES)}")
    try:
        config = from_dict(ModelConfig, model)
    except (ConfigError, TypeError, ValueError) as e:  # a field of the wrong type
        raise CheckpointError(f"{path}: bad model config: {_cut(str(e), 300)}") from None
    extra = doc.get("extra") or {}
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: 'extra' must be an object")
    return config, extra, doc.get("save_id")
