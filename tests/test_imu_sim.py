"""Physics and interface tests of the virtual IMU; all checks are rotation-invariant (magnitudes)."""

from __future__ import annotations

import numpy as np
import pytest

from mujo.fimad.skeleton import IMU_SITES, JOINT_INDEX
from mujo.sim.imu_sim import FRAMES, SENSOR_FRAME_DOC, segment_frames, simulate

FPS = 50.0
G = 9.81
J = JOINT_INDEX

# A realistic standing pose (metres): facing +z, the person's left is +x, +y up, feet on the floor.
STAND = np.array([
    [0.0, 0.95, 0.0],                                                # Hip
    [-0.12, 0.95, 0.0], [-0.12, 0.52, 0.02], [-0.12, 0.08, -0.02],   # RHip RKnee RFoot
    [0.12, 0.95, 0.0], [0.12, 0.52, 0.02], [0.12, 0.08, -0.02],      # LHip LKnee LFoot
    [0.0, 1.20, 0.0], [0.0, 1.45, 0.0], [0.0, 1.55, 0.08], [0.0, 1.70, 0.0],  # Spine Thorax Neck Head
    [0.18, 1.43, 0.0], [0.20, 1.15, 0.0], [0.21, 0.90, 0.02],        # LShoulder LElbow LWrist
    [-0.18, 1.43, 0.0], [-0.20, 1.15, 0.0], [-0.21, 0.90, 0.02],     # RShoulder RElbow RWrist
])


def rotation(axis, angle) -> np.ndarray:
    """(..., 3, 3) rotations by `angle` (array) about a fixed axis (Rodrigues)."""
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.asarray(angle, float)[..., None, None]
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * (kx @ kx)


def rotate_about(pose: np.ndarray, rot: np.ndarray, centre) -> np.ndarray:
    """Rotate (T, 17, 3) poses frame by frame by (T, 3, 3) rotations about a fixed point."""
    c = np.asarray(centre, float)
    return np.einsum("tij,tkj->tki", rot, pose - c) + c


def static(n: int = 200, pose: np.ndarray = STAND) -> np.ndarray:
    return np.repeat(pose[None], n, axis=0).copy()


def aligned_stand() -> np.ndarray:
    """STAND with every bone in its standing direction: all sensor frames are (left, up, forward)."""
    pose = STAND.copy()
    for chain in (("LShoulder", "LElbow", "LWrist"), ("RShoulder", "RElbow", "RWrist"),
                  ("LHip", "LKnee", "LFoot"), ("RHip", "RKnee", "RFoot")):
        for j in chain[1:]:
            pose[J[j], [0, 2]] = pose[J[chain[0]], [0, 2]]  # straight down below the root of the limb
    pose[J["Neck"], [0, 2]] = pose[J["Head"], [0, 2]] = pose[J["Thorax"], [0, 2]]
    return pose


def set_arm(pose: np.ndarray, side: str, upper: np.ndarray, fore: np.ndarray) -> None:
    """Place elbow and wrist of one arm (in place) from (T, 3) unit directions of upper arm and forearm."""
    sh, el, wr = J[side + "Shoulder"], J[side + "Elbow"], J[side + "Wrist"]
    pose[:, el] = pose[:, sh] + 0.28 * upper
    pose[:, wr] = pose[:, el] + 0.25 * fore


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def norms(x: np.ndarray) -> np.ndarray:
    return np.linalg.norm(x, axis=-1)


def test_output_shape_dtype_and_default_sites():
    acc, gyro = simulate(static(), FPS)
    assert acc.shape == gyro.shape == (200, len(IMU_SITES), 3)
    assert acc.dtype == gyro.dtype == np.float32
    assert "x" in SENSOR_FRAME_DOC and "Savitzky-Golay" in SENSOR_FRAME_DOC


@pytest.mark.parametrize("pitch", [0.0, np.pi / 2, -np.pi / 2, 2.0])
def test_body_at_rest_reads_gravity_and_no_rotation(pitch):
    pose = rotate_about(static(), rotation([1, 0, 0], np.full(200, pitch)), [0, 0.5, 0])  # standing, lying...
    acc, gyro = simulate(pose, FPS)
    np.testing.assert_allclose(norms(acc), G, atol=0.05)
    assert norms(gyro).max() < 0.01


def test_sensor_axes_standing_read_gravity_along_y():
    # SENSOR_FRAME_DOC: standing upright with bones in their standing direction, every frame is (left, up, fwd)
    pose = aligned_stand()
    frames = segment_frames(pose[None])[0]
    np.testing.assert_allclose(frames, np.broadcast_to(np.eye(3), frames.shape), atol=1e-6)
    acc, _ = simulate(static(pose=pose), FPS)
    np.testing.assert_allclose(acc[100], np.tile([0.0, G, 0.0], (16, 1)), atol=1e-4)


