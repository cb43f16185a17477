"""Common preprocessing of a target dataset: resample to 50 Hz, cut labelled windows, cache them, feed a model."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from mujo.datasets.base import NULL_INDEX, NULL_NAME, DatasetError, DatasetInfo, Recording, TargetDataset, natural_key

if TYPE_CHECKING:
    from mujo.config import ModelConfig

CACHE_VERSION = 2  # bump when the window layout or labelling changes, so old caches are not reused
_ARRAYS = ("imu", "pose", "labels", "recording", "start", "subject", "session")
Progress = Callable[[float, str], None]


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


def prepare(ds: TargetDataset, spec: PrepareSpec = PrepareSpec(), *, cache: bool = True,
            progress: Progress | None = None) -> WindowSet:
    """Resample every recording of `ds` to `spec.rate` and cut labelled windows, reusing a cached result.

    Args:
        ds: the target dataset.
        spec: rate, window, hop, channel groups, placements, pose.
        cache: read/write `data_dir()/targets/<name>-<fingerprint[:12]>/` (written to a temporary folder, then
            renamed; reopened memory-mapped); False keeps everything in memory.
        progress: called with (fraction 0..1, message).

    Returns:
        The WindowSet; recordings that could not be read are skipped and listed in `problems`.

    Raises:
        DatasetError: a channel group, placement or pose the dataset lacks; no readable recording; no window.
    """
    report = progress or (lambda f, m: None)
    placements, sites, columns = _resolve(ds.info, spec)
    fp = fingerprint(ds, spec)
    folder = cache_folder(ds.info.name, fp) if cache else None
    if folder is not None:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a read-only data folder: still usable, just not cached
            report(0.0, f"not caching the windows: cannot create {folder.parent} ({e})")
            folder = None
    if folder is None:
        ws = _assemble(ds, spec, placements, sites, fp, _read_all(ds, spec, placements, columns, report))
    else:
        with _lock(folder):  # parallel sweep workers wait for one build instead of each building the same cache
            ws = _cached(folder, ds.info, report)
            if ws is not None:
                return ws
            parts = _read_all(ds, spec, placements, columns, report)
            report(0.92, f"{ds.info.name}: writing windows")
            tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
            try:
                ws = _assemble(ds, spec, placements, sites, fp, parts, tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            ws = _save(ws, tmp, folder)
    report(1.0, f"{ds.info.name}: {len(ws)} windows from {len(ws.recording_ids)} recordings")
    return ws


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
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(folder.parent / f".{folder.name}.lock", "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _resolve(info: DatasetInfo, spec: PrepareSpec) -> tuple[tuple[str, ...], tuple[str, ...], list[int]]:
    missing = [c for c in spec.channels if c not in info.channels]
    if missing:
        raise DatasetError(f"{info.name} has no {', '.join(missing)} channels (it has {', '.join(info.channels)})")
    placements = tuple(info.placements) if spec.placements is None else spec.placements
    unknown = [p for p in placements if p not in info.placements]
    if unknown or not placements:
        raise DatasetError(f"{info.name} has no {', '.join(unknown) or 'chosen'} sensor placement; "
                           f"it has {', '.join(info.placements)}")
    if spec.pose and not info.has_pose:
        raise DatasetError(f"{info.name} has no pose; prepare it with pose=False")
    columns = [3 * info.channels.index(c) + k for c in spec.channels for k in range(3)]
    return placements, tuple(info.placements[p] for p in placements), columns


def fingerprint(ds: TargetDataset, spec: PrepareSpec) -> str:
    """sha1 over the dataset's name, class, root, recording ids, source file sizes/times, info and spec."""
    h = hashlib.sha1()
    info = asdict(ds.info)
    parts = [CACHE_VERSION, type(ds).__qualname__, ds.info.name, str(Path(ds.root).resolve()), list(ds.ids),
             json.dumps(info, sort_keys=True, default=str), json.dumps(asdict(spec), sort_keys=True)]
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
    from mujo.paths import data_dir

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "dataset"
    return data_dir() / "targets" / f"{safe}-{fp[:12]}"


