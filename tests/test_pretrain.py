"""Pre-training end to end on a tiny dataset: checkpoints, store metrics, loss, resume, early stopping, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_fixtures import SITES, one_thread, train_data  # noqa: F401 (fixtures)

from mujo.cli import main
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint
from mujo.store import Store
from mujo.train.pretrain import PretrainSettings, pretrain


@pytest.fixture
def data(train_data: tuple[Path, Path]) -> tuple[Path, Path]:
    """(dataset, tiny preset file), shared by the training tests."""
    return train_data


def settings(data: tuple[Path, Path], out: Path, **kw) -> PretrainSettings:
    ds, preset = data
    return PretrainSettings(dataset=str(ds), out=str(out), preset=str(preset), sites=SITES, text_field="chapter",
                            threads=1, **kw)


def test_pretrain_writes_checkpoints_metrics_and_learns(data, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    fractions: list[float] = []
    result = pretrain(settings(data, tmp_path / "out"), store=store, progress=lambda f, m: fractions.append(f))
    assert not result.interrupted and result.epochs == 8 and result.method == "mujo"
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.85 * losses[0], losses
    assert fractions[-1] == pytest.approx(1.0) and fractions == sorted(fractions)

    model, extra = load_checkpoint(tmp_path / "out")  # the best model at the root
    # a dataset without video trains on the modalities it has
    assert model.config.modalities == (Modality.TEXT, Modality.POSE, Modality.IMU)
    assert model.config.imu_sites == SITES and model.config.text_dim == 384
    assert extra["method"] == "mujo" and extra["bank_spec"]["imu_sites"] == list(SITES)
    assert set(extra["stats"]["imu"]) >= {"mean", "std"} and extra["summary"]["epochs"] == 8
    assert extra["summary"]["best_epoch"] == result.best_epoch and extra["settings"]["text_field"] == "chapter"
    for sub in ("last", "best"):
        load_checkpoint(tmp_path / "out" / sub)
    assert (tmp_path / "out" / "last" / "train_state.safetensors").is_file()
    assert not list((tmp_path / "out").rglob("*.pt")) and not list((tmp_path / "out").rglob("*.pkl"))

    run = store.get_run(result.run_id)
    assert run["status"] == "done" and run["kind"] == "pretrain" and run["checkpoint"] == str(tmp_path / "out")
    wide = store.metrics(result.run_id, wide=True)
    assert list(wide.index) == list(range(8))
    assert {"train_loss", "train_lr", "train_windows_per_s", "val_loss", "val_loss_pose_imu", "val_top1_text_imu",
            "val_temperature"} <= set(wide.columns)
    assert wide["val_top1_pose_imu"].between(0, 1).all()
    assert wide["train_loss"].tolist() == pytest.approx(losses)
    assert (wide["train_windows_per_s"] > 0).all() and wide["train_lr"].max() <= 0.01
    assert store.results(result.run_id)["summary"]["epochs"] == 8


def test_resume_continues_exactly(data, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    full = pretrain(settings(data, tmp_path / "full", epochs=4), store=store)
    polls = {"n": 0}

    def stop_after_two_epochs() -> bool:  # polled before each of the 4 batches of an epoch
        polls["n"] += 1
        return polls["n"] > 2 * 4

    part = pretrain(settings(data, tmp_path / "part", epochs=4), store=store, should_stop=stop_after_two_epochs)
    assert part.interrupted and part.epochs == 2
    assert store.get_run(part.run_id)["status"] == "interrupted"
    assert not (tmp_path / "part" / "config.json").exists()  # the root gets the best model only when done
    with pytest.raises(ValueError, match="--resume"):
        pretrain(settings(data, tmp_path / "part", epochs=4), store=store)

    with pytest.raises(ValueError, match="cannot change lr"):
        pretrain(settings(data, tmp_path / "part", epochs=4, resume=True, lr=0.5), store=store)
    resumed = pretrain(settings(data, tmp_path / "part", epochs=4, resume=True), store=store)
    assert resumed.epochs == 4 and not resumed.interrupted and resumed.run_id == part.run_id
    assert store.get_run(part.run_id)["status"] == "done"
    assert list(store.metrics(part.run_id, wide=True).index) == [0, 1, 2, 3]
    a = load_file(str(tmp_path / "full" / "last" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "last" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    assert [h["train_loss"] for h in resumed.history] == pytest.approx([h["train_loss"] for h in full.history])


def test_early_stopping(data, tmp_path: Path) -> None:
    # Random clips: what the tiny model memorises of the training clips does not carry over to validation.
    result = pretrain(settings(data, tmp_path / "out", epochs=40, patience=2), store=tmp_path / "s.sqlite")
    assert result.stopped_early and result.epochs < 40
    assert result.epochs == result.best_epoch + 1 + 2


def test_monitor_a_ranking_score(data, tmp_path: Path) -> None:
    result = pretrain(settings(data, tmp_path / "out", epochs=3, monitor="val_top1_pose_imu"),
                      store=tmp_path / "s.sqlite")
    scores = [h["val_top1_pose_imu"] for h in result.history]
    assert result.monitor == "val_top1_pose_imu" and result.best_value == max(scores)
    assert result.best_epoch == scores.index(max(scores))
    _, extra = load_checkpoint(tmp_path / "out")
    assert extra["summary"]["best_value"] == max(scores) and extra["summary"]["monitor"] == "val_top1_pose_imu"
    assert 0 <= extra["summary"]["val_top1"] <= 1


def test_one_window_per_clip_batches(data, tmp_path: Path) -> None:
    result = pretrain(settings(data, tmp_path / "out", epochs=1, same_clip="one_per_clip"),
                      store=tmp_path / "s.sqlite")
    assert result.epochs == 1 and result.history[0]["train_loss"] > 0


@pytest.mark.parametrize("kw, message", [
    ({"sites": ("RWrist", "LEar")}, "unknown IMU site.*LEar.*the dataset has"),
    ({"modalities": ("text", "smell")}, "unknown modality 'smell'"),
    ({"modalities": ("imu",)}, "at least two modalities"),
    ({"modalities": ("video", "imu")}, "no usable video"),
    ({"method": "byol"}, "unknown method"),
    ({"monitor": "val_top1_imu_pose"}, "unknown monitor"),
    ({"monitor": "val_top1_video_imu"}, "monitor 'val_top1_video_imu': the model's modalities are text, pose, imu"),
])
def test_bad_settings_are_refused(data, tmp_path: Path, kw: dict, message: str) -> None:
    s = settings(data, tmp_path / "out")
    for k, v in kw.items():
        setattr(s, k, v)
    with pytest.raises(ValueError, match=message):
        pretrain(s, store=tmp_path / "s.sqlite")


def test_cli(data, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ds, preset = data
    base = ["pretrain", str(ds), "--out", str(tmp_path / "out"), "--preset", str(preset), "--text-field",
            "chapter", "--threads", "1", "--store", str(tmp_path / "s.sqlite"), "--quiet"]
    assert main(base + ["--sites", "LWrist", "Nose"]) == 2
    assert "unknown IMU site(s) Nose" in capsys.readouterr().err
    assert main(base + ["--sites", *SITES, "--gyro", "--epochs", "1", "--modalities", "pose", "imu"]) == 0
    out = capsys.readouterr().out
    assert "rank 0/1: mujo, 1 epochs" in out and "checkpoint:" in out
    model, _ = load_checkpoint(tmp_path / "out")
    assert model.config.imu_channels == ("acc", "gyro") and model.config.modalities == (Modality.POSE, Modality.IMU)
    assert main(["runs", "--store", str(tmp_path / "s.sqlite"), "--metrics"]) == 0
    assert "done" in capsys.readouterr().out


@pytest.mark.slow
def test_all_four_modalities_with_video(tiny_synth: Path, data, tmp_path: Path) -> None:
    _, preset = data
    s = PretrainSettings(dataset=str(tiny_synth), out=str(tmp_path / "out"), preset=str(preset), epochs=1,
                         threads=1)
    result = pretrain(s, store=tmp_path / "s.sqlite")
    model, extra = load_checkpoint(tmp_path / "out")
    assert model.config.modalities == tuple(Modality) and result.epochs == 1
    assert extra["bank_spec"]["modalities"] == ["text", "video", "pose", "imu"] and "video" in extra["stats"]
