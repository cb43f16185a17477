"""Building blocks shared by the exercise generators: alternating sides, jumps, planted feet, arm styles."""

from __future__ import annotations

from typing import Callable

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.motion.angles import IDX, mirror, pose
from mujo.synth.motion.body import Body, forward_kinematics, limb_ik
from mujo.synth.motion.poses import ARMS, STAND
from mujo.synth.motion.track import Ctx, Track, bump

J = JOINT_INDEX
# Joint permutation of a mirror image: each left joint takes its right counterpart's place.
MIRROR_JOINTS = np.array([J[n[0].translate(str.maketrans("LR", "RL")) + n[1:]] if n[0] in "LR" and n != "Head"
                          else i for i, n in enumerate(JOINT_INDEX)])


def alternate(c: Ctx, make: Callable[[Ctx], Track]) -> Track:
    """Run a one-sided (right) movement with each half rep done by alternating sides (odd halves mirrored)."""
    h = c.halves()
    track = make(h)
    odd = np.floor(h.phase).astype(np.int64) % 2 == 1
    track.angles[odd] = mirror(track.angles[odd])
    track.offset[odd, 0] *= -1
    if track.contact is not None:
        track.contact[odd] = track.contact[odd][:, MIRROR_JOINTS]
    return track


def sided(c: Ctx, make: Callable[[Ctx], Track]) -> Track:
    """A one-sided movement: alternating when the chapter says so, else the right-side version (the runner mirrors
    it for the left)."""
    return alternate(c, make) if c.side == "alternating" else make(c)


def flight(c: Ctx, start: float, end: float, height: float, frac: np.ndarray | None = None) -> np.ndarray:
    """(n,) parabola-like lift between two points of the rep, scaled by the rep's amplitude."""
    f = c.timing() if frac is None else frac
    u = np.clip((f - start) / (end - start), 0.0, 1.0)
    return height * 4.0 * u * (1.0 - u) * np.clip(c.amp, 0.0, None)


def arm_style(rng: np.random.Generator, choices: dict[str, float]) -> str:
    """Pick an arm placement name from {name: weight}."""
    names = list(choices)
    w = np.array([choices[k] for k in names], dtype=np.float64)
    return str(rng.choice(names, p=w / w.sum()))


def with_arms(base: np.ndarray, style: str) -> np.ndarray:
    """`base` with the arms in a named placement (poses.ARMS)."""
    return pose(base, **ARMS[style])


def stance_feet(body: Body, base: np.ndarray = STAND) -> tuple[np.ndarray, np.ndarray]:
    """Left and right ankle positions (3,) relative to the pelvis of a standing pose."""
    p = forward_kinematics(body, base[None])[0]
    return p[J["LFoot"]].copy(), p[J["RFoot"]].copy()


def feet_ik(c: Ctx, angles: np.ndarray, pelvis: np.ndarray, l_foot: np.ndarray, r_foot: np.ndarray) -> None:
    """Solve both legs in place so the ankles land on world targets, given the pelvis position (n, 3)."""
    limb_ik(c.body, angles, "l_leg", l_foot - pelvis)
    limb_ik(c.body, angles, "r_leg", r_foot - pelvis)


def swing_path(f: np.ndarray, start: np.ndarray, end: np.ndarray, lift: float, t0: float, t1: float) -> np.ndarray:
    """(n, 3) foot moving from start to end between rep times t0..t1, lifted `lift` on the way."""
    u = np.clip((f - t0) / (t1 - t0), 0.0, 1.0)
    s = u * u * (3 - 2 * u)
    out = start + s[:, None] * (end - start)
    out[:, 1] += lift * bump(f, t0, t1)
    return out


def lock_feet(c: Ctx, angles: np.ndarray, ref: int = 0, half: np.ndarray | None = None) -> None:
    """Re-solve both legs in place so the ankles keep the spacing they have at frame `ref` (in the yaw frame).

    The keyframes decide where the pelvis goes relative to the feet (their midpoint moves as the keyframes say);
    the IK only removes the sliding of one foot against the other that joint-angle interpolation leaves.
    `half` (n, 3) gives a changing half-spacing instead (left ankle minus midpoint, chapter frame).
    """
    p = forward_kinematics(c.body, angles)
    lf, rf = p[:, J["LFoot"]], p[:, J["RFoot"]]
    mid = 0.5 * (lf + rf)
    if half is not None:
        limb_ik(c.body, angles, "l_leg", mid + half)
        limb_ik(c.body, angles, "r_leg", mid - half)
        return
    half = 0.5 * (lf[ref] - rf[ref])
    yaw = angles[:, IDX["root_yaw"]] - angles[ref, IDX["root_yaw"]]
    cy, sy = np.cos(yaw), np.sin(yaw)
    half_t = np.stack([cy * half[0] + sy * half[2], np.full_like(yaw, half[1]), -sy * half[0] + cy * half[2]], 1)
    limb_ik(c.body, angles, "l_leg", mid + half_t)
    limb_ik(c.body, angles, "r_leg", mid - half_t)
