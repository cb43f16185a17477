"""Secondary motion layered on every chapter: breathing, postural sway, talking gestures, weight shifts, gait."""

from __future__ import annotations

import numpy as np

from mujo.synth.motion.angles import IDX, LEFT_COLS, N_DOFS, RIGHT_COLS, pose
from mujo.synth.motion.track import Ctx, bump, smoothstep

_ARM_COLS = {
    "l": [IDX[c] for c in ("l_clav", "l_sh_flex", "l_sh_abd", "l_sh_rot", "l_elbow")],
    "r": [IDX[c] for c in ("r_clav", "r_sh_flex", "r_sh_abd", "r_sh_rot", "r_elbow")],
}
# Where hands go when a trainer talks: forearms forward, hands at belly/chest height.
_GESTURE = pose(both_sh_flex=28, both_sh_abd=14, both_sh_rot=-25, both_elbow=88)


def breathing(c: Ctx, period_s: float = 4.0, depth: float = 1.0) -> np.ndarray:
    """Additive (n, D): the chest and shoulders rise and fall (depth 1 = calm, 2-3 = out of breath)."""
    out = np.zeros((c.n, N_DOFS))
    ph = 2 * np.pi * np.cumsum(1.0 / (period_s * c.fps * np.exp(0.1 * c.noise(4.0, 1.0)[:, 0])))
    s = np.sin(ph + c.rng.uniform(0, 2 * np.pi))
    out[:, IDX["chest_flex"]] = np.radians(-0.8 * depth) * s
    out[:, IDX["l_clav"]] = out[:, IDX["r_clav"]] = np.radians(1.2 * depth) * s
    out[:, IDX["neck_flex"]] = np.radians(-0.4 * depth) * s
    return out


def sway(c: Ctx, amount_deg: float = 1.0) -> np.ndarray:
    """Additive (n, D): slow postural sway of a standing person (ankle strategy) and small trunk wander."""
    out = np.zeros((c.n, N_DOFS))
    nz = c.noise(2.5, np.radians(amount_deg), 4)
    out[:, IDX["root_pitch"]] = nz[:, 0]
    out[:, IDX["root_roll"]] = 0.7 * nz[:, 1]
    out[:, IDX["spine_flex"]] = 0.6 * nz[:, 2]
    out[:, IDX["root_yaw"]] = 1.5 * nz[:, 3]
    return out


def head_talk(c: Ctx, level: np.ndarray) -> np.ndarray:
    """Additive (n, D): looking around, nodding and tilting while speaking, scaled by level (n,)."""
    out = np.zeros((c.n, N_DOFS))
    nz = c.noise(1.2, 1.0, 3)
    nods = c.noise(0.3, 1.0, 1)[:, 0] * smoothstep(c.noise(2.0, 1.5, 1)[:, 0])
    out[:, IDX["neck_twist"]] = np.radians(9) * nz[:, 0] * level
    out[:, IDX["neck_flex"]] = np.radians(4 * nz[:, 1] + 4 * nods) * level
    out[:, IDX["neck_lat"]] = np.radians(3) * nz[:, 2] * level
    return out


def talk(c: Ctx, angles: np.ndarray, level: np.ndarray, arms_free: bool = True) -> None:
    """Blend talking gestures into `angles` (n, D) in place where level (n,) > 0.

    The arms move to a gesturing position (one or both, switching every few seconds) with beats that follow speech;
    the head turns and nods. With arms_free=False only the head moves (hands are busy, e.g. holding a plank).
    """
    angles += head_talk(c, level)
    if not arms_free:
        return
    sel = smoothstep(0.5 + 0.9 * c.noise(3.0, 1.0, 2))  # (n, 2) how much each arm gestures
    beats = c.noise(0.22, 1.0, 4) * smoothstep(0.3 + c.noise(1.0, 1.0, 1))
    for k, side in enumerate(("l", "r")):
        cols = _ARM_COLS[side]
        w = (level * sel[:, k])[:, None]
        target = np.tile(_GESTURE[cols], (c.n, 1))
        target[:, 1] += np.radians(12) * beats[:, 0 + k] + np.radians(10) * c.noise(1.5, 1.0)[:, 0]
        target[:, 2] += np.radians(8) * beats[:, 2 + k]
        target[:, 4] += np.radians(15) * beats[:, 1 - k] + np.radians(15) * c.noise(1.5, 1.0)[:, 0]
        angles[:, cols] = (1 - w) * angles[:, cols] + w * target


