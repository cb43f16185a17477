"""Check a FiMAD dataset clip by clip from array headers and a NaN scan, and report every problem found."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from mujo.fimad.arrays import ArrayFileError, fill_short_gaps, frame_nan_mask, has_nan, load_npz, nan_runs, open_npy

if TYPE_CHECKING:
    from mujo.fimad.dataset import FimadDataset

SEVERITIES = ("error", "warning", "info")
# First box types a readable MP4/QuickTime file may start with.
_MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


@dataclass(frozen=True)
class Problem:
    """One finding: which clip (None for the dataset as a whole), which file (relative to the root), what."""

    clip_id: str | None
    file: str
    kind: str  # e.g. "unreadable", "shape", "nan_gap", "duplicate_id" (see ValidationReport.counts)
    severity: str  # "error" (that data cannot be used), "warning" (usable with care) or "info"
    message: str


@dataclass
class ValidationReport:
    """Everything `validate_dataset` found, with coverage counts."""

    root: Path
    usable: bool  # the dataset opened and lists at least one clip
    n_clips: int
    problems: list[Problem] = field(default_factory=list)
    coverage: dict[str, int] = field(default_factory=dict)  # modality -> clips that have its file

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: clip_id, file, kind, severity, message."""
        cols = ["clip_id", "file", "kind", "severity", "message"]
        return pd.DataFrame([[getattr(p, c) for c in cols] for p in self.problems], columns=cols)

    def clips_with_problems(self, severity: str | None = None) -> set[str]:
        """Clip ids named by a problem (of that severity, if given)."""
        return {p.clip_id for p in self.problems if p.clip_id is not None and severity in (None, p.severity)}

    def counts(self) -> dict[str, int]:
        """Number of problems per kind."""
        return dict(Counter(p.kind for p in self.problems))

    def severity_counts(self) -> dict[str, int]:
        """Number of problems per severity (all three keys present)."""
        c = Counter(p.severity for p in self.problems)
        return {s: c.get(s, 0) for s in SEVERITIES}

    def summary(self) -> str:
        """A few human-readable lines."""
        sev = self.severity_counts()
        lines = [f"{self.root}: {'usable' if self.usable else 'NOT usable'}, {self.n_clips} clips; "
                 f"{sev['error']} errors, {sev['warning']} warnings, {sev['info']} notes"]
        if self.coverage:
            lines.append("coverage: " + ", ".join(f"{m} {n}/{self.n_clips}" for m, n in self.coverage.items()))
        for kind, n in sorted(self.counts().items(), key=lambda kv: -kv[1]):
            if kind == "coverage":  # already the line above
                continue
            first = next(p for p in self.problems if p.kind == kind)
            where = f"{first.clip_id}: " if first.clip_id else ""
            lines.append(f"  {kind} x{n} (e.g. {where}{first.file}: {first.message})")
        return "\n".join(lines)


def _ranges(runs: np.ndarray, fps: float, limit: int = 5) -> str:
    parts = [f"{a / fps:.2f}-{b / fps:.2f} s" for a, b in runs[:limit]]
    return ", ".join(parts) + (f" and {len(runs) - limit} more" if len(runs) > limit else "")


class _ClipChecker:
    """Checks the files of one dataset; each method returns the problems of one clip's file."""

    def __init__(self, ds: FimadDataset, check_video: str, max_gap: int):
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
            out.append(Problem(cid, rel, "n_frames", "warning", f"{name} has {len(arr)} samples but clips.csv says "
                                                                f"n_frames={int(n_frames)}"))
        out += self._nan(cid, rel, name, arr)
        return out

    def _nan(self, cid: str, rel: str, name: str, arr: np.ndarray) -> list[Problem]:
        if len(arr) == 0 or not has_nan(arr):
            return []
        before = nan_runs(frame_nan_mask(arr))
        after = nan_runs(frame_nan_mask(fill_short_gaps(arr, self.max_gap)))
        out = []
        if len(after):
            out.append(Problem(cid, rel, "nan_gap", "warning",
                               f"{name}: {len(after)} long NaN gap(s) left as NaN at {_ranges(after, self.ds.fps)}"))
        n_short = int(np.diff(before).sum() - np.diff(after).sum())
        if n_short > 0:
            out.append(Problem(cid, rel, "nan_gap", "info",
                               f"{name}: {n_short} missing sample(s) in short gaps interpolated"))
        return out

    def pose(self, cid: str, n_frames: float) -> list[Problem]:
        path = self.ds.file_path(cid, "pose")
        rel = f"pose/{path.name}"
        try:
            arr = open_npy(path)
        except (ArrayFileError, OSError) as e:
            return [Problem(cid, rel, "unreadable", "error", str(e))]
        return self._array(cid, rel, "pose", arr, (None, 17, 3), n_frames)

    def imu(self, cid: str, n_frames: float) -> list[Problem]:
        path = self.ds.file_path(cid, "imu")
        rel = f"imu/{path.name}"
        try:
            arrays = load_npz(path, ("acc", "gyro"))
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
        rel = f"video/{path.name}"
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError as e:
            return [Problem(cid, rel, "unreadable", "error", f"cannot be read ({e.strerror or e})")]
        if len(head) < 8 or head[4:8] not in _MP4_FIRST_BOXES:
            return [Problem(cid, rel, "unreadable", "error", "not an MP4 file (no ftyp box at the start)")]
        if self.check_video == "open":
            try:
                import av  # noqa: PLC0415  (optional, slow path)

                with av.open(str(path)) as c:
                    if not c.streams.video:
                        return [Problem(cid, rel, "unreadable", "error", "the MP4 has no video stream")]
            except Exception as e:  # PyAV raises many error types for broken files
                return [Problem(cid, rel, "unreadable", "error", f"PyAV cannot open it ({e})")]
        return []


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
        out.append(Problem(first, "clips.csv", "split_leak", "warning",
                           f"video {vid!r} has clips in " + " and ".join(f"{s} ({c})" for s, c in per.items())
                           + f": {ids}"))
    return out


