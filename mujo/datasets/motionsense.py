"""MotionSense (Malekzadeh et al. 2018/2019): iPhone in the front trouser pocket, 24 subjects, 6 activities, 50 Hz.

Reads `A_DeviceMotion_data/<act>_<trial>/sub_<n>.csv` straight from the distributed zip, or from the unzipped
folder. Each CSV is one subject doing one activity for the whole trial, so there is no NULL class.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from mujo.datasets.base import DatasetError, DatasetInfo, G, Recording, TargetDataset, natural_key
from mujo.fimad.arrays import DEFLATE_MAX_RATIO

ZIP_NAME = "A_DeviceMotion_data.zip"
FOLDER = "A_DeviceMotion_data"
RATE = 50.0
ACTIVITIES: dict[str, str] = {  # folder prefix -> readable phrase (zero-shot prompt)
    "dws": "walking downstairs", "ups": "walking upstairs", "wlk": "walking", "jog": "jogging",
    "sit": "sitting", "std": "standing",
}
TRIALS: dict[str, tuple[int, ...]] = {  # trial numbers per activity, as in the release (SOURCE.txt)
    "dws": (1, 2, 11), "ups": (3, 4, 12), "wlk": (7, 8, 15), "jog": (9, 16), "sit": (5, 13), "std": (6, 14),
}
COLUMNS = ("gravity.x", "gravity.y", "gravity.z", "rotationRate.x", "rotationRate.y", "rotationRate.z",
           "userAcceleration.x", "userAcceleration.y", "userAcceleration.z")
_MEMBER = re.compile(r"(?:^|/)(dws|ups|wlk|jog|sit|std)_(\d+)/sub_(\d+)\.csv$")


class MotionSense(TargetDataset):
    """MotionSense's device-motion recordings (total acceleration m/s² and rotation rate rad/s, phone in pocket).

    Args:
        root: `A_DeviceMotion_data.zip`, a folder holding it, the unzipped `A_DeviceMotion_data` folder, or the
            folder holding that.
        subjects: keep only these subjects (numbers 1..24 or "sub_N"); None keeps all.
        limit: keep only the first `limit` recordings (in index order), for quick looks and tests.
    """

    def __init__(self, root: str | Path, subjects: Iterable[int | str] | None = None,
                 limit: int | None = None) -> None:
        super().__init__(root)
        self.zip_path, self.folder = _locate(self.root)
        keep = None if subjects is None else {_subject_name(s) for s in subjects}
        index = []
        for member in self._members():
            m = _MEMBER.search(member)
            if m is None:
                continue
            act, trial, sub = m.group(1), int(m.group(2)), f"sub_{int(m.group(3))}"
            if keep is None or sub in keep:
                index.append((f"{act}_{trial}/{sub}", act, trial, sub, member))
        index.sort(key=lambda e: (list(ACTIVITIES).index(e[1]), e[2], natural_key(e[3])))
        if limit is not None:
            index = index[:max(0, int(limit))]
        if not index:
            where = self.zip_path or self.folder
            raise DatasetError(f"{where}: no MotionSense recordings (<act>_<trial>/sub_<n>.csv)"
                               + (f" for subjects {sorted(keep, key=natural_key)}" if keep else ""))
        self._index = index
        self.ids = [e[0] for e in index]
        self.info = DatasetInfo(
            name="motionsense", classes=tuple(ACTIVITIES), placements={"front_pocket": "RHip"},
            channels=("acc", "gyro"), rate=RATE, has_null=False, prompts=dict(ACTIVITIES))

    def __repr__(self) -> str:
        return (f"MotionSense(root={str(self.root)!r}, recordings={len(self)}, "
                f"subjects={len({e[3] for e in self._index})})")

    def subject_of(self, i: int) -> str:
        return self._index[i][3]

    def session_of(self, i: int) -> str:
        return ""

    def activity_of(self, i: int) -> str:
        """The activity code ("wlk") of recording i, from the index alone."""
        return self._index[i][1]

    def source(self, i: int) -> str:
        """Where recording i is read from: "<zip>:<member>" or the CSV path (used in error messages)."""
        member = self._index[i][4]
        return f"{self.zip_path}:{member}" if self.zip_path else str(self.folder / member)

    def _zip(self) -> zipfile.ZipFile:
        """The open zip, kept between reads (its directory of 360 entries is slow to parse each time).

        Reopened in a forked or unpickled process, which must not share the parent's file position."""
        if getattr(self, "_zf", None) is None or self._zf_pid != os.getpid():
            self._zf = zipfile.ZipFile(self.zip_path)
            self._zf_pid = os.getpid()
        return self._zf

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_zf"] = None
        return state

    def _members(self) -> list[str]:
        if self.zip_path is not None:
            try:
                with zipfile.ZipFile(self.zip_path) as z:
                    return z.namelist()
            except (OSError, zipfile.BadZipFile) as e:
                raise DatasetError(f"{self.zip_path}: not a readable zip file ({e})") from e
        return [p.relative_to(self.folder).as_posix() for p in self.folder.glob("*_*/sub_*.csv")]

    def _read(self, i: int) -> Recording:
        rid, act, _, sub, member = self._index[i]
        src = self.source(i)
        try:
            if self.zip_path is not None:
                zi = self._zip().getinfo(member)
                # zipfile stops at the declared size: checked against deflate's best ratio before inflating
                if zi.file_size > zi.compress_size * DEFLATE_MAX_RATIO + 4096:
                    raise DatasetError(f"{src}: declares {zi.file_size:,} bytes from {zi.compress_size:,} compressed; "
                                       "more than any honest zip member inflates to")
                data = self._zip().read(member)
            else:
                data = (self.folder / member).read_bytes()
        except (OSError, KeyError, EOFError, RuntimeError, NotImplementedError, zlib.error, zipfile.BadZipFile) as e:
            raise DatasetError(f"{src}: cannot be read ({e})") from e
        x = parse_csv(data, src)  # (N, 9) in COLUMNS order
        acc = (x[:, 0:3] + x[:, 6:9]) * G  # total acceleration = gravity + user acceleration, g -> m/s²
        imu = np.concatenate([acc, x[:, 3:6]], axis=1).astype(np.float32)
        labels = np.full(len(x), self.info.classes.index(act), np.int64)
        return Recording(rid, sub, RATE, {"front_pocket": imu}, labels)


