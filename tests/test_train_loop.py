"""The generic training loop on synthetic tensors: schedule, early stopping, loss, resume, optimizer state I/O."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from train_fixtures import one_thread  # noqa: F401 (fixture)

from mujo.train.loop import LoopSettings, TrainState, fit
from mujo.train.resume import load_train_state, save_train_state
from mujo.train.schedule import WarmupCosine, scaled_schedule


def test_schedule_warmup_then_cosine_to_min() -> None:
    s = WarmupCosine(lr=8e-4, min_lr=3.0398e-6, warmup=34, cycle=33)
    warm = [s(t) for t in np.linspace(0, 34, 100, endpoint=False)]
    assert warm[0] > 0 and all(b > a for a, b in zip(warm, warm[1:]))  # strictly rising
    assert s(34) == pytest.approx(8e-4)
    decay = [s(t) for t in np.linspace(34, 67, 100)]
    assert all(b < a for a, b in zip(decay, decay[1:]))  # strictly falling to the floor
    assert s(67) == pytest.approx(3.0398e-6) and s(34 + 33 / 2) == pytest.approx((8e-4 + 3.0398e-6) / 2)
    assert s(100) == pytest.approx(8e-4)  # periodic, like CosineAnnealingLR stepped past T_max
    hold = WarmupCosine(lr=1.0, min_lr=0.1, warmup=2, cycle=3, after="hold")
    assert hold(5) == pytest.approx(0.1) and hold(50) == pytest.approx(0.1)
    short = scaled_schedule(8e-4, 1e-6, 34, 33, reference_epochs=200, epochs=20)
    assert short.warmup == pytest.approx(3.4) and short.cycle == pytest.approx(3.3)
    with pytest.raises(ValueError):
        WarmupCosine(lr=1e-3, min_lr=1e-2)


class _Regression(nn.Module):
    """y = x W + noise, with dropout so that the per-epoch torch seed matters."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.Dropout(0.2), nn.GELU(), nn.Linear(16, 1))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return nn.functional.mse_loss(self.net(batch["x"]), batch["y"])


def _data(seed: int = 0, n: int = 256):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = x @ torch.randn(8, 1, generator=g) + 0.05 * torch.randn(n, 1, generator=g)
    return x, y


def _batches(x: torch.Tensor, y: torch.Tensor, seed: int = 0, bs: int = 32):
    def per_epoch(epoch: int) -> list[dict[str, torch.Tensor]]:
        order = np.random.default_rng([seed, epoch]).permutation(len(x))
        return [{"x": x[order[i:i + bs]], "y": y[order[i:i + bs]]} for i in range(0, len(x), bs)]
    return per_epoch


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    model = _Regression()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-2)


def test_loss_decreases_and_hooks_run() -> None:
    model, opt = _setup()
    x, y = _data(n=320)
    x, y, vx, vy = x[:256], y[:256], x[256:], y[256:]
    seen: list[tuple[int, float]] = []
    fractions: list[float] = []
    state = fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=8),
                schedule=WarmupCosine(lr=1e-2, min_lr=1e-4, warmup=1, cycle=7),
                val_batches=lambda: [{"x": vx, "y": vy}],
                on_epoch_end=lambda s, r: seen.append((r.epoch, r.lr)), progress=lambda f, m: fractions.append(f))
    hist = state.history
    assert [e for e, _ in seen] == list(range(8)) and state.epoch == 8 and state.step == 8 * 8
    assert hist[-1]["train_loss"] < 0.3 * hist[0]["train_loss"] and hist[-1]["val_loss"] < hist[0]["val_loss"]
    assert all(h["windows_per_s"] > 0 for h in hist) and fractions[-1] == pytest.approx(1.0)
    assert seen[1][1] == pytest.approx(1e-2)  # epoch 1 starts at the peak after 1 warm-up epoch


def test_early_stopping_triggers() -> None:
    model, opt = _setup()
    x, y = _data()
    # A validation set of pure noise cannot improve for long: patience 2 stops well before 50 epochs.
    noise = {"x": torch.randn(64, 8), "y": 10 * torch.randn(64, 1)}
    state = fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=50, patience=2),
                val_batches=lambda: [noise])
    assert state.stopped_early and state.epoch < 50 and state.bad_epochs == 2
    assert state.epoch == state.best_epoch + 1 + 2


