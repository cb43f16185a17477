"""MM-Fit loader: tiny workouts written in the release's .npy/.csv format, and the real label files when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo.datasets.base import NULL_INDEX, DatasetError, shared_root
from mujo.datasets.mmfit import EXERCISES, TEST, UNSEEN, MmFit, read_labels

REAL_LABELS = shared_root("MM-Fit-labels")
needs_real = pytest.mark.skipif(not (REAL_LABELS / "mm-fit").is_dir(),
                                reason=f"MM-Fit label files not available at {REAL_LABELS}")
T0 = 1_562_790_000_000.0  # unix ms, like the release
FRAME_MS = 1000.0 / 30.0
SQUATS, PUSHUPS = EXERCISES.index("squats"), EXERCISES.index("pushups")


def write_workout(root: Path, w: str, *, seconds: float = 7.0, gyro: bool = True, pose: bool = True,
                  labels: str = "0,74,10,squats\n105,164,12,pushups\n") -> Path:
    """Both watches at 100 Hz (the right one starts 25 ms later), labels, and optionally gyro and pose."""
    d = root / w
    d.mkdir(parents=True)
    n = int(seconds * 100)
    for dev, offset, z in (("sw_l", 0.0, 1.0), ("sw_r", 25.0, -1.0)):
        t = T0 + offset + 10.0 * np.arange(n)
        frame = np.floor((t - T0) / FRAME_MS)  # the release logs the camera frame each sample falls in
        sec = (t - T0) / 1000.0
        acc = np.column_stack([frame, t, sec, np.full(n, 9.81), np.full(n, z)])  # x = seconds since start
        np.save(d / f"{w}_{dev}_acc.npy", acc)
        if gyro:
            np.save(d / f"{w}_{dev}_gyr.npy", np.column_stack([frame, t, np.full(n, 0.5), np.zeros(n), -sec]))
    (d / f"{w}_labels.csv").write_text(labels)
    if pose:
        frames = np.arange(int(seconds * 30))
        arr = np.zeros((3, len(frames), 18))
        arr[:, :, 0] = frames
        arr[0, :, 1:] = frames[:, None] * 0.01 + np.arange(17)  # x grows with the frame, one offset per joint
        arr[1, :, 1:] = 2.0  # camera y (down)
        arr[2, :, 1:] = 3.0  # camera z (away)
        np.save(d / f"{w}_pose_3d.npy", arr)
    return d


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    for w in ("w01", "w09", "w14"):
        write_workout(tmp_path, w)
    return tmp_path


def test_index_info_and_splits(tiny: Path) -> None:
    ds = MmFit(tiny)
    assert ds.ids == ["w01", "w09", "w14"] and len(ds) == 3
    info = ds.info
    assert info.classes == EXERCISES and len(info.classes) == 10 and info.has_null and info.has_pose
    assert info.placements == {"left_wrist": "LWrist", "right_wrist": "RWrist"}
    assert info.channels == ("acc", "gyro") and info.rate == 100.0 and not info.random_splits
    fixed, unseen = info.fixed_splits
    assert (fixed.name, fixed.key, fixed.test) == ("fixed", "session", TEST) == ("fixed", "session",
                                                                              ("w09", "w10", "w11"))
    assert unseen.test == UNSEEN and unseen.train == fixed.train and "w14" in fixed.val
    assert info.prompts["bicep_curls"] == "doing bicep curls" and set(info.prompts) == set(EXERCISES)
    assert ds.subject_of(1) == ds.session_of(1) == "w09" and ds.subjects == ["w01", "w09", "w14"]
    assert "workouts=3" in repr(ds) and "left_wrist" in repr(ds)


def test_recording_grid_units_labels_pose(tiny: Path) -> None:
    rec = MmFit(tiny).recording(0)
    # grid over the overlap: from the right watch's first sample (+25 ms) to the left watch's last (6990 ms)
    assert rec.rate == 100.0 and len(rec) == 697 and rec.id == rec.subject == rec.session == "w01"
    left, right = rec.imu["left_wrist"], rec.imu["right_wrist"]
    assert left.shape == right.shape == (697, 6)
    np.testing.assert_allclose(left[:, 0], 0.025 + 0.01 * np.arange(697), atol=1e-9)  # acc x = seconds
    np.testing.assert_allclose(left[:, 1], 9.81)
    np.testing.assert_allclose(right[:, 2], -1.0)
    np.testing.assert_allclose(right[:, 3], 0.5)
    np.testing.assert_allclose(right[:, 5], -left[:, 0])
    sec = 0.025 + 0.01 * np.arange(697)
    frame = sec * 30
    assert (rec.labels[frame < 73.5] == SQUATS).all()
    assert (rec.labels[(frame > 75.5) & (frame < 104)] == NULL_INDEX).all()
    assert (rec.labels[(frame > 106) & (frame < 163.5)] == PUSHUPS).all()
    assert (rec.labels[frame > 166] == NULL_INDEX).all() and rec.labels.dtype == np.int64
    assert rec.pose.shape == (697, 17, 3)
    # x follows the (fractional) frame of each sample; y and z are turned to +y up
    np.testing.assert_allclose(rec.pose[:, 5, 0], 5 + 0.01 * frame, atol=0.011)
    np.testing.assert_allclose(rec.pose[:, :, 1], -2.0)
    np.testing.assert_allclose(rec.pose[:, :, 2], -3.0)


def test_optional_gyro_pose_and_placements(tmp_path: Path) -> None:
    write_workout(tmp_path, "w03", gyro=False, pose=False)
    ds = MmFit(tmp_path, placements=("right_wrist",))
    assert ds.info.channels == ("acc",) and not ds.info.has_pose and ds.info.placements == {"right_wrist": "RWrist"}
    rec = ds.recording(0)
    assert list(rec.imu) == ["right_wrist"] and rec.imu["right_wrist"].shape == (len(rec), 3) and rec.pose is None
    with pytest.raises(DatasetError, match="w03_sw_r_gyr.npy"):  # asked for, so required
        MmFit(tmp_path, gyro=True)
    with pytest.raises(DatasetError, match="unknown placement"):
        MmFit(tmp_path, placements=("ankle",))
    with pytest.raises(DatasetError, match="w99"):
        MmFit(tmp_path, workouts=("w99",))


def test_hole_in_a_watch_stream_is_nan(tmp_path: Path) -> None:
    d = write_workout(tmp_path, "w02", gyro=False, pose=False)
    acc = np.load(d / "w02_sw_l_acc.npy")
    np.save(d / "w02_sw_l_acc.npy", np.delete(acc, np.s_[200:240], axis=0))  # 400 ms missing
    rec = MmFit(tmp_path).recording(0)
    bad = ~np.isfinite(rec.imu["left_wrist"]).all(axis=1)
    assert 30 <= bad.sum() <= 41 and np.isfinite(rec.imu["right_wrist"]).all()


def test_missing_and_broken_files(tiny: Path) -> None:
    (tiny / "w09" / "w09_sw_r_acc.npy").unlink()
    ds = MmFit(tiny)  # the other workouts are fine: the incomplete one is reported when read
    assert ds.missing["w09"] == ["w09_sw_r_acc.npy"] and "incomplete=1" in repr(ds)
    with pytest.raises(DatasetError, match=r"w09.*missing w09_sw_r_acc\.npy"):
        ds.recording(1)
    (tiny / "w01" / "w01_sw_l_acc.npy").write_bytes(b"\x93NUMPY truncated")
    with pytest.raises(DatasetError, match=r"w01_sw_l_acc\.npy: cannot read"):
        ds.recording(0)
    np.save(tiny / "w14" / "w14_sw_l_acc.npy", np.zeros((10, 4)))
    with pytest.raises(DatasetError, match=r"w14_sw_l_acc\.npy: expected an \(N, 5\)"):
        ds.recording(2)
    with pytest.raises(DatasetError, match="no workout folders"):
        MmFit(tiny / "w01")


def test_broken_label_files(tmp_path: Path) -> None:
    bad = tmp_path / "w00_labels.csv"
    bad.write_text("10,20,5,squats\n30,40,5\n")
    with pytest.raises(DatasetError, match=r"w00_labels\.csv line 2: expected 4 fields"):
        read_labels(bad)
    bad.write_text("10,20,5,burpees\n")
    with pytest.raises(DatasetError, match="line 1: unknown exercise 'burpees'"):
        read_labels(bad)
    bad.write_text("ten,20,5,squats\n")
    with pytest.raises(DatasetError, match="must be numbers"):
        read_labels(bad)
    with pytest.raises(DatasetError, match="not found"):
        read_labels(tmp_path / "w01_labels.csv")


@needs_real
def test_real_label_files() -> None:
    files = sorted((REAL_LABELS / "mm-fit").glob("w*/w*_labels.csv"))
    assert len(files) == 21
    total = 0
    for f in files:
        segs = read_labels(f)
        lines = [x for x in f.read_text().splitlines() if x.strip()]
        assert len(segs) == len(lines) and all(s.start_frame <= s.end_frame for s in segs)
        total += len(segs)
    assert total == 616
    first = read_labels(REAL_LABELS / "mm-fit" / "w00" / "w00_labels.csv")[0]
    assert (first.start_frame, first.end_frame, first.reps, first.exercise) == (4040, 4500, 10, "squats")


@needs_real
def test_real_labels_only_copy_is_a_clear_error() -> None:
    for root in (REAL_LABELS, REAL_LABELS / "mm-fit"):
        with pytest.raises(DatasetError, match=r"missing w00/w00_sw_l_acc\.npy") as e:
            MmFit(root)
        assert "w00_sw_r_acc.npy" in str(e.value) and "labels only" in str(e.value)
        assert "mmfit.github.io" in str(e.value)


def test_prepare_windows(tiny: Path) -> None:
    prep = pytest.importorskip("mujo.datasets.prepare")
    ws = prep.prepare(MmFit(tiny), prep.PrepareSpec(), cache=False)
    # 697 samples at 100 Hz -> 349 at 50 Hz -> windows at 0, 50, 100, 150, 200 per workout
    assert ws.imu.shape == (15, 100, 2, 3) and ws.sites == ("LWrist", "RWrist") and ws.sessions == ["w01", "w09",
                                                                                                       "w14"]
    first = ws.recording == 0
    assert ws.labels[first].tolist() == [SQUATS, SQUATS, NULL_INDEX, PUSHUPS, PUSHUPS]
    np.testing.assert_allclose(ws.imu[1, :, 0, 0], 0.025 + 1.0 + 0.02 * np.arange(100), atol=1e-5)
    both = prep.prepare(MmFit(tiny), prep.PrepareSpec(channels=("acc", "gyro"), pose=True), cache=False)
    assert both.imu.shape == (15, 100, 2, 6) and both.pose.shape == (15, 100, 17, 3) and not both.problems


def test_open_target_recognises_the_layout(tiny: Path) -> None:
    from mujo.datasets import open_target

    assert isinstance(open_target(str(tiny)), MmFit)
    assert open_target(f"mmfit:{tiny}", placements=("left_wrist",)).info.placements == {"left_wrist": "LWrist"}
