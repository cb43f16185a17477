"""Shared set-up of the training tests: a tiny preset and a tiny dataset (pose, IMU and text, no video)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from fimad_factory import make_fimad

# Every part of the architecture, a few thousand parameters; no dropout and a low temperature so that a few dozen
# steps visibly lower the loss.
TINY_PRESET: dict[str, Any] = {
    "model_type": "mujo",
    "description": "tests: every part of the architecture, tiny",
    "model": {
        "text": {"hidden": [32], "dropout": 0.0},
        "video": {"hidden": [32, 32], "dropout": 0.0},
        "pose": {"channels": [6, 6, 6], "groups": [3, 3, 1], "stride": [2, 2], "fc": [32], "dropout": 0.0},
        "imu": {"channels": [6, 6, 6], "fc": [32]},
        "projection": {"hidden": 32, "dropout": 0.0},
        "embed_dim": 16,
        "temperature": 0.1,
    },
    "train": {"epochs": 8, "patience": 8, "lr": 0.01, "warmup_epochs": 1, "cycle_epochs": 7, "batch_size": 8},
}
SITES = ("LWrist", "RWrist")


def write_preset(folder: Path, **train: Any) -> Path:
    """The tiny preset as a JSON file in `folder` (train settings overridden by keyword)."""
    doc = json.loads(json.dumps(TINY_PRESET))
    doc["train"].update(train)
    path = Path(folder) / "tiny_preset.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def make_dataset(folder: Path) -> Path:
    """12 clips of 8 s (4 windows each): 8 clips (32 windows) train, 4 clips (16 windows) val; text in `chapter`."""
    return make_fimad(Path(folder), n_clips=12, n_frames=400)


@pytest.fixture(scope="session")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(dataset, tiny preset file), made once per test session so that its window bank is built once too."""
    root = tmp_path_factory.mktemp("train_data")
    return make_dataset(root / "ds"), write_preset(root)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread (import this fixture into a test module to apply it to every test there): tiny models run
    faster so, and far more predictably on a busy 2-core machine, where spinning intra-op threads stall."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
