"""MyoGym loader: a tiny MyoGym.mat written with scipy.io.savemat in the release's raw_data layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from mujo.datasets.base import NULL_INDEX, DatasetError, G
from mujo.datasets.myogym import MyoGym

EMG_PER_IMU = 4  # EMG rows at 200 Hz repeat each 50 Hz IMU sample


def stream(trainer: int, n: int = 300, start_ms: float = 1.5e6, activities=(0, 5, 30)) -> tuple[np.ndarray, ...]:
    """Rows of one trainer: IMU packets of 3 samples arriving together (ms), each row repeated for the EMG."""
    k = np.arange(n)
    arrival = start_ms + 20.0 * (3 * (k // 3) + 2)  # a packet arrives with its last sample
    imu = np.zeros((n, 17))
    imu[:, 0] = start_ms + 20.0 * k  # EMG time
    imu[:, 1:9] = 7.0
    imu[:, 9] = arrival
    imu[:, 10] = 1.0  # acc x = 1 g
    imu[:, 11] = 0.01 * k  # acc y ramps, in g
    imu[:, 12] = -trainer
    imu[:, 13] = arrival + 1.0  # gyro packets arrive 1 ms later
    imu[:, 14] = 180.0  # deg/s
    imu[:, 15] = 0.5 * k
    act = np.repeat(activities, n // len(activities))
    labels = np.column_stack([act, np.full(n, trainer)])
    return np.repeat(imu, EMG_PER_IMU, axis=0), np.repeat(labels, EMG_PER_IMU, axis=0)


def write_mat(path: Path, parts: list[tuple[np.ndarray, np.ndarray]], **extra: np.ndarray) -> Path:
    raw = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    savemat(path, {"raw_data": raw, "raw_data_labels": labels, **extra})
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    # trainer 2 has two sessions whose clock restarts: two pieces joined by one NaN sample
    s2a, s2b = stream(2, 150, start_ms=5e5, activities=(0, 7, 0)), stream(2, 150, start_ms=1e5, activities=(0,))
    write_mat(tmp_path / "MyoGym.mat", [stream(1), s2a, s2b])
    return tmp_path


def test_index_and_info(tiny: Path) -> None:
    ds = MyoGym(tiny)
    assert ds.ids == ["trainer_1", "trainer_2"] and ds.subjects == ["1", "2"] and len(ds) == 2
    info = ds.info
    assert len(info.classes) == 30 and info.classes[0] == "exercise 1" and info.has_null and not info.has_pose
    assert info.placements == {"right_forearm": "RWrist"} and info.channels == ("acc", "gyro")
    assert info.rate == 50.0 and info.random_splits and info.prompts["exercise 3"] == "doing gym exercise 3"
    assert "trainers=2" in repr(ds)
    named = MyoGym(tiny / "MyoGym.mat", class_names=[f"lift {i}" for i in range(30)], channels=("acc",))
    assert named.info.classes[29] == "lift 29" and named.info.prompts["lift 0"] == "doing lift 0"
    assert named.info.channels == ("acc",)


def test_recording_dedup_grid_units_labels(tiny: Path) -> None:
    rec = MyoGym(tiny).recording(0)
    # 1200 rows -> 300 distinct IMU samples, packet ties spread to 20 ms apart -> 300 grid samples
    assert len(rec) == 300 and rec.rate == 50.0 and rec.subject == "1" and rec.id == "trainer_1"
    x = rec.imu["right_forearm"]
    assert x.shape == (300, 6) and np.isfinite(x).all()
    np.testing.assert_allclose(x[:, 0], G)  # g -> m/s²
    np.testing.assert_allclose(x[:, 1], 0.01 * np.arange(300) * G, atol=1e-9)
    np.testing.assert_allclose(x[:, 2], -G)
    np.testing.assert_allclose(x[:, 3], np.pi)  # deg/s -> rad/s
    np.testing.assert_allclose(x[:-1, 4], np.deg2rad(0.5 * np.arange(299)), atol=0.01)
    assert rec.labels.tolist() == [NULL_INDEX] * 100 + [4] * 100 + [29] * 100


def test_clock_restart_gives_pieces_with_a_nan_joint(tiny: Path) -> None:
    rec = MyoGym(tiny).recording(1)
    x = rec.imu["right_forearm"]
    assert len(rec) == 150 + 1 + 150
    assert not np.isfinite(x[150]).any() and np.isfinite(x[:150]).all() and np.isfinite(x[151:]).all()
    assert rec.labels[150] == NULL_INDEX and (rec.labels[50:100] == 6).all() and (rec.labels[151:] == NULL_INDEX).all()


def test_time_units_and_pauses(tmp_path: Path) -> None:
    raw, lab = stream(1)
    raw[:, [9, 13]] /= 1000.0  # seconds
    write_mat(tmp_path / "MyoGym.mat", [(raw, lab)])
    assert len(MyoGym(tmp_path).recording(0)) == 300
    assert len(MyoGym(tmp_path, time_unit="s").recording(0)) == 300
    raw2 = raw.copy()
    raw2[:, [9, 13]] *= 7.3  # 146 ms apart in seconds, 0.146 ms in ms: no unit fits
    write_mat(tmp_path / "MyoGym.mat", [(raw2, lab)])
    with pytest.raises(DatasetError, match="not 50 Hz in any of s, ms"):
        MyoGym(tmp_path).recording(0)
    raw3, lab3 = stream(1)
    raw3[600:, [0, 9, 13]] += 2000.0  # a 2 s pause: 100 NaN samples instead of interpolated data
    write_mat(tmp_path / "MyoGym.mat", [(raw3, lab3)])
    x = MyoGym(tmp_path).recording(0).imu["right_forearm"]
    assert len(x) == 400 and 95 <= (~np.isfinite(x).all(axis=1)).sum() <= 105


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"MyoGym\.mat not found"):
        MyoGym(tmp_path)
    raw, lab = stream(1)
    savemat(tmp_path / "MyoGym.mat", {"raw_data": raw})
    with pytest.raises(DatasetError, match="no variable.*raw_data_labels"):
        MyoGym(tmp_path)
    bad = lab.copy()
    bad[5, 0] = 31
    savemat(tmp_path / "MyoGym.mat", {"raw_data": raw, "raw_data_labels": bad})
    with pytest.raises(DatasetError, match="row 6 has activity 31"):
        MyoGym(tmp_path)
    savemat(tmp_path / "MyoGym.mat", {"raw_data": raw[:, :10], "raw_data_labels": lab})
    ds = MyoGym(tmp_path)
    with pytest.raises(DatasetError, match=r"MyoGym\.mat: raw_data must have at least 17 columns"):
        ds.recording(0)
    (tmp_path / "MyoGym.mat").write_bytes(b"not a MATLAB file at all" * 10)
    with pytest.raises(DatasetError, match=r"MyoGym\.mat: cannot read the MATLAB file"):
        MyoGym(tmp_path)
    with pytest.raises(DatasetError, match="time_unit"):
        MyoGym(tmp_path, time_unit="hours")
    with pytest.raises(DatasetError, match="30 distinct names"):
        MyoGym(tmp_path, class_names=["a", "b"])


def test_prepare_windows(tiny: Path) -> None:
    prep = pytest.importorskip("mujo.datasets.prepare")
    ws = prep.prepare(MyoGym(tiny), prep.PrepareSpec(channels=("acc", "gyro")), cache=False)
    assert ws.sites == ("RWrist",) and ws.imu.shape[1:] == (100, 1, 6) and ws.subjects == ["1", "2"]
    assert ws.labels[ws.recording == 0].tolist() == [NULL_INDEX, 4, 4, 29, 29]
    # trainer 2: two 150-sample pieces; the windows over the NaN joint (starts 100, 150) are dropped
    assert ws.start[ws.recording == 1].tolist() == [0, 50, 200]
    assert any("NaN" in p for p in ws.problems)


def test_open_target_recognises_the_layout(tiny: Path) -> None:
    from mujo.datasets import open_target

    assert isinstance(open_target(str(tiny)), MyoGym)
    assert open_target(str(tiny / "MyoGym.mat"), channels=("acc",)).info.channels == ("acc",)
