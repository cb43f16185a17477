"""A generic training loop: batches in, loss out; schedule, early stopping, hooks for checkpoints and progress.

It knows nothing about HAR, the app or the command line. Each epoch's randomness (dropout; whatever the caller
reseeds in `before_epoch`) is a pure function of (seed, epoch, rank), so a run resumed from an epoch boundary
continues exactly as if it had never stopped.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sized

import numpy as np
import torch
from torch import nn

from mujo.train.distributed import LOCAL, DistContext

Progress = Callable[[float, str], None]


@dataclass
class LoopSettings:
    """How long to train and when to stop."""

    epochs: int  # maximum number of epochs
    patience: int | None = None  # stop after this many epochs without improvement of the monitored loss
    min_delta: float = 0.0  # an improvement must lower the monitored loss by more than this
    seed: int = 0  # per-epoch torch seeds derive from it
    grad_clip: float | None = None  # max global gradient norm, None = no clipping
    monitor: str = "val_loss"  # what early stopping and "best" watch: val_loss or a key `evaluate` returns
    maximize: bool = False  # True for scores (accuracy), False for losses


@dataclass
class TrainState:
    """Everything about a run's progress that a resume needs, besides weights and optimizer moments (JSON-able)."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    best_value: float = math.nan  # best monitored value (train loss when the monitored one is missing)
    best_epoch: int = -1  # epoch (0-based) that reached it
    bad_epochs: int = 0  # epochs since then
    stopped_early: bool = False
    interrupted: bool = False  # the last fit() ended by KeyboardInterrupt or should_stop
    history: list[dict[str, float]] = field(default_factory=list)  # one EpochResult dict per epoch

    def to_json(self) -> dict[str, Any]:
        """Strict JSON (no NaN/Infinity): non-finite numbers become null."""
        d = asdict(self)
        d["best_value"] = _json_num(self.best_value)
        d["history"] = [{k: _json_num(v) for k, v in h.items()} for h in self.history]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TrainState:
        d = dict(d)
        d["best_value"] = math.nan if d.get("best_value") is None else float(d["best_value"])
        d["history"] = [{k: math.nan if v is None else v for k, v in h.items()} for h in d.get("history", [])]
        return cls(**d)