def parse_csv(data: bytes, src: str) -> np.ndarray:
    """The COLUMNS of one device-motion CSV as (N, 9) float64; DatasetError naming `src` when it is malformed."""
    header = data[:data.find(b"\n")].decode("utf-8", "replace").strip().split(",")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DatasetError(f"{src}: missing column(s) {', '.join(missing)}; the header is {','.join(header)!r}")
    try:
        x = pd.read_csv(io.BytesIO(data), usecols=list(COLUMNS), dtype=np.float64)[list(COLUMNS)].to_numpy()
    except (ValueError, pd.errors.ParserError) as e:
        try:
            df = pd.read_csv(io.BytesIO(data), usecols=list(COLUMNS), dtype=str, keep_default_na=False)
        except (ValueError, pd.errors.ParserError):
            raise DatasetError(f"{src}: not a readable CSV file ({e})") from e
        for c in COLUMNS:  # name the first cell that is not a number
            bad = pd.to_numeric(df[c], errors="coerce").isna().to_numpy()
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DatasetError(f"{src}: column {c!r} data row {row + 1} holds {str(df[c].iloc[row])!r}, "
                                   "not a number") from None
        raise DatasetError(f"{src}: not a readable CSV file ({e})") from e
    if len(x) < 2:
        raise DatasetError(f"{src}: has {len(x)} data rows; a recording needs at least 2")
    return x


def _locate(root: Path) -> tuple[Path | None, Path | None]:
    """(zip path, None) or (None, folder holding the <act>_<trial> folders) for any accepted root."""
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise DatasetError(f"{root}: not a zip file; expected {ZIP_NAME} or its unzipped {FOLDER} folder")
        return root, None
    if (root / ZIP_NAME).is_file():
        return root / ZIP_NAME, None
    for folder in (root / FOLDER, root):
        if any(folder.glob("*_*/sub_*.csv")):
            return None, folder
    raise DatasetError(f"{root}: no MotionSense data; expected {ZIP_NAME}, an unzipped {FOLDER}/ folder, or "
                       "<act>_<trial>/sub_<n>.csv folders")


def _subject_name(s: int | str) -> str:
    text = str(s)
    m = re.fullmatch(r"(?:sub_)?(\d+)", text)
    if m is None:
        raise ValueError(f"MotionSense subject must be a number 1..24 or 'sub_N', got {s!r}")
    return f"sub_{int(m.group(1))}"
