"""A pre-training run's folder: `last/` (weights + training state, to resume), `best/`, the best model at the root.

Each folder is written complete under a temporary name and then moved into place, so an interrupt leaves either
the previous or the new copy, never half of one. Nothing is pickled: weights and optimizer moments are safetensors,
the rest JSON.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mujo.checkpoint import CONFIG, WEIGHTS
from mujo.config import TrainConfig, from_dict
from mujo.models.checkpoint_io import load_checkpoint, save_checkpoint
from mujo.train.loop import TrainState
from mujo.train.resume import STATE_JSON, existing_dir, load_train_state, remove_dir, replace_dir, save_train_state
from mujo.train.settings import PretrainSettings, Resolved, resolve

HEAD = "proxy_head.safetensors"  # a proxy baseline's head (multi-task heads, decoder, SimCLR projection)
# extra keys measured on the weights they are saved with (mujo.train.null_anchor): the best model keeps its own
WEIGHT_KEYS = ("null_embedding", "null_centroid")


class RunFiles:
    """The files of one run under `out`."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.last, self.best = self.out / "last", self.out / "best"
        self._meta: dict[str, Any] = {}

    def holds_run(self) -> bool:
        """Whether `out` already has a run's checkpoints (which a new run would replace)."""
        return any(existing_dir(p) for p in (self.last, self.best)) or (self.out / CONFIG).exists()

    def clear(self) -> None:
        """Remove an earlier run's checkpoints (a new run in the same folder)."""
        for folder in (self.last, self.best):
            for p in (folder.with_name(folder.name + ".old"), folder):
                if p.is_dir():
                    remove_dir(p)  # never half-deleted under a name that resume_point trusts
        for name in (CONFIG, WEIGHTS, HEAD):
            (self.out / name).unlink(missing_ok=True)

    def resume_point(self) -> Path | None:
        """The `last/` folder to resume from, when a complete one exists."""
        last = existing_dir(self.last)
        return last if last is not None and (last / STATE_JSON).is_file() else None

    def _read_meta(self, folder: Path) -> dict[str, Any]:
        if not self._meta:
            self._meta = json.loads((folder / STATE_JSON).read_text(encoding="utf-8"))
        return self._meta

    def resumed_settings(self, folder: Path, given: PretrainSettings,
                         dataset_sites: tuple[str, ...]) -> tuple[PretrainSettings, Resolved]:
        """The interrupted run's own settings and resolved training config, except what the caller may change
        when resuming: the dataset and output paths (moved folders), and the epoch budget and patience."""
        extra = self._read_meta(folder)["extra"]
        fields = {f.name for f in dataclasses.fields(PretrainSettings)}
        old = {k: tuple(v) if isinstance(v, list) else v for k, v in extra["settings"].items() if k in fields}
        saved = PretrainSettings(**old)
        fixed = ("method", "modalities", "sites", "gyro", "batch_size", "lr", "min_lr", "warmup_epochs",
                 "cycle_epochs", "weight_decay", "seed", "monitor", "same_clip", "text_field", "video_feature",
                 "null_anchor", "null_labels")
        changed = [k for k in fixed if getattr(given, k) not in (None, getattr(saved, k))
                   and getattr(given, k) != getattr(PretrainSettings(dataset="", out=""), k)]
        if changed:
            raise ValueError(f"cannot change {', '.join(changed)} when resuming {folder}: the run keeps its own "
                             "settings (only --epochs and --patience may change); start a new run instead")
        settings = dataclasses.replace(saved, dataset=given.dataset, out=given.out, resume=True, overwrite=False)
        resolved = resolve(settings, dataset_sites)
        train = from_dict(TrainConfig, extra["train"])
        changes = {k: getattr(given, k) for k in ("epochs", "patience") if getattr(given, k) is not None}
        train = dataclasses.replace(train, **changes)
        settings = dataclasses.replace(settings, **changes)
        return settings, Resolved(preset=resolved.preset, train=train, schedule=dict(extra["schedule"]),
                                  monitor=extra.get("monitor", resolved.monitor))

    def load_state(self, folder: Path, objective: nn.Module, optimizer: torch.optim.Optimizer) -> TrainState:
        """Restore the optimizer and a proxy head from `folder`; returns the training state."""
        meta, _ = load_train_state(folder, optimizer)
        self._meta = meta
        head = getattr(objective, "head_state", lambda: {})()
        if head:
            weights = load_file(str(folder / HEAD))
            missing = sorted(set(head) - set(weights))
            if missing:
                raise ValueError(f"{folder / HEAD} lacks {', '.join(missing[:5])}: not this method's head")
            objective.load_state_dict(weights, strict=False)
        return TrainState.from_json(meta["state"])

    def run_id(self, state: TrainState) -> int | None:
        """The store's run id of the run being resumed (None for a new run)."""
        return (self._meta.get("extra") or {}).get("run_id") if state.epoch else None

    def _write(self, final: Path, model: nn.Module, objective: nn.Module, extra: dict[str, Any],
               optimizer: torch.optim.Optimizer | None = None, state: TrainState | None = None) -> None:
        tmp = final.with_name(f".{final.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        save_checkpoint(tmp, model, extra)
        head = objective.head_state()
        if head:
            save_file({k: v.detach().contiguous() for k, v in head.items()}, str(tmp / HEAD))
        if optimizer is not None and state is not None:
            save_train_state(tmp, optimizer, {"state": state.to_json(), "extra": extra})
        replace_dir(tmp, final)

    def save_epoch(self, model: nn.Module, objective: nn.Module, optimizer: torch.optim.Optimizer,
                   state: TrainState, extra: dict[str, Any], improved: bool, run_id: int | None) -> None:
        """After an epoch: `last/` with the training state; `best/` too when the monitored loss improved."""
        self.out.mkdir(parents=True, exist_ok=True)
        if improved:
            self._write(self.best, model, objective, extra)
        self._write(self.last, model, objective, extra, optimizer, state)

    def publish_best(self, extra: dict[str, Any]) -> None:
        """Copy the best model to the root of `out` with the final summary in its `extra`."""
        best = existing_dir(self.best)
        if best is None:
            return
        model, best_extra = load_checkpoint(best)
        extra = extra | {k: best_extra[k] for k in WEIGHT_KEYS if k in best_extra}
        save_checkpoint(self.out, model, extra)
        if (best / HEAD).is_file():
            tmp = self.out / f".{HEAD}.tmp"
            shutil.copyfile(best / HEAD, tmp)
            tmp.replace(self.out / HEAD)