def test_signs_of_the_sensor_axes():
    # turning left (counter-clockwise seen from above) reads +omega about y; accelerating forward reads +z
    omega, amp, f = 1.0, 0.5, 0.25
    t = np.arange(300) / FPS
    turning = rotate_about(static(300, aligned_stand()), rotation([0, 1, 0], omega * t), [0, 0, 0])
    _, gyro = simulate(turning, FPS)
    np.testing.assert_allclose(gyro[5:-5], np.broadcast_to([0.0, omega, 0.0], gyro[5:-5].shape), atol=0.02)
    z = amp * np.sin(2 * np.pi * f * t)
    walking = static(300, aligned_stand()) + np.stack([0 * t, 0 * t, z], axis=-1)[:, None]
    acc, _ = simulate(walking, FPS)
    expected = -amp * (2 * np.pi * f) ** 2 * np.sin(2 * np.pi * f * t)
    np.testing.assert_allclose(acc[50:-50, :, 2], np.broadcast_to(expected[50:-50, None], (200, 16)), atol=0.05)
    np.testing.assert_allclose(acc[50:-50, :, 1], G, atol=1e-3)


def test_turning_about_vertical_reads_omega_everywhere():
    omega = 1.5
    t = np.arange(400) / FPS
    pose = rotate_about(static(400), rotation([0, 1, 0], omega * t), [0.1, 0, 0.2])
    _, gyro = simulate(pose, FPS)
    np.testing.assert_allclose(norms(gyro)[5:-5], omega, rtol=0.02)


def test_tumbling_about_a_horizontal_axis_reads_omega_everywhere():
    # a rigid body spinning about a fixed axis, through standing, lying face down, upside down and on its back
    omega = 2.0
    t = np.arange(400) / FPS
    pose = rotate_about(static(400), rotation([1, 0, 0.3], omega * t), [0, 1.0, 0])
    _, gyro = simulate(pose, FPS)
    np.testing.assert_allclose(norms(gyro)[5:-5], omega, rtol=0.02)


def test_carried_on_a_horizontal_circle_without_turning():
    omega, r = 2 * np.pi * 0.7, 0.5
    t = np.arange(500) / FPS
    shift = np.stack([r * np.cos(omega * t), np.zeros_like(t), r * np.sin(omega * t)], axis=-1)
    acc, gyro = simulate(static(500) + shift[:, None], FPS)
    expected = np.hypot(omega**2 * r, G)
    inner = slice(int(FPS), -int(FPS))  # away from the clip ends
    np.testing.assert_allclose(norms(acc)[inner], expected, rtol=0.03)
    assert norms(gyro).max() < 0.01


def test_forearm_spinning_about_the_elbow_axis_reads_omega():
    omega = 1.5  # elbow flexion from 0 to 150 degrees at constant speed, everything else still
    n = int(np.radians(150) / omega * FPS)
    angle = np.radians(150) * np.arange(n) / (n - 1)
    pose = static(n)
    set_arm(pose, "L", np.tile([0.0, -1.0, 0.0], (n, 1)),
            np.stack([np.zeros(n), -np.cos(angle), np.sin(angle)], axis=-1))
    _, gyro = simulate(pose, FPS, ["LElbow", "LWrist", "LShoulder"])
    inner = slice(int(0.3 * FPS), -int(0.3 * FPS))  # smoothing rounds the start and stop
    np.testing.assert_allclose(norms(gyro[inner, :2]), omega, rtol=0.02)
    assert norms(gyro[:, 2]).max() < 0.01  # the upper arm did not move


def test_arm_windmill_reads_omega_then_settles_to_the_pose_defined_frame():
    # straight arms circling rigidly about the shoulders' left-right axis (through overhead, 3.5 turns), then
    # held still: the twist correction keeps |gyro| = omega and then relaxes to the pose-defined frame
    omega, spin_s, rest_s = np.pi, 7.3, 12.0
    n = int((spin_s + rest_s) * FPS)
    t = np.arange(n) / FPS
    a = omega * np.minimum(t, spin_s)
    pose = static(n)
    for side in ("R", "L"):
        upper = np.stack([np.zeros(n), -np.cos(a), np.sin(a)], axis=-1)
        set_arm(pose, side, upper, upper)
    acc, gyro = simulate(pose, FPS, ["RShoulder", "RWrist", "LElbow"])
    spinning = slice(int(0.5 * FPS), int((spin_s - 0.5) * FPS))
    np.testing.assert_allclose(norms(gyro[spinning]), omega, rtol=0.02)
    frames = segment_frames(pose[-1:])[0]
    resting = frames[FRAMES.index("r_upper_arm")].T @ np.array([0.0, G, 0.0])  # what the pose-defined frame reads
    np.testing.assert_allclose(acc[-1, 0], resting, atol=0.2)