def weight_shift(c: Ctx, amount: float = 1.0, hold_s: tuple[float, float] = (3.0, 8.0)) -> np.ndarray:
    """Additive (n, D): the weight moves from foot to foot every few seconds, the unloaded knee relaxes."""
    t, pts, side = 0.0, [], c.rng.choice([-1.0, 0.0, 1.0])
    while t < c.n / c.fps + 10:
        pts.append((t, side))
        t += c.rng.uniform(*hold_s)
        pts.append((t, side))
        t += c.rng.uniform(0.5, 1.2)
        side = c.rng.choice([-1.0, 0.0, 1.0]) * c.rng.uniform(0.5, 1.0)
    tt = np.arange(c.n) / c.fps
    s = np.interp(tt, [p[0] for p in pts], [p[1] for p in pts]) * amount  # +: weight on the left foot
    out = np.zeros((c.n, N_DOFS))
    out[:, IDX["l_hip_abd"]] = np.radians(-4) * s
    out[:, IDX["r_hip_abd"]] = np.radians(4) * s
    out[:, IDX["r_knee"]] = np.radians(10) * np.clip(s, 0, None)
    out[:, IDX["l_knee"]] = np.radians(10) * np.clip(-s, 0, None)
    out[:, IDX["root_roll"]] = np.radians(-3) * s
    out[:, IDX["spine_lat"]] = np.radians(3) * s
    return out


def gait(phi: np.ndarray, w: np.ndarray, stride: np.ndarray | float = 1.0) -> np.ndarray:
    """Additive (n, D) of walking for gait phase phi (cycles, left heel strike at integers) and weight w (n,).

    stride (scalar or (n,)) scales the leg swing (0.2 = stepping on the spot while turning). Pelvis and chest
    counter-rotate, arms swing against the legs.
    """
    out = np.zeros((len(phi), N_DOFS))
    for side, off in (("l", 0.0), ("r", 0.5)):
        p = (phi + off) % 1.0
        hip = 9.0 + 21.0 * np.cos(2 * np.pi * p)
        knee = 14.0 * bump(p, 0.0, 0.3) + 58.0 * bump(p, 0.52, 0.98)
        out[:, IDX[f"{side}_hip_flex"]] = np.radians(hip * stride) * w
        out[:, IDX[f"{side}_knee"]] = np.radians(knee * (0.4 + 0.6 * stride)) * w
        other = "r" if side == "l" else "l"
        out[:, IDX[f"{other}_sh_flex"]] = np.radians(16.0 * np.cos(2 * np.pi * p) * stride) * w
        out[:, IDX[f"{other}_elbow"]] = np.radians(8.0 + 8.0 * np.cos(2 * np.pi * p)) * stride * w
    c2 = np.cos(2 * np.pi * phi)
    out[:, IDX["root_yaw"]] += np.radians(4.0 * stride) * c2 * w
    out[:, IDX["chest_twist"]] = np.radians(-5.0 * stride) * c2 * w
    out[:, IDX["root_roll"]] = np.radians(2.0) * np.sin(4 * np.pi * phi) * w * stride
    out[:, IDX["spine_flex"]] = np.radians(3.0) * w
    return out


def asymmetry(rng: np.random.Generator, sd: float = 0.05) -> np.ndarray:
    """Per-person (D,) multipliers of the deviation from the rest pose: one side works a little harder."""
    out = np.ones(N_DOFS)
    out[LEFT_COLS] += rng.normal(0.0, sd, len(LEFT_COLS))
    out[RIGHT_COLS] += rng.normal(0.0, sd, len(RIGHT_COLS))
    return np.clip(out, 1 - 3 * sd, 1 + 3 * sd)
