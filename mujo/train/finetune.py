"""Fine-tuning on a real target dataset (paper section 5.2): baseline / frozen / fine-tuned classifier, stored.

One run = one dataset, scenario, input set, training fraction and repeat: sample the training windows per class,
z-score the IMU with their statistics, train a class-weighted classifier with AdamW, pick the epoch with the
best validation macro F1 (early stopping on it), and report the test metrics of that epoch's weights.
"""

from __future__ import annotations

import math
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from mujo.datasets.inputs import inputs_text
from mujo.datasets.windowset import WindowSet
from mujo.eval.classification import accuracy, confusion_matrix, macro_f1, per_class_f1
from mujo.store import Store, open_store
from mujo.store.runs import now_iso
from mujo.train import classifier as clf
from mujo.train.finetune_data import Prepared, prepare_run
from mujo.train.finetune_settings import SCENARIOS, FinetuneSettings
from mujo.train.loop import LoopSettings, TrainState, fit

__all__ = ["SCENARIOS", "FinetuneInterrupted", "FinetuneResult", "FinetuneSettings", "finetune", "repeat_settings"]

Progress = Callable[[float, str], None]
PREPARE_SHARE = 0.1  # share of the progress bar for reading and windowing the dataset
HISTORY_KEYS = ("epoch", "train_loss", "val_macro_f1", "seconds")  # per-epoch values kept in the store


class FinetuneInterrupted(RuntimeError):
    """should_stop (or Ctrl-C) ended the run before it finished; nothing was stored."""


@dataclass
class FinetuneResult:
    """What a fine-tuning run measured on the test part of its split (best validation epoch's weights)."""

    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float | None]  # None: the class is neither in the test truth nor predicted
    confusion: list[list[int]]  # rows = true class, columns = predicted, in `classes` order
    classes: list[str]
    split: str
    train_rows: list[int]  # the exact training windows (indices into the WindowSet)
    fingerprint: str  # of the WindowSet those rows index
    n_train: int
    n_val: int
    n_test: int
    epochs: int  # epochs run
    best_epoch: int  # 0-based epoch whose weights were tested
    seconds: float
    warnings: list[str]
    run_id: int | None = None
    val_macro_f1: float = math.nan  # at best_epoch
    method: str | None = None  # the checkpoint's pre-training method ("mujo", "simclr", ...), None without one
    per_class_counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (available, taken)
    windows_per_s: float = math.nan  # training throughput (forward + backward + step), mean over epochs
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: train_loss, val_macro_f1, ... (fit)

    def results(self) -> dict[str, Any]:
        """The store's result keys: metrics, per_class_f1, confusion, classes, train_windows, warnings, summary."""
        return {
            "metrics": {"macro_f1": _num(self.macro_f1), "accuracy": _num(self.accuracy)},
            "per_class_f1": self.per_class_f1,
            "confusion": self.confusion,
            "classes": self.classes,
            "train_windows": {"fingerprint": self.fingerprint, "rows": self.train_rows},
            "warnings": self.warnings,
            "summary": {"split": self.split, "n_train": self.n_train, "n_val": self.n_val, "n_test": self.n_test,
                        "epochs": self.epochs, "best_epoch": self.best_epoch, "val_macro_f1": _num(self.val_macro_f1),
                        "seconds": round(self.seconds, 2), "method": self.method,
                        "windows_per_s": _num(self.windows_per_s),
                        "per_class_counts": {k: list(v) for k, v in self.per_class_counts.items()}},
            "history": [{k: _num(h[k]) for k in HISTORY_KEYS if k in h} for h in self.history],
        }