def exercise_sequence(n: int = 1500) -> tuple[np.ndarray, float]:
    """Arm circles (windmill) and bent elbows while the body pitches standing -> face down -> standing -> on
    its back -> standing and slowly turns; returns the pose and the largest true angular speed."""
    t = np.arange(n) / FPS
    pose = static(n)
    f_arm, yaw_rate = 0.6, 0.4
    for side, lateral, phase in (("R", -1.0, 0.0), ("L", 1.0, np.pi / 2)):
        a = 2 * np.pi * f_arm * t + phase
        upper = unit(np.stack([np.full(n, 0.35 * lateral), -np.cos(a), np.sin(a)], axis=-1))
        bend = 0.6 + 0.5 * np.sin(0.5 * a)  # elbow flexion changing along the circle
        normal = unit(np.cross(upper, [1.0, 0.0, 0.0]))  # the elbow flexes forward when the arm hangs
        set_arm(pose, side, upper, np.cos(bend)[:, None] * upper + np.sin(bend)[:, None] * normal)
    # the legs do squat-like knee bends
    knee = 0.8 * (1 - np.cos(2 * np.pi * 0.3 * t))
    for side in ("R", "L"):
        thigh = unit(np.stack([np.zeros(n), -np.cos(0.5 * knee), np.sin(0.5 * knee)], axis=-1))
        shin = unit(np.stack([np.zeros(n), -np.cos(0.5 * knee), -np.sin(0.5 * knee)], axis=-1))
        pose[:, J[side + "Knee"]] = pose[:, J[side + "Hip"]] + 0.43 * thigh
        pose[:, J[side + "Foot"]] = pose[:, J[side + "Knee"]] + 0.44 * shin
    pitch = (np.pi / 2) * np.sin(2 * np.pi * t / t[-1])
    rot = rotation([0, 1, 0], yaw_rate * t) @ rotation([1, 0, 0], pitch)
    body_rate = yaw_rate + (np.pi / 2) * 2 * np.pi / t[-1]
    limb_rate = 2 * np.pi * f_arm * 1.3 + 2 * np.pi * 0.3 * 0.8
    return rotate_about(pose, rot, [0, 0.95, 0]), body_rate + limb_rate


def test_no_gyro_spikes_through_arm_circles_and_lying_down():
    pose, max_rate = exercise_sequence()
    acc, gyro = simulate(pose, FPS)
    assert np.isfinite(acc).all() and np.isfinite(gyro).all()
    speed = norms(gyro)
    # a frame flip would read about pi / (2 dt) = 78 rad/s for a sample; a frame defined by the pose alone
    # would spin about the bones and read up to 2.6x the true rate here
    assert speed.max() < 1.1 * max_rate
    step = np.abs(np.diff(gyro, axis=0)).max()
    assert step < 0.5, f"gyro jumps by {step:.2f} rad/s between samples"
    assert np.abs(np.diff(norms(acc), axis=0)).max() < 2.0


def test_jumping_jacks_and_overhead_press_are_continuous():
    n = 600
    t = np.arange(n) / FPS
    pose = static(n)
    lift = np.radians(170) * 0.5 * (1 - np.cos(2 * np.pi * 1.0 * t))  # arms from the sides to overhead
    press = np.radians(80) * 0.5 * (1 - np.cos(2 * np.pi * 0.5 * t))
    for side, lateral in (("R", -1.0), ("L", 1.0)):
        upper = np.stack([lateral * np.sin(lift), -np.cos(lift), np.full(n, 0.1)], axis=-1)
        fore = np.stack([lateral * np.sin(lift - press), -np.cos(lift - press), np.full(n, 0.15)], axis=-1)
        set_arm(pose, side, unit(upper), unit(fore))
    _, gyro = simulate(pose, FPS)
    peak = np.pi * np.radians(170) + np.pi * np.radians(80) / 2  # largest true angular speed, rad/s
    assert norms(gyro).max() < 1.3 * peak
    # the true angular acceleration peaks near 60 rad/s², about 1.2 rad/s per sample; a flip reads tens
    assert np.abs(np.diff(gyro, axis=0)).max() < 2.0