def resample_recording(rec: Recording, rate: float) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray],
                                                              np.ndarray | None]:
    """A recording on a `rate` grid over its span: (times s, labels by nearest sample, imu linear, pose linear)."""
    n = len(rec)
    if n == 0:
        return np.zeros(0), np.zeros(0, np.int64), {p: a[:0] for p, a in rec.imu.items()}, None
    if abs(rec.rate - rate) < 1e-9:
        pose = None if rec.pose is None else np.asarray(rec.pose, np.float32)
        return (np.arange(n) / rate, np.asarray(rec.labels, np.int64),
                {p: np.asarray(a, np.float32) for p, a in rec.imu.items()}, pose)
    m = int(np.floor((n - 1) * rate / rec.rate + 1e-9)) + 1  # grid points inside [0, (n - 1) / rec.rate]
    pos = np.arange(m) * (rec.rate / rate)  # fractional source index of each output sample
    i0 = np.minimum(pos.astype(np.int64), max(n - 2, 0))
    w = (pos - i0).astype(np.float32)[:, None]
    i1 = np.minimum(i0 + 1, n - 1)

    def lin(a: np.ndarray) -> np.ndarray:
        flat = np.asarray(a, np.float32).reshape(n, -1)
        return ((1 - w) * flat[i0] + w * flat[i1]).reshape((m,) + np.shape(a)[1:])

    labels = np.asarray(rec.labels, np.int64)[np.minimum(np.rint(pos).astype(np.int64), n - 1)]
    imu = {p: lin(a) for p, a in rec.imu.items()}
    pose = None if rec.pose is None else lin(rec.pose)
    return pos / rec.rate, labels, imu, pose


