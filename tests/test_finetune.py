"""Fine-tuning on a toy target dataset through the real prepare(): scenarios, weights, store, repeat, CLI, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mujo.checkpoint import CheckpointError
from mujo.cli import main
from mujo.datasets.base import NULL_INDEX, DatasetInfo, Recording, TargetDataset
from mujo.datasets.prepare import PrepareSpec, WindowSet, prepare
from mujo.models import create_model
from mujo.models.checkpoint_io import load_checkpoint, save_checkpoint
from mujo.store import Store
from mujo.train import classifier as clf
from mujo.train.finetune import (
    SCENARIOS,
    FinetuneInterrupted,
    FinetuneResult,
    FinetuneSettings,
    finetune,
    repeat_settings,
)

CLASSES = ("walking", "sitting", "jogging")
PLACEMENTS = {"pocket": "RHip", "wrist": "RWrist"}


class ToyTarget(TargetDataset):
    """6 subjects x 3 classes, one 12 s recording each: per-class sine frequencies, two sensors, optional pose."""

    def __init__(self, root: Path, *, null: bool = False, pose: bool = False):
        super().__init__(root)
        self.null = null
        self.info = DatasetInfo(name="toy", classes=CLASSES, placements=dict(PLACEMENTS), channels=("acc", "gyro"),
                                rate=50.0, has_null=null, has_pose=pose)
        self.ids = [f"sub_{s}/{c}" for s in range(6) for c in CLASSES]

    def subject_of(self, i: int) -> str:
        return str(i // len(CLASSES))

    def session_of(self, i: int) -> str:
        return ""

    def _read(self, i: int) -> Recording:
        s, c = divmod(i, len(CLASSES))
        rng = np.random.default_rng(i)
        n, t = 600, np.arange(600) / 50
        wave = np.stack([np.sin(2 * np.pi * (0.7 + c) * t + k) * (1 + c) for k in range(6)], 1)
        imu = {p: (wave + rng.normal(0, 0.5, wave.shape) + j).astype(np.float32) for j, p in enumerate(PLACEMENTS)}
        labels = np.full(n, c, np.int64)
        if self.null:
            labels[:150] = NULL_INDEX
        pose = None
        if self.info.has_pose:
            pose = (rng.normal(0, 0.05, (n, 17, 3)) + np.sin(2 * np.pi * (0.7 + c) * t)[:, None, None])
        return Recording(self.ids[i], str(s), 50.0, imu, labels, None if pose is None else pose.astype(np.float32))


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toy")


@pytest.fixture(scope="module")
def ws(toy_root: Path) -> WindowSet:
    return prepare(ToyTarget(toy_root, pose=True), PrepareSpec(channels=("acc",), pose=True), cache=False)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 'small' MuJo checkpoint for the toy's sites, in the opposite site order (the run must reorder them)."""
    torch.manual_seed(0)
    model = create_model("small", modalities=["text", "pose", "imu"], imu_sites=["RWrist", "RHip"],
                         imu_channels=["acc"])
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "mujo", model, {"method": "mujo"})


def run(ws: WindowSet, store: Store | None = None, **kw) -> FinetuneResult:
    """A short fine-tuning run of the 'small' architecture on the toy windows."""
    kw = {"preset": "small", "epochs": 3, "patience": 3, "batch_size": 32, **kw}
    return finetune(FinetuneSettings(dataset="toy", **kw), windows=ws, store=store)


def capture(monkeypatch: pytest.MonkeyPatch) -> list[clf.Classifier]:
    """Record the classifiers fine-tuning builds (to look at their weights afterwards)."""
    built: list[clf.Classifier] = []
    real = clf.build_classifier

    def spy(*a, **k):
        built.append(real(*a, **k))
        return built[-1]

    monkeypatch.setattr(clf, "build_classifier", spy)
    return built


