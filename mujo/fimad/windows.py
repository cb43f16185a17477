"""Fixed-size windows over clips: where they start, an index over a dataset, and fast batched reads."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import pandas as pd

from mujo.fimad.errors import ClipError
from mujo.fimad.skeleton import N_JOINTS

WINDOW_MODALITIES = ("pose", "acc", "gyro")


def _check_settings(size: int, hop: int, trim: float) -> None:
    if int(size) != size or size < 1 or int(hop) != hop or hop < 1:
        raise ValueError(f"window size and hop must be integers >= 1, got size={size}, hop={hop}")
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim}")


def _trim_cut(n_frames: np.ndarray, trim: float) -> np.ndarray:
    # The epsilon keeps e.g. 0.29 * 100 = 28.999999999999996 from flooring to 28.
    return np.floor(np.asarray(n_frames, np.float64) * trim + 1e-9).astype(np.int64)


def window_starts(n_frames: int, size: int = 100, hop: int = 50, trim: float = 0.15) -> np.ndarray:
    """Start samples of the windows of one clip.

    The first and last floor(trim * T) samples are discarded; windows lie inside the rest, the first at its
    beginning, `hop` apart. There are none when the rest is shorter than `size`.

    Args:
        n_frames: the clip length T in samples.
        size, hop: window length and hop in samples.
        trim: fraction of T cut from each end, in [0, 0.5).
    Returns:
        (N,) int64 start indices into the clip.
    """
    _check_settings(size, hop, trim)
    cut = int(_trim_cut(np.array([n_frames]), trim)[0])
    last = n_frames - cut - size  # last allowed start
    return np.arange(cut, last + 1, hop, dtype=np.int64) if last >= cut else np.empty(0, np.int64)


@dataclass(frozen=True)
class WindowIndex:
    """All windows of a set of clips: window i is samples [starts[i], starts[i] + size) of clip clip_list[codes[i]]."""

    clip_list: tuple[str, ...]  # the clips that were indexed (even those too short for a window)
    codes: np.ndarray  # (N,) int32 index into clip_list
    starts: np.ndarray  # (N,) int64
    size: int
    hop: int
    trim: float

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def clip_ids(self) -> np.ndarray:
        """(N,) the clip id of each window."""
        return np.asarray(self.clip_list, dtype=object)[self.codes] if self.clip_list else np.empty(0, object)

    def to_frame(self) -> pd.DataFrame:
        """One row per window: clip_id, start, stop (samples, stop exclusive)."""
        return pd.DataFrame({"clip_id": self.clip_ids, "start": self.starts, "stop": self.starts + self.size})

    def counts(self) -> pd.Series:
        """Number of windows per indexed clip (0 for clips too short)."""
        return pd.Series(np.bincount(self.codes, minlength=len(self.clip_list)), index=list(self.clip_list))


def build_index(clip_ids: list[str], n_frames: np.ndarray, size: int = 100, hop: int = 50,
                trim: float = 0.15) -> WindowIndex:
    """The windows of many clips at once (vectorised `window_starts`).

    Args:
        clip_ids: the clips, in order.
        n_frames: (C,) their lengths in samples.
    """
    _check_settings(size, hop, trim)
    n = np.asarray(n_frames, np.int64)
    cut = _trim_cut(n, trim)
    first, last = cut, n - cut - size
    counts = np.where(last >= first, (last - first) // hop + 1, 0)
    codes = np.repeat(np.arange(len(n), dtype=np.int32), counts)
    # position of each window within its clip: 0, 1, 2, ... restarting at each clip
    within = np.arange(len(codes), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    starts = first[codes] + within * hop
    return WindowIndex(tuple(clip_ids), codes, starts, int(size), int(hop), float(trim))


class ClipCache:
    """A small LRU of per-clip arrays (memmaps hold a file descriptor each, so it stays bounded)."""

    def __init__(self, max_items: int = 128):
        self.max_items = max(1, int(max_items))
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # threads may share a dataset; loading happens outside the lock

    def get(self, key: tuple[str, str], load: Callable[[], dict[tuple[str, str], np.ndarray]]) -> np.ndarray:
        """The cached array for `key`, else call `load()` (which may return several related arrays) and keep them."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        loaded = load()
        with self._lock:
            for k, v in loaded.items():
                self._items[k] = v
                self._items.move_to_end(k)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return loaded[key]

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class WindowSource(Protocol):
    """What `read_windows` reads of a dataset (`mujo.fimad.dataset.FimadDataset` has all of it)."""

    cache: ClipCache  # the per-clip arrays kept open between reads

    @property
    def imu_sites(self) -> tuple[str, ...]: ...

    def file_path(self, clip_id: str, modality: str) -> Path: ...

    def pose(self, clip_id: str, *, interpolate: bool = True, mmap: bool | None = True) -> np.ndarray | None: ...

    def imu(self, clip_id: str, *, interpolate: bool = True,
            mmap: bool | None = True) -> tuple[np.ndarray, np.ndarray | None] | None: ...