def test_monitor_a_score_from_evaluate() -> None:
    model, opt = _setup()
    x, y = _data()
    scores = iter([0.1, 0.5, 0.4, 0.45, 0.3, 0.9])
    state = fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=6, patience=3, monitor="val_acc",
                                                                   maximize=True),
                evaluate=lambda: {"val_acc": next(scores)})
    assert state.best_epoch == 1 and state.best_value == 0.5 and state.stopped_early and state.epoch == 5
    assert [h["val_acc"] for h in state.history] == [0.1, 0.5, 0.4, 0.45, 0.3]
    # a monitor that is never reported (no validation data): the training loss is watched
    model, opt = _setup()
    state = fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=3, monitor="val_acc", maximize=True))
    assert state.best_value == min(h["train_loss"] for h in state.history)


def _state_roundtrip(tmp: Path, opt: torch.optim.Optimizer, state: TrainState, model: nn.Module):
    save_train_state(tmp, opt, {"state": state.to_json()}, {"w": torch.ones(2)})
    model2, opt2 = _setup(seed=123)
    model2.load_state_dict(model.state_dict())
    meta, extra = load_train_state(tmp, opt2)
    assert torch.equal(extra["w"], torch.ones(2))
    return model2, opt2, TrainState.from_json(meta["state"])


def test_resume_equals_uninterrupted(tmp_path: Path) -> None:
    x, y = _data()
    settings = LoopSettings(epochs=6, seed=7)
    sched = WarmupCosine(lr=1e-2, min_lr=1e-4, warmup=1, cycle=5)
    full_model, full_opt = _setup()
    fit(full_model, full_opt, _batches(x, y), settings=settings, schedule=sched)

    model, opt = _setup()
    calls = {"n": 0}

    def stop_after_3_epochs() -> bool:  # polled before every batch: 8 batches per epoch
        calls["n"] += 1
        return calls["n"] > 3 * 8

    saved: dict[str, object] = {}

    def checkpoint(state: TrainState, _result) -> None:
        saved["path"] = tmp_path
        save_train_state(tmp_path, opt, {"state": state.to_json()})
        saved["weights"] = {k: v.clone() for k, v in model.state_dict().items()}

    state = fit(model, opt, _batches(x, y), settings=settings, schedule=sched, on_epoch_end=checkpoint,
                should_stop=stop_after_3_epochs)
    assert state.interrupted and state.epoch == 3
    model2, opt2 = _setup(seed=99)  # different init: everything must come from the checkpoint
    model2.load_state_dict(saved["weights"])
    meta, _ = load_train_state(tmp_path, opt2)
    resumed = fit(model2, opt2, _batches(x, y), settings=settings, schedule=sched,
                  state=TrainState.from_json(meta["state"]))
    assert resumed.epoch == 6 and not resumed.interrupted
    for (k, a), b in zip(full_model.state_dict().items(), model2.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k


def test_keyboard_interrupt_marks_state() -> None:
    model, opt = _setup()
    x, y = _data()

    def raise_interrupt(_model, _batch):
        raise KeyboardInterrupt

    state = fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=2), loss_fn=raise_interrupt)
    assert state.interrupted and state.epoch == 0


def test_non_finite_loss_raises() -> None:
    model, opt = _setup()
    x, y = _data()
    with pytest.raises(FloatingPointError, match="epoch 0"):
        fit(model, opt, _batches(x, y), settings=LoopSettings(epochs=1),
            loss_fn=lambda m, b: m(b) * math.inf)


def test_train_state_json_is_strict(tmp_path: Path) -> None:
    model, opt = _setup()
    state = TrainState(history=[{"epoch": 0, "val_loss": math.nan}])
    model(_batches(*_data())(0)[0]).backward()
    opt.step()
    _, opt2, back = _state_roundtrip(tmp_path, opt, state, model)
    assert math.isnan(back.history[0]["val_loss"]) and math.isnan(back.best_value)
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"][0]["betas"] == b["param_groups"][0]["betas"]
    for pid in a["state"]:
        for key, value in a["state"][pid].items():
            assert torch.equal(value, b["state"][pid][key])
    assert "NaN" not in (tmp_path / "train_state.json").read_text()
