"""UTD-MHAD (Chen et al., ICIP 2015): wrist/thigh inertial sensor and Kinect v1 skeletons, read from MATLAB files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.io import loadmat

from mujo.datasets.base import DatasetError, DatasetInfo, FixedSplit, Recording, TargetDataset
from mujo.fimad.skeleton import JOINT_INDEX, N_JOINTS
from mujo.paths import project_root

G = 9.80665  # the inertial files store acceleration in g
IMU_FPS = 50.0

ACTIONS: dict[int, str] = {
    1: "right arm swipe to the left", 2: "right arm swipe to the right", 3: "right hand wave",
    4: "two hand front clap", 5: "right arm throw", 6: "cross arms in the chest", 7: "basketball shoot",
    8: "right hand draw x", 9: "right hand draw circle (clockwise)", 10: "right hand draw circle (counter clockwise)",
    11: "draw triangle", 12: "bowling", 13: "front boxing", 14: "baseball swing from right",
    15: "tennis right hand forehand swing", 16: "arm curl (two arms)", 17: "tennis serve", 18: "two hand push",
    19: "right hand knock on door", 20: "right hand catch an object", 21: "right hand pick up and throw",
    22: "jogging in place", 23: "walking in place", 24: "sit to stand", 25: "stand to sit",
    26: "forward lunge (left foot forward)", 27: "squat (two arms stretch out)",
}

# Kinect v1 joints in the order of the d_skel rows (Skeleton/Skeleton_joint_order.txt).
KINECT_JOINTS: tuple[str, ...] = (
    "head", "shoulder_center", "spine", "hip_center", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand", "left_hip", "left_knee", "left_ankle",
    "left_foot", "right_hip", "right_knee", "right_ankle", "right_foot",
)
_K = {name: i for i, name in enumerate(KINECT_JOINTS)}

# Each 17-joint skeleton joint as a Kinect joint; Neck is built separately (see kinect_to_h36m). The skeleton's
# "Foot" joints are ankles (as in Human3.6M), its Thorax sits at the base of the neck like shoulder_center.
_H36M_FROM_KINECT: dict[str, str] = {
    "Hip": "hip_center", "RHip": "right_hip", "RKnee": "right_knee", "RFoot": "right_ankle",
    "LHip": "left_hip", "LKnee": "left_knee", "LFoot": "left_ankle", "Spine": "spine",
    "Thorax": "shoulder_center", "Head": "head", "LShoulder": "left_shoulder", "LElbow": "left_elbow",
    "LWrist": "left_wrist", "RShoulder": "right_shoulder", "RElbow": "right_elbow", "RWrist": "right_wrist",
}

_NAME = re.compile(r"^a(\d+)_s(\d+)_t(\d+)_inertial\.mat$")


def default_root() -> Path:
    """`<repo>/../shared/datasets/UTD-MHAD`, where the team keeps the unchanged release."""
    return project_root().parent / "shared" / "datasets" / "UTD-MHAD"


def sensor_site(action: int) -> str:
    """The IMU site of the inertial sensor: right wrist for actions 1-21, right thigh for 22-27."""
    if action not in ACTIONS:
        raise ValueError(f"unknown UTD-MHAD action {action}; expected 1..27")
    return "RWrist" if action <= 21 else "RHip"


def kinect_to_h36m(skel: np.ndarray) -> np.ndarray:
    """Map Kinect v1 joints to the 17-joint skeleton in a right-handed, +y-up metre frame.

    Kinect v1 skeleton space is already right-handed with +y up (x to the sensor's left, z away from the
    sensor; a person facing the camera looks toward -z), so only the joints are picked. The skeleton's Neck
    (Human3.6M's neck/nose point, between the base of the neck and the head) is the midpoint of
    shoulder_center and head. The sensor may be slightly pitched; the frame is not levelled.

    Args:
        skel: (F, 20, 3) Kinect joints, or the file's (20, 3, F) layout.

    Returns:
        (F, 17, 3) float64 joint positions.
    """
    k = np.asarray(skel, dtype=np.float64)
    if k.ndim == 3 and k.shape[:2] == (20, 3):
        k = k.transpose(2, 0, 1)
    if k.ndim != 3 or k.shape[1:] != (20, 3):
        raise ValueError(f"Kinect skeleton must have shape (F, 20, 3) or (20, 3, F), got {np.shape(skel)}")
    out = np.empty((k.shape[0], N_JOINTS, 3))
    for joint, kinect in _H36M_FROM_KINECT.items():
        out[:, JOINT_INDEX[joint]] = k[:, _K[kinect]]
    out[:, JOINT_INDEX["Neck"]] = 0.5 * (k[:, _K["shoulder_center"]] + k[:, _K["head"]])
    return out


def resample(x: np.ndarray, n: int) -> np.ndarray:
    """Linearly resample x (F, ...) to n samples spanning the same interval (first and last samples kept).

    The inertial and skeleton streams of a clip cover the same action but at different, irregular rates, so
    they are aligned by stretching the skeleton over the clip's duration.
    """
    x = np.asarray(x, dtype=np.float64)
    f = x.shape[0]
    if f < 2 or n < 2:
        raise ValueError(f"resample needs at least 2 input and 2 output samples, got {f} -> {n}")
    pos = np.linspace(0.0, f - 1.0, n)
    i0 = np.minimum(pos.astype(int), f - 2)
    w = (pos - i0).reshape((n,) + (1,) * (x.ndim - 1))
    return (1.0 - w) * x[i0] + w * x[i0 + 1]


def _loadmat(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"UTD-MHAD file not found: {path}")
    try:
        arr = loadmat(str(path))[key]
    except KeyError:
        raise ValueError(f"{path}: no variable {key!r} in the MATLAB file") from None
    except Exception as exc:  # scipy raises several types for a corrupt file
        raise ValueError(f"{path}: cannot read the MATLAB file ({exc})") from exc
    return np.asarray(arr, dtype=np.float64)


@dataclass(frozen=True, order=True)
class ClipKey:
    """One UTD-MHAD recording: action 1..27, subject 1..8, trial 1..4."""

    action: int
    subject: int
    trial: int

    @property
    def stem(self) -> str:
        return f"a{self.action}_s{self.subject}_t{self.trial}"


class UtdMhad:
    """Index of the UTD-MHAD inertial and skeleton files under `root`; samples are read lazily.

    Args:
        root: the folder holding Inertial/ and Skeleton/ (default: `default_root()`).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        inertial = self.root / "Inertial"
        if not inertial.is_dir() or not (self.root / "Skeleton").is_dir():
            raise FileNotFoundError(
                f"UTD-MHAD not found at {self.root}: expected Inertial/ and Skeleton/ folders with "
                "a{A}_s{S}_t{T}_inertial.mat and _skeleton.mat files (the release's Inertial and Skeleton parts)")
        keys = []
        for path in inertial.iterdir():
            m = _NAME.match(path.name)
            if m:
                key = ClipKey(*map(int, m.groups()))
                if self.skeleton_path(key).is_file():
                    keys.append(key)
        self.clips: list[ClipKey] = sorted(keys)

    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        return f"UtdMhad(root={str(self.root)!r}, clips={len(self.clips)})"

    def inertial_path(self, key: ClipKey) -> Path:
        return self.root / "Inertial" / f"{key.stem}_inertial.mat"

    def skeleton_path(self, key: ClipKey) -> Path:
        return self.root / "Skeleton" / f"{key.stem}_skeleton.mat"

    def inertial(self, key: ClipKey) -> tuple[np.ndarray, np.ndarray]:
        """Accelerometer (N, 3) in m/s² and gyroscope (N, 3) in rad/s at IMU_FPS, in the sensor's own axes."""
        path = self.inertial_path(key)
        d = _loadmat(path, "d_iner")
        if d.ndim != 2 or d.shape[1] != 6 or d.shape[0] < 2:
            raise ValueError(f"{path}: d_iner must have shape (N, 6) with N >= 2, got {d.shape}")
        return d[:, :3] * G, np.deg2rad(d[:, 3:])

    def skeleton(self, key: ClipKey) -> np.ndarray:
        """Kinect v1 joints (F, 20, 3) in metres, in KINECT_JOINTS order."""
        path = self.skeleton_path(key)
        k = _loadmat(path, "d_skel")
        if k.ndim != 3 or k.shape[:2] != (20, 3) or k.shape[2] < 2:
            raise ValueError(f"{path}: d_skel must have shape (20, 3, F) with F >= 2, got {k.shape}")
        return k.transpose(2, 0, 1)

    def pose(self, key: ClipKey, n: int | None = None) -> np.ndarray:
        """The 17-joint pose (F, 17, 3), or resampled to n samples over the clip (n = IMU samples aligns it)."""
        pose = kinect_to_h36m(self.skeleton(key))
        return pose if n is None else resample(pose, n)


# --- the target dataset on the common base (mujo.datasets.base) -------------------------------------------------

ACTION_SETS: dict[str, tuple[int, ...]] = {
    "all": tuple(range(1, 28)), "wrist": tuple(range(1, 22)), "thigh": tuple(range(22, 28)),
}
# One placement per action set. With all 27 actions the sensor sits on the right wrist (1-21) or the right thigh
# (22-27); it is mapped to RWrist because 21 of the 27 actions use the wrist (a model sees one site per dataset).
_PLACEMENTS: dict[str, dict[str, str]] = {
    "all": {"right_wrist_or_thigh": "RWrist"}, "wrist": {"right_wrist": "RWrist"}, "thigh": {"right_thigh": "RHip"},
}
# The standard cross-subject protocol trains on odd subjects and tests on even ones; fine-tuning also needs a
# validation part for early stopping, so the last odd subject (7) is held out for it.
ODD_EVEN = FixedSplit("odd-even", "subject", ("1", "3", "5"), ("7",), ("2", "4", "6", "8"))


class UtdMhadTarget(TargetDataset):
    """UTD-MHAD as a target dataset: one recording per clip, IMU (acc m/s², gyro rad/s) + pose on the IMU samples.

    Args:
        root: the folder holding Inertial/ and Skeleton/.
        actions: "all" (1..27, placement right_wrist_or_thigh -> RWrist), "wrist" (1..21 -> RWrist), "thigh"
            (22..27, right_thigh -> RHip) or a list of action numbers from one of those sets.
        subjects: keep only these subjects (1..8); None keeps all.
    """

    def __init__(self, root: str | Path, actions: str | Sequence[int] = "all",
                 subjects: Sequence[int | str] | None = None) -> None:
        super().__init__(root)
        try:
            self.release = UtdMhad(self.root)
        except FileNotFoundError as e:
            raise DatasetError(str(e)) from None
        if isinstance(actions, str):
            if actions not in ACTION_SETS:
                raise DatasetError(f"UTD-MHAD actions must be one of {', '.join(ACTION_SETS)} or a list of 1..27, "
                                   f"got {actions!r}")
            kind, chosen = actions, ACTION_SETS[actions]
        else:
            chosen = tuple(sorted({int(a) for a in actions}))
            if not chosen or not set(chosen) <= set(ACTIONS):
                raise DatasetError(f"UTD-MHAD actions must be numbers 1..27, got {list(actions)}")
            kind = "wrist" if max(chosen) <= 21 else "thigh" if min(chosen) >= 22 else "all"
        keep = None if subjects is None else {int(s) for s in subjects}
        self.actions = chosen
        self.clips = [k for k in self.release.clips if k.action in chosen and (keep is None or k.subject in keep)]
        if not self.clips:
            raise DatasetError(f"{self.root / 'Inertial'}: no clips for actions {list(chosen)}"
                               + (f" and subjects {sorted(keep)}" if keep else ""))
        self.ids = [k.stem for k in self.clips]
        name = {"all": "utd-mhad", "wrist": "utd-mhad-wrist", "thigh": "utd-mhad-thigh"}[kind]
        classes = tuple(ACTIONS[a] for a in chosen)
        self.info = DatasetInfo(name=name, classes=classes, placements=dict(_PLACEMENTS[kind]),
                                channels=("acc", "gyro"), rate=IMU_FPS, has_null=False, has_pose=True,
                                fixed_splits=(ODD_EVEN,), random_splits=True)

    def subject_of(self, i: int) -> str:
        return str(self.clips[i].subject)

    def session_of(self, i: int) -> str:
        return ""

    def _read(self, i: int) -> Recording:
        key = self.clips[i]
        try:
            acc, gyro = self.release.inertial(key)
            pose = self.release.pose(key, n=len(acc))  # skeleton stretched over the clip onto the IMU samples
        except (ValueError, FileNotFoundError) as e:
            raise DatasetError(str(e)) from None
        imu = np.concatenate([acc, gyro], axis=1).astype(np.float32)
        labels = np.full(len(acc), self.actions.index(key.action), np.int64)
        return Recording(key.stem, str(key.subject), IMU_FPS, {next(iter(self.info.placements)): imu}, labels,
                         pose.astype(np.float32))


class UtdMhadWristTarget(UtdMhadTarget):
    """UTD-MHAD actions 1..21 only (sensor on the right wrist): the registry's "utd-mhad-wrist"."""

    def __init__(self, root: str | Path, actions: str | Sequence[int] = "wrist",
                 subjects: Sequence[int | str] | None = None) -> None:
        super().__init__(root, actions, subjects)
