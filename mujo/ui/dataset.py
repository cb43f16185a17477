"""Cached access to the open FiMAD dataset for the pages: the dataset and per-clip arrays (the validation report is
mujo.ui.report's: cached on disk, refreshed in the background).

Caching (style.md point 11): the opened dataset is a shared read-only resource (`st.cache_resource`), keyed by
its resolved folder and the modification times of the files and folders that define it, so editing clips.csv or
fimad.json, or adding/removing a clip's file, reopens it. The per-clip arrays are pure loaders (`st.cache_data`)
with the same key. Nothing here reads session state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from mujo import settings
from mujo.access import Role, User, auth_configured
from mujo.demo.status import demo_browsable, demo_build_status, demo_ready, start_demo_build
from mujo.fimad.dataset import ClipError, FimadDataset, FimadError
from mujo.fimad.layout import CLIPS, DATASET_FILES, IMU_DIR, MANIFEST, POSE_DIR, VIDEO_DIR
from mujo.fimad.validate import ValidationReport
from mujo.jobs import JobStatus
from mujo.ui.text import short

Stamp = tuple[float, ...]
# What the opened dataset depends on: the three table files and the per-clip folders (whose listing sets
# has_pose/has_imu/has_video; a folder's mtime changes when a file is added, removed or renamed into it).
_STAMP_FILES = (*DATASET_FILES, POSE_DIR, IMU_DIR, VIDEO_DIR)
# Severities that make a clip show up under "only clips with problems" ("info" notes, e.g. "no video file",
# describe coverage rather than a problem).
PROBLEM_SEVERITIES = ("error", "warning")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def dataset_stamp(root: Path) -> Stamp:
    """Modification times of the table files and the per-clip folders (0 when absent): the cache key's version."""
    return tuple(_mtime(root / name) for name in _STAMP_FILES)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset folder plus the stamp it was opened at; hashable, so it keys the caches below."""

    root: str
    stamp: Stamp

    @classmethod
    def of(cls, folder: str | Path) -> DatasetRef:
        root = Path(folder).expanduser().resolve()
        return cls(str(root), dataset_stamp(root))


@st.cache_resource(show_spinner="Opening the dataset…", max_entries=4)
def _open(root: str, stamp: Stamp) -> FimadDataset:
    return FimadDataset(root)


def open_dataset(ref: DatasetRef) -> FimadDataset:
    """The opened dataset (shared by all sessions). Raises FimadError when the folder is not a usable FiMAD."""
    return _open(ref.root, ref.stamp)


def folder_problem(folder: str | Path) -> str | None:
    """Why a folder cannot be opened as a FiMAD dataset (a sentence naming what is missing), or None if it opens."""
    text = str(folder).strip()
    if not text:
        return "Enter the path of a FiMAD dataset folder."
    path = Path(text).expanduser()
    if not path.exists():
        return f"{path} does not exist."
    if not path.is_dir():
        return f"{path} is a file, not a folder."
    missing = [name for name in (MANIFEST, CLIPS) if not (path / name).is_file()]
    if missing:
        return (f"{path} is not a FiMAD dataset: it lacks {' and '.join(missing)} "
                f"(a FiMAD folder holds {MANIFEST}, {CLIPS} and {POSE_DIR}/, {IMU_DIR}/, {VIDEO_DIR}/ folders).")
    try:
        open_dataset(DatasetRef.of(path))
    except FimadError as e:
        return f"{path} is not a usable FiMAD dataset: {e}"
    return None


def problem_clips(report: ValidationReport) -> set[str]:
    """Clips named by an error or a warning of the report."""
    out: set[str] = set()
    for sev in PROBLEM_SEVERITIES:
        out |= report.clips_with_problems(sev)
    return out


def file_mtime(ds: FimadDataset, clip_id: str, modality: str) -> float:
    """Modification time of a clip's file (0 when absent); keys the per-clip caches so a replaced file is reread."""
    return _mtime(ds.file_path(clip_id, modality))


@st.cache_data(show_spinner=False, max_entries=32)
def load_pose(root: str, stamp: Stamp, clip_id: str, mtime: float = 0.0) -> np.ndarray | None:
    """(T, 17, 3) float32 pose of a clip (short NaN gaps filled), None when it has none; ClipError if broken.

    `mtime` (file_mtime) only keys the cache.
    """
    arr = _open(root, stamp).pose(clip_id)
    return None if arr is None else np.array(arr, dtype=np.float32)  # a plain copy: memmaps do not cache well


