"""MHEALTH loader: tiny subject logs written in the release's 24-column text format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo.datasets.base import NULL_INDEX, DatasetError, shared_root
from mujo.datasets.mhealth import CLASSES, Mhealth

README_ONLY = shared_root("MHEALTH-docs")


def write_log(path: Path, n: int = 300, labels: np.ndarray | None = None, subject: int = 1) -> np.ndarray:
    """A log like the release's: tab-separated, 24 columns; each sensor's x column tells which one it is."""
    arr = np.zeros((n, 24))
    arr[:, 0:3] = [1.0 + subject, 2.0, 3.0]  # chest acc (m/s²)
    arr[:, 3:5] = 0.1  # ECG
    arr[:, 5:8] = [6.0, 7.0, 8.0]  # left ankle acc
    arr[:, 8:11] = [90.0, -180.0, 0.0]  # left ankle gyro (deg/s)
    arr[:, 11:14] = 0.5  # magnetometer
    arr[:, 14:17] = [15.0, 16.0, 17.0]  # right lower arm acc
    arr[:, 17:20] = [45.0, 0.0, 360.0]  # right lower arm gyro (deg/s)
    arr[:, 20:23] = -0.5
    arr[:, 23] = labels if labels is not None else np.repeat([0, 4, 12], n // 3)
    np.savetxt(path, arr, fmt="%.5g", delimiter="\t")
    return arr


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    for s in (1, 2, 10):
        write_log(tmp_path / f"mHealth_subject{s}.log", subject=s)
    (tmp_path / "README.txt").write_text("not data")
    return tmp_path


def test_index_and_info(tiny: Path) -> None:
    ds = Mhealth(tiny)
    assert ds.ids == ["subject1", "subject2", "subject10"] and ds.subjects == ["1", "2", "10"]
    info = ds.info
    assert len(info.classes) == 12 and info.classes[3] == "walking" and info.has_null and not info.has_pose
    assert info.placements == {"chest": "Thorax", "left_ankle": "LFoot", "right_lower_arm": "RWrist"}
    assert info.channels == ("acc",) and info.rate == 50.0 and info.random_splits and not info.fixed_splits
    assert set(info.prompts) == set(CLASSES) and info.prompts["jump_front_back"] == "jumping front and back"
    assert "subjects=3" in repr(ds)


def test_recording_columns_units_labels(tiny: Path) -> None:
    ds = Mhealth(tiny)
    rec = ds.recording(2)
    assert rec.id == "subject10" and rec.subject == "10" and len(rec) == 300 and rec.rate == 50.0
    np.testing.assert_allclose(rec.imu["chest"][0], [11.0, 2.0, 3.0])
    np.testing.assert_allclose(rec.imu["left_ankle"][0], [6.0, 7.0, 8.0])
    np.testing.assert_allclose(rec.imu["right_lower_arm"][0], [15.0, 16.0, 17.0])
    assert rec.labels.tolist() == [NULL_INDEX] * 100 + [CLASSES.index("walking")] * 100 + [11] * 100
    gyro = Mhealth(tiny, placements=("left_ankle", "right_lower_arm"))
    assert gyro.info.channels == ("acc", "gyro") and gyro.info.placements == {"left_ankle": "LFoot",
                                                                             "right_lower_arm": "RWrist"}
    r = gyro.recording(0)
    assert r.imu["left_ankle"].shape == (300, 6) and "chest" not in r.imu
    np.testing.assert_allclose(r.imu["left_ankle"][0, 3:], [np.pi / 2, -np.pi, 0.0])  # deg/s -> rad/s
    np.testing.assert_allclose(r.imu["right_lower_arm"][0, 3:], [np.pi / 4, 0.0, 2 * np.pi])
    raw = Mhealth(tiny, placements=("left_ankle",), gyro_unit="rad/s").recording(0)
    np.testing.assert_allclose(raw.imu["left_ankle"][0, 3:], [90.0, -180.0, 0.0])


def test_bad_arguments(tiny: Path) -> None:
    with pytest.raises(DatasetError, match="chest sensor has no gyroscope"):
        Mhealth(tiny, channels=("acc", "gyro"))
    with pytest.raises(DatasetError, match="unknown placement"):
        Mhealth(tiny, placements=("left_wrist",))
    with pytest.raises(DatasetError, match="gyro_unit"):
        Mhealth(tiny, gyro_unit="rpm")
    with pytest.raises(DatasetError, match="does not exist"):
        Mhealth(tiny / "nope")


def test_broken_files(tmp_path: Path) -> None:
    good = write_log(tmp_path / "mHealth_subject1.log")
    ds = Mhealth(tmp_path)
    np.savetxt(tmp_path / "mHealth_subject1.log", good[:, :23], delimiter="\t")
    with pytest.raises(DatasetError, match=r"mHealth_subject1\.log: expected 24 columns"):
        ds.recording(0)
    (tmp_path / "mHealth_subject1.log").write_text("1\t2\tthree" + "\t0" * 21 + "\n")
    with pytest.raises(DatasetError, match=r"mHealth_subject1\.log: cannot read"):
        ds.recording(0)
    write_log(tmp_path / "mHealth_subject1.log", labels=np.full(300, 13))
    with pytest.raises(DatasetError, match=r"mHealth_subject1\.log row 1: label 13"):
        ds.recording(0)
    (tmp_path / "mHealth_subject1.log").unlink()
    with pytest.raises(DatasetError, match=r"mHealth_subject1\.log not found"):
        ds.recording(0)


@pytest.mark.skipif(not README_ONLY.is_dir(), reason=f"MHEALTH README not available at {README_ONLY}")
def test_readme_only_copy_is_a_clear_error() -> None:
    with pytest.raises(DatasetError, match="no mHealth_subject<N>.log files .*MHEALTHDATASET.*README alone"):
        Mhealth(README_ONLY)


def test_prepare_windows(tiny: Path) -> None:
    prep = pytest.importorskip("mujo.datasets.prepare")
    ws = prep.prepare(Mhealth(tiny), prep.PrepareSpec(), cache=False)
    assert ws.imu.shape == (15, 100, 3, 3) and ws.sites == ("Thorax", "LFoot", "RWrist")
    # 100 NULL, 100 walking, 100 jump_front_back: windows at 0, 50, 100, 150, 200 (ties go to the centre)
    assert ws.labels[ws.recording == 0].tolist() == [NULL_INDEX, 3, 3, 11, 11]
    assert ws.subjects == ["1", "2", "10"]
    np.testing.assert_allclose(ws.imu[0, :, 1, 0], 6.0)


def test_open_target_recognises_the_layout(tiny: Path) -> None:
    from mujo.datasets import open_target

    assert isinstance(open_target(str(tiny)), Mhealth)
    assert isinstance(open_target(str(tiny / "mHealth_subject2.log")), Mhealth)
