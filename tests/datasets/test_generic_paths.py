"""The generic format's file names stay inside the dataset folder: absolute paths, `..` and symbolic links that lead
out are errors naming the entry, and nothing outside the folder is read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mujo.datasets.base import DatasetError
from mujo.datasets.generic import META, GenericDataset

META_BASE = {"name": "mine", "rate_hz": 50, "units": {"acc": "m/s2"}, "placements": {"wrist": "RWrist"},
             "classes": ["squat"]}


def _recording(path: Path, n: int = 60) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["wrist_acc_x,wrist_acc_y,wrist_acc_z,label"] + ["0.1,9.8,0.2,squat"] * n
    path.write_text("\n".join(rows) + "\n")


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A dataset folder with one good recording, and a CSV outside it (what an attacker would want read)."""
    root = tmp_path / "data"
    _recording(root / "good.csv")
    _recording(tmp_path / "secret" / "outside.csv")
    return root, tmp_path / "secret" / "outside.csv"


def _write(root: Path, recordings: object) -> None:
    (root / META).write_text(json.dumps(dict(META_BASE, recordings=recordings)))


@pytest.mark.parametrize("name, why", [
    ("../secret/outside.csv", "leads out of the dataset folder (..)"),
    ("sub/../../secret/outside.csv", "leads out of the dataset folder (..)"),
    ("..\\secret\\outside.csv", "leads out of the dataset folder (..)"),
    ("C:\\data\\outside.csv", "is an absolute path"),
])
def test_relative_escapes_are_errors_naming_the_entry(folders: tuple[Path, Path], name: str, why: str) -> None:
    root, _ = folders
    _write(root, [{"file": "good.csv", "subject": "a"}, {"file": name, "subject": "b"}])
    with pytest.raises(DatasetError) as e:
        GenericDataset(root)
    assert f"field 'recordings': entry 2: {name} {why}" in str(e.value)


def test_absolute_path_is_an_error(folders: tuple[Path, Path]) -> None:
    root, outside = folders
    _write(root, [{"file": str(outside), "subject": "b"}])
    with pytest.raises(DatasetError, match=r"entry 1: .*outside\.csv is an absolute path"):
        GenericDataset(root)


def test_symbolic_link_out_of_the_folder_is_an_error(folders: tuple[Path, Path]) -> None:
    root, outside = folders
    os.symlink(outside, root / "link.csv")
    os.symlink(outside.parent, root / "linked_dir")
    for k, name in enumerate(["link.csv", "linked_dir/outside.csv"]):
        _write(root, [{"file": "good.csv", "subject": "a"}, {"file": name, "subject": "b"}])
        with pytest.raises(DatasetError, match=f"entry 2: {name} is a symbolic link that leads out"):
            GenericDataset(root)
    (root / "inner.csv").symlink_to(root / "good.csv")  # a link that stays inside is fine
    _write(root, [{"file": "inner.csv", "subject": "a"}])
    assert len(GenericDataset(root).recording(0).labels) == 60


def test_recordings_table_file_must_stay_inside(folders: tuple[Path, Path]) -> None:
    root, outside = folders
    (outside.parent / "table.csv").write_text("file,subject\ngood.csv,a\n")
    _write(root, "../secret/table.csv")
    with pytest.raises(DatasetError, match=r"field 'recordings': \.\./secret/table\.csv leads out"):
        GenericDataset(root)
    (root / "table.csv").write_text("file,subject\ngood.csv,a\n../secret/outside.csv,b\n")
    _write(root, "table.csv")
    with pytest.raises(DatasetError, match=r"table\.csv: entry 2: \.\./secret/outside\.csv leads out"):
        GenericDataset(root)