@st.cache_data(show_spinner=False, max_entries=32)
def load_imu(root: str, stamp: Stamp, clip_id: str,
             mtime: float = 0.0) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(acc, gyro) of a clip, each (T, S, 3) float32 (gyro may be None); None without IMU; ClipError if broken.

    `mtime` (file_mtime) only keys the cache.
    """
    out = _open(root, stamp).imu(clip_id)
    if out is None:
        return None
    acc, gyro = out
    return np.array(acc, dtype=np.float32), (None if gyro is None else np.array(gyro, dtype=np.float32))


@st.cache_data(show_spinner=False, max_entries=8)
def _read_bytes(path: str, mtime: float, size: int) -> bytes:
    return Path(path).read_bytes()


def load_video(root: str, stamp: Stamp, clip_id: str, max_bytes: int) -> tuple[bytes, str] | None:
    """The clip's mp4 bytes and its name relative to the root; None without video.

    Raises:
        ClipError: the file cannot be read or is larger than `max_bytes` (too big to embed in the page).
    """
    path = _open(root, stamp).video_path(clip_id)
    if path is None:
        return None
    rel = f"video/{path.name}"
    try:
        st_ = path.stat()
        if st_.st_size > max_bytes:
            raise ClipError(clip_id, path, f"{st_.st_size / 1e6:.0f} MB is too large to show in the page "
                                           f"(limit {max_bytes / 1e6:.0f} MB)")
        if st_.st_size == 0:
            raise ClipError(clip_id, path, "the file is empty")
        return _read_bytes(str(path), st_.st_mtime, st_.st_size), rel
    except OSError as e:
        raise ClipError(clip_id, path, f"cannot be read ({e.strerror or e})") from None


def overview(ds: FimadDataset) -> dict[str, float]:
    """Headline numbers of a dataset: clips, hours, source videos and per-modality coverage."""
    clips: pd.DataFrame = ds.clips
    n = len(clips)
    videos = clips["video_id"].replace("", np.nan).dropna().nunique() if "video_id" in clips.columns else 0
    return {
        "clips": n,
        "hours": float(clips["duration_s"].sum(skipna=True)) / 3600.0,
        "source_videos": int(videos),
        "pose": int(clips["has_pose"].sum()),
        "imu": int(clips["has_imu"].sum()),
        "video": int(clips["has_video"].sum()),
    }


def demo_dataset_ready() -> bool:
    """Whether the embedded demo dataset is complete on disk."""
    return demo_ready()


def demo_dataset_browsable() -> bool:
    """Whether the embedded demo dataset can be opened already (it is published while it is built)."""
    return demo_browsable()


def demo_status() -> JobStatus:
    """Status of the first-start pipeline (demo dataset, features, demo model), done when all are complete."""
    return demo_build_status()


def start_demo() -> JobStatus:
    """Start (or resume) the first-start pipeline in a background process; returns its status."""
    return start_demo_build()


# --- which folders a visitor may open ------------------------------------------------------------------------
SCAN_DEPTH = 4  # folder levels searched below each data root
SCAN_LIMIT = 1000  # datasets listed at most
REFUSED = "is not one of the datasets under the configured data roots."


@st.cache_data(ttl=30, show_spinner=False)
def _scan(roots: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for root in roots:
        base = len(Path(root).parts)
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):  # a link is never walked through
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if MANIFEST in filenames and CLIPS in filenames:
                real = settings.within_roots(dirpath, [Path(r) for r in roots])
                if real is not None:
                    found.append(str(real))
                dirnames[:] = []  # a dataset's own folders hold no other dataset
            if len(Path(dirpath).parts) - base >= SCAN_DEPTH:
                dirnames[:] = []
            if len(found) >= SCAN_LIMIT:
                return sorted(set(found))
    return sorted(set(found))


def datasets_under_roots(roots: list[Path] | None = None) -> list[Path]:
    """The FiMAD folders (with fimad.json and clips.csv) under the data roots, up to SCAN_DEPTH levels down; the
    listing is refreshed every 30 s."""
    roots = settings.data_roots() if roots is None else roots
    return [Path(p) for p in _scan(tuple(str(r) for r in roots))]


def may_type_paths(user: User) -> bool:
    """Whether this user may open any server folder by its path: only without data roots, and on a server with
    logins only an admin (anyone else chooses among the roots' datasets, or has the server's default)."""
    return not settings.data_roots() and (not auth_configured() or user.role >= Role.ADMIN)


def choice_problem(text: str, user: User) -> tuple[Path | None, str | None]:
    """(the resolved folder, None) when this user may open `text` as their dataset, else (None, why not).

    With data roots the folder must be a dataset inside them, and every refusal reads the same, whatever lies at
    the path (no answer tells whether a path exists, is a file, or lacks fimad.json). Without roots, a local install
    answers as before (folder_problem).
    """
    text = str(text or "").strip()
    roots = settings.data_roots()
    if roots:
        real = settings.within_roots(text, roots)
        if real is None or not (real / MANIFEST).is_file() or not (real / CLIPS).is_file():
            return None, f"{short(text, 200, one_line=True) or 'That'} {REFUSED}"
        return real, None
    if not may_type_paths(user):
        return None, "Only an administrator opens a folder by its path on this server (no data roots are configured)."
    problem = folder_problem(text)
    return (None, problem) if problem else (Path(text).expanduser().resolve(), None)