def _num(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def _sub(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg)


def finetune(settings: FinetuneSettings, *, store: Store | str | Path | None = None, progress: Progress | None = None,
             should_stop: Callable[[], bool] | None = None, windows: WindowSet | None = None,
             on_saved: Callable[[sqlite3.Connection, int], None] | None = None) -> FinetuneResult:
    """Train and test one classifier.

    Args:
        settings: what to run.
        store: when given (a Store or its path), the finished run and all its results are written in one
            transaction (`Store.save_run("finetune", ...)`); nothing is written for a failed or stopped run.
        progress: (fraction 0..1, message).
        should_stop: polled before every batch; True ends the run with FinetuneInterrupted.
        windows: the dataset's prepared windows, when the caller has them (else `open_target` + `prepare`).
        on_saved: passed to `save_run`: runs in the same transaction with (connection, run id).
    Returns:
        The test metrics of the best validation epoch, with `run_id` set when stored.
    Raises:
        ValueError: bad settings; CheckpointError (a ValueError): a checkpoint that does not fit the data;
        DatasetError: an unreadable dataset; FinetuneInterrupted: stopped.
    """
    settings.check()
    started, t0 = now_iso(), time.perf_counter()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    data = prepare_run(settings, windows, _sub(progress, 0.0, PREPARE_SHARE))
    state, per_s, y_pred = _train(settings, data, _sub(progress, PREPARE_SHARE, 0.99), should_stop)
    y_test = data.y_test.numpy()
    conf = confusion_matrix(y_test, y_pred, len(data.classes))
    f1 = per_class_f1(conf)
    hist = state.history[state.best_epoch] if 0 <= state.best_epoch < len(state.history) else {}
    result = FinetuneResult(
        macro_f1=macro_f1(conf), accuracy=accuracy(conf),
        per_class_f1={c: _num(v) for c, v in zip(data.classes, f1)}, confusion=conf.tolist(),
        classes=list(data.classes), split=data.split, train_rows=[int(r) for r in data.train_rows],
        fingerprint=data.fingerprint, n_train=len(data.train_rows), n_val=len(data.y_val), n_test=len(y_test),
        epochs=state.epoch, best_epoch=state.best_epoch, seconds=0.0, warnings=data.warnings,
        val_macro_f1=float(hist.get("val_macro_f1", math.nan)), method=data.method,
        per_class_counts=data.per_class, windows_per_s=per_s, history=state.history)
    result.seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, f"test macro F1 {result.macro_f1:.3f}, accuracy {result.accuracy:.3f}")
    if store is not None:
        config = settings.to_dict() | {"split": data.split, "fingerprint": data.fingerprint, "method": data.method,
                                       "channels": list(data.channels), "dataset_name": data.dataset_name,
                                       "seed_used": settings.seed + settings.repeat}
        result.run_id = open_store(store).save_run(
            "finetune", results=result.results(), name=settings.name or run_name(settings, data.dataset_name),
            dataset=settings.dataset, config=config, started=started, checkpoint=settings.checkpoint,
            on_saved=on_saved)
    return result


def run_name(settings: FinetuneSettings, dataset_name: str) -> str:
    """A short run name, e.g. "motionsense finetuned 2% r0" (+ inputs, NULL)."""
    inputs = "" if settings.inputs == ("imu",) else " " + inputs_text(settings.inputs)
    return (f"{dataset_name} {settings.scenario} {100 * settings.fraction:g}% r{settings.repeat}{inputs}"
            + (" null" if settings.null else ""))


