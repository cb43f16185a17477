"""Named base poses (standing, arm positions, floor positions) and body-dependent solvers for planted hands."""

from __future__ import annotations

import numpy as np

from mujo.fimad.skeleton import JOINT_INDEX
from mujo.synth.motion.angles import IDX, pose
from mujo.synth.motion.body import Body, forward_kinematics, limb_ik

J = JOINT_INDEX

# Relaxed standing: feet about hip-width, toes slightly out, arms hanging with soft elbows.
STAND = pose(both_sh_abd=7, both_elbow=12, both_hip_abd=3, both_hip_rot=8, neck_flex=3, both_sh_rot=5)

# Arm placements that trainers hold while the legs work (deltas on top of STAND's arms).
ARMS: dict[str, dict[str, float]] = {
    "hang": dict(both_sh_flex=0, both_sh_abd=7, both_sh_rot=5, both_elbow=12),
    "hips": dict(both_sh_flex=-20, both_sh_abd=40, both_sh_rot=-60, both_elbow=90),
    "chest": dict(both_sh_flex=25, both_sh_abd=10, both_sh_rot=-40, both_elbow=120),
    "head": dict(both_sh_flex=10, both_sh_abd=140, both_sh_rot=90, both_elbow=130),
    "forward": dict(both_sh_flex=85, both_sh_abd=8, both_sh_rot=0, both_elbow=8),
    "guard": dict(both_sh_flex=50, both_sh_abd=8, both_sh_rot=-25, both_elbow=130),
}


def arms(base: np.ndarray, style: str) -> np.ndarray:
    """`base` with the arms in a named placement from ARMS."""
    return pose(base, **ARMS[style])


# Intermediate poses of transitions between standing and the floor.
CROUCH = pose(root_pitch=40, spine_flex=15, chest_flex=10, neck_flex=-20, both_hip_flex=118, both_hip_abd=12,
              both_hip_rot=15, both_knee=130, both_sh_flex=70, both_sh_abd=12, both_elbow=10)
SIT = pose(root_pitch=-25, spine_flex=15, chest_flex=10, neck_flex=5, both_hip_flex=110, both_hip_abd=8,
           both_knee=115, both_sh_flex=-35, both_sh_abd=15, both_elbow=10)
KNEEL = pose(root_pitch=82, neck_flex=-10, both_hip_flex=88, both_knee=92, both_sh_flex=80, both_sh_abd=5)

# Lying on the back with knees bent and feet on the floor; arms along the body.
SUPINE_KNEES = pose(root_pitch=-90, neck_flex=8, both_hip_flex=48, both_hip_abd=6, both_knee=100,
                    both_sh_abd=12, both_elbow=5)
SUPINE_FLAT = pose(root_pitch=-90, neck_flex=5, both_hip_abd=4, both_hip_rot=10, both_sh_abd=12, both_elbow=5)
PRONE_FLAT = pose(root_pitch=90, neck_flex=-15, both_hip_abd=4, both_sh_flex=170, both_sh_abd=15, both_elbow=10)


def incline_table(body: Body, base: np.ndarray, pivot: str, top: tuple[str, ...] = ("LShoulder", "RShoulder"),
                  col: str = "root_pitch") -> tuple[np.ndarray, np.ndarray]:
    """Mean height of the `top` joints above `pivot` as a function of one root angle (planks, push-ups).

    Returns (angles in radians ascending, heights in metres) so that np.interp(h, heights[::-1], angles[::-1])
    finds the angle that puts the shoulders at height h.
    """
    grid = np.radians(np.linspace(40.0, 100.0, 61))
    a = np.tile(base, (len(grid), 1))
    a[:, IDX[col]] = grid
    p = forward_kinematics(body, a)
    piv = p[:, [J["LFoot"], J["RFoot"]]] if pivot == "feet" else p[:, [J["LKnee"], J["RKnee"]]]
    hi = p[:, [J[name] for name in top]]
    return grid, hi[:, :, 1].mean(1) - piv[:, :, 1].min(1)


def angle_for_height(table: tuple[np.ndarray, np.ndarray], h: np.ndarray | float) -> np.ndarray:
    """Root angle that puts the shoulders `h` above the pivot (inverse of incline_table)."""
    grid, heights = table
    order = np.argsort(heights)
    return np.interp(h, heights[order], grid[order])


def plant_hands(body: Body, angles: np.ndarray, pivot: str, hand_rel: np.ndarray, ref: int = 0) -> None:
    """Put both wrists on the floor at a fixed place relative to a planted pivot (feet or knees), in place.

    Args:
        body: segment lengths.
        angles: (T, D) radians; the arm columns are solved (their external rotation is kept).
        pivot: "feet", "knees", "l_foot" or "r_foot": the contacts the body rotates about.
        hand_rel: (2, 3) left/right wrist offsets from the shoulders at frame `ref`, floor-projected: the x and z
            parts are offsets from each shoulder, the height is the floor (the pivot's height).
        ref: frame whose shoulder positions define where the hands are planted.
    """
    p = forward_kinematics(body, angles)
    piv_j = {"feet": [J["LFoot"], J["RFoot"]], "knees": [J["LKnee"], J["RKnee"]], "l_foot": [J["LFoot"]],
             "r_foot": [J["RFoot"]]}[pivot]
    piv = p[:, piv_j].mean(1)  # (T, 3)
    piv[:, 1] = p[:, piv_j, 1].min(1)
    for k, (limb, sh) in enumerate((("l_arm", J["LShoulder"]), ("r_arm", J["RShoulder"]))):
        spot = p[ref, sh] + np.array([hand_rel[k, 0], 0.0, hand_rel[k, 2]])
        spot[1] = piv[ref, 1]
        target = piv + (spot - piv[ref])
        limb_ik(body, angles, limb, target)
