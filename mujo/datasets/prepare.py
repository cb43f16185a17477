"""Common preprocessing of a target dataset: resample every recording to 50 Hz and cut labelled windows (cached;
see mujo.datasets.windowset), and what a model is fed from them (mujo.datasets.inputs, re-exported here)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from mujo.datasets.base import DatasetError, DatasetInfo, Recording, TargetDataset, natural_key

# what a model sees of the windows lives in mujo.datasets.inputs; kept importable from here too
from mujo.datasets.inputs import checkpoint_problem, model_input, site_order, zscore_stats
from mujo.datasets.windowset import PrepareSpec, WindowSet, _cached, _lock, _save, cache_folder, fingerprint

Progress = Callable[[float, str], None]


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


__all__ = ["PrepareSpec", "WindowSet", "prepare", "fingerprint", "cache_folder", "resample_recording",
           "window_labels", "checkpoint_problem", "model_input", "site_order", "zscore_stats"]
