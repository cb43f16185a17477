"""MHEALTH (Banos et al. 2014): chest, left-ankle and right-lower-arm Shimmer2 sensors of 10 subjects, 12 activities.

One whitespace-separated text file per subject, `mHealth_subject<N>.log`, 24 columns at 50 Hz (README, columns
counted from 1): 1-3 chest acc, 4-5 ECG, 6-8 left-ankle acc, 9-11 left-ankle gyro, 12-14 left-ankle magnetometer,
15-17 right-lower-arm acc, 18-20 right-lower-arm gyro, 21-23 right-lower-arm magnetometer, 24 the label
(0 = NULL, 1..12). Units: acceleration m/s², gyroscope deg/s (converted to rad/s here). The chest sensor has no
gyroscope, so the gyro channel is only offered when the chest is left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mujo.datasets.base import NULL_INDEX, DatasetError, DatasetInfo, Recording, TargetDataset, shared_root

RATE = 50.0
N_COLUMNS = 24
CLASSES: tuple[str, ...] = (
    "standing_still", "sitting_relaxing", "lying_down", "walking", "climbing_stairs", "waist_bends_forward",
    "frontal_elevation_of_arms", "knees_bending", "cycling", "jogging", "running", "jump_front_back",
)
PROMPTS: dict[str, str] = {
    "standing_still": "standing still", "sitting_relaxing": "sitting and relaxing", "lying_down": "lying down",
    "walking": "walking", "climbing_stairs": "climbing stairs", "waist_bends_forward": "bending the waist forward",
    "frontal_elevation_of_arms": "raising both arms to the front", "knees_bending": "bending the knees, crouching",
    "cycling": "cycling", "jogging": "jogging", "running": "running", "jump_front_back": "jumping front and back",
}
# placement -> (0-based acc columns, 0-based gyro columns or None)
COLUMNS: dict[str, tuple[slice, slice | None]] = {
    "chest": (slice(0, 3), None),
    "left_ankle": (slice(5, 8), slice(8, 11)),
    "right_lower_arm": (slice(14, 17), slice(17, 20)),
}
SITES: dict[str, str] = {"chest": "Thorax", "left_ankle": "LFoot", "right_lower_arm": "RWrist"}
LABEL_COLUMN = 23
GYRO_UNITS = {"deg/s": np.pi / 180.0, "rad/s": 1.0}
_FILE = re.compile(r"^mHealth_subject(\d+)\.log$")
DOWNLOAD_HINT = "the dataset is at https://archive.ics.uci.edu/dataset/319/mhealth+dataset"


def default_root() -> Path:
    """`../shared/datasets/MHEALTH`, where the team would keep the release's MHEALTHDATASET folder."""
    return shared_root("MHEALTH")