def test_subset_of_sites_matches_full_set_columns():
    pose, _ = exercise_sequence(300)
    acc, gyro = simulate(pose, FPS)
    sites = ["RWrist", "Head", "LKnee", "Spine"]
    acc_s, gyro_s = simulate(pose, FPS, sites)
    cols = [IMU_SITES.index(s) for s in sites]
    np.testing.assert_allclose(acc_s, acc[:, cols], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gyro_s, gyro[:, cols], rtol=1e-5, atol=1e-5)


def test_far_from_the_origin_and_float32_input_give_the_same_readings():
    pose, _ = exercise_sequence(300)
    acc, gyro = simulate(pose, FPS)
    acc_far, gyro_far = simulate((pose + [1000.0, 3.0, -500.0]).astype(np.float32), FPS)
    np.testing.assert_allclose(acc_far, acc, atol=0.02)
    np.testing.assert_allclose(gyro_far, gyro, atol=0.02)


def test_short_gap_is_interpolated():
    pose, _ = exercise_sequence(300)
    ref_acc, ref_gyro = simulate(pose, FPS)
    holed = pose.copy()
    holed[100:110, [J["RWrist"], J["Head"]]] = np.nan  # 0.2 s
    holed[200:205] = np.nan  # every joint, 0.1 s
    holed[:3, J["LFoot"]] = np.nan  # at the start
    acc, gyro = simulate(holed, FPS, max_gap_s=0.5)
    assert np.isfinite(acc).all() and np.isfinite(gyro).all()
    # away from the gaps the positions are untouched, so |acc| is too (the twist history may differ a little)
    far = np.r_[20:80, 130:180, 230:280]
    np.testing.assert_allclose(norms(acc[far]), norms(ref_acc[far]), atol=1e-3)
    np.testing.assert_allclose(norms(gyro[far]), norms(ref_gyro[far]), atol=0.2)


def test_joint_missing_everywhere_gives_nan_output():
    pose = static(100)
    pose[:, J["Head"]] = np.nan
    acc, gyro = simulate(pose, FPS)
    assert np.isnan(acc).all() and np.isnan(gyro).all()


def test_long_gap_comes_out_nan():
    pose, _ = exercise_sequence(300)
    holed = pose.copy()
    holed[100:160, J["LElbow"]] = np.nan  # 1.2 s
    acc, gyro = simulate(holed, FPS, max_gap_s=0.5)
    assert np.isnan(acc[100:160]).all() and np.isnan(gyro[100:160]).all()
    assert np.isfinite(acc[:80]).all() and np.isfinite(acc[180:]).all()
    assert np.isfinite(gyro[:80]).all() and np.isfinite(gyro[180:]).all()


def test_other_frame_rates_and_short_clips():
    omega = 1.0
    for fps in (25.0, 30.0, 100.0):
        t = np.arange(int(4 * fps)) / fps
        pose = rotate_about(static(len(t)), rotation([0, 1, 0], omega * t), [0, 0, 0])
        _, gyro = simulate(pose, fps)
        np.testing.assert_allclose(norms(gyro)[3:-3], omega, rtol=0.02)
    acc, gyro = simulate(static(5), FPS)  # the shortest clip allowed
    np.testing.assert_allclose(norms(acc), G, atol=0.05)
    acc, _ = simulate(static(20), FPS, "RWrist")  # one site given as a bare name
    assert acc.shape == (20, 1, 3)


@pytest.mark.parametrize("pose, sites, match", [
    (np.zeros((50, 16, 3)), None, "shape"),
    (np.zeros((50, 17, 2)), None, "shape"),
    (np.zeros((17, 3)), None, "shape"),
    (np.zeros((50, 17, 3), dtype=int), None, "float"),
    (static(50), ["RWrist", "Tail"], "unknown IMU site"),
    (static(50), ["Hip"], "unknown IMU site"),
    (static(50), ["RWrist", "RWrist"], "duplicate"),
    (static(50), [], "non-empty"),
    (static(4), None, "at least"),
])
def test_bad_input_raises_clear_error(pose, sites, match):
    with pytest.raises(ValueError, match=match):
        simulate(pose, FPS, sites)


@pytest.mark.parametrize("kwargs", [{"fps": 0.0}, {"fps": -50.0}, {"fps": float("nan")},
                                    {"smooth_s": -1.0}, {"max_gap_s": -0.1}])
def test_bad_parameters_raise(kwargs):
    args = {"fps": FPS} | kwargs
    with pytest.raises(ValueError):
        simulate(static(50), args.pop("fps"), **args)
