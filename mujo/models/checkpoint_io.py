"""Save and load checkpoints with torch: `model.safetensors` + `config.json`, rebuilt from the config, never unpickled.

The format itself (file names, reading the config, the folder checks, CheckpointError) is `mujo.checkpoint`.
"""

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

from mujo.checkpoint import (
    CONFIG,
    FORMAT,
    FORMAT_VERSION,
    WEIGHTS,
    CheckpointError,
    check_folder,
    compatibility,
    read_config,
)
from mujo.models.joint import MODEL_TYPES

__all__ = ["save_checkpoint", "load_checkpoint", "fsync_path"]


def save_checkpoint(directory: str | Path, model: nn.Module, extra: dict[str, Any] | None = None) -> Path:
    """Write `model.safetensors` and `config.json` (resolved config, format version, `extra`) into `directory`.

    Each file is written beside its final name and moved into place, so a reader never sees half a file. An
    earlier config.json is removed before the weights are replaced and the new one is moved in last, so a save
    that is killed half-way leaves a folder without config.json, which no reader takes for a checkpoint (not a
    new model.safetensors beside an old config). Both files also carry one save id, which `load_checkpoint`
    compares (a pair put together from two saves by other means is refused too).

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
        for tmp in (tmp_w, tmp_c):  # on disk before the renames: a power cut never leaves empty files in place
            fsync_path(tmp)
        (directory / CONFIG).unlink(missing_ok=True)
        os.replace(tmp_w, directory / WEIGHTS)
        os.replace(tmp_c, directory / CONFIG)
        fsync_path(directory)
    finally:
        for tmp in (tmp_w, tmp_c):
            tmp.unlink(missing_ok=True)
    return directory


def fsync_path(path: Path) -> None:
    """Flush a file's data, or a folder's entries (renames in it), to the disk; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    folder = check_folder(Path(directory))
    config, extra, save_id = read_config(folder)
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
