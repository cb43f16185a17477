"""Place a joint-angle motion in the world: lowest joint on the floor, planted contacts fixed, drift pulled home."""

from __future__ import annotations

import numpy as np

from mujo.synth.motion.body import Body, forward_kinematics

CONTACT_M = 0.015     # joints within a few of these of the lowest joint share the weight of being planted
HOME_PULL_S = 10.0    # time constant that slowly pulls an in-place chapter back toward its spot (hides drift)
HOME_RADIUS_M = 0.6   # ... but only once it has drifted this far: closer than that nothing slides


def place(body: Body, angles: np.ndarray, fps: float, offset: np.ndarray | None = None,
          flight: np.ndarray | None = None, travel: np.ndarray | None = None,
          contact: np.ndarray | None = None) -> np.ndarray:
    """World joint positions of a motion.

    The root height puts the lowest joint on the floor (y = 0) plus any flight. The root's horizontal motion is
    solved so that the joints touching the floor do not slide: each frame the root moves against the weighted
    velocity of the contacts (weights fall off with height above the lowest joint), so a stance foot stays put,
    a jump lands where it took off, and walking moves the body forward. Deliberate travel (`offset`) is added,
    and where `travel` is False the position relaxes slowly toward the start to cancel accumulated drift.

    Args:
        body: segment lengths.
        angles: (T, D) radians, root yaw absolute.
        fps: frames per second.
        offset: (T, 3) deliberate root displacement in world axes (only its change matters).
        flight: (T,) metres above the floor.
        travel: (T,) bool (or one bool for all frames): frames that may wander away from the start.
        contact: (T, 17) planted-joint weights; rows that are not all zero replace the lowest-joint weights.

    Returns:
        (T, 17, 3) float64 positions, +y up, lowest joint at y >= 0.
    """
    n = len(angles)
    p = forward_kinematics(body, angles)  # (T, 17, 3), root at the origin
    y = p[:, :, 1]
    low = y.min(axis=1)
    w = np.exp(-(y - low[:, None]) / CONTACT_M)
    w /= w.sum(axis=1, keepdims=True)
    if contact is not None:
        given = contact.sum(axis=1) > 0
        w[given] = contact[given] / contact[given].sum(axis=1, keepdims=True)
    vel = np.diff(p[:, :, [0, 2]], axis=0)  # (T-1, 17, 2)
    wm = 0.5 * (w[:-1] + w[1:])
    step = -(wm[:, :, None] * vel).sum(axis=1)  # (T-1, 2): root moves against the planted joints
    if offset is not None:
        step += np.diff(np.asarray(offset)[:, [0, 2]], axis=0)
    free = np.broadcast_to(np.asarray(False if travel is None else travel, dtype=bool), (n,))
    root_xz = _integrate_with_pull(step, free[1:], fps)
    root = np.zeros((n, 3))
    root[:, 0], root[:, 2] = root_xz[:, 0], root_xz[:, 1]
    root[:, 1] = -low + (0.0 if flight is None else np.asarray(flight))
    return p + root[:, None, :]


def _integrate_with_pull(step: np.ndarray, free: np.ndarray, fps: float) -> np.ndarray:
    """Cumulative sum of root steps (T-1, 2) from 0, where in-place frames beyond HOME_RADIUS_M of the start are
    pulled back at a rate proportional to the excess (time constant HOME_PULL_S). Inside the radius nothing slides.

    The nonlinear pull is evaluated per block of ~0.2 s (a short Python loop) and spread over the block's frames.
    """
    n = len(step)
    out = np.zeros((n + 1, 2))
    if n == 0:
        return out
    block = max(int(round(fps / 5)), 1)
    nb = -(-n // block)
    pad = nb * block - n
    s = np.pad(step, ((0, pad), (0, 0))).reshape(nb, block, 2).sum(axis=1)
    fb = np.pad(free, (0, pad), constant_values=True).reshape(nb, block).all(axis=1)
    gain = block / (HOME_PULL_S * fps)
    corr = np.zeros((nb, 2))
    pos = np.zeros(2)
    for b in range(nb):
        pos += s[b]
        if not fb[b]:
            r = float(np.hypot(pos[0], pos[1]))
            if r > HOME_RADIUS_M:
                corr[b] = pos / r * (r - HOME_RADIUS_M) * gain
                pos -= corr[b]
    step = step - np.repeat(corr / block, block, axis=0)[:n]
    out[1:] = np.cumsum(step, axis=0)
    return out
