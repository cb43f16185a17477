"""UTD-MHAD loader: fake files in the release's MATLAB format, plus checks on the real data when it is present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from mujo.datasets.utd_mhad import (
    KINECT_JOINTS,
    ClipKey,
    G,
    UtdMhad,
    default_root,
    kinect_to_h36m,
    resample,
    sensor_site,
)
from mujo.fimad.skeleton import JOINT_INDEX

REAL = default_root()
needs_real = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"UTD-MHAD not available at {REAL} (the team's shared datasets folder)")

# A Kinect v1 standing skeleton (rows in KINECT_JOINTS order), facing the camera: the person's right is +x.
KINECT_STAND = np.array([
    [0.0, 0.50, 2.80], [0.0, 0.30, 2.85], [0.0, -0.05, 2.88], [0.0, -0.11, 2.84],
    [-0.18, 0.20, 2.86], [-0.22, -0.08, 2.84], [-0.24, -0.32, 2.80], [-0.24, -0.38, 2.78],
    [0.18, 0.20, 2.86], [0.22, -0.08, 2.84], [0.24, -0.32, 2.80], [0.24, -0.38, 2.78],
    [-0.09, -0.19, 2.82], [-0.11, -0.66, 2.90], [-0.10, -1.02, 2.93], [-0.11, -1.09, 2.90],
    [0.09, -0.19, 2.82], [0.11, -0.66, 2.90], [0.10, -1.02, 2.93], [0.11, -1.09, 2.90],
])


def write_fake(root: Path, keys: list[tuple[int, int, int]], n_imu: int = 120, n_skel: int = 45) -> None:
    (root / "Inertial").mkdir(parents=True, exist_ok=True)
    (root / "Skeleton").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for a, s, t in keys:
        d_iner = np.zeros((n_imu, 6))
        d_iner[:, 0] = -1.0  # at rest, 1 g along the sensor's -x
        d_iner[:, 3] = 90.0  # deg/s
        savemat(root / "Inertial" / f"a{a}_s{s}_t{t}_inertial.mat", {"d_iner": d_iner})
        skel = KINECT_STAND[:, :, None] + 0.001 * rng.standard_normal((20, 3, n_skel))
        savemat(root / "Skeleton" / f"a{a}_s{s}_t{t}_skeleton.mat", {"d_skel": skel})


def test_index_lists_only_complete_pairs(tmp_path):
    write_fake(tmp_path, [(1, 1, 1), (27, 8, 3), (2, 3, 4)])
    (tmp_path / "Skeleton" / "a2_s3_t4_skeleton.mat").unlink()  # inertial without skeleton: not listed
    (tmp_path / "Inertial" / "notes.txt").write_text("ignored")
    ds = UtdMhad(tmp_path)
    assert ds.clips == [ClipKey(1, 1, 1), ClipKey(27, 8, 3)]
    assert len(ds) == 2 and "clips=2" in repr(ds)


def test_units_shapes_and_pose(tmp_path):
    write_fake(tmp_path, [(5, 2, 1)])
    ds = UtdMhad(tmp_path)
    key = ds.clips[0]
    acc, gyro = ds.inertial(key)
    assert acc.shape == gyro.shape == (120, 3)
    np.testing.assert_allclose(acc[:, 0], -G)
    np.testing.assert_allclose(gyro[:, 0], np.pi / 2)
    assert ds.skeleton(key).shape == (45, 20, 3)
    assert ds.pose(key).shape == (45, 17, 3)
    assert ds.pose(key, n=len(acc)).shape == (120, 17, 3)


def test_missing_and_broken_files_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="UTD-MHAD not found"):
        UtdMhad(tmp_path / "nowhere")
    write_fake(tmp_path, [(1, 1, 1)])
    ds = UtdMhad(tmp_path)
    with pytest.raises(FileNotFoundError, match="a9_s9_t9_inertial.mat"):
        ds.inertial(ClipKey(9, 9, 9))
    (tmp_path / "Inertial" / "a1_s1_t1_inertial.mat").write_bytes(b"not a MATLAB file")
    with pytest.raises(ValueError, match="a1_s1_t1_inertial.mat"):
        ds.inertial(ClipKey(1, 1, 1))
    savemat(tmp_path / "Skeleton" / "a1_s1_t1_skeleton.mat", {"d_skel": np.zeros((15, 3, 10))})
    with pytest.raises(ValueError, match="d_skel must have shape"):
        ds.skeleton(ClipKey(1, 1, 1))
    savemat(tmp_path / "Skeleton" / "a1_s1_t1_skeleton.mat", {"other": np.zeros((20, 3, 10))})
    with pytest.raises(ValueError, match="no variable 'd_skel'"):
        ds.skeleton(ClipKey(1, 1, 1))


def test_kinect_mapping_is_right_handed_and_up():
    pose = kinect_to_h36m(KINECT_STAND[None])[0]
    j = JOINT_INDEX
    assert pose[j["Head"], 1] > pose[j["Thorax"], 1] > pose[j["Hip"], 1] > pose[j["RKnee"], 1] > pose[j["RFoot"], 1]
    np.testing.assert_allclose(pose[j["RWrist"]], KINECT_STAND[KINECT_JOINTS.index("right_wrist")])
    np.testing.assert_allclose(pose[j["Neck"]], 0.5 * (KINECT_STAND[0] + KINECT_STAND[1]))
    # facing the camera: forward = left x up must point to the camera (-z)
    left = pose[j["LShoulder"]] - pose[j["RShoulder"]]
    assert np.cross(left, [0.0, 1.0, 0.0])[2] < 0
    assert kinect_to_h36m(KINECT_STAND[:, :, None].repeat(4, axis=2)).shape == (4, 17, 3)  # file layout
    with pytest.raises(ValueError, match="shape"):
        kinect_to_h36m(np.zeros((5, 17, 3)))


def test_resample_keeps_ends_and_is_linear():
    x = np.arange(5.0)[:, None] * np.ones((1, 2))
    y = resample(x, 9)
    np.testing.assert_allclose(y[:, 0], np.linspace(0, 4, 9))
    assert resample(np.zeros((3, 17, 3)), 7).shape == (7, 17, 3)
    with pytest.raises(ValueError):
        resample(np.zeros((1, 3)), 5)


def test_sensor_site():
    assert sensor_site(1) == sensor_site(21) == "RWrist"
    assert sensor_site(22) == sensor_site(27) == "RHip"
    with pytest.raises(ValueError):
        sensor_site(28)


@needs_real
def test_real_release_index_and_axes():
    ds = UtdMhad()
    assert len(ds) == 861
    assert ClipKey(8, 1, 4) not in ds.clips and ClipKey(1, 1, 1) in ds.clips
    key = ClipKey(1, 1, 1)
    pose = ds.pose(key)
    j = JOINT_INDEX
    assert (pose[:, j["Head"], 1] > pose[:, j["RFoot"], 1] + 1.2).all()  # +y is up, metres
    left = pose[:, j["LShoulder"]] - pose[:, j["RShoulder"]]
    assert (np.cross(left, [0.0, 1.0, 0.0])[:, 2] < 0).all()  # the subject faces the camera (-z)
    acc, gyro = ds.inertial(key)
    assert abs(np.median(np.linalg.norm(acc, axis=1)) - G) < 1.0  # m/s², gravity included


@needs_real
def test_real_right_hand_actions_move_the_right_wrist():
    ds = UtdMhad()
    pose = ds.pose(ClipKey(3, 2, 1))  # right hand wave
    j = JOINT_INDEX
    assert pose[:, j["RWrist"]].std(axis=0).sum() > 5 * pose[:, j["LWrist"]].std(axis=0).sum()
