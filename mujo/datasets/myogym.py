"""MyoGym (Koskimäki et al. 2017): a Myo armband on the right forearm of 10 trainers doing 30 gym exercises.

One MATLAB file `MyoGym.mat` with two matrices of equal row count:
    raw_data          columns 0-8 EMG timestamp and 8 EMG channels, 9 accelerometer arrival time, 10-12 acc x, y, z
                      (g), 13 gyroscope arrival time, 14-16 gyro x, y, z (deg/s); the IMU (50 Hz) repeats on the
                      rows between its packets, and its arrival times are uneven because the samples come in packets
    raw_data_labels   column 0 the activity (0 = NULL, 1..30), column 1 the trainer (1..10)
Each trainer becomes one recording: repeated IMU rows are dropped, samples that arrived together are placed
back from their packet's arrival time, and acc and gyro are interpolated onto one regular 50 Hz grid, labels by the
nearest accelerometer sample. Where a trainer's stream breaks (time goes back or stops for more than
`split_gap` seconds) the pieces are joined with one NaN sample, and holes over `max_gap` are NaN, so prepare
drops the windows over them instead of interpolating across.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.io import loadmat, whosmat

from mujo.datasets.base import NULL_INDEX, DatasetError, DatasetInfo, G, Recording, TargetDataset, shared_root
from mujo.datasets.mmfit import interp_rows, to_grid

RATE = 50.0
FILE_NAME = "MyoGym.mat"
N_CLASSES = 30
# The official exercise names are not in the .mat file; pass `class_names` to use them.
CLASSES: tuple[str, ...] = tuple(f"exercise {k}" for k in range(1, N_CLASSES + 1))
ACC, GYRO = (9, slice(10, 13)), (13, slice(14, 17))  # (arrival time column, value columns)
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "days": 86400.0}  # "days": MATLAB datenum
MAX_GAP_S = 0.2
SPLIT_GAP_S = 10.0
DOWNLOAD_HINT = "MyoGym is distributed by its authors (University of Oulu) as a single MyoGym.mat"


def default_root() -> Path:
    """`../shared/datasets/MyoGym`, where the team would keep MyoGym.mat."""
    return shared_root("MyoGym")


def load_mat(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named matrices of a MATLAB v4-v7.2 file as float64, with errors that name the file."""
    if not path.is_file():
        raise DatasetError(f"MyoGym file {path} not found; {DOWNLOAD_HINT}")
    try:
        present = {name: shape for name, shape, _ in whosmat(str(path))}
        missing = [n for n in names if n not in present]
        if missing:
            raise DatasetError(f"{path}: no variable(s) {', '.join(missing)} in the MATLAB file (has "
                               f"{', '.join(present) or 'none'}); expected MyoGym's raw_data and raw_data_labels")
        data = loadmat(str(path), variable_names=list(names))
    except NotImplementedError:  # scipy's answer to v7.3 (HDF5) files
        raise DatasetError(f"{path}: a MATLAB v7.3 file, which scipy cannot read; re-save it in MATLAB with "
                           f"save('MyoGym.mat', 'raw_data', 'raw_data_labels', '-v7')") from None
    except DatasetError:
        raise
    except Exception as exc:  # scipy raises several types for a truncated or non-MATLAB file
        raise DatasetError(f"{path}: cannot read the MATLAB file ({exc})") from exc
    try:
        return {n: np.asarray(data[n], dtype=np.float64) for n in names}
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{path}: {', '.join(names)} must be numeric matrices ({exc})") from exc


