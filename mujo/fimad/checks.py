"""Check an open FiMAD dataset clip by clip from array headers and a NaN scan, and report every problem found."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Protocol

import av
import numpy as np
import pandas as pd

from mujo.fimad.arrays import load_npz, npy_info, open_npy
from mujo.fimad.clips import inflate_budget
from mujo.fimad.errors import ArrayFileError, FimadError
from mujo.fimad.gaps import fill_short_gaps, frame_nan_mask, has_missing, nan_runs
from mujo.fimad.layout import (
    CLIPS,
    FEATURES_DIR,
    IMU_DIR,
    MANIFEST,
    MODALITY_FILES,
    NPY,
    NPZ,
    POSE_DIR,
    TEXT_FEATURES_DIR,
    VIDEO_DIR,
    is_safe_clip_id,
)
from mujo.fimad.report import Problem, ValidationReport

__all__ = ["CHECK_VIDEO", "CheckedDataset", "ClipChecker", "check_dataset", "clip_checker", "clip_problems",
           "coverage_of", "dataset_problems"]

CHECK_VIDEO = ("none", "header", "open")
# First box types a readable MP4/QuickTime file may start with.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


class CheckedDataset(Protocol):
    """What the checks read of an open dataset (`mujo.fimad.dataset.FimadDataset` has all of it)."""

    root: Path
    clips: pd.DataFrame
    load_problems: list[Problem]
    manifest: Any  # its `features` and `text_features` dicts name the precomputed features

    def text_features(self, name: str) -> tuple[list[str], dict[str, np.ndarray]]: ...

    @property
    def fps(self) -> float: ...

    @property
    def imu_sites(self) -> tuple[str, ...]: ...

    @property
    def max_gap_frames(self) -> int: ...

    def file_path(self, clip_id: str, modality: str) -> Path: ...

    def listed(self, modality: str) -> set[str]: ...


def _ranges(runs: np.ndarray, fps: float, limit: int = 5) -> str:
    parts = [f"{a / fps:.2f}-{b / fps:.2f} s" for a, b in runs[:limit]]
    return ", ".join(parts) + (f" and {len(runs) - limit} more" if len(runs) > limit else "")


class ClipChecker:
    """Checks the files of one dataset; each method returns the problems of one clip's file."""

    def __init__(self, ds: CheckedDataset, check_video: str, max_gap: int):
        self.ds, self.check_video, self.max_gap = ds, check_video, max_gap
        self.n_sites = len(ds.imu_sites)

    def _array(self, cid: str, rel: str, name: str, arr: np.ndarray, shape: tuple, n_frames: float) -> list[Problem]:
        out = []
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
            return [Problem(cid, rel, "shape", "error", f"{name} has shape {arr.shape}, expected {want}")]
        if not np.issubdtype(arr.dtype, np.floating):
            return [Problem(cid, rel, "dtype", "error", f"{name} has dtype {arr.dtype}, expected float32")]
        if arr.dtype != np.float32:
            out.append(Problem(cid, rel, "dtype", "warning", f"{name} has dtype {arr.dtype}, expected float32 "
                                                             "(converted on read, no longer memory-mapped)"))
        if not math.isnan(n_frames) and len(arr) != n_frames:
            out.append(Problem(cid, rel, "n_frames", "warning", f"{name} has {len(arr)} samples but {CLIPS} says "
                                                                f"n_frames={int(n_frames)}"))
        out += self._nan(cid, rel, name, arr)
        return out

    def _nan(self, cid: str, rel: str, name: str, arr: np.ndarray) -> list[Problem]:
        if len(arr) == 0 or not has_missing(arr):
            return []
        before = nan_runs(frame_nan_mask(arr))  # NaN and ±inf alike: both are missing samples
        after = nan_runs(frame_nan_mask(fill_short_gaps(arr, self.max_gap)))
        n_inf = int(np.isinf(np.asarray(arr)).sum())
        which = f" (NaN or ±inf; {n_inf} infinite value(s) read as missing)" if n_inf else ""
        out = []
        if len(after):
            out.append(Problem(cid, rel, "nan_gap", "warning", f"{name}: {len(after)} long NaN gap(s) left as NaN at "
                                                               f"{_ranges(after, self.ds.fps)}{which}"))
        n_short = int(np.diff(before).sum() - np.diff(after).sum())
        if n_short > 0:
            out.append(Problem(cid, rel, "nan_gap", "info",
                               f"{name}: {n_short} missing sample(s) in short gaps interpolated{which}"))
        return out

    def pose(self, cid: str, n_frames: float) -> list[Problem]:
        path = self.ds.file_path(cid, "pose")
        rel = f"{POSE_DIR}/{path.name}"
        try:
            arr = open_npy(path)
        except (ArrayFileError, OSError) as e:
            return [Problem(cid, rel, "unreadable", "error", str(e))]
        return self._array(cid, rel, "pose", arr, (None, 17, 3), n_frames)

    def imu(self, cid: str, n_frames: float) -> list[Problem]:
        path = self.ds.file_path(cid, "imu")
        rel = f"{IMU_DIR}/{path.name}"
        budget = inflate_budget(None if math.isnan(n_frames) else n_frames, self.n_sites)
        try:
            arrays = load_npz(path, ("acc", "gyro"), max_bytes=budget)
        except (ArrayFileError, OSError) as e:
            return [Problem(cid, rel, "unreadable", "error", str(e))]
        if "acc" not in arrays:
            return [Problem(cid, rel, "shape", "error", 'no "acc" array in the npz')]
        out = self._array(cid, rel, "acc", arrays["acc"], (None, self.n_sites, 3), n_frames)
        if "gyro" not in arrays:
            out.append(Problem(cid, rel, "missing", "info", 'no "gyro" array (accelerometer only)'))
        elif arrays["gyro"].shape != arrays["acc"].shape:
            out.append(Problem(cid, rel, "shape", "error",
                               f"gyro has shape {arrays['gyro'].shape} but acc has {arrays['acc'].shape}"))
        else:
            out += [p for p in self._array(cid, rel, "gyro", arrays["gyro"], (None, self.n_sites, 3), n_frames)
                    if p.kind != "n_frames"]  # acc already said it
        return out

    def video(self, cid: str) -> list[Problem]:
        path = self.ds.file_path(cid, "video")
        rel = f"{VIDEO_DIR}/{path.name}"
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError as e:
            return [Problem(cid, rel, "unreadable", "error", f"cannot be read ({e.strerror or e})")]
        if len(head) < 8 or head[4:8] not in _MP4_FIRST_BOXES:
            return [Problem(cid, rel, "unreadable", "error", "not an MP4 file (no ftyp box at the start)")]
        if self.check_video == "open":
            try:
                with av.open(str(path)) as c:
                    if not c.streams.video:
                        return [Problem(cid, rel, "unreadable", "error", "the MP4 has no video stream")]
            except Exception as e:  # PyAV raises many error types for broken files
                return [Problem(cid, rel, "unreadable", "error", f"PyAV cannot open it ({e})")]
        return []


