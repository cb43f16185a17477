"""The small base every real target dataset builds on: a recording, the dataset index, errors and helpers.

A target dataset is a list of recordings. Each recording is one subject's continuous stream (or one segmented
action) at the dataset's native rate, with one (N, 3 G) IMU array per sensor placement in SI units (acc m/s²,
gyro rad/s, groups in [acc, gyro] order), a class index per sample (NULL_INDEX where no activity is going on) and,
where the dataset has it, a (N, 17, 3) pose aligned to the IMU samples. Preprocessing (resampling to 50 Hz,
windows, z-scores, splits) lives in `mujo.datasets.prepare` and `mujo.datasets.splits` and is the same for all.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from mujo.paths import project_root

NULL_INDEX = -1  # per-sample label of the NULL class (no activity)
NULL_NAME = "NULL"  # the NULL class's name when it is kept as a class
G = 9.80665  # standard gravity: g -> m/s²


class DatasetError(ValueError):
    """A target dataset folder or file that cannot be read; the message names the file and what is wrong."""


@dataclass
class Recording:
    """One recording at the dataset's native rate.

    Attributes:
        id: unique within the dataset (e.g. "sub_3/wlk_7").
        subject: the person, as a string ("3").
        rate: samples per second of every array below.
        imu: placement -> (N, 3 G) float array, [acc xyz m/s², gyro xyz rad/s] as far as the dataset has them.
        labels: (N,) int class index per sample, NULL_INDEX where no activity is going on.
        pose: (N, 17, 3) float metres aligned to the IMU samples (+y up), or None.
        session: a grouping used by fixed splits (MM-Fit's workout "w01"), else "".
    """

    id: str
    subject: str
    rate: float
    imu: dict[str, np.ndarray]
    labels: np.ndarray
    pose: np.ndarray | None = None
    session: str = ""

    def __len__(self) -> int:
        return int(len(self.labels))

    def check(self, source: str) -> Recording:
        """Raise DatasetError naming `source` when the arrays disagree in length or shape."""
        n = len(self.labels)
        if self.labels.ndim != 1:
            raise DatasetError(f"{source}: labels must be one value per sample, got shape {self.labels.shape}")
        for place, arr in self.imu.items():
            if arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] % 3:
                raise DatasetError(f"{source}: {place} IMU has shape {arr.shape}; expected ({n}, 3 or 6)")
        if self.pose is not None and self.pose.shape != (n, 17, 3):
            raise DatasetError(f"{source}: pose has shape {self.pose.shape}; expected ({n}, 17, 3)")
        if not self.rate > 0:
            raise DatasetError(f"{source}: sampling rate must be positive, got {self.rate}")
        return self


@dataclass(frozen=True)
class FixedSplit:
    """A split given by the dataset (MM-Fit's sessions, UTD-MHAD's odd/even subjects): values of `key`."""

    name: str
    key: str  # "subject" or "session"
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]


@dataclass
class DatasetInfo:
    """What the preprocessing needs to know about a dataset besides its recordings."""

    name: str  # registry name ("motionsense") or the generic dataset's own name
    classes: tuple[str, ...]  # activity names, index = label
    placements: dict[str, str]  # sensor placement -> virtual IMU site it maps to, e.g. {"front_pocket": "RHip"}
    channels: tuple[str, ...]  # IMU channel groups every placement has: ("acc",) or ("acc", "gyro")
    rate: float  # native sampling rate (Hz)
    has_null: bool  # whether some samples are NULL
    has_pose: bool = False
    fixed_splits: tuple[FixedSplit, ...] = ()  # splits the dataset defines; random subject splits come on top
    random_splits: bool = True  # whether five random subject splits make sense (not for MM-Fit)
    prompts: dict[str, str] = field(default_factory=dict)  # class -> readable phrase for zero-shot, if not the name


class TargetDataset(ABC):
    """Base of the loaders: validates the root, builds the index in the constructor, reads recordings lazily.

    Subclasses set `info` and `ids` in `__init__` (no data read beyond what the index needs, no downloads) and
    implement `_read(i)`.
    """

    info: DatasetInfo
    ids: list[str]

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.exists():
            raise DatasetError(f"{type(self).__name__}: {self.root} does not exist")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={str(self.root)!r}, recordings={len(self)}, "
                f"classes={len(self.info.classes)}, placements={list(self.info.placements)})")

    def recording(self, i: int) -> Recording:
        """Recording i, read now; DatasetError names the file when it is missing or broken."""
        if not 0 <= i < len(self.ids):
            raise IndexError(f"recording {i} out of range 0..{len(self.ids) - 1}")
        return self._read(i).check(f"{self.info.name} recording {self.ids[i]}")

    def __iter__(self) -> Iterable[Recording]:
        return (self.recording(i) for i in range(len(self)))

    @abstractmethod
    def _read(self, i: int) -> Recording:
        ...

    @property
    def subjects(self) -> list[str]:
        """Subjects in index order (subclasses with a cheap index override `subject_of`)."""
        return sorted({self.subject_of(i) for i in range(len(self))}, key=_natural)

    def subject_of(self, i: int) -> str:
        return self.recording(i).subject

    def session_of(self, i: int) -> str:
        return self.recording(i).session


def shared_root(*parts: str) -> Path:
    """`<repo>/../shared/datasets/<parts>`: where the team keeps the unchanged real releases."""
    return project_root().parent.joinpath("shared", "datasets", *parts)


def readable(name: str) -> str:
    """A class name as a phrase: underscores and dashes become spaces ("jumping_jacks" -> "jumping jacks")."""
    return " ".join(name.replace("_", " ").replace("-", " ").split())


def segments_to_labels(n: int, segments: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Per-sample labels (NULL_INDEX elsewhere) from (start, end_inclusive, class) segments in sample units."""
    out = np.full(n, NULL_INDEX, dtype=np.int64)
    for start, end, cls in segments:
        out[max(0, start):max(0, min(n, end + 1))] = cls
    return out


def _natural(s: str) -> tuple:
    # (0, number) or (1, text) per run: "s2" < "s10" as before, and ids that start with a digit ("3-MMhq", a video
    # id) sort beside ones that do not instead of failing to compare an int with a str
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in _split_digits(s))


def _split_digits(s: str) -> list[str]:
    return [t for t in re.split(r"(\d+)", s) if t]


natural_key = _natural