class MyoGym(TargetDataset):
    """MyoGym trainers as recordings: right-forearm acc (m/s²) and gyro (rad/s) at 50 Hz, 30 classes + NULL.

    Args:
        root: MyoGym.mat or the folder holding it (default `default_root()`).
        channels: ("acc",) or ("acc", "gyro") (default both).
        time_unit: unit of the arrival-time columns, "s", "ms", "us", "days" (MATLAB datenum) or "auto"
            (the unit that makes the median sample spacing closest to 20 ms).
        class_names: 30 exercise names in label order, if known (default "exercise 1" .. "exercise 30").
        max_gap: seconds; holes in a stream longer than this are NaN samples.
        split_gap: seconds; a longer pause (or time going back) starts a new piece of the trainer's stream.

    Raises:
        DatasetError: the file is missing, unreadable or lacks the matrices, or the matrices have other shapes.
    """

    def __init__(self, root: str | Path | None = None, *, channels: Sequence[str] = ("acc", "gyro"),
                 time_unit: str = "auto", class_names: Sequence[str] | None = None,
                 max_gap: float = MAX_GAP_S, split_gap: float = SPLIT_GAP_S) -> None:
        super().__init__(default_root() if root is None else root)
        self.path = self.root if self.root.is_file() else _find_mat(self.root)
        channels = tuple(channels)
        if channels not in (("acc",), ("acc", "gyro")):
            raise DatasetError(f"MyoGym: channels must be ('acc',) or ('acc', 'gyro'), got {channels}")
        if time_unit != "auto" and time_unit not in TIME_UNITS:
            raise DatasetError(f"MyoGym: time_unit must be 'auto' or one of {', '.join(TIME_UNITS)}, "
                               f"got {time_unit!r}")
        classes = tuple(class_names) if class_names is not None else CLASSES
        if len(classes) != N_CLASSES or len(set(classes)) != N_CLASSES:
            raise DatasetError(f"MyoGym: class_names must be {N_CLASSES} distinct names, got {len(classes)}")
        if not 0 < max_gap < split_gap:
            raise DatasetError(f"MyoGym: need 0 < max_gap < split_gap, got {max_gap} and {split_gap}")
        self.time_unit, self.max_gap, self.split_gap = time_unit, float(max_gap), float(split_gap)
        # The index needs the trainers, so the (small) label matrix is read now; raw_data waits for _read.
        labels = load_mat(self.path, ["raw_data_labels"])["raw_data_labels"]
        if labels.ndim != 2 or labels.shape[1] < 2 or labels.shape[0] < 2:
            raise DatasetError(f"{self.path}: raw_data_labels must be (N, 2) activity, trainer; got {labels.shape}")
        bad = ~np.isin(labels[:, 0], np.arange(N_CLASSES + 1))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DatasetError(f"{self.path}: raw_data_labels row {row + 1} has activity {labels[row, 0]:g}; "
                               f"expected 0 (NULL) .. {N_CLASSES}")
        self._labels = labels[:, :2].astype(np.int64)
        self._subjects = [str(s) for s in np.unique(self._labels[:, 1])]
        self.ids = [f"trainer_{s}" for s in self._subjects]
        self._cache: dict[str, tuple[np.ndarray, ...]] | None = None
        self.info = DatasetInfo(
            name="myogym", classes=classes, placements={"right_forearm": "RWrist"}, channels=channels, rate=RATE,
            has_null=True, has_pose=False,
            prompts={c: f"doing gym {c}" if c in CLASSES else f"doing {c}" for c in classes})

    def __repr__(self) -> str:
        return (f"MyoGym(path={str(self.path)!r}, trainers={len(self)}, classes={len(self.info.classes)}, "
                f"channels={list(self.info.channels)})")

    def subject_of(self, i: int) -> str:
        return self._subjects[i]

    def session_of(self, i: int) -> str:
        return ""

    def _streams(self) -> dict[str, tuple[np.ndarray, ...]]:
        """Per trainer: acc (row, time s, m/s²), gyro (row, time s, rad/s), activity per acc row; repeats dropped."""
        if self._cache is None:
            raw = load_mat(self.path, ["raw_data"])["raw_data"]
            if raw.ndim != 2 or raw.shape[1] < 17 or raw.shape[0] != len(self._labels):
                raise DatasetError(f"{self.path}: raw_data must have at least 17 columns and as many rows as "
                                   f"raw_data_labels ({len(self._labels)}), got shape {raw.shape}")
            cache = {}
            for s in self._subjects:
                mine = np.flatnonzero(self._labels[:, 1] == int(s))
                a = mine[_new_rows(raw[mine][:, [ACC[0], 10, 11, 12]])]
                g = mine[_new_rows(raw[mine][:, [GYRO[0], 14, 15, 16]])]
                cache[s] = (a, raw[a, ACC[0]], raw[a, ACC[1]] * G, g, raw[g, GYRO[0]], np.deg2rad(raw[g, GYRO[1]]),
                            self._labels[a, 0])
            scale = (TIME_UNITS[self.time_unit] if self.time_unit != "auto"
                     else _guess_scale([c[1] for c in cache.values()]))
            self._cache = {s: (ra, ta * scale, acc, rg, tg * scale, gyr, act)
                           for s, (ra, ta, acc, rg, tg, gyr, act) in cache.items()}
        return self._cache

    def _read(self, i: int) -> Recording:
        s = self._subjects[i]
        ra, ta, acc, rg, tg, gyr, act = self._streams()[s]
        if len(ta) < 2 or len(tg) < 2:
            raise DatasetError(f"{self.path}: trainer {s} has fewer than 2 distinct IMU samples")
        gyro = "gyro" in self.info.channels
        pieces_imu, pieces_lab = [], []
        for lo, hi in _pieces(ta, self.split_gap):
            t, x, lab = _spread_ties(ta[lo:hi]), acc[lo:hi], act[lo:hi]
            if len(t) < 2:
                continue
            grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * RATE)) + 1) / RATE
            parts = [to_grid(t, x, grid, self.max_gap)]
            if gyro:
                parts.append(self._gyro_piece(grid, tg, gyr, (rg >= ra[lo]) & (rg <= ra[hi - 1])))
            nearest = np.rint(interp_rows(grid, t, np.arange(len(t), dtype=np.float64))).astype(np.int64)
            pieces_imu += [np.concatenate(parts, axis=1), np.full((1, 6 if gyro else 3), np.nan)]
            pieces_lab += [lab[nearest] - 1, np.array([NULL_INDEX])]
        if not pieces_imu:
            raise DatasetError(f"{self.path}: trainer {s} has no stretch of at least 2 IMU samples")
        labels = np.concatenate(pieces_lab[:-1]).astype(np.int64)
        labels[labels < 0] = NULL_INDEX  # activity 0 (NULL) -> -1
        imu = np.concatenate(pieces_imu[:-1])
        return Recording(id=self.ids[i], subject=s, rate=RATE, imu={"right_forearm": imu}, labels=labels)

    def _gyro_piece(self, grid: np.ndarray, tg: np.ndarray, gyr: np.ndarray, sel: np.ndarray) -> np.ndarray:
        """The gyro samples of one piece (rows `sel`) on its grid; NaN where the gyro has no samples."""
        if sel.sum() < 2:
            return np.full((len(grid), 3), np.nan)
        order = np.argsort(tg[sel], kind="stable")
        t, x = _spread_ties(tg[sel][order]), gyr[sel][order]
        out = to_grid(t, x, grid, self.max_gap)
        out[(grid < t[0] - self.max_gap) | (grid > t[-1] + self.max_gap)] = np.nan  # no long extrapolation
        return out