def _feature_problems(ds: CheckedDataset, ids: set[str]) -> list[Problem]:
    """Precomputed video features (headers of each clip's file) and text features (each file read) of the manifest."""
    out = []
    for name, spec in ds.manifest.features.items():
        if not is_safe_clip_id(name):
            out.append(Problem(None, MANIFEST, "bad_value", "warning",
                               f'"features" names {name[:60]!r}, not a safe folder name; ignored'))
            continue
        folder = ds.root / FEATURES_DIR / name
        if not folder.is_dir():
            out.append(Problem(None, f"{FEATURES_DIR}/{name}/", "missing", "warning", f"{MANIFEST} lists it; absent"))
            continue
        dim = spec.get("dim") if isinstance(spec, dict) else None
        for path in sorted(folder.glob(f"*{NPY}")):
            cid = path.stem
            if cid not in ids:
                continue
            rel = f"{FEATURES_DIR}/{name}/{path.name}"
            try:
                info = npy_info(path)
            except (ArrayFileError, OSError) as e:
                out.append(Problem(cid, rel, "unreadable", "error", str(e)))
                continue
            if len(info.shape) != 2 or not np.issubdtype(info.dtype, np.floating):
                out.append(Problem(cid, rel, "shape", "error",
                                   f"features must be a float (F, D) array, got {info.dtype} {info.shape}"))
            elif type(dim) is int and info.shape[1] != dim:
                out.append(Problem(cid, rel, "shape", "warning", f"{info.shape[1]}-d features; {MANIFEST} says {dim}"))
    for name in ds.manifest.text_features:
        rel = f"{TEXT_FEATURES_DIR}/{name}{NPZ}"
        if not is_safe_clip_id(name):
            out.append(Problem(None, MANIFEST, "bad_value", "warning",
                               f'"text_features" names {name[:60]!r}, not a safe file name; ignored'))
            continue
        if not (ds.root / rel).is_file():
            out.append(Problem(None, rel, "missing", "warning", f"{MANIFEST} lists it; absent"))
            continue
        try:
            ds.text_features(name)
        except FimadError as e:
            out.append(Problem(None, rel, "unreadable", "error", e.reason))
    return out


