"""Pose as the encoders take it: each window centred on its hip and turned to face +x (the bank and the targets)."""

from __future__ import annotations

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX

_ROOT, _RHIP, _LHIP = JOINT_INDEX["Hip"], JOINT_INDEX["RHip"], JOINT_INDEX["LHip"]


def normalize_pose(x: np.ndarray) -> np.ndarray:
    """Centre and face windows of poses, in place.

    Subtracts each window's mean root (Hip) position, then rotates about +y so that the window's mean hip line
    LHip -> RHip points along +x: the result does not depend on where the person stands or which way they face.

    Args:
        x: (B, T, 17, 3) float32 metres, +y up.
    Returns:
        x, changed in place.
    """
    b, t = x.shape[:2]
    if x.size == 0:
        return x
    # means over time as a matrix product (numpy reduces a middle axis slowly), then per-coordinate strided
    # arithmetic: broadcasting over the trailing axis of 3 is several times slower
    mean = (np.ones((1, t), np.float32) @ x.reshape(b, t, -1)).reshape(b, -1, 3) / t  # (B, 17, 3)
    root, hip = mean[:, _ROOT], mean[:, _RHIP] - mean[:, _LHIP]  # (B, 3)
    r = np.hypot(hip[:, 0], hip[:, 2])
    ok = r > 1e-9
    c = np.where(ok, hip[:, 0] / np.where(ok, r, 1), 1).astype(np.float32)[:, None]  # (B, 1) cos, sin of the
    s = np.where(ok, hip[:, 2] / np.where(ok, r, 1), 0).astype(np.float32)[:, None]  # hip angle about +y
    y = x.reshape(b, -1, 3)
    px, pz = y[:, :, 0].copy(), y[:, :, 2]
    # rotate(p - root) = rotate(p) - rotate(root): (c x + s z, y, c z - s x)
    ox = c * root[:, 0:1] + s * root[:, 2:3]
    oz = c * root[:, 2:3] - s * root[:, 0:1]
    y[:, :, 0] = c * px + s * pz - ox
    y[:, :, 2] = c * pz - s * px - oz
    y[:, :, 1] -= root[:, 1:2]
    return x