def window_labels(labels: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Majority label of each window [s, s + window); ties go to the centre sample's label."""
    if len(starts) == 0:
        return np.zeros(0, np.int64)
    values, inverse = np.unique(labels, return_inverse=True)
    onehot = np.zeros((len(labels) + 1, len(values)), np.int32)
    onehot[np.arange(1, len(labels) + 1), inverse] = 1
    counts = np.cumsum(onehot, axis=0)
    counts = counts[starts + window] - counts[starts]  # (W, K) samples of each label per window
    best = counts.max(axis=1)
    centre = inverse[starts + window // 2]
    pick = np.where(counts[np.arange(len(starts)), centre] == best, centre, counts.argmax(axis=1))
    return values[pick].astype(np.int64)


@dataclass
class _Part:
    rec_id: str
    subject: str
    session: str
    imu: np.ndarray  # (N, S, C) at spec.rate
    labels: np.ndarray
    pose: np.ndarray | None
    starts: np.ndarray  # window starts kept
    n_nan: int


def _read_all(ds: TargetDataset, spec: PrepareSpec, placements: tuple[str, ...], columns: list[int],
              report: Progress) -> tuple[list[_Part], list[str]]:
    parts: list[_Part] = []
    problems: list[str] = []
    width = 3 * len(ds.info.channels)
    for i in range(len(ds)):
        rid = ds.ids[i]
        if i % max(1, len(ds) // 100) == 0:  # about 100 reports: a progress file is not rewritten per recording
            report(0.9 * i / max(len(ds), 1), f"{ds.info.name}: reading {rid} ({i + 1}/{len(ds)})")
        try:
            rec = ds.recording(i)
            for p in placements:
                if p not in rec.imu:
                    raise DatasetError(f"no {p} sensor in this recording")
                if rec.imu[p].shape[1] < width:
                    raise DatasetError(f"{p} has {rec.imu[p].shape[1]} columns; {', '.join(ds.info.channels)} "
                                       f"need {width}")
            if spec.pose and rec.pose is None:
                raise DatasetError("no pose in this recording")
            # only the chosen placements, channels and pose are resampled
            rec = replace(rec, imu={p: np.asarray(rec.imu[p])[:, columns] for p in placements},
                          pose=rec.pose if spec.pose else None)
            _, labels, imu, pose = resample_recording(rec, spec.rate)
        except Exception as e:  # noqa: BLE001 - a broken recording is skipped and reported, whatever the loader raised
            known = isinstance(e, (DatasetError, ValueError, OSError, KeyError))
            problems.append(f"{rid}: {e}" if known else f"{rid}: {type(e).__name__}: {e}")
            continue
        x = np.stack([imu[p] for p in placements], axis=1)  # (N, S, C)
        n = len(labels)
        starts = np.arange(0, n - spec.window + 1, spec.hop, dtype=np.int64) if n >= spec.window else \
            np.zeros(0, np.int64)
        if len(starts) == 0:
            problems.append(f"{rid}: {n} samples at {spec.rate:g} Hz is shorter than one window ({spec.window}); "
                            "no windows")
        bad = ~np.isfinite(x).all(axis=(1, 2))
        if pose is not None:
            bad |= ~np.isfinite(pose).all(axis=(1, 2))
        n_nan = 0
        if bad.any() and len(starts):
            cum = np.concatenate([[0], np.cumsum(bad)])
            ok = cum[starts + spec.window] == cum[starts]
            n_nan = int((~ok).sum())
            starts = starts[ok]
        parts.append(_Part(rid, rec.subject, rec.session, x, labels, pose, starts, n_nan))
    if not parts:
        raise DatasetError(f"{ds.info.name} at {ds.root}: no recording could be read: "
                           + "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5
                                                        else ""))
    return parts, problems


def _assemble(ds: TargetDataset, spec: PrepareSpec, placements: tuple[str, ...], sites: tuple[str, ...], fp: str,
              read: tuple[list[_Part], list[str]], folder: Path | None = None) -> WindowSet:
    """Windows of all parts into arrays allocated once: in memory, or as .npy files in `folder` when given."""
    parts, problems = read
    nan = [(p.rec_id, p.n_nan) for p in parts if p.n_nan]
    if nan:
        problems.append(f"dropped {sum(n for _, n in nan)} windows with missing values (NaN) in {len(nan)} "
                        "recordings: " + ", ".join(f"{r} ({n})" for r, n in nan[:10]) + (" ..." if len(nan) > 10
                                                                                         else ""))
    parts = [p for p in parts if len(p.starts)]  # recordings without a window are only listed in problems
    total = sum(len(p.starts) for p in parts)
    if total == 0:
        raise DatasetError(f"{ds.info.name} at {ds.root}: no complete window of {spec.window} samples at "
                           f"{spec.rate:g} Hz in any recording")

    def alloc(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        if folder is None:
            return np.empty(shape, dtype)
        return np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    subjects = sorted({p.subject for p in parts}, key=natural_key)
    sessions = sorted({p.session for p in parts}, key=natural_key)
    s_idx, e_idx = {s: i for i, s in enumerate(subjects)}, {s: i for i, s in enumerate(sessions)}
    c = 3 * len(spec.channels)
    imu = alloc("imu", (total, spec.window, len(placements), c), np.float32)
    pose = alloc("pose", (total, spec.window, 17, 3), np.float32) if spec.pose else None
    labels, recording, start = np.empty(total, np.int64), np.empty(total, np.int32), np.empty(total, np.int64)
    subject, session = np.empty(total, np.int32), np.empty(total, np.int32)
    steps = np.arange(spec.window)
    at = 0
    for r, p in enumerate(parts):
        k = len(p.starts)
        idx = p.starts[:, None] + steps  # (k, window) sample indices
        imu[at:at + k] = p.imu[idx]
        if pose is not None:
            pose[at:at + k] = p.pose[idx]
        labels[at:at + k] = window_labels(p.labels, p.starts, spec.window)
        recording[at:at + k], start[at:at + k] = r, p.starts
        subject[at:at + k], session[at:at + k] = s_idx[p.subject], e_idx[p.session]
        at += k
    for arr in (imu, pose):
        if isinstance(arr, np.memmap):
            arr.flush()
    return WindowSet(
        imu=imu, pose=pose, labels=labels, recording=recording, start=start, subject=subject, session=session,
        recording_ids=[p.rec_id for p in parts], subjects=subjects, sessions=sessions,
        classes=tuple(ds.info.classes), placements=placements, sites=sites, channels=spec.channels, spec=spec,
        info=ds.info, fingerprint=fp, problems=problems)


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


def zscore_stats(imu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per site and channel mean and std (floored at 1e-6) of (W, T, S, C) windows: (S, C) float32 each."""
    if len(imu) == 0:
        raise ValueError("z-score statistics need at least one window")
    s = np.zeros(imu.shape[2:], np.float64)
    ss = np.zeros(imu.shape[2:], np.float64)
    n = 0
    for i in range(0, len(imu), 4096):  # chunks keep a memory-mapped set from being read whole as float64
        x = np.asarray(imu[i:i + 4096], np.float64).reshape(-1, *imu.shape[2:])
        s += x.sum(axis=0)
        ss += np.square(x).sum(axis=0)
        n += len(x)
    mean = s / n
    std = np.sqrt(np.maximum(ss / n - mean ** 2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


def model_input(ws: WindowSet, rows: np.ndarray, modality: str, *, mean: np.ndarray | None = None,
                std: np.ndarray | None = None) -> np.ndarray:
    """Windows `rows` as a model takes them.

    Args:
        ws: the windows.
        rows: window indices.
        modality: "imu" -> (B, T, S, C) float32 z-scored with mean/std ((S, C); None: the stats of these rows);
            "pose" -> (B, T, 17, 3) float32 copy passed through `normalize_pose`.

    Returns:
        A new float32 array (the WindowSet is never changed).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if str(modality) == "imu":
        x = np.asarray(ws.imu[rows], dtype=np.float32).copy()
        if mean is None or std is None:
            mean, std = zscore_stats(x) if len(x) else (np.zeros(x.shape[2:], np.float32),
                                                        np.ones(x.shape[2:], np.float32))
        x -= np.asarray(mean, np.float32)
        x /= np.asarray(std, np.float32)
        return x
    if str(modality) == "pose":
        if ws.pose is None:
            raise DatasetError(f"{ws.info.name} windows were prepared without pose (PrepareSpec(pose=True))")
        from mujo.data.bank import normalize_pose

        return normalize_pose(np.asarray(ws.pose[rows], dtype=np.float32).copy())
    raise ValueError(f"modality must be 'imu' or 'pose', got {modality!r}")


def site_order(ws_sites: Sequence[str], model_sites: Sequence[str]) -> list[int]:
    """Permutation of the windows' site axis into the model's site order.

    Raises:
        CheckpointError: the two site sets differ (names both and how to pre-train a matching model).
    """
    from mujo.checkpoint import CheckpointError

    ws_sites, model_sites = list(ws_sites), list(model_sites)
    if sorted(ws_sites) != sorted(model_sites) or len(set(ws_sites)) != len(ws_sites):
        raise CheckpointError(f"the dataset's sensors sit at {ws_sites} but the checkpoint was pre-trained for "
                              f"{model_sites}; pre-train one for these sites: mujo pretrain --sites "
                              + " ".join(ws_sites))
    return [ws_sites.index(s) for s in model_sites]


def checkpoint_problem(info: DatasetInfo, config: ModelConfig, inputs: Sequence[str]) -> str | None:
    """Why a checkpoint with `config` cannot run on `info`'s dataset with `inputs` ("imu", "pose"), or None."""
    modalities = {str(m) for m in config.modalities}
    problems = []
    for inp in inputs:
        if str(inp) not in ("imu", "pose"):
            problems.append(f"unknown input {inp!r} (expected imu or pose)")
        elif str(inp) not in modalities:
            problems.append(f"the checkpoint has no {inp} encoder")
    if "imu" in map(str, inputs) and "imu" in modalities:
        sites = list(info.placements.values())  # in the dataset's order, as the windows hold them
        if sorted(sites) != sorted(config.imu_sites):
            problems.append(f"the checkpoint's IMU sites {list(config.imu_sites)} differ from {info.name}'s "
                            f"{sites} (pre-train with: mujo pretrain --sites {' '.join(sites)})")
        lacking = [c for c in config.imu_channels if c not in info.channels]
        if lacking:
            problems.append(f"the checkpoint uses {', '.join(lacking)} channels that {info.name} lacks")
    if "pose" in map(str, inputs) and not info.has_pose:
        problems.append(f"{info.name} has no pose")
    return "; ".join(problems) or None