def _json_num(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


@dataclass
class EpochResult:
    """What one epoch did."""

    epoch: int
    train_loss: float
    val_loss: float  # NaN without validation batches
    lr: float  # learning rate at the epoch's start
    windows_per_s: float  # training examples per second over all ranks (forward + backward + step)
    seconds: float
    improved: bool  # the monitored value reached a new best (save the best checkpoint)
    metrics: dict[str, float] = field(default_factory=dict)  # what `evaluate` returned


def batch_size(batch: Any) -> int:
    """Examples in a batch: the length of its first tensor (a tensor, a dict or a sequence of tensors)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    values = batch.values() if isinstance(batch, dict) else batch
    for v in values:
        return batch_size(v)
    raise ValueError("empty batch")


def call_model(model: nn.Module, batch: Any) -> torch.Tensor:
    """The default loss function: the model's forward returns the loss."""
    return model(batch)


def epoch_seed(seed: int, epoch: int, rank: int = 0, stream: int = 0) -> int:
    """A 63-bit seed for (seed, epoch, rank, stream), stable across runs and platforms."""
    return int(np.random.SeedSequence([seed, epoch, rank, stream]).generate_state(1, np.uint64)[0] >> 1)


def _evaluate(model: nn.Module, batches: Iterable[Any], loss_fn: Callable, count: Callable, dist: DistContext):
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for batch in batches:
            k = count(batch)
            total += float(loss_fn(model, batch)) * k
            n += k
    total, n = dist.all_sum([total, n])
    return total / n if n else math.nan


def fit(model: nn.Module, optimizer: torch.optim.Optimizer, train_batches: Callable[[int], Iterable[Any]], *,
        settings: LoopSettings, schedule: Callable[[float], float] | None = None,
        val_batches: Callable[[], Iterable[Any]] | None = None,
        loss_fn: Callable[[nn.Module, Any], torch.Tensor] = call_model,
        evaluate: Callable[[], dict[str, float]] | None = None, state: TrainState | None = None,
        before_epoch: Callable[[int], None] | None = None,
        on_epoch_end: Callable[[TrainState, EpochResult], None] | None = None, progress: Progress | None = None,
        should_stop: Callable[[], bool] | None = None, count: Callable[[Any], int] = batch_size,
        dist: DistContext = LOCAL, eval_model: nn.Module | None = None) -> TrainState:
    """Train until `settings.epochs`, early stopping, or an interrupt.

    Args:
        model: the module to train (wrapped in DDP by the caller when distributed).
        optimizer: over the model's parameters; its lr is set from `schedule` before every step.
        train_batches: epoch -> this rank's batches of that epoch (sized, so progress knows the total).
        schedule: epoch (fractional: epoch + batch / n_batches) -> learning rate; None keeps the optimizer's lr.
        val_batches: () -> this rank's validation batches; their mean loss over all ranks is `val_loss`.
        loss_fn: (model, batch) -> scalar loss.
        evaluate: () -> more validation metrics after each epoch (the same on every rank: reduce them), e.g. a
            ranking score to monitor instead of the loss; keys should start with "val_".
        state: a TrainState to continue from (resume); a new one by default.
        before_epoch: called with the epoch number before its first batch (reseed augmentation generators here).
        on_epoch_end: called after every completed epoch with the updated state (write metrics, checkpoints).
        progress: (fraction of the whole run, message), per batch.
        should_stop: polled before every batch; True (on any rank) interrupts the epoch.
        count: examples in a batch (for throughput and loss weighting).
        dist: the distributed context; losses and stop requests are reduced over ranks so all ranks agree.
        eval_model: the module validation runs through (default `model`); pass the module inside a DDP wrapper,
            since ranks may see different numbers of validation batches and DDP's forward talks to other ranks.
    Returns:
        The final state; `interrupted` is True when stopped by KeyboardInterrupt or `should_stop` (the epoch in
        progress is abandoned: the last `on_epoch_end` state is the one to resume from).
    """
    state = state or TrainState()
    state.interrupted = False
    try:
        while state.epoch < settings.epochs and not state.stopped_early:
            if _run_epoch(model, optimizer, train_batches, val_batches, settings, schedule, loss_fn, evaluate, state,
                          before_epoch, on_epoch_end, progress, should_stop, count, dist, eval_model or model):
                state.interrupted = True
                break
    except KeyboardInterrupt:
        state.interrupted = True
    return state


def _run_epoch(model, optimizer, train_batches, val_batches, settings, schedule, loss_fn, evaluate, state, before_epoch,
               on_epoch_end, progress, should_stop, count, dist, eval_model) -> bool:
    """One epoch; returns True when interrupted."""
    epoch = state.epoch
    t_start = time.perf_counter()
    # fork_rng: the caller's global torch RNG is left as it was; dropout draws from the per-epoch seed.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(epoch_seed(settings.seed, epoch, dist.rank))
        if before_epoch is not None:
            before_epoch(epoch)
        batches = train_batches(epoch)
        n_batches = len(batches) if isinstance(batches, Sized) else 0
        lr0 = schedule(epoch) if schedule else float(optimizer.param_groups[0]["lr"])
        model.train()
        total, seen = 0.0, 0
        for b, batch in enumerate(batches):
            if dist.any(bool(should_stop and should_stop())):
                return True
            if schedule is not None:
                lr = schedule(epoch + b / max(n_batches, 1))
                for group in optimizer.param_groups:
                    group["lr"] = lr
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss is {float(loss.detach())} at epoch {epoch} batch {b}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            optimizer.step()
            state.step += 1
            k = count(batch)
            total, seen = total + float(loss.detach()) * k, seen + k
            if progress is not None:
                frac = (epoch + (b + 1) / max(n_batches, 1)) / settings.epochs
                progress(min(frac, 1.0), f"epoch {epoch + 1}/{settings.epochs} batch {b + 1}/{n_batches} "
                                         f"loss {total / seen:.4f}")
        train_seconds = time.perf_counter() - t_start
        total, seen = dist.all_sum([total, seen])
        val_loss = _evaluate(eval_model, val_batches(), loss_fn, count, dist) if val_batches else math.nan
        metrics = dict(evaluate()) if evaluate is not None else {}
        model.train()
    train_loss = total / seen if seen else math.nan
    improved = _improve(state, settings, epoch, {"train_loss": train_loss, "val_loss": val_loss, **metrics})
    state.epoch = epoch + 1
    result = EpochResult(epoch=epoch, train_loss=train_loss, val_loss=val_loss, lr=lr0,
                         windows_per_s=seen / train_seconds if train_seconds > 0 else math.nan,
                         seconds=time.perf_counter() - t_start, improved=improved, metrics=metrics)
    state.history.append({k: v for k, v in asdict(result).items() if k != "metrics"} | metrics)
    if on_epoch_end is not None:
        on_epoch_end(state, result)
    if progress is not None:
        progress(min(state.epoch / settings.epochs, 1.0),
                 f"epoch {epoch + 1}/{settings.epochs} train {train_loss:.4f} val {val_loss:.4f}")
    return False


def _improve(state: TrainState, settings: LoopSettings, epoch: int, values: dict[str, float]) -> bool:
    """Update the early-stopping counters with this epoch's values; True when the monitored value improved.

    Without the monitored value (no validation split) the training loss is watched instead.
    """
    value, maximize = values.get(settings.monitor, math.nan), settings.maximize
    if value is None or math.isnan(value):
        value, maximize = values["train_loss"], False
    sign = -1.0 if maximize else 1.0
    improved = math.isnan(state.best_value) or sign * value < sign * state.best_value - settings.min_delta
    if improved:
        state.best_value, state.best_epoch, state.bad_epochs = value, epoch, 0
    else:
        state.bad_epochs += 1
    state.stopped_early = settings.patience is not None and state.bad_epochs >= settings.patience
    return improved
