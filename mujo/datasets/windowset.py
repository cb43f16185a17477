"""A target dataset's labelled windows (WindowSet), how they are cut (PrepareSpec), and their on-disk cache:
npy files memory-mapped on reopen, written to a temporary folder and renamed, keyed by a fingerprint of the
dataset's files and the spec, built once under a lock when several processes ask at the same time."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from mujo import paths
from mujo.datasets.base import NULL_INDEX, NULL_NAME, DatasetInfo

try:
    import fcntl
except ImportError:  # Windows has no fcntl: no lock there, so two processes may build the same cache
    fcntl = None

if TYPE_CHECKING:
    from mujo.datasets.base import TargetDataset

Progress = Callable[[float, str], None]
CACHE_VERSION = 2  # bump when the window layout or labelling changes, so old caches are not reused
_ARRAYS = ("imu", "pose", "labels", "recording", "start", "subject", "session")

@dataclass(frozen=True)
class PrepareSpec:
    """How windows are cut from a target dataset."""

    rate: float = 50.0  # Hz every recording is resampled to
    window: int = 100  # samples per window
    hop: int = 50  # samples between window starts
    channels: tuple[str, ...] = ("acc",)  # subset of ("acc", "gyro"); error if the dataset lacks one
    placements: tuple[str, ...] | None = None  # None = all of the dataset's, in info order
    pose: bool = False  # include pose windows (error if the dataset has none)

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.placements is not None:
            object.__setattr__(self, "placements", tuple(self.placements))
        if not self.rate > 0 or self.window < 1 or self.hop < 1:
            raise ValueError(f"rate, window and hop must be positive, got {self.rate}, {self.window}, {self.hop}")
        bad = [c for c in self.channels if c not in ("acc", "gyro")]
        if bad or not self.channels or len(set(self.channels)) != len(self.channels):
            raise ValueError(f"channels must be a non-empty subset of ('acc', 'gyro'), got {self.channels}")
        # canonical group order [acc, gyro], as the models expect
        object.__setattr__(self, "channels", tuple(c for c in ("acc", "gyro") if c in self.channels))


@dataclass
class WindowSet:
    """Labelled windows of one dataset; arrays are memory-mapped from the cache folder or held in memory."""

    imu: np.ndarray  # (W, window, S, 3G) float32, SI units, NOT z-scored
    pose: np.ndarray | None  # (W, window, 17, 3) float32 metres, raw
    labels: np.ndarray  # (W,) int64 majority label; NULL_INDEX for NULL windows
    recording: np.ndarray  # (W,) int32 index into recording_ids
    start: np.ndarray  # (W,) int64 first sample at spec.rate
    subject: np.ndarray  # (W,) int32 index into subjects
    session: np.ndarray  # (W,) int32 index into sessions
    recording_ids: list[str]
    subjects: list[str]
    sessions: list[str]
    classes: tuple[str, ...]
    placements: tuple[str, ...]
    sites: tuple[str, ...]
    channels: tuple[str, ...]
    spec: PrepareSpec
    info: DatasetInfo
    fingerprint: str
    problems: list[str] = field(default_factory=list)
    path: Path | None = None  # the cache folder, when cached

    def __len__(self) -> int:
        return int(len(self.labels))

    def __repr__(self) -> str:
        return (f"WindowSet({self.info.name!r}, windows={len(self)}, recordings={len(self.recording_ids)}, "
                f"subjects={len(self.subjects)}, sites={list(self.sites)}, channels={list(self.channels)}, "
                f"pose={self.pose is not None})")

    def class_names(self, null: bool) -> tuple[str, ...]:
        """The classes a classifier predicts: the activities, plus NULL last when `null`."""
        return tuple(self.classes) + ((NULL_NAME,) if null else ())

    def targets(self, null: bool) -> np.ndarray:
        """(W,) int64 class index; NULL windows -> len(classes) when `null`, else -1 (the caller drops them)."""
        y = np.asarray(self.labels, dtype=np.int64).copy()
        y[y == NULL_INDEX] = len(self.classes) if null else -1
        return y


def _cached(folder: Path, info: DatasetInfo, report: Progress) -> WindowSet | None:
    """The cache in `folder` reopened, or None when absent; a damaged one is removed (and rebuilt by the caller)."""
    if not (folder / "meta.json").is_file():
        return None
    try:
        ws = _load(folder, info)
    except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged cache is rebuilt, not trusted
        report(0.0, f"rebuilding a damaged cache {folder} ({e})")
        shutil.rmtree(folder, ignore_errors=True)
        return None
    report(1.0, f"{info.name}: {len(ws)} windows from the cache")
    return ws


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive lock file beside the cache folder (no lock where fcntl is missing: builds may then repeat)."""
    if fcntl is None:
        yield
        return
    with open(folder.parent / f".{folder.name}.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fingerprint(ds: TargetDataset, spec: PrepareSpec) -> str:
    """sha1 over the dataset's name, class, root, recording ids, source file sizes/times, info and spec."""
    h = hashlib.sha1()
    info = asdict(ds.info)
    parts = [CACHE_VERSION, type(ds).__qualname__, ds.info.name, str(Path(ds.root).resolve()), list(ds.ids),
             json.dumps(info, sort_keys=True, default=str), json.dumps(asdict(spec), sort_keys=True)]
    if getattr(ds, "label_stamp", ""):  # labels kept outside the dataset's files (a store's curation: fimad_target)
        parts.append(ds.label_stamp)
    for p in parts:
        h.update(repr(p).encode())
    for line in _source_stamp(Path(ds.root)):
        h.update(line.encode())
    return h.hexdigest()


def _source_stamp(root: Path) -> list[str]:
    """(relative path, size, mtime) of every file under root: a changed file means a new cache."""
    if root.is_file():
        st = root.stat()
        return [f"{root.name}:{st.st_size}:{st.st_mtime_ns}"]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            try:
                st = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            out.append(f"{os.path.relpath(os.path.join(dirpath, name), root)}:{st.st_size}:{st.st_mtime_ns}")
    return out


def cache_folder(name: str, fp: str) -> Path:
    """`data_dir()/targets/<name>-<fingerprint[:12]>` (name reduced to safe characters)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "dataset"
    return paths.data_dir() / "targets" / f"{safe}-{fp[:12]}"


def _save(ws: WindowSet, tmp: Path, folder: Path) -> WindowSet:
    """Finish the temporary cache folder `tmp` (imu/pose already there), rename it to `folder`, reopen it."""
    try:
        for name in _ARRAYS:
            arr = getattr(ws, name)
            if arr is not None and not (tmp / f"{name}.npy").is_file():
                np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
        meta = {"cache_version": CACHE_VERSION, "fingerprint": ws.fingerprint, "recording_ids": ws.recording_ids,
                "subjects": ws.subjects, "sessions": ws.sessions, "classes": list(ws.classes),
                "placements": list(ws.placements), "sites": list(ws.sites), "channels": list(ws.channels),
                "spec": asdict(ws.spec), "problems": ws.problems}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))  # written last: its presence marks a whole cache
        ws.imu = ws.pose = None  # close the memory maps before the rename
        if not (folder / "meta.json").is_file():  # else another process finished first (no lock): keep its copy
            shutil.rmtree(folder, ignore_errors=True)  # leftovers without meta.json are incomplete
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / "meta.json").is_file():
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return _load(folder, ws.info)


def _load(folder: Path, info: DatasetInfo) -> WindowSet:
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("cache_version") != CACHE_VERSION:
        raise ValueError(f"cache version {meta.get('cache_version')} is not {CACHE_VERSION}")
    arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) if (folder / f"{n}.npy").is_file()
              else None for n in _ARRAYS}
    spec = meta["spec"]
    spec["channels"] = tuple(spec["channels"])
    spec["placements"] = None if spec["placements"] is None else tuple(spec["placements"])
    return WindowSet(**arrays, recording_ids=meta["recording_ids"], subjects=meta["subjects"],
                     sessions=meta["sessions"], classes=tuple(meta["classes"]), placements=tuple(meta["placements"]),
                     sites=tuple(meta["sites"]), channels=tuple(meta["channels"]), spec=PrepareSpec(**spec),
                     info=info, fingerprint=meta["fingerprint"], problems=list(meta["problems"]), path=folder)
