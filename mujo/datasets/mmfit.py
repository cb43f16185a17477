"""MM-Fit (Strömbäck et al. 2020): smartwatch IMU, 3D pose and exercise labels of 21 workouts, read from the release.

Layout (one folder per workout, `<root>/wXX/` or `<root>/mm-fit/wXX/`):
    wXX_labels.csv           no header: start_frame, end_frame, repetitions, exercise (30 fps camera frames,
                             end inclusive; every frame outside a segment is NULL)
    wXX_sw_l_acc.npy ...     (N, 5) float: camera frame, unix time (ms), x, y, z (m/s² or rad/s), watches at 100 Hz
    wXX_pose_3d.npy          (3, F, 18): [:, :, 0] the camera frame number, [:, :, 1:] the 17 Human3.6M joints
Each workout becomes one recording on a regular 100 Hz grid over the time both watches overlap; labels and pose
follow each grid sample's camera frame, interpolated from the watch's own frame column. The release has no subject
id per workout, so subject = session = the workout ("w07"); the fixed splits are by workout.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mujo.datasets.base import (
    DatasetError,
    DatasetInfo,
    FixedSplit,
    Recording,
    TargetDataset,
    segments_to_labels,
    shared_root,
)
from mujo.fimad.arrays import ArrayFileError, open_npy

EXERCISES: tuple[str, ...] = (
    "squats", "lunges", "bicep_curls", "situps", "pushups", "tricep_extensions", "dumbbell_rows",
    "jumping_jacks", "dumbbell_shoulder_press", "lateral_shoulder_raises",
)
PROMPTS: dict[str, str] = {
    "squats": "doing squats", "lunges": "doing lunges", "bicep_curls": "doing bicep curls",
    "situps": "doing sit-ups", "pushups": "doing push-ups", "tricep_extensions": "doing tricep extensions",
    "dumbbell_rows": "doing dumbbell rows", "jumping_jacks": "doing jumping jacks",
    "dumbbell_shoulder_press": "doing a dumbbell shoulder press",
    "lateral_shoulder_raises": "doing lateral shoulder raises",
}
# The split of the MM-Fit paper (and its code): workouts, not subjects; "unseen" holds the subjects never trained on.
TRAIN = ("w01", "w02", "w03", "w04", "w06", "w07", "w08", "w16", "w17", "w18")
VAL = ("w14", "w15", "w19")
TEST = ("w09", "w10", "w11")
UNSEEN = ("w00", "w05", "w12", "w13", "w20")
SPLITS = (FixedSplit("fixed", "session", TRAIN, VAL, TEST),
          FixedSplit("unseen-subjects", "session", TRAIN, VAL, UNSEEN))
ALL_WORKOUTS = tuple(sorted(TRAIN + VAL + TEST + UNSEEN))

DEVICES: dict[str, str] = {"left_wrist": "sw_l", "right_wrist": "sw_r"}  # placement -> file infix
SITES: dict[str, str] = {"left_wrist": "LWrist", "right_wrist": "RWrist"}
RATE = 100.0  # Hz, the watches' rate and the grid the two watches are put on
MAX_GAP_S = 0.25  # longer holes in a watch stream become NaN samples (prepare drops windows over them)
DOWNLOAD_HINT = "the full release is at https://mmfit.github.io; point the loader at its mm-fit folder"


def default_root() -> Path:
    """`../shared/datasets/MM-Fit`, where the team would keep the full release."""
    return shared_root("MM-Fit")


@dataclass(frozen=True)
class LabelSegment:
    """One row of wXX_labels.csv: an exercise set from start_frame to end_frame (inclusive)."""

    start_frame: int
    end_frame: int
    reps: int
    exercise: str


def read_labels(path: str | Path) -> list[LabelSegment]:
    """Read an MM-Fit label file (no header: start_frame, end_frame, repetitions, exercise).

    Raises:
        DatasetError: naming the file and line when it is missing, has another shape or an unknown exercise.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"MM-Fit label file {path} not found; {DOWNLOAD_HINT}")
    out: list[LabelSegment] = []
    with path.open(newline="", encoding="utf-8") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 4:
                raise DatasetError(f"{path} line {n}: expected 4 fields (start_frame, end_frame, repetitions, "
                                   f"exercise), got {len(row)}: {','.join(row)!r}")
            try:
                start, end, reps = (int(float(v)) for v in row[:3])
            except ValueError:
                raise DatasetError(f"{path} line {n}: frames and repetitions must be numbers, got "
                                   f"{','.join(row[:3])!r}") from None
            name = row[3].strip()
            if name not in EXERCISES:
                raise DatasetError(f"{path} line {n}: unknown exercise {name!r}; expected one of "
                                   f"{', '.join(EXERCISES)}")
            if end < start:
                raise DatasetError(f"{path} line {n}: end frame {end} is before start frame {start}")
            out.append(LabelSegment(start, end, reps, name))
    return out