def _loader(dataset: WindowSource, clip_id: str, modality: str) -> Callable[[], dict]:
    def load() -> dict[tuple[str, str], np.ndarray]:
        if modality == "pose":
            arr = dataset.pose(clip_id, mmap=None)  # small files are read: cheaper than mapping them
            if arr is None:
                raise ClipError(clip_id, dataset.file_path(clip_id, "pose"), "no pose file")
            return {(clip_id, "pose"): np.asarray(arr)}  # plain views: indexing np.memmap pays for the subclass
        imu = dataset.imu(clip_id, mmap=None)
        if imu is None or (modality == "gyro" and imu[1] is None):
            raise ClipError(clip_id, dataset.file_path(clip_id, "imu"), f"no {modality} data")
        out = {(clip_id, "acc"): np.asarray(imu[0])}
        if imu[1] is not None:
            out[(clip_id, "gyro")] = np.asarray(imu[1])
        return out

    return load


def read_windows(dataset: WindowSource, index: WindowIndex, rows: np.ndarray | slice | None = None,
                 modality: str = "pose") -> np.ndarray:
    """Read windows of one modality as one float32 array.

    Rows are grouped by clip so each clip's array is opened once (kept in `dataset.cache`, an LRU of memmaps)
    and gathered with one fancy index. Windows over a long NaN gap come back with NaN (see `nan_windows`);
    a window reaching past the end of a shorter-than-announced array is NaN-padded.

    Args:
        dataset: the dataset the index was built on.
        index: the window index.
        rows: which windows (indices into `index`, or a slice); None = all.
        modality: "pose", "acc" or "gyro".
    Returns:
        (N, size, 17, 3) for pose, (N, size, S, 3) for acc/gyro with S = len(dataset.imu_sites).
    Raises:
        ClipError: a clip's file is missing or unreadable.
    """
    if modality not in WINDOW_MODALITIES:
        raise ValueError(f"modality must be one of {WINDOW_MODALITIES}, got {modality!r}")
    if rows is None or isinstance(rows, slice):
        rows = np.arange(len(index))[rows if rows is not None else slice(None)]
    rows = np.asarray(rows, np.int64)
    width = N_JOINTS if modality == "pose" else len(dataset.imu_sites)
    out = np.empty((len(rows), index.size, width, 3), np.float32)
    if len(rows) == 0:
        return out
    codes, starts = index.codes[rows], index.starts[rows]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    offsets = np.arange(index.size)
    for pos in np.split(order, bounds):  # pos: increasing positions in `out` of one clip's windows
        clip_id = index.clip_list[codes[pos[0]]]
        arr = dataset.cache.get((clip_id, modality), _loader(dataset, clip_id, modality))
        idx = starts[pos, None] + offsets  # (n, size)
        if idx[:, -1].max() >= len(arr):  # n_frames said more than the file holds
            past = idx >= len(arr)
            block = arr[np.minimum(idx, len(arr) - 1)] if len(arr) else np.zeros(idx.shape + arr.shape[1:], np.float32)
            block[past] = np.nan
            out[pos] = block
        elif pos[-1] - pos[0] + 1 == len(pos):  # contiguous (the usual sequential read): gather in place
            np.take(arr, idx, axis=0, out=out[pos[0]: pos[-1] + 1])
        else:
            out[pos] = arr[idx]
    return out


def nan_windows(windows: np.ndarray) -> np.ndarray:
    """(N,) True for the windows that contain any NaN (over a long gap); callers decide to drop or mask them."""
    return np.isnan(windows.reshape(len(windows), -1)).any(axis=1)


def n_windows(n_frames: int, size: int = 100, hop: int = 50, trim: float = 0.15) -> int:
    """How many windows a clip of `n_frames` samples gives (len of `window_starts`)."""
    _check_settings(size, hop, trim)
    cut = math.floor(n_frames * trim + 1e-9)
    last = n_frames - cut - size
    return (last - cut) // hop + 1 if last >= cut else 0