def read_log(path: str | Path) -> np.ndarray:
    """One subject's log as an (N, 24) float array, checked for the column count and numeric values."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"MHEALTH file {path} not found; {DOWNLOAD_HINT}")
    try:
        arr = pd.read_csv(path, sep=r"\s+", header=None, dtype=np.float64, engine="c").to_numpy()
    except Exception as exc:  # pandas raises several types for ragged rows or text in a number column
        raise DatasetError(f"{path}: cannot read it as whitespace-separated numbers ({exc})") from exc
    if arr.ndim != 2 or arr.shape[1] != N_COLUMNS or arr.shape[0] < 2:
        raise DatasetError(f"{path}: expected {N_COLUMNS} columns per row and at least 2 rows, got shape "
                           f"{arr.shape}")
    labels = arr[:, LABEL_COLUMN]
    bad = ~np.isin(labels, np.arange(len(CLASSES) + 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DatasetError(f"{path} row {row + 1}: label {labels[row]:g} in column 24 is not 0..{len(CLASSES)}")
    return arr


class Mhealth(TargetDataset):
    """MHEALTH subjects as recordings at 50 Hz: acc (and gyro without the chest), labels with NULL.

    Args:
        root: the folder with mHealth_subject<N>.log files (or its parent holding MHEALTHDATASET/).
        placements: subset of "chest", "left_ankle", "right_lower_arm" (default all three, as in the paper).
        channels: ("acc",) or ("acc", "gyro"); None = gyro only when every placement has one.
        gyro_unit: the gyroscope columns' unit, "deg/s" as the README states, or "rad/s".

    Raises:
        DatasetError: no subject files, an unknown placement, or gyro asked for the chest sensor.
    """

    def __init__(self, root: str | Path | None = None, *, placements: Sequence[str] | None = None,
                 channels: Sequence[str] | None = None, gyro_unit: str = "deg/s") -> None:
        super().__init__(default_root() if root is None else root)
        if not _subject_files(self.root) and (self.root / "MHEALTHDATASET").is_dir():
            self.root = self.root / "MHEALTHDATASET"
        files = _subject_files(self.root)
        if not files:
            raise DatasetError(f"MHEALTH: no mHealth_subject<N>.log files in {self.root} (a README alone is "
                               f"not the data); {DOWNLOAD_HINT}")
        self.placements = tuple(placements) if placements is not None else tuple(COLUMNS)
        bad = [p for p in self.placements if p not in COLUMNS]
        if bad or not self.placements:
            raise DatasetError(f"MHEALTH: unknown placement(s) {bad}; choose from {', '.join(COLUMNS)}")
        no_gyro = [p for p in self.placements if COLUMNS[p][1] is None]
        if channels is None:
            channels = ("acc",) if no_gyro else ("acc", "gyro")
        channels = tuple(channels)
        if channels not in (("acc",), ("acc", "gyro")):
            raise DatasetError(f"MHEALTH: channels must be ('acc',) or ('acc', 'gyro'), got {channels}")
        if "gyro" in channels and no_gyro:
            raise DatasetError(f"MHEALTH: the {', '.join(no_gyro)} sensor has no gyroscope; leave it out "
                               f"(placements=('left_ankle', 'right_lower_arm')) or use channels=('acc',)")
        if gyro_unit not in GYRO_UNITS:
            raise DatasetError(f"MHEALTH: gyro_unit must be one of {', '.join(GYRO_UNITS)}, got {gyro_unit!r}")
        self.gyro_scale = GYRO_UNITS[gyro_unit]
        self.files = [path for _, path in files]
        self.ids = [f"subject{n}" for n, _ in files]
        self._subjects = [str(n) for n, _ in files]
        self.info = DatasetInfo(
            name="mhealth", classes=CLASSES, placements={p: SITES[p] for p in self.placements}, channels=channels,
            rate=RATE, has_null=True, has_pose=False, prompts=dict(PROMPTS))

    def __repr__(self) -> str:
        return (f"Mhealth(root={str(self.root)!r}, subjects={len(self)}, classes={len(CLASSES)}, "
                f"placements={list(self.placements)}, channels={list(self.info.channels)})")

    def subject_of(self, i: int) -> str:
        return self._subjects[i]

    def session_of(self, i: int) -> str:
        return ""

    def _read(self, i: int) -> Recording:
        arr = read_log(self.files[i])
        imu = {}
        for p in self.placements:
            acc, gyro = COLUMNS[p]
            parts = [arr[:, acc]]
            if "gyro" in self.info.channels:
                parts.append(arr[:, gyro] * self.gyro_scale)
            imu[p] = np.concatenate(parts, axis=1)
        labels = arr[:, LABEL_COLUMN].astype(np.int64) - 1  # README labels 1..12 -> 0..11, 0 (NULL) -> -1
        labels[labels < 0] = NULL_INDEX
        return Recording(id=self.ids[i], subject=self._subjects[i], rate=RATE, imu=imu, labels=labels)


def _subject_files(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _FILE.match(p.name))]
    return sorted(found)