def read_sensor(path: str | Path) -> np.ndarray:
    """One watch stream (N, 5): frame, time (ms), x, y, z, sorted by time with repeated timestamps dropped."""
    path = Path(path)
    arr = _load_npy(path)
    if arr.ndim != 2 or arr.shape[1] != 5 or arr.shape[0] < 2:
        raise DatasetError(f"{path}: expected an (N, 5) array of frame, time (ms), x, y, z with N >= 2, "
                           f"got shape {arr.shape}")
    arr = arr[np.argsort(arr[:, 1], kind="stable")]
    _, first = np.unique(arr[:, 1], return_index=True)  # the watch logs some samples twice
    return arr[first]


def read_pose(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(F,) camera frame numbers and (F, 17, 3) joints (metres, turned +y up) from a wXX_pose_3d.npy file.

    VideoPose3D's camera frame has +y down and +z away from the camera; turning it 180° about x gives the
    project's +y up while keeping the frame right-handed.
    """
    path = Path(path)
    arr = _load_npy(path)
    if arr.ndim != 3 or arr.shape[0] != 3 or arr.shape[2] != 18 or arr.shape[1] < 2:
        raise DatasetError(f"{path}: expected a (3, F, 18) pose array (frame number, then 17 joints), "
                           f"got shape {arr.shape}")
    frames = arr[0, :, 0]
    joints = arr[:, :, 1:].transpose(1, 2, 0) * np.array([1.0, -1.0, -1.0])  # (F, 17, 3)
    order = np.argsort(frames, kind="stable")
    frames, keep = np.unique(frames[order], return_index=True)
    return frames, joints[order][keep]


def interp_rows(xq: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Linear interpolation of fp (M, ...) sampled at increasing xp onto xq, clamped at both ends."""
    idx = np.clip(np.searchsorted(xp, xq, side="right") - 1, 0, len(xp) - 2)
    span = xp[idx + 1] - xp[idx]
    w = np.clip((xq - xp[idx]) / np.where(span > 0, span, 1.0), 0.0, 1.0)
    w = w.reshape((-1,) + (1,) * (fp.ndim - 1))
    return (1.0 - w) * fp[idx] + w * fp[idx + 1]


def to_grid(t: np.ndarray, x: np.ndarray, grid: np.ndarray, max_gap: float) -> np.ndarray:
    """x (M, C) sampled at increasing times t, linearly interpolated onto grid; NaN inside holes > max_gap."""
    out = interp_rows(grid, t, x)
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, len(t) - 2)
    hole = (t[idx + 1] - t[idx]) > max_gap
    out[hole & (grid > t[idx]) & (grid < t[idx + 1])] = np.nan
    return out


