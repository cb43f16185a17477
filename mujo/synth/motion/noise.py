"""What a video pose estimator does to a clean pose: correlated jitter, depth noise, glitches, dropped frames."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from mujo.fimad.skeleton import JOINT_INDEX, N_JOINTS, check_pose

J = JOINT_INDEX
# Estimators are worse at the ends of the limbs and the head than at the trunk.
JOINT_SCALE = np.ones(N_JOINTS)
JOINT_SCALE[[J["Hip"], J["Spine"], J["Thorax"], J["LHip"], J["RHip"]]] = 0.8
JOINT_SCALE[[J["LKnee"], J["RKnee"], J["LElbow"], J["RElbow"], J["Neck"]]] = 1.2
JOINT_SCALE[[J["LWrist"], J["RWrist"], J["LFoot"], J["RFoot"], J["Head"]]] = 1.6
_DISTAL = [J[n] for n in ("LWrist", "RWrist", "LElbow", "RElbow", "LFoot", "RFoot", "LKnee", "RKnee", "Head")]
_SWAP_PAIRS = [([J["LWrist"], J["LElbow"]], [J["RWrist"], J["RElbow"]]),
               ([J["LFoot"], J["LKnee"]], [J["RFoot"], J["RKnee"]])]


def _ou(rng: np.random.Generator, shape: tuple[int, ...], fps: float, tau_s: float) -> np.ndarray:
    """Unit-variance Ornstein-Uhlenbeck noise along axis 0 (correlation time tau_s)."""
    a = float(np.exp(-1.0 / (tau_s * fps)))
    e = rng.normal(0.0, np.sqrt(1 - a * a), shape)
    e[0] /= np.sqrt(1 - a * a)  # start in the stationary distribution
    return lfilter([1.0], [1.0, -a], e, axis=0)


def estimator_noise(pose: np.ndarray, rng: np.random.Generator, fps: float, *, jitter_m: float = 0.01,
                    dropout_rate: float = 0.004, glitch_per_min: float = 3.0, depth_axis: int = 2) -> np.ndarray:
    """A noisy float32 copy of a clean pose, as a monocular 3D pose estimator would output it.

    - jitter: temporally correlated (~0.15 s) noise of about `jitter_m` per axis, larger at wrists, feet and head;
      plus a slow wander of the whole skeleton (~0.7 jitter_m, ~2 s).
    - depth: extra per-frame noise along the camera's depth axis (`depth_axis`, default z: the camera looks along
      it), for the whole skeleton and per joint: depth is what monocular lifting gets worst.
    - glitches: about `glitch_per_min` per minute: for 1-6 frames a distal joint jumps by 5-25 cm, or the left
      and right arm (or leg) swap.
    - dropouts: about `dropout_rate` of all frames become NaN (whole frames), in gaps that are mostly short
      (<= 0.3 s) and rarely long (1-3 s).

    Args:
        pose: (T, 17, 3) clean positions in metres.
        rng: the only source of randomness.
        fps: frames per second.
        jitter_m: typical jitter in metres.
        dropout_rate: expected fraction of frames dropped.
        glitch_per_min: expected glitches per minute.
        depth_axis: world axis (0, 1, 2) along which the camera looks.

    Returns:
        (T, 17, 3) float32.
    """
    pose = check_pose(pose)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    n = len(pose)
    out = np.array(pose, dtype=np.float64)
    if n == 0:
        return out.astype(np.float32)
    jit = _ou(rng, (n, N_JOINTS, 3), fps, 0.15) * (jitter_m * JOINT_SCALE)[None, :, None]
    jit += _ou(rng, (n, 1, 3), fps, 2.0) * 0.7 * jitter_m
    jit[:, :, depth_axis] += rng.normal(0.0, 0.8 * jitter_m, (n, 1)) + rng.normal(0.0, 0.5 * jitter_m, (n, N_JOINTS))
    out += jit
    _glitches(out, rng, fps, glitch_per_min)
    _dropouts(out, rng, fps, dropout_rate)
    return out.astype(np.float32)


def _glitches(out: np.ndarray, rng: np.random.Generator, fps: float, per_min: float) -> None:
    n = len(out)
    for _ in range(rng.poisson(per_min * n / fps / 60.0)):
        length = int(rng.integers(1, 7))
        s = int(rng.integers(0, max(n - length, 1)))
        e = min(s + length, n)
        if rng.uniform() < 0.25:  # left/right confusion of one limb pair
            left, right = _SWAP_PAIRS[int(rng.integers(0, len(_SWAP_PAIRS)))]
            out[s:e, left + right] = out[s:e, right + left]
        else:
            j = _DISTAL[int(rng.integers(0, len(_DISTAL)))]
            d = rng.normal(0.0, 1.0, 3)
            d *= rng.uniform(0.05, 0.25) / max(np.linalg.norm(d), 1e-9)
            w = np.sin(np.pi * (np.arange(e - s) + 0.5) / (e - s))[:, None]
            out[s:e, j] += w * d


def _dropouts(out: np.ndarray, rng: np.random.Generator, fps: float, rate: float) -> None:
    n = len(out)
    if rate <= 0:
        return
    short_mean, p_long = 0.08 * fps, 0.08
    mean_len = (1 - p_long) * short_mean + p_long * 2.0 * fps
    for _ in range(rng.poisson(rate * n / mean_len)):
        if rng.uniform() < p_long:
            length = int(rng.uniform(1.0, 3.0) * fps)
        else:
            length = int(min(rng.geometric(1.0 / max(short_mean, 1.0)), 0.3 * fps))
        s = int(rng.integers(0, max(n - length, 1)))
        out[s:s + max(length, 1)] = np.nan
