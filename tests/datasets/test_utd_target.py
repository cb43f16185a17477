"""UTD-MHAD as a target dataset: fake MATLAB files in the release's layout, and the real files when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from mujo.datasets import DATASETS, open_target
from mujo.datasets.base import DatasetError, G, shared_root
from mujo.datasets.prepare import PrepareSpec, prepare
from mujo.datasets.splits import dataset_splits, split_rows
from mujo.datasets.utd_mhad import ACTIONS, UtdMhadTarget, UtdMhadWristTarget
from mujo.fimad.skeleton import JOINT_INDEX

REAL = shared_root("UTD-MHAD")
needs_real = pytest.mark.skipif(not (REAL / "Inertial").is_dir(),
                                reason=f"UTD-MHAD not available at {REAL} (the team's shared datasets folder)")


def write_clips(root: Path, keys: list[tuple[int, int, int]], n_imu: int = 160, n_skel: int = 60) -> Path:
    (root / "Inertial").mkdir(parents=True, exist_ok=True)
    (root / "Skeleton").mkdir(parents=True, exist_ok=True)
    for a, s, t in keys:
        d_iner = np.zeros((n_imu, 6))
        d_iner[:, 2] = 1.0  # 1 g along z
        d_iner[:, 4] = 180.0  # deg/s
        savemat(root / "Inertial" / f"a{a}_s{s}_t{t}_inertial.mat", {"d_iner": d_iner})
        skel = np.zeros((20, 3, n_skel))
        skel[0, 1, :] = np.linspace(0.0, 1.0, n_skel)  # head y rises linearly over the clip
        savemat(root / "Skeleton" / f"a{a}_s{s}_t{t}_skeleton.mat", {"d_skel": skel})
    return root


def test_fake_clips_units_pose_and_actions(tmp_path):
    write_clips(tmp_path, [(a, s, 1) for a in (1, 2, 22) for s in range(1, 9)])
    ds = UtdMhadTarget(tmp_path)
    assert len(ds) == 24 and ds.info.classes == tuple(ACTIONS.values())
    assert ds.info.placements == {"right_wrist_or_thigh": "RWrist"} and ds.info.has_pose
    assert ds.info.channels == ("acc", "gyro") and not ds.info.has_null
    rec = ds.recording(ds.ids.index("a22_s3_t1"))
    assert rec.subject == "3" and set(rec.labels) == {21}
    np.testing.assert_allclose(rec.imu["right_wrist_or_thigh"][0], [0, 0, G, 0, np.pi, 0], rtol=1e-6)
    assert rec.pose.shape == (160, 17, 3)
    head = rec.pose[:, JOINT_INDEX["Head"], 1]
    np.testing.assert_allclose(head[[0, -1]], [0.0, 1.0], atol=1e-6)  # skeleton stretched over the IMU samples
    wrist = UtdMhadTarget(tmp_path, actions="wrist")
    assert len(wrist) == 16 and wrist.info.placements == {"right_wrist": "RWrist"} and len(wrist.info.classes) == 21
    thigh = UtdMhadTarget(tmp_path, actions="thigh")
    assert len(thigh) == 8 and thigh.info.placements == {"right_thigh": "RHip"}
    assert thigh.recording(0).labels[0] == 0 and thigh.info.classes[0] == "jogging in place"
    assert len(UtdMhadTarget(tmp_path, actions=[1, 2], subjects=[1, 2])) == 4
    assert UtdMhadWristTarget(tmp_path).info.name == "utd-mhad-wrist"
    with pytest.raises(DatasetError, match="actions must be one of"):
        UtdMhadTarget(tmp_path, actions="ankle")
    with pytest.raises(DatasetError, match="no clips for actions"):
        UtdMhadTarget(tmp_path, actions=[5])


def test_odd_even_split_and_windows(tmp_path):
    write_clips(tmp_path, [(a, s, 1) for a in (1, 2) for s in range(1, 9)])
    ws = prepare(UtdMhadTarget(tmp_path), PrepareSpec(channels=("acc", "gyro"), pose=True), cache=False)
    assert len(ws) == 16 * 2 and ws.pose.shape == (32, 100, 17, 3)
    splits = dataset_splits(ws)
    assert splits[0].name == "odd-even" and [s.name for s in splits[1:]] == [f"random-{k}" for k in range(5)]
    rows = split_rows(ws, splits[0])
    subj = np.array(ws.subjects)[ws.subject]
    assert set(subj[rows["train"]]) == {"1", "3", "5"} and set(subj[rows["val"]]) == {"7"}
    assert set(subj[rows["test"]]) == {"2", "4", "6", "8"}


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DatasetError, match="expected Inertial/ and Skeleton/"):
        UtdMhadTarget(tmp_path)
    write_clips(tmp_path, [(1, 1, 1), (1, 2, 1)])
    savemat(tmp_path / "Inertial" / "a1_s2_t1_inertial.mat", {"d_iner": np.zeros((10, 4))})
    ds = UtdMhadTarget(tmp_path)
    with pytest.raises(DatasetError, match=r"a1_s2_t1_inertial.mat: d_iner must have shape \(N, 6\)"):
        ds.recording(1)
    ws = prepare(ds, cache=False)
    assert ws.recording_ids == ["a1_s1_t1"] and "a1_s2_t1: " in ws.problems[0]


@needs_real
def test_real_release():
    ds = open_target("utd-mhad")
    assert isinstance(ds, UtdMhadTarget) and len(ds) == 861 and ds.subjects == [str(s) for s in range(1, 9)]
    wrist = open_target("utd-mhad-wrist")
    assert isinstance(wrist, UtdMhadWristTarget) and len(wrist) == 21 * 32 - 1  # a8_s1_t4 is missing
    assert set(DATASETS) >= {"utd-mhad", "utd-mhad-wrist"}
    sub = UtdMhadTarget(REAL, subjects=[1, 2])
    ws = prepare(sub, PrepareSpec(channels=("acc", "gyro"), pose=True), cache=False)
    assert ws.problems == [] and len(set(ws.labels)) == 27 and len(ws) > len(sub)
    still = ws.imu[:, :5, 0, :3]  # the clips start at rest: |acc| near 1 g
    assert 0.7 * G < np.median(np.linalg.norm(still, axis=-1)) < 1.3 * G
    assert np.isfinite(ws.pose).all() and 0.3 < np.ptp(ws.pose[0, 0, :, 1]) < 2.5  # a person's height in metres
