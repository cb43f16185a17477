"""Pre-training: the window bank, the joint model (or a proxy baseline), AdamW + warm-up/cosine, checkpoints, store.

The same `pretrain(settings)` serves the CLI, the app and torchrun (it joins the process group torchrun describes;
rank 0 alone writes checkpoints and metrics).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from mujo.banks.bank import WindowBank, build_bank
from mujo.banks.spec import BankSpec
from mujo.checkpoint import compatibility
from mujo.config import to_dict
from mujo.fimad.dataset import FimadDataset
from mujo.modality import Modality
from mujo.models import create_model
from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import Store, open_store
from mujo.train import distributed
from mujo.train.batches import BankBatches
from mujo.train.checkpoints import RunFiles
from mujo.train.diagnostics import pair_metrics, pair_names
from mujo.train.loop import EpochResult, LoopSettings, TrainState, epoch_seed, fit
from mujo.train.null_anchor import NullSetup, setup_null
from mujo.train.proxies import build_proxy
from mujo.train.schedule import WarmupCosine
from mujo.train.settings import PretrainSettings, Resolved, maximized, resolve

__all__ = ["PretrainResult", "PretrainSettings", "pretrain"]

Progress = Callable[[float, str], None]
BANK_SHARE = 0.1  # share of the progress bar for building the window bank (features on first use)


@dataclass
class PretrainResult:
    """What a pre-training run did."""

    run_id: int | None  # in the store (None on ranks other than 0)
    out: Path  # the best model (load_checkpoint(out)), with last/ and best/ inside
    method: str
    epochs: int  # epochs completed in total (resumed runs included)
    best_epoch: int  # 0-based
    best_loss: float  # validation loss at best_epoch (train loss without a val split)
    monitor: str  # what chose best_epoch and early stopping (val_loss, val_top1, ...)
    best_value: float  # its value at best_epoch
    stopped_early: bool
    interrupted: bool
    world_size: int
    rank: int
    history: list[dict[str, float]] = field(default_factory=list)


class ContrastiveObjective(nn.Module):
    """The MuJo objective: the model's contrastive loss over the batch's modalities (forward returns the loss)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def reseed(self, seed: int) -> None:  # no random draws of its own
        pass

    def head_state(self) -> dict[str, torch.Tensor]:
        return {}

    def forward(self, batch: dict) -> torch.Tensor:
        inputs = {m: x for m, x in batch.items() if isinstance(m, Modality)}
        return self.model.loss(self.model(inputs), mask=batch.get("same_clip"))


def _sub(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg)


def _build_bank(ds: FimadDataset, train: Any, settings: PretrainSettings, ctx: distributed.DistContext,
                progress: Progress | None) -> WindowBank:
    wanted = tuple(Modality(m) for m in train.modalities) if train.modalities else tuple(Modality)
    spec = BankSpec(modalities=wanted, imu_sites=tuple(train.imu_sites), imu_channels=tuple(train.imu_channels),
                    text_field=settings.text_field, video_feature=settings.video_feature)
    # Rank 0 builds (and caches) the bank first, the others then open the cached copy.
    if not ctx.is_main:
        ctx.barrier()
    bank = build_bank(ds, spec, progress=_sub(progress, 0.0, BANK_SHARE))
    if ctx.is_main:
        ctx.barrier()
    missing = [m.value for m in wanted if m not in bank.modalities]
    if train.modalities and missing:
        raise ValueError(f"dataset {ds.root} has no usable {', '.join(missing)} data; "
                         f"it has {', '.join(m.value for m in bank.modalities)}")
    if train.method == "mujo" and len(bank.modalities) < 2:
        raise ValueError(f"dataset {ds.root} has only {[m.value for m in bank.modalities]}: the contrastive "
                         "objective needs two modalities")
    return bank


def _model_overrides(bank: Any, train: Any) -> dict[str, Any]:
    dims = bank.dims
    over: dict[str, Any] = {"modalities": [m.value for m in bank.modalities], "imu_sites": list(train.imu_sites),
                            "imu_channels": list(train.imu_channels), "window": int(bank.spec.window)}
    if Modality.TEXT in dims:
        over["text_dim"] = int(dims[Modality.TEXT])
    if Modality.VIDEO in dims:
        over["video_dim"] = int(dims[Modality.VIDEO])
    return over