def validate_dataset(dataset: FimadDataset | str | Path, progress: Callable[[float, str], None] | None = None, *,
                     check_video: str | bool = "header", max_gap_s: float | None = None) -> ValidationReport:
    """Check a dataset: table problems, then each clip's files (headers, shapes, n_frames, NaN gaps).

    Args:
        dataset: an open dataset or its folder (a folder that cannot be opened gives an unusable report).
        progress: called as progress(fraction, message) while clips are checked.
        check_video: "none", "header" (the file starts like an MP4; fast) or "open" (PyAV opens it; slower);
            True means "header", False "none".
        max_gap_s: longest NaN gap reading fills (default: the dataset's setting).
    Returns:
        The report; `report.usable` is False only when the dataset cannot be opened or lists no clip.
    """
    from mujo.fimad.dataset import FimadDataset, FimadError  # noqa: PLC0415  (fimad imports this module)

    if isinstance(check_video, bool):  # True/False read as "check it cheaply"/"do not"
        check_video = "header" if check_video else "none"
    if check_video not in ("none", "header", "open"):
        raise ValueError(f"check_video must be 'none', 'header' or 'open', got {check_video!r}")
    if not isinstance(dataset, FimadDataset):
        try:
            dataset = FimadDataset(dataset)
        except FimadError as e:
            return ValidationReport(Path(dataset), False, 0, [Problem(None, e.path.name, "dataset", "error", e.reason)])
    ds = dataset
    gap = ds.max_gap_frames if max_gap_s is None else int(math.floor(max_gap_s * ds.fps + 1e-9))
    check = _ClipChecker(ds, check_video, gap)
    clips = ds.clips
    problems = list(ds.load_problems)
    coverage = {m: int(clips[f"has_{m}"].sum()) for m in ("pose", "imu", "video")}
    problems.append(Problem(None, "", "coverage", "info",
                            ", ".join(f"{m}: {n}/{len(clips)} clips" for m, n in coverage.items())))
    partial = [m for m, n in coverage.items() if 0 < n < len(clips)]  # only flag gaps in a modality the data has
    ids = clips.index.to_numpy()
    n_frames = clips["n_frames"].to_numpy("float64", na_value=np.nan)
    has = {m: clips[f"has_{m}"].to_numpy() for m in ("pose", "imu", "video")}
    step = max(1, len(ids) // 100)
    for i, cid in enumerate(ids):
        if progress is not None and i % step == 0:
            progress(i / max(1, len(ids)), f"checking clip {i + 1}/{len(ids)}")
        if not (has["pose"][i] or has["imu"][i] or has["video"][i]):
            problems.append(Problem(cid, "", "no_data", "error", "no pose, imu or video file"))
            continue
        for m in partial:
            if not has[m][i]:
                problems.append(Problem(cid, f"{m}/", "missing", "info", f"no {m} file"))
        if has["pose"][i]:
            problems += check.pose(cid, n_frames[i])
        if has["imu"][i]:
            problems += check.imu(cid, n_frames[i])
        if has["video"][i] and check_video != "none":
            problems += check.video(cid)
    problems += _split_leaks(clips)
    known = set(ids)
    for m in ("pose", "imu", "video"):
        orphans = sorted(ds.listed(m) - known)
        if orphans:
            problems.append(Problem(None, f"{m}/", "orphan", "info",
                                    f"{len(orphans)} file(s) with no row in clips.csv: "
                                    + ", ".join(orphans[:5]) + (" ..." if len(orphans) > 5 else "")))
    if progress is not None:
        progress(1.0, f"checked {len(ids)} clips")
    return ValidationReport(ds.root, len(clips) > 0, len(clips), problems, coverage)