def _split_leaks(clips: pd.DataFrame) -> list[Problem]:
    """Videos whose clips sit in more than one split (clips of one video must never be split)."""
    if "video_id" not in clips.columns:
        return []
    df = clips.loc[(clips["video_id"] != "") & (clips["split"] != ""), ["video_id", "split"]]
    n = df.groupby("video_id")["split"].nunique()
    out = []
    for vid in n.index[n > 1]:
        sub = df[df["video_id"] == vid]
        per = sub.groupby("split", sort=False).size()
        first = sub.index[sub["split"] != sub["split"].iloc[0]][0]
        ids = ", ".join(sub.index[:8]) + (" ..." if len(sub) > 8 else "")
        out.append(Problem(first, CLIPS, "split_leak", "warning",
                           f"video {vid!r} has clips in " + " and ".join(f"{s} ({c})" for s, c in per.items())
                           + f": {ids}"))
    return out


def clip_problems(check: ClipChecker, cid: str, n_frames: float, has: dict[str, bool],
                  partial: list[str]) -> list[Problem]:
    """The problems of one clip's files (what `check_dataset` finds for it; the incremental report reuses it)."""
    if not (has["pose"] or has["imu"] or has["video"]):
        return [Problem(cid, "", "no_data", "error", "no pose, imu or video file")]
    problems = [Problem(cid, f"{MODALITY_FILES[m][0]}/", "missing", "info", f"no {m} file")
                for m in partial if not has[m]]
    if has["pose"]:
        problems += check.pose(cid, n_frames)
    if has["imu"]:
        problems += check.imu(cid, n_frames)
    if has["video"] and check.check_video != "none":
        problems += check.video(cid)
    return problems


def coverage_of(clips: pd.DataFrame) -> tuple[dict[str, int], list[str]]:
    """Clips per modality, and the modalities that only some clips have (a clip lacking those gets a note)."""
    coverage = {m: int(clips[f"has_{m}"].sum()) for m in ("pose", "imu", "video")}
    return coverage, [m for m, n in coverage.items() if 0 < n < len(clips)]


def dataset_problems(ds: CheckedDataset) -> list[Problem]:
    """The problems of the dataset as a whole: split leaks, precomputed features, files with no row."""
    clips = ds.clips
    known = set(clips.index)
    problems = _split_leaks(clips) + _feature_problems(ds, known)
    for m in ("pose", "imu", "video"):
        orphans = sorted(ds.listed(m) - known)
        if orphans:
            problems.append(Problem(None, f"{MODALITY_FILES[m][0]}/", "orphan", "info",
                                    f"{len(orphans)} file(s) with no row in {CLIPS}: "
                                    + ", ".join(orphans[:5]) + (" ..." if len(orphans) > 5 else "")))
    return problems


def clip_checker(ds: CheckedDataset, check_video: str | bool = "header", max_gap_s: float | None = None) -> ClipChecker:
    """The checker of a dataset's clip files with these settings."""
    gap = ds.max_gap_frames if max_gap_s is None else int(math.floor(max_gap_s * ds.fps + 1e-9))
    return ClipChecker(ds, video_check(check_video), gap)


def check_dataset(ds: CheckedDataset, progress: Callable[[float, str], None] | None = None, *,
                  check_video: str | bool = "header", max_gap_s: float | None = None) -> ValidationReport:
    """Check an open dataset: table problems, then each clip's files (headers, shapes, n_frames, NaN gaps).

    Args:
        ds: the open dataset.
        progress, check_video, max_gap_s: as `mujo.fimad.validate.validate_dataset`.
    Returns:
        The report; `report.usable` is False only when the dataset lists no clip.
    """
    check = clip_checker(ds, check_video, max_gap_s)
    clips = ds.clips
    problems = list(ds.load_problems)
    coverage, partial = coverage_of(clips)
    problems.append(Problem(None, "", "coverage", "info",
                            ", ".join(f"{m}: {n}/{len(clips)} clips" for m, n in coverage.items())))
    ids = clips.index.to_numpy()
    n_frames = clips["n_frames"].to_numpy("float64", na_value=np.nan)
    has = {m: clips[f"has_{m}"].to_numpy() for m in ("pose", "imu", "video")}
    step = max(1, len(ids) // 100)
    for i, cid in enumerate(ids):
        if progress is not None and i % step == 0:
            progress(i / max(1, len(ids)), f"checking clip {i + 1}/{len(ids)}")
        problems += clip_problems(check, cid, n_frames[i], {m: bool(h[i]) for m, h in has.items()}, partial)
    problems += dataset_problems(ds)
    if progress is not None:
        progress(1.0, f"checked {len(ids)} clips")
    return ValidationReport(ds.root, len(clips) > 0, len(clips), problems, coverage)


def video_check(check_video: str | bool) -> str:
    """The video check a `check_video` argument names: True means "header", False "none" (ValueError otherwise)."""
    if isinstance(check_video, bool):  # True/False read as "check it cheaply"/"do not"
        check_video = "header" if check_video else "none"
    if check_video not in CHECK_VIDEO:
        raise ValueError(f"check_video must be 'none', 'header' or 'open', got {check_video!r}")
    return check_video