def _imu_stats(bank: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """(S, C) mean and std of the IMU channels from the bank's stats, if it states them."""
    stats = (bank.stats or {}).get(Modality.IMU.value) or (bank.stats or {}).get("imu")
    if not isinstance(stats, dict) or "mean" not in stats or "std" not in stats:
        return None, None
    mean, std = torch.tensor(stats["mean"], dtype=torch.float32), torch.tensor(stats["std"], dtype=torch.float32)
    return mean, std


def _build_objective(train: Any, model: nn.Module, bank: Any, settings: PretrainSettings) -> nn.Module:
    if train.method == "mujo":
        return ContrastiveObjective(model)
    mean, std = _imu_stats(bank)
    return build_proxy(train.method, model, imu_mean=mean, imu_std=std,
                       simclr_temperature=settings.simclr_temperature)


def pretrain(settings: PretrainSettings, *, progress: Progress | None = None, store: Store | str | Path | None
             = None, should_stop: Callable[[], bool] | None = None) -> PretrainResult:
    """Pre-train a joint model (or a proxy-task baseline) on a FiMAD dataset.

    Args:
        settings: what to train (see PretrainSettings; None fields take the preset's values).
        progress: (fraction, message) per batch and epoch (rank 0 only under torchrun).
        store: the store for the run and its per-epoch metrics (default: the project's store).
        should_stop: polled before every batch; True interrupts the run, leaving `out/last` to resume from.
    Returns:
        PretrainResult; the run is marked done, interrupted (KeyboardInterrupt or should_stop) or failed (the
        exception is re-raised) in the store.
    Raises:
        ValueError: bad settings (sites, modalities, method ...), a dataset without what they need, or `out`
            holding another run without resume/overwrite.
    """
    ctx = distributed.init_from_env()
    progress = progress if ctx.is_main else None
    if settings.threads:
        torch.set_num_threads(settings.threads)
    try:
        ds = FimadDataset(settings.dataset)
        resolved = resolve(settings, tuple(ds.imu_sites))
        files = RunFiles(Path(settings.out))
        saved = files.resume_point() if settings.resume else None
        if saved is None and not settings.resume and not settings.overwrite and files.holds_run():
            raise ValueError(f"{files.out} already holds a pre-training run; resume it (--resume) or start over "
                             "(--overwrite)")
        if saved is not None:  # the run's own settings win, except new paths, epoch budget or patience
            settings, resolved = files.resumed_settings(saved, settings, tuple(ds.imu_sites))
        elif ctx.is_main:
            files.clear()
        train = resolved.train
        bank = _build_bank(ds, train, settings, ctx, progress)
        # NULL chapters (issue 5): with a NULL anchor the bank gives every NULL clip the anchor's text; the NULL
        # vectors are measured into the checkpoint's extra after each epoch (None: no NULL handling, as before)
        bank, null = setup_null(settings, bank, store)
        if saved is not None:
            model, _ = load_checkpoint(saved)
            problems = compatibility(model.config, _model_overrides(bank, train) | {"window": bank.spec.window})
            if problems:
                raise ValueError(f"cannot resume {saved}: " + "; ".join(problems))
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(train.seed)
                model = create_model(resolved.preset, **_model_overrides(bank, train))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train.seed + 1)
            objective = _build_objective(train, model, bank, settings)
        optimizer = torch.optim.AdamW(objective.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        state = files.load_state(saved, objective, optimizer) if saved is not None else TrainState()
        # A run that stopped early continues when resumed with more patience.
        state.stopped_early = train.patience is not None and state.bad_epochs >= train.patience
        return _train(settings, resolved, ds, bank, model, objective, optimizer, state, files, ctx, progress,
                      open_store(store) if ctx.is_main else None, should_stop, null)
    finally:
        distributed.shutdown(ctx)


def _evaluator(model: nn.Module, data: BankBatches, ctx: distributed.DistContext) -> Callable[[], dict[str, float]]:
    """Per-pair validation loss and in-batch top-1 of the joint model (mean over all ranks' shares), their mean
    top-1 (`val_top1`) and the temperature."""

    def evaluate() -> dict[str, float]:
        values, n = pair_metrics(model, data.val())
        keys = sorted(values)
        sums = ctx.all_sum([values[k] * n for k in keys] + [n])
        total = sums[-1]
        out = {f"val_{k}": (v / total if total else float("nan")) for k, v in zip(keys, sums)}
        top1 = [v for k, v in out.items() if k.startswith("val_top1_")]
        out["val_top1"] = sum(top1) / len(top1) if top1 else float("nan")
        out["val_temperature"] = float(model.temperature().detach())
        return out

    return evaluate


def _train(settings: PretrainSettings, resolved: Resolved, ds: Any, bank: Any, model: nn.Module,
           objective: nn.Module, optimizer: torch.optim.Optimizer, state: TrainState, files: RunFiles,
           ctx: distributed.DistContext, progress: Progress | None, store: Store | None,
           should_stop: Callable[[], bool] | None, null: NullSetup | None = None) -> PretrainResult:
    train, monitor = resolved.train, resolved.monitor
    if monitor != "val_loss" and monitor != "val_top1" and monitor.split("_", 2)[-1] not in pair_names(
            model.config.modalities):
        raise ValueError(f"monitor {monitor!r}: the model's modalities are "
                         f"{', '.join(m.value for m in model.config.modalities)}")
    data = BankBatches(bank, model.config.modalities, train.batch_size, settings.same_clip, train.seed, ctx.rank,
                       ctx.world_size)
    evaluate = _evaluator(model, data, ctx) if train.method == "mujo" and data.val_plan else None
    run_id = files.run_id(state) if store is not None else None
    if store is not None:
        if run_id is not None and store.get_run(run_id) is not None:
            store.set_run_status(run_id, "running")
        else:
            name = settings.name or f"{train.method} {Path(settings.preset).stem} {ds.manifest.name}"
            run_id = store.start_run("pretrain", name=name, dataset=str(ds.root), checkpoint=str(files.out),
                                     config={"settings": settings.to_dict(), "train": to_dict(train),
                                             "schedule": resolved.schedule, "monitor": monitor,
                                             "world_size": ctx.world_size})
    t_start = time.time()

    def extra(st: TrainState, measure_null: bool = True) -> dict[str, Any]:
        best = st.history[st.best_epoch] if 0 <= st.best_epoch < len(st.history) else {}
        summary = {"epochs": st.epoch, "best_epoch": st.best_epoch, "monitor": monitor,
                   "best_value": None if math.isnan(st.best_value) else st.best_value,
                   "best_loss": _finite(best.get("val_loss", best.get("train_loss"))),
                   "stopped_early": st.stopped_early, "train_windows": int(len(data.train_rows)),
                   "val_windows": int(len(data.val_rows)), "batch_size": data.batch_size,
                   "world_size": ctx.world_size, "seconds": round(time.time() - t_start, 1)}
        summary |= {k: _finite(v) for k, v in best.items() if k.startswith("val_top1")}
        out = {"method": train.method, "bank_spec": bank.spec.to_dict(), "stats": bank.stats,
               "dataset": str(ds.root), "dataset_name": ds.manifest.name, "settings": settings.to_dict(),
               "train": to_dict(train), "schedule": resolved.schedule, "monitor": monitor, "run_id": run_id,
               "summary": summary}
        return out | (null.extra(model, bank) if null is not None and measure_null else {})  # of these weights

    def on_epoch_end(st: TrainState, result: EpochResult) -> None:
        if ctx.is_main:
            # Metrics first: a kill before the checkpoint below is saved repeats this epoch on --resume, which
            # writes its metrics again (replacing them); the other order would lose the epoch's metrics.
            if store is not None:
                store.log_metrics(run_id, result.epoch, "train", {
                    "loss": result.train_loss, "lr": result.lr, "windows_per_s": result.windows_per_s,
                    "seconds": result.seconds})
                val = {k.removeprefix("val_"): v for k, v in result.metrics.items()}
                store.log_metrics(run_id, result.epoch, "val", {"loss": result.val_loss} | val)
            files.save_epoch(model, objective, optimizer, st, extra(st), result.improved, run_id)
        ctx.barrier()

    try:
        state = fit(distributed.wrap(objective, ctx), optimizer, data.train,
                    settings=LoopSettings(epochs=train.epochs, patience=train.patience, seed=train.seed,
                                          monitor=monitor, maximize=maximized(monitor)),
                    schedule=WarmupCosine(**resolved.schedule), val_batches=data.val if data.val_plan else None,
                    evaluate=evaluate, state=state,
                    before_epoch=lambda e: objective.reseed(epoch_seed(train.seed, e, ctx.rank, stream=2)),
                    on_epoch_end=on_epoch_end, progress=_sub(progress, BANK_SHARE, 1.0), should_stop=should_stop,
                    dist=ctx, eval_model=objective)
        in_sync = ctx.params_in_sync(objective)
        if ctx.is_main:
            if state.interrupted:
                store and store.set_run_status(run_id, "interrupted", checkpoint=str(files.out))
            else:
                final = extra(state)
                final["summary"]["ddp_params_in_sync"] = in_sync
                files.publish_best(final)
                if store is not None:
                    store.put_result(run_id, "summary", final["summary"])
                    store.finish_run(run_id, checkpoint=str(files.out))
        ctx.barrier()
    except BaseException as e:
        if store is not None and run_id is not None:
            if isinstance(e, KeyboardInterrupt):
                store.set_run_status(run_id, "interrupted")
            else:
                store.fail_run(run_id, f"{type(e).__name__}: {e}")
        raise
    best = extra(state, measure_null=False)["summary"]
    return PretrainResult(run_id=run_id, out=files.out, method=train.method, epochs=state.epoch,
                          best_epoch=state.best_epoch, best_loss=best["best_loss"] or math.nan, monitor=monitor,
                          best_value=state.best_value, stopped_early=state.stopped_early,
                          interrupted=state.interrupted, world_size=ctx.world_size, rank=ctx.rank,
                          history=state.history)


def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None