def _train(settings: FinetuneSettings, data: Prepared, progress: Progress | None,
           should_stop: Callable[[], bool] | None) -> tuple[TrainState, float, np.ndarray]:
    """Build the classifier, train it, predict the test windows with the best epoch's weights.

    Returns:
        (training state, mean training windows/s, (N_test,) predicted classes).
    """
    seed = settings.seed + settings.repeat
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        backbone, _ = clf.backbone(settings.inputs, checkpoint=settings.checkpoint,
                                   pretrained=settings.scenario != "baseline", preset=settings.preset,
                                   sites=data.sites, channels=data.channels, window=data.window)
        model = clf.build_classifier(backbone, settings.inputs, len(data.classes), settings.head_hidden,
                                     settings.head_dropout)
    x_train, x_val, x_test = data.x_train, data.x_val, data.x_test
    trained: torch.nn.Module = model
    if settings.scenario == "frozen":
        # The frozen encoder and projection (eval mode, no dropout) map a window to the same features every
        # epoch: compute them once and train only the head on them.
        model.freeze_backbone()
        if progress is not None:
            progress(0.0, "computing the frozen features")
        x_train, x_val, x_test = (clf.outputs(model, x, call=model.features) for x in (x_train, x_val, x_test))
        trained = model.head
    weights = torch.from_numpy(clf.class_weights(data.y_train.numpy(), len(data.classes)))
    optimizer = torch.optim.AdamW([p for p in trained.parameters() if p.requires_grad], lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    y_val = data.y_val.numpy()
    k = len(data.classes)

    def loss_fn(m: torch.nn.Module, batch: tuple[Any, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(m(batch[0]), batch[1], weight=weights)

    def evaluate() -> dict[str, float]:
        if len(y_val) == 0:
            return {}
        return {"val_macro_f1": macro_f1(confusion_matrix(y_val, clf.predict(trained, x_val), k))}

    best: dict[str, torch.Tensor] = {}
    speeds: list[float] = []
    epoch_message: list[str] = []

    def on_epoch_end(state: TrainState, result: Any) -> None:
        speeds.append(result.windows_per_s)
        if result.improved:  # keep the best epoch's weights in memory; the test uses them
            best.clear()
            best.update({n: t.detach().clone() for n, t in trained.state_dict().items()})
        f1 = result.metrics.get("val_macro_f1", math.nan)
        epoch_message.append(f"epoch {result.epoch + 1}/{settings.epochs} train loss {result.train_loss:.4f} "
                             f"val macro F1 {f1:.3f} (best {state.best_value:.3f} in epoch {state.best_epoch + 1})")

    def report(fraction: float, message: str) -> None:
        # fit's end-of-epoch message names the validation loss, which is not computed here: say the F1 instead
        progress(fraction, epoch_message.pop() if epoch_message else message)

    if progress is not None:
        progress(0.0, f"training on {len(data.y_train)} windows")
    state = fit(trained, optimizer, lambda epoch: clf.Batches(x_train, data.y_train, settings.batch_size, seed, epoch),
                settings=LoopSettings(epochs=settings.epochs, patience=settings.patience, seed=seed,
                                      monitor="val_macro_f1", maximize=True),
                loss_fn=loss_fn, evaluate=evaluate, on_epoch_end=on_epoch_end,
                progress=report if progress is not None else None, should_stop=should_stop,
                count=lambda b: int(b[1].shape[0]))
    if state.interrupted:
        raise FinetuneInterrupted(f"fine-tuning stopped in epoch {state.epoch + 1}; nothing stored")
    trained.load_state_dict(best)
    per_s = float(np.mean(speeds)) if speeds else math.nan
    return state, per_s, clf.predict(trained, x_test)


def repeat_settings(store: Store | str | Path | None, run_id: int) -> FinetuneSettings:
    """The settings that reproduce a stored fine-tuning run exactly: its settings, resolved split, and training
    windows (with the fingerprint of the windows they index).

    Raises:
        ValueError: no such run, not a fine-tuning run, or its training windows are not stored.
    """
    st = open_store(store)
    run = st.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id} in {st.path}")
    if run["kind"] != "finetune":
        raise ValueError(f"run {run_id} is a {run['kind']} run, not a fine-tuning run")
    windows = st.results(run_id).get("train_windows") or {}
    if "rows" not in windows:
        raise ValueError(f"run {run_id} has no stored training windows to repeat")
    settings = FinetuneSettings.from_dict(run["config"])
    settings.train_rows = tuple(int(r) for r in windows["rows"])
    settings.fingerprint = windows.get("fingerprint")
    settings.name = ""
    return settings
