"""Degrees of freedom of the motion model: names, anatomical limits, pose vectors and left/right mirroring."""

from __future__ import annotations

import numpy as np

# Every motion is a (T, D) array of these angles in radians. Limb angles are anatomical (flexion, abduction,
# external rotation, hinge), signed the same way on both sides, so mirroring is a swap of the l_/r_ columns plus a
# sign flip of the lateral/twist/yaw/roll columns. Sign conventions (body frame: x = person's left, y = up,
# z = forward):
#   root_yaw + turns left, root_pitch + tips the body forward (face down at +90 deg), root_roll + tips to the left.
#   *_flex + bends forward (trunk, neck) / swings the limb forward (hip, shoulder); *_lat + bends to the left;
#   *_twist + turns the upper part to the left; *_abd + moves the limb away from the midline; *_rot + rotates
#   the limb outward; knee/elbow + flexes the hinge; *_clav + raises the shoulder (shrug).
DOFS: tuple[str, ...] = (
    "root_yaw", "root_pitch", "root_roll",
    "spine_flex", "spine_lat", "spine_twist",
    "chest_flex", "chest_lat", "chest_twist",
    "neck_flex", "neck_lat", "neck_twist",
    "l_hip_flex", "l_hip_abd", "l_hip_rot", "l_knee",
    "r_hip_flex", "r_hip_abd", "r_hip_rot", "r_knee",
    "l_clav", "l_sh_flex", "l_sh_abd", "l_sh_rot", "l_elbow",
    "r_clav", "r_sh_flex", "r_sh_abd", "r_sh_rot", "r_elbow",
)
N_DOFS = len(DOFS)
IDX: dict[str, int] = {name: i for i, name in enumerate(DOFS)}

# Anatomical range of each non-root angle in degrees (active range of motion of an athletic adult).
LIMITS_DEG: dict[str, tuple[float, float]] = {
    "spine_flex": (-30, 75), "spine_lat": (-30, 30), "spine_twist": (-35, 35),
    "chest_flex": (-25, 55), "chest_lat": (-25, 25), "chest_twist": (-40, 40),
    "neck_flex": (-50, 60), "neck_lat": (-35, 35), "neck_twist": (-70, 70),
    "hip_flex": (-30, 135), "hip_abd": (-30, 75), "hip_rot": (-40, 60), "knee": (0, 155),
    "clav": (-10, 30), "sh_flex": (-60, 185), "sh_abd": (-45, 180), "sh_rot": (-90, 100), "elbow": (0, 150),
}


def _limit_arrays() -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(N_DOFS, -np.inf)
    hi = np.full(N_DOFS, np.inf)
    for i, name in enumerate(DOFS):
        key = name[2:] if name[:2] in ("l_", "r_") else name
        if key in LIMITS_DEG:
            lo[i], hi[i] = np.radians(LIMITS_DEG[key])
    return lo, hi


LIMIT_LO, LIMIT_HI = _limit_arrays()

# Mirror map: column i of the mirrored motion is column MIRROR_SRC[i] times MIRROR_SIGN[i].
_NEGATED = {"root_yaw", "root_roll", "spine_lat", "spine_twist", "chest_lat", "chest_twist", "neck_lat", "neck_twist"}
MIRROR_SRC = np.array([IDX["r_" + n[2:]] if n.startswith("l_") else IDX["l_" + n[2:]] if n.startswith("r_") else i
                       for i, n in enumerate(DOFS)])
MIRROR_SIGN = np.array([-1.0 if n in _NEGATED else 1.0 for n in DOFS])

LEFT_COLS = np.array([i for i, n in enumerate(DOFS) if n.startswith("l_")])
RIGHT_COLS = np.array([i for i, n in enumerate(DOFS) if n.startswith("r_")])


def pose(base: np.ndarray | None = None, **deg: float) -> np.ndarray:
    """A pose vector (D,) in radians: `base` (or all zeros) with the named angles set, given in degrees.

    Args:
        base: pose to start from, radians (D,); not modified.
        **deg: DOF name -> angle in degrees; `l_`/`r_` may be written once as `both_` (e.g. both_knee=90).

    Returns:
        A new (D,) float64 array in radians.
    """
    out = np.zeros(N_DOFS) if base is None else np.array(base, dtype=np.float64)
    for name, value in deg.items():
        names = ("l_" + name[5:], "r_" + name[5:]) if name.startswith("both_") else (name,)
        for n in names:
            if n not in IDX:
                raise ValueError(f"unknown degree of freedom {n!r}; expected one of {', '.join(DOFS)}")
            out[IDX[n]] = np.radians(value)
    return out


def mirror(angles: np.ndarray) -> np.ndarray:
    """Left/right mirror image of angles (..., D): the same motion done with the other side of the body."""
    return angles[..., MIRROR_SRC] * MIRROR_SIGN


def clip_to_limits(angles: np.ndarray) -> np.ndarray:
    """Clip the anatomical angles of (..., D) to their joint limits, in place; returns the array."""
    np.clip(angles, LIMIT_LO, LIMIT_HI, out=angles)
    return angles
