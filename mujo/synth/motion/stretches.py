"""Static stretches a trainer holds in a cool-down (right-side versions; the left is the mirror image)."""

from __future__ import annotations

import numpy as np

from mujo.synth.motion import idle
from mujo.synth.motion.angles import mirror, pose
from mujo.synth.motion.poses import ARMS, STAND
from mujo.synth.motion.track import Ctx

# name -> (pose of the right-side version, done on both sides)
STRETCHES: dict[str, tuple[np.ndarray, bool]] = {
    "quad_stretch": (pose(STAND, root_pitch=4, r_hip_flex=-12, r_hip_abd=0, r_knee=145, l_hip_abd=0, l_knee=4,
                          r_sh_flex=-50, r_sh_abd=12, r_sh_rot=-15, r_elbow=35, l_sh_abd=45, l_elbow=20), True),
    "hamstring_reach": (pose(STAND, root_pitch=60, spine_flex=22, chest_flex=15, neck_flex=20, both_hip_flex=62,
                             both_knee=5, both_hip_abd=5, both_sh_flex=95, both_sh_abd=5, both_elbow=5), False),
    "arm_cross": (pose(STAND, r_sh_flex=90, r_sh_abd=-40, r_sh_rot=-20, r_elbow=5, l_sh_flex=75, l_sh_abd=-25,
                       l_sh_rot=-45, l_elbow=105, neck_twist=12), True),
    "side_bend": (pose(STAND, both_hip_abd=9, r_sh_abd=165, r_sh_rot=40, r_elbow=20, spine_lat=15, chest_lat=12,
                       neck_lat=8, **{k.replace("both", "l"): v for k, v in ARMS["hips"].items()}), True),
    "triceps_overhead": (pose(STAND, r_sh_flex=165, r_sh_abd=15, r_sh_rot=20, r_elbow=140, l_sh_flex=150,
                              l_sh_abd=30, l_sh_rot=10, l_elbow=120, neck_flex=10), True),
    "calf_stretch": (pose(STAND, root_pitch=8, l_hip_flex=28, l_knee=35, r_hip_flex=-22, r_knee=3,
                          **ARMS["hips"]), True),
    "chest_opener": (pose(STAND, both_sh_flex=-35, both_sh_abd=12, both_sh_rot=-30, both_elbow=10,
                          chest_flex=-10, neck_flex=-12, both_clav=-4), False),
    "neck_stretch": (pose(STAND, neck_lat=28, l_sh_flex=40, l_sh_abd=100, l_sh_rot=60, l_elbow=140), True),
}


def hold(sc: Ctx, name: str, side: str) -> np.ndarray:
    """(m, D) holding one stretch: ease in, small adjustments and deep breaths, ease out."""
    target, _ = STRETCHES[name]
    if side == "left":
        target = mirror(target)
    m = sc.n
    ease = min(int(1.0 * sc.fps), m // 3)
    w = np.ones(m)
    w[:ease] = np.linspace(0.0, 1.0, ease)
    w[m - ease:] = np.linspace(1.0, 0.0, ease)
    w = w * w * (3 - 2 * w)
    # a slow deepening of the stretch, sometimes gentle pulses
    depth = 1.0 + 0.06 * sc.noise(3.0, 1.0)[:, 0]
    if sc.rng.uniform() < 0.3:
        depth += 0.05 * np.sin(2 * np.pi * sc.t / sc.rng.uniform(1.0, 1.6))
    ang = STAND + (w * depth)[:, None] * (target - STAND)
    return ang + idle.breathing(sc, sc.rng.uniform(3.5, 5.5), 2.0) + idle.sway(sc, 0.6)