def test_result_fields_store_row_and_on_saved(ws: WindowSet, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    seen = []
    fractions = []
    result = finetune(FinetuneSettings(dataset="toy", preset="small", epochs=3, batch_size=32), windows=ws,
                      store=store, on_saved=lambda conn, rid: seen.append((conn.in_transaction, rid)),
                      progress=lambda f, m: fractions.append(f))
    assert result.classes == list(CLASSES) and result.split == "random-0"
    assert result.n_train + result.n_val + result.n_test == len(ws) == 198
    assert result.n_train == len(result.train_rows) and result.epochs == 3 and 0 <= result.best_epoch < 3
    assert 0 <= result.macro_f1 <= 1 and 0 <= result.accuracy <= 1 and result.warnings == []
    assert np.asarray(result.confusion).sum() == result.n_test and set(result.per_class_f1) == set(CLASSES)
    assert result.fingerprint == ws.fingerprint and result.windows_per_s > 0 and result.method is None
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert seen == [(True, result.run_id)]

    run_row = store.get_run(result.run_id)
    assert run_row["kind"] == "finetune" and run_row["status"] == "done" and run_row["dataset"] == "toy"
    assert run_row["name"] == "toy baseline 100% r0"
    cfg = run_row["config"]
    assert cfg["split"] == "random-0" and cfg["fingerprint"] == ws.fingerprint and cfg["scenario"] == "baseline"
    assert cfg["channels"] == ["acc"] and cfg["fraction"] == 1.0 and cfg["inputs"] == ["imu"]
    stored = store.results(result.run_id)
    assert set(stored) >= {"metrics", "per_class_f1", "confusion", "classes", "train_windows", "warnings", "summary"}
    assert stored == json.loads(json.dumps(result.results()))
    assert stored["metrics"]["macro_f1"] == pytest.approx(result.macro_f1)
    assert stored["train_windows"] == {"fingerprint": ws.fingerprint, "rows": result.train_rows}


def test_class_weights() -> None:
    w = clf.class_weights(np.array([0, 0, 0, 0, 1, 2, 2]), 4)
    assert w.tolist() == [1.0, 4.0, 2.0, 0.0]  # largest / own count; 0 for a class without windows


def test_learns_the_toy_task(ws: WindowSet) -> None:
    result = run(ws, epochs=25, patience=25, lr=3e-3)
    assert result.macro_f1 > 0.8, result.history
    assert result.best_epoch == int(np.nanargmax([h["val_macro_f1"] for h in result.history]))
    assert result.val_macro_f1 == pytest.approx(max(h["val_macro_f1"] for h in result.history))


def test_frozen_keeps_and_finetuned_changes_the_pretrained_weights(ws: WindowSet, ckpt: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    built = capture(monkeypatch)
    pretrained, _ = load_checkpoint(ckpt)
    for scenario in ("frozen", "finetuned"):
        result = run(ws, scenario=scenario, checkpoint=str(ckpt))
        assert result.method == "mujo" and result.epochs == 3
    frozen, tuned = built
    enc = {k: v for k, v in pretrained.state_dict().items() if k.startswith(("encoders.imu", "projections.imu"))}
    for model, same in ((frozen, True), (tuned, False)):
        got = {k: v for k, v in model.state_dict().items() if not k.startswith("head")}
        assert set(got) == set(enc)
        assert all(torch.equal(got[k], enc[k]) for k in enc) is same
    assert not any(p.requires_grad for p in frozen.backbone_parameters())


def test_baseline_with_a_checkpoint_takes_its_architecture_not_its_weights(ws: WindowSet, ckpt: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    built = capture(monkeypatch)
    pretrained, _ = load_checkpoint(ckpt)
    result = run(ws, scenario="baseline", checkpoint=str(ckpt), epochs=1)
    assert result.method == "mujo"
    w = built[0].state_dict()["encoders.imu.fc.0.weight"]
    assert w.shape == pretrained.state_dict()["encoders.imu.fc.0.weight"].shape
    assert not torch.equal(w, pretrained.state_dict()["encoders.imu.fc.0.weight"])


def test_checkpoint_site_mismatch_names_both(ws: WindowSet, tmp_path: Path) -> None:
    model = create_model("small", modalities=["imu"], imu_sites=["LWrist"], imu_channels=["acc"])
    path = save_checkpoint(tmp_path / "lw", model, {"method": "simclr"})
    with pytest.raises(CheckpointError, match=r"(?s)RHip.*LWrist.*mujo pretrain --sites"):
        run(ws, scenario="finetuned", checkpoint=str(path))
    with pytest.raises(CheckpointError, match="no pose encoder"):  # a proxy checkpoint has the IMU encoder only
        run(ws, scenario="frozen", checkpoint=str(path), inputs=("pose",))


def test_repeat_run_reproduces_exactly(ws: WindowSet, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    first = run(ws, fraction=0.5, repeat=1, store=store)
    assert first.split == "random-1" and first.n_train < 100
    again = finetune(repeat_settings(store, first.run_id), windows=ws, store=store)
    assert again.train_rows == first.train_rows and again.split == first.split
    assert again.confusion == first.confusion and again.macro_f1 == first.macro_f1
    assert again.history and [h["train_loss"] for h in again.history] == [h["train_loss"] for h in first.history]
    other = run(ws, fraction=0.5, repeat=2)  # another repeat: other seed, other split
    assert other.split == "random-2" and other.train_rows != first.train_rows
    stale = repeat_settings(store, first.run_id)
    stale.fingerprint = "0" * 40
    with pytest.raises(ValueError, match="has changed"):
        finetune(stale, windows=ws)


def test_pose_and_imu_features_are_concatenated(ws: WindowSet, monkeypatch: pytest.MonkeyPatch) -> None:
    built = capture(monkeypatch)
    result = run(ws, inputs=("imu", "pose"), epochs=2)
    model = built[0]
    assert model.inputs == ("imu", "pose") and model.feature_dim == 2 * 128
    assert model.head[0].in_features == 256 and len(result.history) == 2


def test_null_class_and_too_few_windows(toy_root: Path) -> None:
    ws_null = prepare(ToyTarget(toy_root, null=True), PrepareSpec(), cache=False)
    with_null = run(ws_null, null=True, epochs=1)
    assert with_null.classes == [*CLASSES, "NULL"]
    without = run(ws_null, null=False, epochs=1)
    assert without.classes == list(CLASSES) and without.n_test < with_null.n_test
    tiny = run(ws_null, fraction=0.01, epochs=1)
    assert tiny.n_train == 3 and all(v[1] == 1 for v in tiny.per_class_counts.values())
    assert any("took 1" in w and "'sitting'" in w for w in tiny.warnings)


def test_bad_settings_and_stop(ws: WindowSet, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a pre-trained checkpoint"):
        run(ws, scenario="frozen")
    with pytest.raises(ValueError, match="scenario"):
        run(ws, scenario="pretrained")
    with pytest.raises(ValueError, match="no split 'nope'"):
        run(ws, split="nope")
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(FinetuneInterrupted):
        finetune(FinetuneSettings("toy", preset="small", epochs=2), windows=ws, store=store, should_stop=lambda: True)
    assert store.runs("finetune").empty
    assert SCENARIOS == ("baseline", "frozen", "finetuned")


def test_cli_runs_and_repeats(ws: WindowSet, toy_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture) -> None:
    import mujo.datasets
    from mujo.cli import finetune as command

    assert command.SCENARIOS == SCENARIOS
    monkeypatch.setattr(mujo.datasets, "open_target", lambda spec, **kw: ToyTarget(toy_root), raising=False)
    db, prog = tmp_path / "s.sqlite", tmp_path / "job.json"
    argv = ["finetune", "toy", "--preset", "small", "--epochs", "2", "--fraction", "0.5", "--store", str(db),
            "--quiet", "--progress-file", str(prog)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "macro F1" in out and "walking" in out
    assert json.loads(prog.read_text())["state"] == "done"
    (rid,) = Store(db).runs("finetune")["id"].tolist()
    assert main(["finetune", "--repeat-run", str(rid), "--store", str(db), "--quiet"]) == 0
    a, b = (Store(db).results(int(r)) for r in Store(db).runs("finetune")["id"])
    assert a["metrics"] == b["metrics"] and a["train_windows"] == b["train_windows"]
    assert main(["finetune", "toy", "--scenario", "frozen", "--store", str(db), "--quiet"]) == 2
    assert "needs a pre-trained checkpoint" in capsys.readouterr().err


def test_inputs_are_zscored_with_training_stats_in_the_models_site_order(toy_root: Path, ckpt: Path) -> None:
    from mujo.train.finetune_data import prepare_run

    ws2 = prepare(ToyTarget(toy_root), PrepareSpec(channels=("acc", "gyro")), cache=False)
    data = prepare_run(FinetuneSettings("toy", scenario="finetuned", checkpoint=str(ckpt)), ws2, None)
    assert data.sites == ("RWrist", "RHip") and data.channels == ("acc",)
    x = data.x_train["imu"]
    assert x.dtype == torch.float32 and x.shape == (len(data.train_rows), 100, 2, 3) and x.is_contiguous()
    assert torch.allclose(x.mean((0, 1)), torch.zeros(2, 3), atol=1e-4)
    assert torch.allclose(x.std((0, 1)), torch.ones(2, 3), atol=1e-2)
    raw = np.asarray(ws2.imu[data.train_rows])  # (N, T, [RHip, RWrist], [acc, gyro])
    ref = raw[:, :, 1, :3]  # RWrist acc, the model's first site
    ref = (ref - ref.mean((0, 1))) / ref.std((0, 1))
    assert np.allclose(x[:, :, 0].numpy(), ref, atol=1e-4)
    gyro = run(ws2, channels=("acc", "gyro"), epochs=1)  # baseline: the preset's architecture with both groups
    assert gyro.n_train == len(data.train_rows)