class MmFit(TargetDataset):
    """MM-Fit workouts as recordings: both smartwatches (acc, and gyro where present) at 100 Hz, labels, pose.

    Args:
        root: the folder holding the wXX folders (or its parent with `mm-fit/`); default `default_root()`.
        workouts: which workouts to use (default: every wXX folder found).
        placements: subset of "left_wrist", "right_wrist" (default both, as in the paper).
        gyro: include the gyroscope (True/False); None = only when every workout has it for every placement.
        pose: include the 3D pose; None = only when every workout has wXX_pose_3d.npy.
        max_gap: seconds; longer holes in a watch stream are NaN instead of interpolated.

    Raises:
        DatasetError: the folder has no workouts, a named workout is absent, or no workout has the IMU files
            (the message lists the missing files). A workout missing only some files stays in the index and
            raises the same error when read, so `prepare` lists it among its problems.
    """

    def __init__(self, root: str | Path | None = None, *, workouts: Sequence[str] | None = None,
                 placements: Sequence[str] | None = None, gyro: bool | None = None, pose: bool | None = None,
                 max_gap: float = MAX_GAP_S) -> None:
        super().__init__(default_root() if root is None else root)
        if (self.root / "mm-fit").is_dir() and not _workout_dirs(self.root):
            self.root = self.root / "mm-fit"
        found = _workout_dirs(self.root)
        if not found:
            raise DatasetError(f"MM-Fit: no workout folders (w00 .. w20) under {self.root}; {DOWNLOAD_HINT}")
        if workouts is not None:
            absent = [w for w in workouts if w not in found]
            if absent:
                raise DatasetError(f"MM-Fit: workout folder(s) {', '.join(absent)} not found under {self.root}")
        self.ids = sorted(workouts if workouts is not None else found)
        self.placements = tuple(placements) if placements is not None else tuple(DEVICES)
        bad = [p for p in self.placements if p not in DEVICES]
        if bad or not self.placements:
            raise DatasetError(f"MM-Fit: unknown placement(s) {bad}; choose from {', '.join(DEVICES)}")
        if not max_gap > 0:
            raise DatasetError(f"MM-Fit: max_gap must be positive seconds, got {max_gap}")
        self.max_gap = float(max_gap)

        # Missing files per workout (only listing the folders here; arrays are read in _read).
        self.missing: dict[str, list[str]] = {}
        for w in self.ids:
            need = [f"{w}_labels.csv"] + [f"{w}_{DEVICES[p]}_acc.npy" for p in self.placements]
            self.missing[w] = [n for n in need if not (self.root / w / n).is_file()]
        usable = [w for w in self.ids if not self.missing[w]]
        if not usable:
            raise DatasetError(self._nothing_usable())
        has_gyro = all(self._file(w, f"{DEVICES[p]}_gyr.npy").is_file() for w in usable for p in self.placements)
        self.gyro = has_gyro if gyro is None else bool(gyro)
        has_pose = all(self._file(w, "pose_3d.npy").is_file() for w in usable)
        self.pose = has_pose if pose is None else bool(pose)
        for w in self.ids:  # what was asked for explicitly becomes required
            extra = [f"{DEVICES[p]}_gyr.npy" for p in self.placements] if self.gyro else []
            extra += ["pose_3d.npy"] if self.pose else []
            self.missing[w] += [f"{w}_{n}" for n in extra if not self._file(w, n).is_file()]
        if all(self.missing.values()):
            raise DatasetError(self._nothing_usable())
        self.info = DatasetInfo(
            name="mmfit", classes=EXERCISES, placements={p: SITES[p] for p in self.placements},
            channels=("acc", "gyro") if self.gyro else ("acc",), rate=RATE, has_null=True, has_pose=self.pose,
            fixed_splits=SPLITS, random_splits=False, prompts=dict(PROMPTS))

    def __repr__(self) -> str:
        broken = sum(bool(m) for m in self.missing.values())
        return (f"MmFit(root={str(self.root)!r}, workouts={len(self)}, incomplete={broken}, "
                f"placements={list(self.placements)}, channels={list(self.info.channels)}, pose={self.pose})")

    def subject_of(self, i: int) -> str:
        return self.ids[i]

    def session_of(self, i: int) -> str:
        return self.ids[i]

    def _file(self, w: str, suffix: str) -> Path:
        return self.root / w / f"{w}_{suffix}"

    def _nothing_usable(self) -> str:
        first = next(iter(self.missing))
        imu = any(n.endswith(("_acc.npy", "_gyr.npy")) for n in self.missing[first])
        return (f"MM-Fit at {self.root}: no workout has all the files this loader needs; missing "
                f"{', '.join(f'{first}/{n}' for n in self.missing[first])} (and likewise in "
                f"{len(self.missing)} workout(s): {', '.join(self.missing)})."
                + (f" This copy seems to hold labels only (no smartwatch IMU files); {DOWNLOAD_HINT}" if imu
                   else ""))

    def _read(self, i: int) -> Recording:
        w = self.ids[i]
        if self.missing[w]:
            raise DatasetError(f"MM-Fit workout {w} in {self.root / w}: missing "
                               f"{', '.join(self.missing[w])}; {DOWNLOAD_HINT}")
        segments = read_labels(self._file(w, "labels.csv"))
        streams = {p: [read_sensor(self._file(w, f"{DEVICES[p]}_{s}.npy"))
                       for s in (("acc", "gyr") if self.gyro else ("acc",))] for p in self.placements}
        t0 = max(s[0, 1] for ss in streams.values() for s in ss)
        t1 = min(s[-1, 1] for ss in streams.values() for s in ss)
        step = 1000.0 / RATE  # ms
        if t1 - t0 < step:
            raise DatasetError(f"MM-Fit workout {w}: the watch streams do not overlap in time "
                               f"({', '.join(self.placements)}); check the files in {self.root / w}")
        grid = t0 + step * np.arange(int(np.floor((t1 - t0) / step)) + 1)  # (N,) ms
        gap = self.max_gap * 1000.0
        imu = {p: np.concatenate([to_grid(s[:, 1], s[:, 2:5], grid, gap) for s in ss], axis=1)
               for p, ss in streams.items()}
        ref = streams[self.placements[0]][0]
        frame = interp_rows(grid, ref[:, 1], ref[:, 0])  # (N,) fractional camera frame of each grid sample
        labels = _frame_labels(frame, segments)
        pose = None
        if self.pose:
            frames, joints = read_pose(self._file(w, "pose_3d.npy"))
            pose = interp_rows(frame, frames, joints)  # (N, 17, 3)
        return Recording(id=w, subject=w, rate=RATE, imu=imu, labels=labels, pose=pose, session=w)


def _frame_labels(frame: np.ndarray, segments: Sequence[LabelSegment]) -> np.ndarray:
    """Per-sample class index from the label segments, by the sample's nearest camera frame."""
    f = np.rint(frame).astype(np.int64)
    lo = int(f.min())
    by_frame = segments_to_labels(int(f.max()) - lo + 1, [
        (s.start_frame - lo, s.end_frame - lo, EXERCISES.index(s.exercise)) for s in segments])
    return by_frame[f - lo]


def _workout_dirs(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and len(p.name) == 3 and p.name[0] == "w"
                  and p.name[1:].isdigit()) if root.is_dir() else []


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"MM-Fit file {path} not found; {DOWNLOAD_HINT}")
    try:  # header checked first: an unknown dtype or a shape larger than the file is an error, never an allocation
        arr = open_npy(path, mmap=False)
    except (OSError, ArrayFileError) as exc:
        raise DatasetError(f"{path}: cannot read the .npy array ({exc}); the file may be truncated") from None
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{path}: expected numbers, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)
