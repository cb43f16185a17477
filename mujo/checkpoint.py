"""Checkpoints as a folder of `model.safetensors` + `config.json`; rebuilt from the config alone, never unpickled."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from mujo.config import ConfigError, ModelConfig, from_dict
from mujo.modality import Modality

FORMAT = "mujo-checkpoint"
FORMAT_VERSION = 1
WEIGHTS, CONFIG = "model.safetensors", "config.json"
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
EXPECT_KEYS = ("modalities", "imu_sites", "imu_channels", "text_dim", "video_dim", "window", "pose_joints")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded or does not fit the data; the message says what differs."""


def save_checkpoint(directory: str | Path, model: nn.Module, extra: dict[str, Any] | None = None) -> Path:
    """Write `model.safetensors` and `config.json` (resolved config, format version, `extra`) into `directory`.

    Each file is written beside its final name and moved into place, so a reader never sees half a file; both
    carry one save id, so a pair from two different saves (an interrupted save) is detected on load.

    Args:
        directory: checkpoint folder (created if missing; an earlier checkpoint there is replaced).
        model: a model built by `create_model` (has `.config`). DDP wrappers are unwrapped.
        extra: JSON-able dict kept with the checkpoint (normalisation stats, bank spec, training summary, metrics).
    Returns:
        The folder.
    """
    model = getattr(model, "module", model)  # DistributedDataParallel
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_id = uuid.uuid4().hex
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "save_id": save_id,
           "model": model.config.to_dict(), "extra": extra or {}}
    text = json.dumps(doc, indent=1, allow_nan=False)  # fails here, before any file is touched, if not JSON-able
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tmp_w, tmp_c = directory / f".{WEIGHTS}.{save_id}.tmp", directory / f".{CONFIG}.{save_id}.tmp"
    try:
        save_file(state, str(tmp_w), metadata={"format": FORMAT, "save_id": save_id})
        tmp_c.write_text(text, encoding="utf-8")
        os.replace(tmp_w, directory / WEIGHTS)
        os.replace(tmp_c, directory / CONFIG)
    finally:
        for tmp in (tmp_w, tmp_c):
            tmp.unlink(missing_ok=True)
    return directory


def read_checkpoint_config(directory: str | Path) -> tuple[ModelConfig, dict[str, Any]]:
    """The checkpoint's ModelConfig and `extra` without loading the weights (raises CheckpointError)."""
    config, extra, _ = _read_config(_check_folder(Path(directory)))
    return config, extra


def load_checkpoint(directory: str | Path, *, expect: dict[str, Any] | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a model from `config.json` and fill it from `model.safetensors`.

    Args:
        directory: the checkpoint folder.
        expect: what the data at hand needs (keys of EXPECT_KEYS, e.g. `{"imu_sites": [...], "text_dim": 384,
            "modalities": ["text", "imu"]}`); any difference is refused.
    Returns:
        (model in eval mode, extra dict).
    Raises:
        CheckpointError: not a checkpoint folder, a pickle file, a broken or mismatched file, or `expect` differs.
    """
    from mujo.models.joint import MODEL_TYPES  # torch models only when loading weights

    folder = _check_folder(Path(directory))
    config, extra, save_id = _read_config(folder)
    if expect is not None:
        problems = compatibility(config, expect)
        if problems:
            raise CheckpointError(f"checkpoint {folder} does not fit the data: " + "; ".join(problems))
    try:
        with safe_open(str(folder / WEIGHTS), framework="pt") as f:
            meta = f.metadata() or {}
        state = load_file(str(folder / WEIGHTS))
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{folder / WEIGHTS} is not a readable safetensors file: {e}") from e
    if meta.get("save_id") != save_id:
        raise CheckpointError(f"{folder}: {WEIGHTS} and {CONFIG} come from different saves (an interrupted save?); "
                              "save the checkpoint again")
    model = MODEL_TYPES[config.model_type](config)
    _check_tensors(folder, model.state_dict(), state)
    model.load_state_dict(state)
    return model.eval(), extra


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


def _check_folder(folder: Path) -> Path:
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


def _read_config(folder: Path) -> tuple[ModelConfig, dict[str, Any], str | None]:
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
    from mujo.models.joint import MODEL_TYPES

    if model["model_type"] not in MODEL_TYPES:
        raise CheckpointError(f"{path}: unknown model_type {model['model_type']!r}; known: {', '.join(MODEL_TYPES)}")
    try:
        config = from_dict(ModelConfig, model)
    except ConfigError as e:
        raise CheckpointError(f"{path}: bad model config: {e}") from e
    extra = doc.get("extra") or {}
    if not isinstance(extra, dict):
        raise CheckpointError(f"{path}: 'extra' must be an object")
    return config, extra, doc.get("save_id")


def _check_tensors(folder: Path, wanted: dict[str, torch.Tensor], got: dict[str, torch.Tensor]) -> None:
    missing = sorted(set(wanted) - set(got))
    unexpected = sorted(set(got) - set(wanted))
    shapes = [f"{k} is {tuple(got[k].shape)}, the config builds {tuple(wanted[k].shape)}"
              for k in sorted(set(wanted) & set(got)) if got[k].shape != wanted[k].shape]
    problems = []
    for label, items in (("missing tensors", missing), ("tensors the config does not build", unexpected),
                         ("wrong shapes", shapes)):
        if items:
            more = f" and {len(items) - 5} more" if len(items) > 5 else ""
            problems.append(f"{label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointError(f"{folder / WEIGHTS} does not match its {CONFIG}: " + "; ".join(problems))
