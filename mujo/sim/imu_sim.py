"""Virtual IMU: accelerometer and gyroscope readings of sensors fixed to the body segments of a 17-joint pose."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.ndimage import correlate1d
from scipy.signal import savgol_coeffs

from mujo.fimad.skeleton import IMU_SITES, JOINT_INDEX, N_JOINTS, SITE_SEGMENT, check_pose, site_indices
from mujo.sim.rotations import (
    angular_velocity,
    apply_transpose,
    cross,
    dot,
    frame_from_axes,
    matvec,
    normalize,
    swing,
    swing_apply,
    wrapped_leaky_sum,
)

SENSOR_FRAME_DOC = (
    "Virtual IMU (mujo.sim.imu_sim): acc = R^T (p'' - g) in m/s^2 with g = (0, -9.81, 0) in the +y-up world "
    "(a sensor at rest reads +9.81 along world-up); gyro = angular velocity of R in the sensor frame, rad/s, "
    "from centred differences of R(t-1)^T R(t+1). p is the site joint's position, R the orientation of the "
    "segment named by SITE_SEGMENT, both from joint positions smoothed by a Savitzky-Golay filter (order 3, "
    "window smooth_s seconds) that also gives p''. Sensor axes, right-handed: x = the person's left, y = up, "
    "z = forward when the person stands upright with every bone in its standing direction (limbs straight "
    "down, Thorax->Neck and Neck->Head straight up). Pelvis frame: x "
    "along RHip->LHip, y = Hip->Spine made orthogonal to x, z = x cross y. Spine site (segment "
    "Spine->Thorax): y along Spine->Thorax, x = RShoulder->LShoulder made orthogonal to y. Every other "
    "segment's frame is its parent's frame turned by the minimal rotation taking the segment's standing "
    "direction to the current bone direction by way of a fixed rest direction (R = R_parent S(rest -> bone) "
    "S(standing -> rest), directions in the parent frame's x, y, z). So y runs along the bone (limbs: from the "
    "distal joint toward the proximal one; Thorax->Neck and Neck->Head: toward the child). The twist about "
    "the bone, which positions cannot show, is then corrected over time: the segment does not spin about its "
    "bone relative to its parent (minimal rotation, as in rigid limb swings and arm circles), and the "
    "correction relaxes, modulo a full turn, toward that pose-defined frame with a time constant of "
    "TWIST_RELAX_S = 2 s (the pose-defined frame holds at the clip start and a few seconds into any rest). "
    "Segment <- parent: rest, standing direction: "
    "thigh <- pelvis: (0, -1, 1), down; shin <- thigh: (0, -0.5, -0.87) (knee flexed 60 deg), down; upper "
    "arm <- spine frame: (+-0.7, -0.2, 0.7) (lateral-forward; + for the left arm), down; forearm <- upper "
    "arm: (0, -0.5, 0.87) (elbow flexed 60 deg), down; Thorax->Neck <- spine frame: (0, 1, 0.3), up; "
    "Neck->Head <- Thorax->Neck: up, up. Each rest direction's opposite is anatomically unreachable, so the "
    "frames never flip. Sites sharing a segment share its frame: RHip/LHip thigh, RKnee/RFoot and "
    "LKnee/LFoot shin, Spine spine frame, Thorax Thorax->Neck, Neck and Head Neck->Head, "
    "RShoulder/LShoulder upper arm, RElbow/RWrist and LElbow/LWrist forearm."
)

GRAVITY = np.array([0.0, -9.81, 0.0])
# Best against real wrist IMUs on noisy Kinect skeletons (benchmarks/bench_imu_vs_real.py: 0.3 s and 0.5 s do
# worse). It low-passes like a video-based pipeline: dynamic acceleration keeps 97 % of its amplitude at 0.5 Hz,
# 88 % at 1 Hz, 59 % at 2 Hz (orientations: 99 %, 99 %, 87 %); pass a smaller smooth_s for clean poses.
DEFAULT_SMOOTH_S = 0.4
POLYORDER = 3
MIN_FRAMES = POLYORDER + 2  # the shortest Savitzky-Golay window that still smooths
# Twist about a bone is invisible in positions. Each segment's twist follows the bone's minimal rotation
# relative to its parent (no spin about the bone, as in the rigid limb rotations of exercises; a frame defined
# by the pose alone spins about the bone when the bone is far from its rest direction: up to 2.7x the true
# rate in arm circles) and relaxes, modulo a full turn, toward the pose-defined swing frame with this time
# constant, so it cannot drift.
TWIST_RELAX_S = 2.0

_J = JOINT_INDEX
_DOWN, _UP = (0.0, -1.0, 0.0), (0.0, 1.0, 0.0)

# Swing-defined segments: (name, parent frame, from joint, to joint, rest direction, standing direction), the
# directions in the parent frame's (x = left, y = up, z = forward) axes. Parents come before their children.
_SWING_SEGMENTS: tuple[tuple[str, str, str, str, tuple[float, ...], tuple[float, ...]], ...] = (
    ("r_thigh", "pelvis", "RHip", "RKnee", (0.0, -1.0, 1.0), _DOWN),
    ("l_thigh", "pelvis", "LHip", "LKnee", (0.0, -1.0, 1.0), _DOWN),
    ("r_upper_arm", "spine", "RShoulder", "RElbow", (-0.7, -0.2, 0.7), _DOWN),
    ("l_upper_arm", "spine", "LShoulder", "LElbow", (0.7, -0.2, 0.7), _DOWN),
    ("neck", "spine", "Thorax", "Neck", (0.0, 1.0, 0.3), _UP),
    ("r_shin", "r_thigh", "RKnee", "RFoot", (0.0, -0.5, -0.866), _DOWN),
    ("l_shin", "l_thigh", "LKnee", "LFoot", (0.0, -0.5, -0.866), _DOWN),
    ("r_forearm", "r_upper_arm", "RElbow", "RWrist", (0.0, -0.5, 0.866), _DOWN),
    ("l_forearm", "l_upper_arm", "LElbow", "LWrist", (0.0, -0.5, 0.866), _DOWN),
    ("head", "neck", "Neck", "Head", _UP, _UP),
)
# Frame order in the (T, F, 3, 3) array: the two directly computed frames, then the swing segments.
FRAMES: tuple[str, ...] = ("pelvis", "spine") + tuple(s[0] for s in _SWING_SEGMENTS)
_FRAME_INDEX = {name: i for i, name in enumerate(FRAMES)}
_SEGMENT_FRAME = {("Spine", "Thorax"): "spine"} | {(s[2], s[3]): s[0] for s in _SWING_SEGMENTS}
SITE_FRAME: dict[str, str] = {site: _SEGMENT_FRAME[seg] for site, seg in SITE_SEGMENT.items()}


def _swing_levels() -> list[dict[str, np.ndarray]]:
    """Group the swing segments by depth so each depth is one batched computation over (K, T)."""
    depth = {"pelvis": 0, "spine": 0}
    levels: dict[int, list] = {}
    for name, parent, a, b, rest, stand in _SWING_SEGMENTS:
        depth[name] = depth[parent] + 1
        levels.setdefault(depth[name], []).append((name, parent, a, b, rest, stand))
    out = []
    for _, segs in sorted(levels.items()):
        rest = normalize(np.array([s[4] for s in segs], float).T)  # (3, K)
        stand = np.array([s[5] for s in segs], float).T  # (3, K), each (0, +-1, 0)
        out.append({
            "child": np.array([_FRAME_INDEX[s[0]] for s in segs]),
            "parent": np.array([_FRAME_INDEX[s[1]] for s in segs]),
            "from": np.array([_J[s[2]] for s in segs]),
            "to": np.array([_J[s[3]] for s in segs]),
            "rest": rest[:, :, None].astype(np.float32),  # (3, K, 1): broadcast over time
            # the sensor's y axis runs along the bone: -bone for limbs (standing direction down), +bone else
            "y_sign": stand[1][:, None].astype(np.float32),  # (K, 1)
            # the sensor's x axis at the rest direction: the parent's x carried from the standing direction
            # to the rest direction by the minimal rotation, so the sensor frame equals the parent's frame
            # whenever the bone points in its standing direction
            "x_rest": (swing(stand, rest)[:, 0])[:, :, None].astype(np.float32),  # (3, K, 1)
        })
    return out


_LEVELS = _swing_levels()


def _frames(p: np.ndarray, leak: float | None = None) -> np.ndarray:
    """Segment frames (3, 3, F, T) from finite joint positions laid out (3, 17, T).

    A swing segment's frame is R_parent S Q Rot_y(psi): S the swing from the rest direction to the bone (in
    the parent frame), Q the constant swing from the standing direction to the rest direction, psi the twist
    about the bone (see TWIST_RELAX_S; leak = dt / TWIST_RELAX_S, None for no twist: pose-defined frames).
    Its y column is +-bone by construction, so only x is computed and z = x × y.
    """
    frames = np.empty((3, 3, len(FRAMES), p.shape[-1]), p.dtype)
    frames[:, :, 0] = frame_from_axes(p[:, _J["LHip"]] - p[:, _J["RHip"]],
                                      p[:, _J["Spine"]] - p[:, _J["Hip"]], "xy")
    frames[:, :, 1] = frame_from_axes(p[:, _J["Thorax"]] - p[:, _J["Spine"]],
                                      p[:, _J["LShoulder"]] - p[:, _J["RShoulder"]], "yx")
    for lv in _LEVELS:
        parent = frames[:, :, lv["parent"]]  # (3, 3, K, T)
        bone = normalize(p[:, lv["to"]] - p[:, lv["from"]])  # (3, K, T) world
        local = apply_transpose(parent, bone)  # the bone in the parent frame
        x = matvec(parent, swing_apply(lv["rest"], local, lv["x_rest"]))
        y = bone * lv["y_sign"]
        if leak is not None:
            step = np.empty_like(local)  # the bone's change per sample in the parent frame, centred
            step[..., 1:-1] = 0.5 * (local[..., 2:] - local[..., :-2])
            step[..., 0] = local[..., 1] - local[..., 0]
            step[..., -1] = local[..., -1] - local[..., -2]
            # the swing frame turns about the bone by -rest·(b × Δb) / (1 + rest·b) per sample; psi undoes
            # that turn, leaking back toward the swing frame (modulo a full turn: a frame turned by 2π is the
            # same frame, so winding round, as in arm circles, is not pulled back)
            undo = dot(lv["rest"], cross(local, step)) / np.maximum(1.0 + dot(lv["rest"], local), 1e-6)
            psi = wrapped_leaky_sum(undo, leak).astype(p.dtype)
            x = np.cos(psi) * x + np.sin(psi) * cross(bone, x)  # x turned about the bone (x ⟂ bone)
        child = lv["child"]
        frames[:, 0, child] = x
        frames[:, 1, child] = y
        frames[:, 2, child] = cross(x, y)
    return frames


def segment_frames(pose: np.ndarray) -> np.ndarray:
    """The pose-defined segment frames (order: FRAMES, no twist history) from finite joint positions.

    Args:
        pose: (T, 17, 3) joint positions, finite (smooth them first: no smoothing happens here).

    Returns:
        (T, len(FRAMES), 3, 3) rotation matrices, columns = the frame's x, y, z axes in world coordinates.
    """
    return _frames(np.asarray(pose, float).transpose(2, 1, 0)).transpose(3, 2, 0, 1)


def _fill_gaps(pose: np.ndarray, fps: float, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate NaN gaps per joint (constant at the clip ends); flag frames inside long gaps.

    Returns:
        (T, 17, 3) finite positions and a (T,) bool mask of frames inside a gap longer than max_gap_s.
    """
    t = pose.shape[0]
    if np.isfinite(pose).all():
        return pose, np.zeros(t, bool)
    valid = np.isfinite(pose).all(axis=2)  # (T, 17)
    ar = np.arange(t)[:, None]
    prev = np.maximum.accumulate(np.where(valid, ar, -1), axis=0)  # last valid frame at or before t
    nxt = np.minimum.accumulate(np.where(valid, ar, t)[::-1], axis=0)[::-1]  # first valid at or after t
    never = ~valid.any(axis=0)  # joints missing in every frame
    # gap length in frames, counting a gap at a clip end up to the end
    gap = np.where(valid, 0, np.minimum(nxt, t) - np.maximum(prev, -1) - 1)
    long_gap = (gap > max_gap_s * fps).any(axis=1) | never.any()
    p0 = np.clip(np.where(prev < 0, nxt, prev), 0, t - 1)
    p1 = np.clip(np.where(nxt >= t, prev, nxt), 0, t - 1)
    w = np.where(p1 > p0, (ar - p0) / np.maximum(p1 - p0, 1), 0.0)[..., None]  # (T, 17, 1)
    j = np.arange(N_JOINTS)
    filled = (1.0 - w) * pose[p0, j] + w * pose[p1, j]
    filled[:, never] = 0.0
    return filled, long_gap


