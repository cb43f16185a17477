"""Common preprocessing: resampling, windows, majority labels, NULL, caching, z-scores, model input, sites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo.checkpoint import CheckpointError
from mujo.config import ModelConfig
from mujo.datasets.base import NULL_INDEX, DatasetError
from mujo.datasets.prepare import (
    PrepareSpec,
    checkpoint_problem,
    model_input,
    prepare,
    resample_recording,
    site_order,
    window_labels,
    zscore_stats,
)
from mujo.paths import data_dir


def test_windows_labels_and_null(toy):
    ws = prepare(toy, cache=False)
    assert len(ws) == 12 * 7 and ws.imu.shape == (84, 100, 2, 3) and ws.imu.dtype == np.float32
    assert ws.pose is None and ws.sites == ("RWrist", "RHip") and ws.placements == ("wrist", "pocket")
    first = ws.recording == 0
    # 200 samples of class 0 then 200 NULL: the window at 150 is a tie, decided by its centre sample (NULL)
    assert ws.labels[first].tolist() == [0, 0, 0, NULL_INDEX, NULL_INDEX, NULL_INDEX, NULL_INDEX]
    assert ws.start[first].tolist() == [0, 50, 100, 150, 200, 250, 300]
    np.testing.assert_array_equal(ws.imu[1, :, 0, 0], np.arange(50, 150))  # acc x = sample index (wrist)
    assert ws.subjects == ["1", "2", "3", "4", "5", "6"] and ws.sessions == [""]
    assert ws.class_names(False) == ("walk", "run", "sit") and ws.class_names(True)[-1] == "NULL"
    assert set(ws.targets(True)[first]) == {0, 3} and set(ws.targets(False)[first]) == {0, -1}
    assert ws.labels.dtype == np.int64 and ws.recording.dtype == np.int32 and ws.subject.dtype == np.int32


def test_channels_placements_and_pose(toy):
    ws = prepare(toy, PrepareSpec(channels=("gyro", "acc"), placements=("pocket",), pose=True), cache=False)
    assert ws.channels == ("acc", "gyro") and ws.imu.shape == (84, 100, 1, 6) and ws.sites == ("RHip",)
    np.testing.assert_array_equal(ws.imu[0, :, 0, 0], np.arange(100) + 1)  # pocket acc x = index + 1
    assert ws.pose.shape == (84, 100, 17, 3)
    with pytest.raises(DatasetError, match="no ankle"):
        prepare(toy, PrepareSpec(placements=("ankle",)), cache=False)
    toy.info.channels = ("acc",)
    with pytest.raises(DatasetError, match="no gyro channels"):
        prepare(toy, PrepareSpec(channels=("acc", "gyro")), cache=False)
    toy.info.has_pose = False
    with pytest.raises(DatasetError, match="no pose"):
        prepare(toy, PrepareSpec(pose=True), cache=False)
    with pytest.raises(ValueError, match="channels"):
        PrepareSpec(channels=("mag",))


def test_resampling_100_to_50_hz(tmp_path, make_rec, Toy):
    rec = make_rec("a", "1", 401, rate=100.0, label_runs=[(1, 101), (2, 300)])
    t, labels, imu, pose = resample_recording(rec, 50.0)
    assert len(t) == 201 and pose.shape == (201, 17, 3)
    np.testing.assert_allclose(imu["wrist"][:, 0], np.arange(201) * 2.0)
    assert labels[50] == 1 and labels[51] == 2  # nearest sample: 100 -> class 1, 102 -> class 2
    # 25 Hz -> 50 Hz: linear interpolation between the samples
    t, labels, imu, _ = resample_recording(make_rec("b", "1", 11, rate=25.0), 50.0)
    np.testing.assert_allclose(imu["pocket"][:, 0], np.arange(21) / 2 + 1)
    ws = prepare(Toy(tmp_path, [make_rec(f"r{i}", str(i), 401, rate=100.0) for i in range(3)]),
                 cache=False)
    assert len(ws) == 3 * 3  # 201 samples at 50 Hz: windows at 0, 50, 100


def test_window_label_majority_and_ties():
    labels = np.array([0] * 60 + [1] * 40 + [2] * 100)
    assert window_labels(labels, np.array([0, 50, 100]), 100).tolist() == [0, 2, 2]
    assert window_labels(labels, np.array([40]), 100).tolist() == [1]  # 20/40/40: tie, centre sample 90 is 1
    tie = np.array([5] * 50 + [-1] * 50)
    assert window_labels(tie, np.array([0]), 100).tolist() == [-1]  # centre sample 50 is NULL
    assert window_labels(tie[::-1].copy(), np.array([0]), 100).tolist() == [5]


def test_cache_is_reused_memory_mapped_and_atomic(toy):
    calls = []
    ws = prepare(toy, progress=lambda f, m: calls.append((f, m)))
    reads = toy.reads
    assert ws.path is not None and ws.path.parent == data_dir() / "targets" and ws.path.name.startswith("toy-")
    assert isinstance(ws.imu, np.memmap) and not ws.imu.flags.writeable
    assert not [p for p in ws.path.parent.iterdir() if p.name.startswith(".") and p.is_dir()]  # no temporary folder
    assert calls[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in calls)
    again = prepare(toy)
    assert toy.reads == reads and again.fingerprint == ws.fingerprint  # nothing read the second time
    np.testing.assert_array_equal(again.imu, ws.imu)
    assert again.recording_ids == ws.recording_ids and again.spec == ws.spec
    other = prepare(toy, PrepareSpec(hop=100))
    assert other.fingerprint != ws.fingerprint and len(other) == 12 * 4
    (toy.root / "new-file.txt").write_text("x")  # a changed source means a new cache
    assert prepare(toy).fingerprint != ws.fingerprint
    toy.root.joinpath("new-file.txt").unlink()
    (ws.path / "meta.json").write_text("{broken")  # a damaged cache is rebuilt
    rebuilt = prepare(toy)
    assert rebuilt.path == ws.path and len(rebuilt) == len(ws) and toy.reads > reads


def test_broken_short_and_nan_recordings(tmp_path, make_rec, Toy):
    recs = [make_rec(f"r{i}", str(i), 300) for i in range(4)] + [make_rec("short", "9", 60)]
    recs[1].imu["wrist"][120, 2] = np.nan  # hits the windows at 50 and 100
    ws = prepare(Toy(tmp_path, recs, broken=("r3",)), cache=False)
    assert ws.recording_ids == ["r0", "r1", "r2"] and len(ws) == 5 + 3 + 5 and "9" not in ws.subjects
    text = "\n".join(ws.problems)
    assert "r3: r3.csv: column 'acc_x' is missing" in text
    assert "short: 60 samples" in text and "dropped 2 windows with missing values (NaN) in 1 recordings: r1 (2)" in text
    assert np.isfinite(ws.imu).all()
    with pytest.raises(DatasetError, match="no recording could be read.*r0.csv"):
        prepare(Toy(tmp_path, recs[:2], broken=("r0", "r1")), cache=False)
    with pytest.raises(DatasetError, match="no complete window"):
        prepare(Toy(tmp_path, recs[4:]), cache=False)


def test_zscore_and_model_input(toy):
    ws = prepare(toy, PrepareSpec(pose=True), cache=False)
    rows = np.arange(0, 40)
    mean, std = zscore_stats(ws.imu[rows])
    assert mean.shape == std.shape == (2, 3)
    x = ws.imu[rows].reshape(-1, 2, 3).astype(np.float64)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(std, x.std(0), rtol=1e-4)
    z = model_input(ws, rows, "imu", mean=mean, std=std)
    assert z.shape == (40, 100, 2, 3) and z.dtype == np.float32
    np.testing.assert_allclose(z.reshape(-1, 2, 3).mean(0), 0, atol=1e-4)
    before = ws.pose[5].copy()
    p = model_input(ws, [5, 7], "pose")
    assert p.shape == (2, 100, 17, 3)
    np.testing.assert_array_equal(ws.pose[5], before)  # the windows are not changed in place
    np.testing.assert_allclose(p[0].mean(0)[0], 0, atol=1e-5)  # root centred
    assert zscore_stats(np.zeros((3, 10, 1, 3)))[1].min() == pytest.approx(1e-6)
    with pytest.raises(ValueError, match="modality"):
        model_input(ws, rows, "video")


def test_site_order_and_checkpoint_problem(toy):
    assert site_order(["RWrist", "RHip"], ["RHip", "RWrist"]) == [1, 0]
    with pytest.raises(CheckpointError, match=r"\['RHip'\].*\['LWrist', 'RWrist'\].*mujo pretrain --sites RHip"):
        site_order(["RHip"], ["LWrist", "RWrist"])
    cfg = ModelConfig(imu_sites=("RHip", "RWrist"), imu_channels=("acc", "gyro"))
    assert checkpoint_problem(toy.info, cfg, ["imu", "pose"]) is None
    bad = ModelConfig(imu_sites=("LWrist", "RWrist"), imu_channels=("acc",), modalities=("text", "imu"))
    msg = checkpoint_problem(toy.info, bad, ["imu", "pose"])
    assert "IMU sites" in msg and "no pose encoder" in msg and "--sites RWrist RHip" in msg
    toy.info.channels = ("acc",)
    assert "gyro" in checkpoint_problem(toy.info, cfg, ["imu"])


def _prepare_in_child(root: str) -> tuple[str, int, str]:
    from mujo.datasets import open_target

    ws = prepare(open_target(root))
    return ws.fingerprint, len(ws), str(ws.path)


def test_parallel_prepares_share_one_cache(tmp_path, toy):
    import multiprocessing as mp

    from mujo.datasets.generic import write_generic

    recs = [toy.recording(i) for i in range(len(toy))]
    root = write_generic(tmp_path / "g", recs, name="par", classes=("a", "b", "c"), placements=toy.info.placements)
    with mp.get_context("fork").Pool(3) as pool:
        out = pool.map(_prepare_in_child, [str(root)] * 3)
    assert len(set(out)) == 1 and out[0][1] == 84
    folders = [p for p in (data_dir() / "targets").iterdir() if p.is_dir() and p.name.startswith("par-")]
    assert [p.name for p in folders] == [Path(out[0][2]).name]
