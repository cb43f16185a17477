"""`mujo model-card`: the Table 4 comparison for the paper preset, a checkpoint's card, JSON and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mujo.cli import main
from mujo.models import create_model
from mujo.models.checkpoint_io import save_checkpoint

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_paper_card_matches_table4(capsys) -> None:
    assert main(["model-card"]) == 0
    out = capsys.readouterr().out
    assert "preset paper; inputs: text 1536-d, video 1024-d" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()[:1] in (["text"], ["pose"],
                                                                                   ["video"], ["imu"])}
    assert "5.4467 M  5.4467 M  1.000" in lines["text"] and "10.8790 M  10.8887 M  0.999" in lines["text"]
    assert "6.9235 M  6.9235 M  1.000" in lines["pose"] and "47.2710 M  47.3348 M  0.999" in lines["pose"]
    assert "3.9391 M  3.9391 M  1.000" in lines["video"]
    assert "sensor (MM-Fit)" in lines["imu"] and "4.5582 M  4.5582 M  1.000" in lines["imu"]


def test_card_json_with_other_inputs(capsys) -> None:
    assert main(["model-card", "paper", "--text-dim", "384", "--sites", "RWrist", "--json"]) == 0
    rows = {r["modality"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["text"]["encoder_params"] == 384 * 768 + 768
    assert rows["imu"]["paper_row"] == "sensor (MyoGym)" and rows["imu"]["encoder_params"] == 619514


def test_card_of_a_checkpoint_and_errors(tmp_path: Path, capsys) -> None:
    folder = save_checkpoint(tmp_path / "ckpt", create_model("small", modalities=["text", "imu"], text_dim=384))
    assert main(["model-card", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"checkpoint {folder}") and "pose" not in out.split("\n", 2)[2]
    assert main(["model-card", "huge"]) == 2
    assert "unknown preset 'huge'" in capsys.readouterr().err
    (tmp_path / "m.pt").write_bytes(b"\x80")
    assert main(["model-card", str(tmp_path / "m.pt")]) == 1
    assert "never unpickles" in capsys.readouterr().err


def test_card_times_a_training_step(capsys) -> None:
    assert main(["model-card", "small", "--text-dim", "384", "--time-batch", "8", "--threads", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("forward + backward, batch 8, 1 threads") and "training step" in last
