"""Training state on disk without pickle: optimizer moments and other tensors as safetensors, the rest as JSON."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mujo.models.checkpoint_io import fsync_path

STATE_TENSORS, STATE_JSON = "train_state.safetensors", "train_state.json"
FORMAT = "mujo-train-state/1"


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer's state_dict into tensors (`opt.<param>.<key>`) and a JSON-able rest."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"opt.{pid}.{key}"] = value.detach().contiguous().clone()
            else:
                scalars.setdefault(str(pid), {})[key] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in sd["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                        meta: dict[str, Any]) -> None:
    """Load what `optimizer_to_flat` wrote into an optimizer built over the same parameters."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, pid, key = name.split(".", 2)
            state.setdefault(int(pid), {})[key] = value
    for pid, entry in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(entry)
    groups = []
    for g in meta["param_groups"]:
        g = dict(g)
        for key in ("betas",):  # tuples in torch's own state_dicts
            if isinstance(g.get(key), list):
                g[key] = tuple(g[key])
        groups.append(g)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_train_state(directory: str | Path, optimizer: torch.optim.Optimizer, meta: dict[str, Any],
                     tensors: dict[str, torch.Tensor] | None = None) -> None:
    """Write train_state.safetensors (optimizer moments + `tensors`) and train_state.json (`meta` + optimizer
    settings) into `directory` (which must exist)."""
    directory = Path(directory)
    opt_tensors, opt_meta = optimizer_to_flat(optimizer)
    all_tensors = {**opt_tensors, **{f"extra.{k}": v.detach().contiguous() for k, v in (tensors or {}).items()}}
    if not all_tensors:  # safetensors needs at least one entry to be a useful file; keep a marker
        all_tensors["extra.__empty__"] = torch.zeros(0)
    save_file(all_tensors, str(directory / STATE_TENSORS))
    doc = {"format": FORMAT, "optimizer": opt_meta, **meta}
    (directory / STATE_JSON).write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
    for name in (STATE_TENSORS, STATE_JSON):  # on disk before `replace_dir` moves the folder into place
        fsync_path(directory / name)


def load_train_state(directory: str | Path, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any],
                                                                                        dict[str, torch.Tensor]]:
    """Restore the optimizer from `directory`; returns (meta, extra tensors).

    Raises:
        FileNotFoundError / ValueError: the files are missing or not this format.
    """
    directory = Path(directory)
    for name in (STATE_TENSORS, STATE_JSON):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory / name} is missing: no training state to resume from")
    doc = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT:
        raise ValueError(f"{directory / STATE_JSON}: format {doc.get('format')!r}, expected {FORMAT!r}")
    tensors = load_file(str(directory / STATE_TENSORS))
    optimizer_from_flat(optimizer, tensors, doc.pop("optimizer"))
    extra = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.") and k != "extra.__empty__"}
    return doc, extra


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a fully written folder `tmp` to `final`, keeping the previous `final` as `<final>.old` until the move
    is done (so a crash leaves one complete copy: see `existing_dir`).

    A `.old` left by an earlier crash is deleted only while `final` is complete: when `final` is missing, that `.old`
    is the only copy (`existing_dir` resumes from it) and stays until the new folder is in place. A folder is
    deleted by renaming it to a hidden name first, so a crash in the middle of a deletion never leaves a
    half-deleted folder under a name that `existing_dir` trusts.
    """
    old = final.with_name(final.name + ".old")
    fsync_path(tmp)
    if final.exists():
        if old.exists():
            remove_dir(old)
        os.replace(final, old)
    os.replace(tmp, final)
    fsync_path(final.parent)
    if old.exists():
        remove_dir(old)


def remove_dir(folder: Path) -> None:
    """Delete a folder in one step for readers: renamed to a hidden `.<name>.trash` first, then removed."""
    trash = folder.with_name(f".{folder.name}.trash")
    if trash.exists():
        shutil.rmtree(trash)
    os.replace(folder, trash)
    shutil.rmtree(trash)


def existing_dir(final: Path) -> Path | None:
    """`final`, or its `.old` copy when a crash hit `replace_dir` between its two moves; None when neither."""
    old = final.with_name(final.name + ".old")
    return final if final.is_dir() else old if old.is_dir() else None