def _find_mat(folder: Path) -> Path:
    """folder/MyoGym.mat, matching the name without regard to case (copies from other systems differ)."""
    found = [p for p in folder.iterdir() if p.name.lower() == FILE_NAME.lower()] if folder.is_dir() else []
    return found[0] if found else folder / FILE_NAME


def _new_rows(block: np.ndarray) -> np.ndarray:
    """Indices of rows that differ from the row before (the IMU values repeat on the rows between packets)."""
    keep = np.ones(len(block), dtype=bool)
    keep[1:] = np.any(block[1:] != block[:-1], axis=1)
    return np.flatnonzero(keep)


def _pieces(t: np.ndarray, split_gap: float) -> list[tuple[int, int]]:
    """[lo, hi) index ranges of t without a step back in time or a pause longer than split_gap."""
    d = np.diff(t)
    cuts = np.flatnonzero((d < 0) | (d > split_gap)) + 1
    edges = [0, *cuts.tolist(), len(t)]
    return list(zip(edges[:-1], edges[1:]))


def _spread_ties(t: np.ndarray) -> np.ndarray:
    """Strictly increasing times from non-decreasing arrival times.

    The k samples of a packet share its arrival time but were measured before it: they are placed back from
    the arrival time at the nominal spacing, closer together when the previous packet arrived sooner.
    """
    values, first, counts = np.unique(t, return_index=True, return_counts=True)
    if len(values) == len(t):
        return t.astype(np.float64)
    gap = np.diff(values, prepend=-np.inf)  # the first packet has no predecessor: nominal spacing
    step = np.minimum(gap / counts, 1.0 / RATE)
    back = np.repeat(first + counts - 1, counts) - np.arange(len(t))  # samples after this one in its packet
    return np.repeat(values, counts) - back * np.repeat(step, counts)


def _guess_scale(times: Sequence[np.ndarray]) -> float:
    """Seconds per arrival-time unit: the unit whose median sample spacing is closest to 1/RATE.

    The spacing is measured over 50 samples within each trainer's stream, so packet ties and pauses barely move
    the median.
    """
    steps = []
    for t in times:
        k = min(50, len(t) - 1)
        if k >= 1:
            d = (t[k:] - t[:-k]) / k
            steps.append(d[d > 0])
    steps_all = np.concatenate(steps) if steps else np.empty(0)
    if steps_all.size == 0:
        raise DatasetError("MyoGym: too few distinct accelerometer arrival times to tell their unit; "
                           "pass time_unit='s', 'ms', 'us' or 'days'")
    spacing = float(np.median(steps_all))
    best = min(TIME_UNITS.values(), key=lambda s: abs(np.log(spacing * s * RATE)))
    if abs(np.log(spacing * best * RATE)) > np.log(4):
        raise DatasetError(f"MyoGym: the accelerometer arrival times are {spacing:g} units apart, which is "
                           f"not 50 Hz in any of {', '.join(TIME_UNITS)}; pass time_unit explicitly")
    return best
