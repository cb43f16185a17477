"""Checkpoints: safetensors + config.json round trip, and every refusal with its message; nothing is unpickled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from mujo.checkpoint import (
    CONFIG,
    WEIGHTS,
    CheckpointError,
    compatibility,
    read_checkpoint_config,
)
from mujo.modality import Modality
from mujo.models import create_model
from mujo.models.checkpoint_io import load_checkpoint, save_checkpoint

TINY = {
    "model_type": "mujo", "text_dim": 8, "video_dim": 6, "window": 20, "imu_sites": ["RWrist", "LWrist"],
    "text": {"hidden": [16]}, "video": {"hidden": [16, 16]},
    "pose": {"channels": [3, 6, 6], "kernel": [3, 3], "fc": [16]},
    "imu": {"channels": [3, 6, 6], "kernel": 3, "fc": [16]},
    "projection": {"hidden": 16}, "embed_dim": 8,
}


@pytest.fixture(autouse=True)
def _no_unpickling(monkeypatch: pytest.MonkeyPatch):
    """Any call to torch.load fails the test: checkpoints must never be unpickled."""
    def refuse(*args, **kwargs):
        raise AssertionError("torch.load called")

    monkeypatch.setattr(torch, "load", refuse)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(**overrides):
    torch.manual_seed(0)
    return create_model(TINY, **overrides)


def batch(model, n=4):
    g = torch.Generator().manual_seed(2)
    return {m: torch.randn(model.example_input(m, n).shape, generator=g) for m in model.modalities}


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    model = tiny(learnable_temperature=True, temperature=0.3)
    return save_checkpoint(tmp_path / "ckpt", model, extra={"stats": {"imu_mean": [0.0, 1.0]}, "epochs": 3})


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = tiny(learnable_temperature=True, temperature=0.3).eval()
    x = batch(model)
    with torch.no_grad():
        want = model(x)
    folder = save_checkpoint(tmp_path / "ckpt", model, extra={"metrics": {"r@1": 0.5}, "sites": ["RWrist"]})
    assert sorted(p.name for p in folder.iterdir()) == [CONFIG, WEIGHTS]  # no temporary files left
    loaded, extra = load_checkpoint(folder)
    assert not loaded.training and loaded.config == model.config
    assert extra == {"metrics": {"r@1": 0.5}, "sites": ["RWrist"]}
    with torch.no_grad():
        got = loaded(x)
    for m in model.modalities:
        assert torch.equal(got[m], want[m])
    torch.testing.assert_close(loaded.temperature(), torch.tensor(0.3))
    doc = json.loads((folder / CONFIG).read_text())
    assert doc["format_version"] == 1 and doc["model"]["model_type"] == "mujo"
    assert read_checkpoint_config(folder)[0] == model.config
    save_checkpoint(folder, loaded, extra={"epochs": 4})  # saving again over it replaces both files
    assert load_checkpoint(folder)[1] == {"epochs": 4}


def test_extra_must_be_json(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "c", tiny(), extra={"bad": object()})
    assert not (tmp_path / "c" / CONFIG).exists() and not (tmp_path / "c" / WEIGHTS).exists()


def test_refuses_what_is_not_a_checkpoint_folder(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match=r"is a file, not a checkpoint folder.*did you mean its folder"):
        load_checkpoint(saved / WEIGHTS)
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="pickle-based PyTorch file; MuJo never unpickles"):
        load_checkpoint(pt)
    only_pt = tmp_path / "old"
    only_pt.mkdir()
    (only_pt / "model.pkl").write_bytes(b"\x80\x04")
    with pytest.raises(CheckpointError, match=r"config.json is missing; it holds model.pkl, pickle-based"):
        load_checkpoint(only_pt)
    (only_pt / CONFIG).write_text((saved / CONFIG).read_text())
    with pytest.raises(CheckpointError, match="model.safetensors is missing"):
        load_checkpoint(only_pt)


def test_refuses_broken_or_unknown_configs(saved: Path) -> None:
    doc = json.loads((saved / CONFIG).read_text())
    cases = [
        ("{not json", "is not readable JSON"),
        (json.dumps({**doc, "format": "other"}), "not a MuJo checkpoint config"),
        (json.dumps({**doc, "format_version": 99}), "format_version 99; this MuJo reads versions up to 1"),
        (json.dumps({**doc, "model": {**doc["model"], "model_type": "clip"}}), "unknown model_type 'clip'"),
        (json.dumps({**doc, "model": {k: v for k, v in doc["model"].items() if k != "model_type"}}),
         "explicit model_type"),
        (json.dumps({**doc, "model": {**doc["model"], "depth": 3}}),
         r"bad model config.*unknown field\(s\) \['depth'\]"),
    ]
    for text, message in cases:
        (saved / CONFIG).write_text(text)
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(saved)


def test_refuses_tensors_that_do_not_match_the_config(saved: Path) -> None:
    doc = json.loads((saved / CONFIG).read_text())
    (saved / CONFIG).write_text(json.dumps({**doc, "model": {**doc["model"], "text_dim": 12}}))
    with pytest.raises(CheckpointError, match=r"wrong shapes: encoders.text.net.0.weight is \(16, 8\), "
                                              r"the config builds \(16, 12\)"):
        load_checkpoint(saved)
    (saved / CONFIG).write_text(json.dumps({**doc, "model": {**doc["model"], "learnable_temperature": False}}))
    with pytest.raises(CheckpointError, match="tensors the config does not build: log_temperature"):
        load_checkpoint(saved)
    small = tiny(modalities=["text", "imu"], learnable_temperature=True, temperature=0.3)
    state = {k: v.contiguous() for k, v in small.state_dict().items()}
    save_file(state, str(saved / WEIGHTS), metadata={"format": "mujo-checkpoint", "save_id": doc["save_id"]})
    (saved / CONFIG).write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match=r"missing tensors: encoders.pose.conv.0.bias.* and \d+ more"):
        load_checkpoint(saved)


def test_refuses_corrupt_or_mixed_files(saved: Path, tmp_path: Path) -> None:
    other = save_checkpoint(tmp_path / "other", tiny(learnable_temperature=True, temperature=0.3))
    (saved / WEIGHTS).write_bytes((other / WEIGHTS).read_bytes())
    with pytest.raises(CheckpointError, match="come from different saves"):
        load_checkpoint(saved)
    (saved / WEIGHTS).write_bytes(b"garbage that is not safetensors")
    with pytest.raises(CheckpointError, match="is not a readable safetensors file"):
        load_checkpoint(saved)


def test_expect_mismatches_say_what_differs(saved: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint was trained on sites RWrist, LWrist; the data has RHip"):
        load_checkpoint(saved, expect={"imu_sites": ["RHip"]})
    with pytest.raises(CheckpointError, match="expects 8-d text features; the data has 384-d"):
        load_checkpoint(saved, expect={"text_dim": 384, "video_dim": 6})
    with pytest.raises(CheckpointError, match="trained on IMU channels acc; the data has acc, gyro"):
        load_checkpoint(saved, expect={"imu_channels": ["acc", "gyro"]})
    model, _ = load_checkpoint(saved, expect={"imu_sites": ["RWrist", "LWrist"], "text_dim": 8, "video_dim": 6,
                                              "imu_channels": ["acc"], "window": 20, "modalities": list(Modality)})
    problems = compatibility(model.config, {"imu_sites": ["LWrist", "RWrist"], "window": 50, "video_dim": 1024})
    assert problems == ["checkpoint was trained on sites RWrist, LWrist; the data has LWrist, RWrist "
                        "(same, in another order)",
                        "checkpoint expects 6-d video features; the data has 1024-d",
                        "checkpoint expects windows of 20 samples; the data has 50"]
    text_imu = tiny(modalities=["text", "imu"]).config
    assert compatibility(text_imu, {"modalities": ["imu", "pose"]}) == [
        "checkpoint has no pose encoder (it has text, imu); the data needs pose, imu"]
    assert compatibility(text_imu, {"modalities": ["imu"], "video_dim": 99}) == []  # video not needed: no check
    with pytest.raises(ValueError, match="unknown expect key"):
        compatibility(text_imu, {"sites": ["RWrist"]})
