"""The 17-joint Human3.6M skeleton (as used by VideoPose3D) and its 16 IMU sites."""

from __future__ import annotations

import numpy as np

JOINTS: tuple[str, ...] = (
    "Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax",
    "Neck", "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist",
)
N_JOINTS = len(JOINTS)

# Parent of each joint (-1 = root), in the order of JOINTS.
PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# The 16 IMU sites are the non-root joints, in the order of fimad.json's default `imu_sites`.
IMU_SITES: tuple[str, ...] = JOINTS[1:]

JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINTS)}

# Bones as (parent, child) index pairs, for drawing.
BONES: tuple[tuple[int, int], ...] = tuple((p, c) for c, p in enumerate(PARENTS) if p >= 0)

# Joints on the person's left side (drawn in another colour); the rest are right or central.
LEFT_JOINTS: frozenset[int] = frozenset(JOINT_INDEX[n]
                                        for n in ("LHip", "LKnee", "LFoot", "LShoulder", "LElbow", "LWrist"))
RIGHT_JOINTS: frozenset[int] = frozenset(JOINT_INDEX[n]
                                         for n in ("RHip", "RKnee", "RFoot", "RShoulder", "RElbow", "RWrist"))

# The segment a sensor on each site is fixed to, as (from joint, to joint): the segment from the joint to its
# child, or from the parent for end joints (the format page). Thorax has three children; its segment is
# Thorax -> Neck.
SITE_SEGMENT: dict[str, tuple[str, str]] = {
    "RHip": ("RHip", "RKnee"),
    "RKnee": ("RKnee", "RFoot"),
    "RFoot": ("RKnee", "RFoot"),
    "LHip": ("LHip", "LKnee"),
    "LKnee": ("LKnee", "LFoot"),
    "LFoot": ("LKnee", "LFoot"),
    "Spine": ("Spine", "Thorax"),
    "Thorax": ("Thorax", "Neck"),
    "Neck": ("Neck", "Head"),
    "Head": ("Neck", "Head"),
    "LShoulder": ("LShoulder", "LElbow"),
    "LElbow": ("LElbow", "LWrist"),
    "LWrist": ("LElbow", "LWrist"),
    "RShoulder": ("RShoulder", "RElbow"),
    "RElbow": ("RElbow", "RWrist"),
    "RWrist": ("RElbow", "RWrist"),
}


def joint_index(name: str) -> int:
    """Index of a joint by name, with a clear error for an unknown name."""
    try:
        return JOINT_INDEX[name]
    except KeyError:
        raise ValueError(f"unknown joint {name!r}; expected one of {', '.join(JOINTS)}") from None


def site_indices(sites: list[str] | tuple[str, ...] | None = None) -> list[int]:
    """Joint indices of IMU sites (default: all 16), validating the names."""
    if sites is None:
        return [JOINT_INDEX[s] for s in IMU_SITES]
    if len(sites) == 0:
        raise ValueError("imu sites must be a non-empty subset of " + ", ".join(IMU_SITES))
    bad = [s for s in sites if s not in IMU_SITES]
    if bad:
        raise ValueError(f"unknown IMU site(s) {bad}; expected a subset of {', '.join(IMU_SITES)}")
    if len(set(sites)) != len(sites):
        raise ValueError(f"duplicate IMU site(s) in {list(sites)}")
    return [JOINT_INDEX[s] for s in sites]


def check_pose(pose: np.ndarray, what: str = "pose") -> np.ndarray:
    """Check a (T, 17, 3) pose array and return it as float; raise ValueError naming the problem."""
    arr = np.asarray(pose)
    if arr.ndim != 3 or arr.shape[1:] != (N_JOINTS, 3):
        raise ValueError(f"{what} must have shape (T, {N_JOINTS}, 3), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{what} must be a float array, got dtype {arr.dtype}")
    return arr