def smoothing_window(smooth_s: float, fps: float, n_frames: int) -> int:
    """The odd Savitzky-Golay window (samples) for a smoothing span in seconds, clipped to the clip length."""
    w = max(int(round(smooth_s * fps)), MIN_FRAMES)
    w += 1 - w % 2
    return min(w, n_frames - 1 + n_frames % 2)


@lru_cache(maxsize=64)
def _savgol_kernels(window: int, deriv: int, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre kernel and the (window // 2, window) first-edge matrix of a Savitzky-Golay filter."""
    half = window // 2
    centre = savgol_coeffs(window, POLYORDER, deriv, delta)  # for correlate1d
    # the polynomial fitted to the first `window` samples, evaluated (or differentiated) at each of the first
    # `half` samples: scipy's mode="interp", precomputed once instead of a least-squares fit per call
    edge = np.array([savgol_coeffs(window, POLYORDER, deriv, delta, pos=i, use="dot") for i in range(half)])
    return centre, edge


def _savgol(x: np.ndarray, window: int, deriv: int, fps: float) -> np.ndarray:
    """Savitzky-Golay filter (order 3, scipy's mode "interp") along the last axis."""
    centre, edge = (k.astype(x.dtype) for k in _savgol_kernels(window, deriv, 1.0 / fps))
    half = window // 2
    y = correlate1d(x, centre, axis=-1, mode="nearest")
    y[..., :half] = x[..., :window] @ edge.T
    # the end edge is the start edge of the time-reversed signal; odd derivatives change sign
    y[..., -half:] = (-1) ** deriv * (x[..., ::-1][..., :window] @ edge.T)[..., ::-1]
    return y


def simulate(
    pose: np.ndarray,
    fps: float,
    sites: Sequence[str] | None = None,
    *,
    smooth_s: float = DEFAULT_SMOOTH_S,
    max_gap_s: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Virtual accelerometer and gyroscope of sensors on the given sites (axes: SENSOR_FRAME_DOC).

    Args:
        pose: (T, 17, 3) float joint positions in metres, +y up; NaN marks a missing joint.
        fps: sample rate of the pose (and of the output), Hz.
        sites: IMU sites in the order wanted (default all 16 of IMU_SITES).
        smooth_s: Savitzky-Golay window in seconds (order 3) applied before differentiating.
        max_gap_s: NaN gaps up to this long are interpolated linearly; samples inside longer gaps, and those
            within half a smoothing window of one, come out NaN.

    Returns:
        acc (T, S, 3) in m/s² (gravity included) and gyro (T, S, 3) in rad/s, float32, in the sensor frames.
    """
    arr = check_pose(pose)
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not (np.isfinite(smooth_s) and smooth_s >= 0 and np.isfinite(max_gap_s) and max_gap_s >= 0):
        raise ValueError(f"smooth_s and max_gap_s must be >= 0, got {smooth_s!r} and {max_gap_s!r}")
    t = arr.shape[0]
    if t < MIN_FRAMES:
        raise ValueError(f"pose has {t} frames; the virtual IMU needs at least {MIN_FRAMES}")
    names = tuple(IMU_SITES) if sites is None else (sites,) if isinstance(sites, str) else tuple(sites)
    joints = site_indices(names)
    fps = float(fps)

    pos, long_gap = _fill_gaps(arr.astype(np.float64), fps, max_gap_s)
    window = smoothing_window(smooth_s, fps, t)
    # float32 from here on (about twice as fast; errors ~1e-4 m/s², ~1e-5 rad/s): positions are centred on
    # the first frame's Hip so that float32 stays exact enough for clips far from the origin
    p = np.empty((3, N_JOINTS, t), np.float32)  # components first, time last
    p[...] = (pos - pos[0, 0]).transpose(2, 1, 0)
    smooth = _savgol(p, window, 0, fps)
    accel = _savgol(p[:, joints], window, 2, fps) - GRAVITY[:, None, None].astype(np.float32)  # (3, S, T)

    frame_of = [_FRAME_INDEX[SITE_FRAME[s]] for s in names]
    used, inverse = np.unique(frame_of, return_inverse=True)
    rot = _frames(smooth, 1.0 / (TWIST_RELAX_S * fps))[:, :, used]  # (3, 3, U, T)
    gyro = np.ascontiguousarray(angular_velocity(rot, fps)[:, inverse].transpose(2, 1, 0))  # (T, S, 3)
    acc = np.ascontiguousarray(apply_transpose(rot[:, :, inverse], accel).transpose(2, 1, 0))  # R^T (p'' - g)
    if long_gap.any():
        # samples whose smoothing window reaches into a long gap see its straight-line fill: unreliable
        bad = np.convolve(long_gap.astype(float), np.ones(window), mode="same") > 0
        acc[bad] = np.nan
        gyro[bad] = np.nan
    return acc, gyro
