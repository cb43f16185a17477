"""Tests for the pose renderer: camera geometry, frame count and timing, figure placement, robustness."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mujo.fimad.skeleton import JOINT_INDEX as J
from mujo.synth.render import Appearance, Camera, n_video_frames, pose_anchor, render_frames

SIZE = (160, 120)  # small frames keep the tests fast


def t_pose() -> np.ndarray:
    """(17, 3) a person standing in a T-pose at the origin, +y up, facing +z (their left hand on +x)."""
    p = np.zeros((17, 3))
    for name, xyz in {
        "Hip": (0, .95, 0), "RHip": (-.13, .95, 0), "LHip": (.13, .95, 0), "RKnee": (-.14, .52, .02),
        "LKnee": (.14, .52, .02), "RFoot": (-.15, .09, 0), "LFoot": (.15, .09, 0), "Spine": (0, 1.18, 0),
        "Thorax": (0, 1.43, 0), "Neck": (0, 1.56, .08), "Head": (0, 1.70, 0), "LShoulder": (.18, 1.42, 0),
        "LElbow": (.46, 1.42, 0), "LWrist": (.72, 1.42, 0), "RShoulder": (-.18, 1.42, 0),
        "RElbow": (-.46, 1.42, 0), "RWrist": (-.72, 1.42, 0),
    }.items():
        p[J[name]] = xyz
    return p


def still(T: int) -> np.ndarray:
    return np.repeat(t_pose()[None], T, axis=0)  # (T, 17, 3)


def front_camera(size=SIZE) -> Camera:
    return Camera((0.0, 1.2, 3.5), (0.0, 0.95, 0.0), 45.0, *size)


def scene(seed: int = 0) -> tuple[Camera, Appearance]:
    rng = np.random.default_rng(seed)
    return Camera.sample(rng, 0.0, size=SIZE), Appearance.sample(rng)


def test_project_centre_and_handedness():
    cam = front_camera()
    uv, depth = cam.project(np.array([cam.target, (1.0, 0.95, 0.0), (0.0, 2.0, 0.0)]))
    assert np.allclose(uv[0], [(SIZE[0] - 1) / 2, (SIZE[1] - 1) / 2])  # the target is at the image centre
    assert uv[1, 0] > uv[0, 0]  # +x (the trainer's left when facing +z) is on the image's right
    assert uv[2, 1] < uv[0, 1]  # +y is up in the image
    assert depth[0] == pytest.approx(math.dist(cam.position, cam.target))
    uv_b, _ = cam.project(np.array([[0.0, 1.0, 10.0]]))  # behind the camera
    assert np.isnan(uv_b).all()


@pytest.mark.parametrize("facing", [0.0, math.pi / 2, -2.5])
def test_camera_sample_stands_in_front(facing):
    rng = np.random.default_rng(1)
    front = np.array([math.sin(facing), math.cos(facing)])  # the trainer's facing direction (x, z)
    for _ in range(50):
        cam = Camera.sample(rng, facing, center=(1.0, 0.2, -2.0), size=SIZE)
        off = np.array(cam.position) - (1.0, 0.2, -2.0)
        dist = np.hypot(off[0], off[2])
        assert 2.5 <= dist <= 4.5 and 0.8 <= off[1] <= 1.6
        assert math.degrees(math.acos(np.dot(off[[0, 2]] / dist, front))) <= 30.0 + 1e-6
        uv, depth = cam.project(np.array([1.0, 1.0, -2.0]))  # the trainer's hip is in the picture
        assert depth > 0 and 0 <= uv[0] < SIZE[0] and 0 <= uv[1] < SIZE[1]


@pytest.mark.parametrize("T, fps, video_fps, expected", [(100, 50, 25, 50), (101, 50, 25, 51), (7, 30, 25, 6),
                                                           (1, 50, 25, 1), (250, 25, 25, 250)])
def test_frame_count_is_rounded_duration(T, fps, video_fps, expected):
    assert n_video_frames(T, fps, video_fps) == expected
    cam, app = scene()
    frames = list(render_frames(still(T), fps, cam, app, video_fps=video_fps, size=SIZE))
    assert len(frames) == expected
    assert frames[0].shape == (SIZE[1], SIZE[0], 3) and frames[0].dtype == np.uint8


def test_frames_not_blank_and_follow_the_pose():
    cam, app = scene(2)
    pose = still(50)
    pose[25:, :, 0] += 0.5  # steps aside half way
    frames = list(render_frames(pose, 50, cam, app, size=SIZE))
    assert len(frames) == 25
    assert frames[0].std() > 10  # not a flat image
    assert np.array_equal(frames[0], frames[5])  # standing still: identical frames
    assert np.abs(frames[0].astype(int) - frames[-1]).max() > 50
    # video time 0 is pose sample 0: frame k shows sample 2k, so frame 12 (sample 24) is before the step
    assert np.array_equal(frames[0], frames[12]) and not np.array_equal(frames[0], frames[13])


def _figure_mask(pose: np.ndarray, cam: Camera, app: Appearance) -> np.ndarray:
    """(H, W) bool: pixels where the figure differs from the empty room (an all-NaN pose draws no figure)."""
    empty = next(render_frames(np.full_like(pose, np.nan), 50, cam, app, size=SIZE, floor_y=0.0))
    img = next(render_frames(pose, 50, cam, app, size=SIZE, floor_y=0.0))
    return np.abs(img.astype(int) - empty).max(axis=2) > 25


def test_figure_is_where_the_camera_projects_it():
    cam, app = front_camera(), Appearance.sample(np.random.default_rng(3))
    pose = still(1)
    mask = _figure_mask(pose, cam, app)
    for a, b in [("Neck", "Head"), ("LShoulder", "LElbow"), ("RKnee", "RFoot"), ("Hip", "Spine")]:
        mid = 0.5 * (pose[0, J[a]] + pose[0, J[b]])
        u, v = np.round(cam.project(mid)[0]).astype(int)
        assert mask[v, u], f"no figure at the projection of {a}-{b}"
    assert not mask[:5, :].any() and not mask[:, :5].any()  # far from the body: the room only

    head = 0.5 * (pose[0, J["Neck"]] + pose[0, J["Head"]])
    moved = pose.copy()
    moved[:, [J["Neck"], J["Head"]], 0] += 0.4  # the head leans sideways
    mask2 = _figure_mask(moved, cam, app)
    old = np.round(cam.project(head)[0]).astype(int)
    new = np.round(cam.project(head + (0.4, 0, 0))[0]).astype(int)
    assert mask[old[1], old[0]] and not mask2[old[1], old[0]]
    assert mask2[new[1], new[0]] and not mask[new[1], new[0]]


def test_facing_turns_the_figure():
    """A trainer turned by facing_rad = pi/2 (facing +x), filmed by Camera.sample(rng, pi/2), looks like facing 0."""
    yaw = math.pi / 2
    R = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    app = Appearance.sample(np.random.default_rng(4))
    a = next(render_frames(still(1), 50, Camera.sample(np.random.default_rng(9), 0.0, size=SIZE), app, size=SIZE))
    b = next(render_frames(still(1) @ R.T, 50, Camera.sample(np.random.default_rng(9), yaw, size=SIZE), app,
                           size=SIZE))
    assert np.abs(a.astype(int) - b).mean() < 2.0  # same picture up to the floor pattern's orientation


def test_nan_joints_do_not_crash():
    cam, app = scene(5)
    rng = np.random.default_rng(0)
    pose = still(60) + rng.normal(0, 0.01, (60, 17, 3))
    pose[:5] = np.nan  # starts with a dropout
    pose[rng.random((60, 17)) < 0.2] = np.nan  # scattered joint dropouts
    pose[:, J["LWrist"]] = np.nan  # one joint never seen
    frames = list(render_frames(pose, 50, cam, app, size=SIZE))
    assert len(frames) == 30 and all(f.dtype == np.uint8 for f in frames)
    empty = list(render_frames(np.full((10, 17, 3), np.nan), 50, cam, app, size=SIZE))  # the room only
    assert len(empty) == 5 and empty[0].std() > 1


def test_lying_figure_renders_near_the_floor():
    cam, app = front_camera(), Appearance.sample(np.random.default_rng(6))
    lying = t_pose()[:, [0, 2, 1]] * (1, 1, -1)  # rotate the T-pose onto its back: head towards -z
    lying[:, 1] += 0.12 - lying[:, 1].min()
    mask = _figure_mask(lying[None], cam, app)
    rows = np.nonzero(mask.any(axis=1))[0]
    floor_row = cam.project(np.array([0.0, 0.0, 0.0]))[0][1]
    assert len(rows) and rows.max() >= floor_row - 5 and rows.min() > SIZE[1] * 0.3


def test_deterministic_for_a_seed():
    c1, a1 = scene(7)
    c2, a2 = scene(7)
    assert c1 == c2 and a1 == a2
    pose = still(20)
    pose[:, :, 1] += np.linspace(0, 0.3, 20)[:, None]
    f1 = list(render_frames(pose, 50, c1, a1, size=SIZE))
    f2 = list(render_frames(pose, 50, c2, a2, size=SIZE))
    assert all(np.array_equal(x, y) for x, y in zip(f1, f2))
    assert scene(8)[1] != a1


def test_bad_input_is_rejected():
    cam, app = scene()
    with pytest.raises(ValueError, match="shape"):
        next(render_frames(np.zeros((5, 16, 3)), 50, cam, app))
    with pytest.raises(ValueError, match="fps"):
        next(render_frames(still(5), 0, cam, app))
    with pytest.raises(ValueError):
        Camera((0, 1, 0), (0, 1, 0))


def test_pose_anchor():
    pose = still(10) + (2.0, 0.0, -1.0)
    anchor = pose_anchor(pose)
    assert anchor[0] == pytest.approx(2.0) and anchor[2] == pytest.approx(-1.0)
    assert -0.05 < anchor[1] < 0.09  # the floor is just below the ankles
