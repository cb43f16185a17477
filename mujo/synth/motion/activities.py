"""Low-energy activities that fill non-exercise chapters (talking, walking, drinking, stretching), and a sequencer."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from mujo.synth.motion import idle
from mujo.synth.motion.angles import IDX, mirror, pose
from mujo.synth.motion.poses import ARMS, STAND
from mujo.synth.motion.track import Ctx, piecewise, smoothstep

Activity = Callable[[Ctx], np.ndarray]  # sub-context -> (m, D) absolute angles, root yaw relative to its start


def sub_ctx(c: Ctx, m: int, tempo_s: float = 1.0) -> Ctx:
    """A context for one activity of m frames inside a chapter (shares the chapter's rng and body)."""
    t = np.arange(m) / c.fps
    return replace(c, n=m, t=t, phase=t / tempo_s, env=np.zeros(m), amp=np.zeros(m), tempo_s=tempo_s, _frac=None)


def sequence(c: Ctx, parts: list[tuple[float, Activity]], blend_s: float = 0.8) -> np.ndarray:
    """(n, D) angles of activities done one after another, cross-faded, their durations scaled to fill the chapter.

    Each activity's root yaw continues from where the previous one ended (walking turns accumulate).
    """
    total = sum(d for d, _ in parts)
    lengths = np.diff(np.round(np.cumsum([0.0] + [d / total * c.n for d, _ in parts]))).astype(int)
    out = np.zeros((c.n, len(STAND)))
    start, yaw = 0, 0.0
    for m, (_, make) in zip(lengths, parts):
        if m <= 0:
            continue
        seg = make(sub_ctx(c, int(m)))
        seg[:, IDX["root_yaw"]] += yaw
        if start > 0:
            b = min(int(blend_s * c.fps), m)
            w = smoothstep(np.arange(b) / max(b, 1))[:, None]
            seg[:b] = (1 - w) * out[start - 1] + w * seg[:b]
        out[start:start + m] = seg
        yaw = float(seg[-1, IDX["root_yaw"]])
        start += m
    return out


def standing(sc: Ctx, base: np.ndarray = STAND, talk: float = 0.0, shift: float = 1.0) -> np.ndarray:
    """Standing in a pose: weight shifts, sway, and talking gestures at level `talk`."""
    ang = np.tile(base, (sc.n, 1)) + idle.weight_shift(sc, shift) + idle.sway(sc, 0.8)
    if talk > 0:
        level = talk * smoothstep(0.6 + 0.8 * sc.noise(2.5, 1.0)[:, 0])
        idle.talk(sc, ang, level)
    return ang


def talking(sc: Ctx) -> np.ndarray:
    """Talking to the camera with hand gestures."""
    return standing(sc, talk=sc.rng.uniform(0.6, 1.0))


def hands_on_hips(sc: Ctx) -> np.ndarray:
    """Catching breath with the hands on the hips, looking around."""
    ang = standing(sc, pose(STAND, **ARMS["hips"]), shift=1.3)
    ang += idle.head_talk(sc, np.full(sc.n, 0.7))
    return ang


def bent_over(sc: Ctx) -> np.ndarray:
    """Hands on the knees, bent over, breathing hard."""
    bend = pose(STAND, root_pitch=30, spine_flex=15, chest_flex=10, neck_flex=-20, both_hip_flex=55,
                both_knee=28, both_hip_abd=8, both_sh_flex=55, both_sh_abd=10, both_elbow=15)
    ramp = smoothstep(piecewise(sc.n, sc.fps, [(0.0, 0.0), (1.2, 1.0), (sc.n / sc.fps - 1.2, 1.0),
                                               (sc.n / sc.fps, 0.0)]))[:, None]
    return (1 - ramp) * STAND + ramp * bend + idle.breathing(sc, 1.4, 3.0)


def shake_out(sc: Ctx) -> np.ndarray:
    """Shaking out the arms (and a leg) loosely."""
    ang = standing(sc, shift=0.5)
    nz = sc.noise(0.12, 1.0, 4) * smoothstep(0.5 + sc.noise(1.0, 1.0, 1))  # in bursts
    for k, side in enumerate(("l", "r")):
        ang[:, IDX[f"{side}_sh_abd"]] += np.radians(6) * nz[:, k]
        ang[:, IDX[f"{side}_elbow"]] += np.radians(8) * np.abs(nz[:, 2 + k])
    return ang


def walk(sc: Ctx, turn_start: float, turn_end: float, pace: float = 0.7) -> np.ndarray:
    """Turn on the spot, walk straight, turn again (degrees); yaw relative to the start.

    pace scales the stride (1 = brisk walking, 0.7 = strolling between sets).
    """
    dur = sc.n / sc.fps
    cycle = sc.rng.uniform(1.05, 1.3) / pace ** 0.3
    phi = np.cumsum(np.full(sc.n, 1.0 / (cycle * sc.fps)))
    t_turn = min(1.1, dur / 4)
    stride = piecewise(sc.n, sc.fps, [(0.0, 0.25), (t_turn, pace), (dur - t_turn, pace), (dur, 0.25)])
    w = piecewise(sc.n, sc.fps, [(0.0, 0.0), (0.3, 1.0), (dur - 0.3, 1.0), (dur, 0.0)])
    yaw = piecewise(sc.n, sc.fps, [(0.0, 0.0), (t_turn, turn_start), (dur - t_turn, turn_start),
                                   (dur, turn_start + turn_end)])
    ang = np.tile(STAND, (sc.n, 1)) + idle.gait(phi, w, stride)  # short steps while turning on the spot
    ang[:, IDX["root_yaw"]] += np.radians(yaw)
    ang[:, IDX["neck_twist"]] += sc.noise(1.5, np.radians(8))[:, 0]
    return ang


def wave(sc: Ctx) -> np.ndarray:
    """Waving at the camera with one hand (the right, or the left)."""
    up = pose(STAND, r_sh_abd=sc.rng.uniform(120, 150), r_sh_flex=20, r_sh_rot=70, r_elbow=sc.rng.uniform(40, 70))
    if sc.rng.uniform() < 0.3:
        up = mirror(up)
    dur = sc.n / sc.fps
    raise_ = piecewise(sc.n, sc.fps, [(0.0, 0.0), (0.5, 1.0), (dur - 0.5, 1.0), (dur, 0.0)])[:, None]
    ang = standing(sc, shift=0.3) * (1 - raise_) + up * raise_
    osc = np.sin(2 * np.pi * sc.rng.uniform(1.8, 2.6) * sc.t) * raise_[:, 0]
    col = "r_sh_rot" if up[IDX["r_sh_abd"]] > up[IDX["l_sh_abd"]] else "l_sh_rot"
    ang[:, IDX[col]] += np.radians(22) * osc
    ang += idle.head_talk(sc, np.full(sc.n, 0.6))
    return ang


def drink(sc: Ctx) -> np.ndarray:
    """Drinking from a bottle: the hand comes to the mouth, the head tips back, once or twice."""
    dur = sc.n / sc.fps
    mouth = pose(STAND, r_sh_flex=sc.rng.uniform(55, 75), r_sh_abd=25, r_sh_rot=-35, r_elbow=138, neck_flex=-25,
                 chest_flex=-4)
    hold = pose(STAND, r_sh_flex=25, r_sh_abd=10, r_sh_rot=-20, r_elbow=85)
    sips = 1 if dur < 7 else 2
    pts, t = [(0.0, 0.0), (0.6, 0.5)], 0.6
    for _ in range(sips):
        sip = sc.rng.uniform(1.5, 3.0)
        pts += [(t + 0.7, 1.0), (t + 0.7 + sip, 1.0), (t + 1.4 + sip, 0.5)]
        t += 1.4 + sip + sc.rng.uniform(0.5, 1.5)
    s = piecewise(sc.n, sc.fps, pts + [(max(t, dur - 0.6), 0.5), (dur, 0.0)])
    a = np.clip(2 * s, 0, 1)[:, None]
    b = np.clip(2 * s - 1, 0, 1)[:, None]
    base = standing(sc, shift=0.4)
    ang = base * (1 - a) + (hold * (1 - b) + mouth * b) * a
    return ang + idle.breathing(sc, 2.0, 2.0)


def pick_up(sc: Ctx) -> np.ndarray:
    """Bending down to pick something up (or put it down) and standing back up."""
    dur = sc.n / sc.fps
    low = pose(STAND, root_pitch=35, spine_flex=15, chest_flex=10, neck_flex=-15, both_hip_flex=90,
               both_knee=95, both_hip_abd=10, r_sh_flex=75, r_sh_abd=8, l_sh_flex=30, r_elbow=5)
    s = piecewise(sc.n, sc.fps, [(0.0, 0.0), (dur * 0.4, 1.0), (dur * 0.6, 1.0), (dur, 0.0)])[:, None]
    return np.tile(STAND, (sc.n, 1)) * (1 - s) + low * s + idle.sway(sc, 0.5)
