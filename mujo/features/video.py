"""Video features per pose sample: precomputed `features/<name>/` when the dataset has them, else "mujo_flow".

"mujo_flow" (see `mujo.features.flow`) is computed from each clip's mp4 in a process pool, resampled to the
dataset rate (one row per pose/IMU sample) and cached as FiMAD `features/mujo_flow/<clip_id>.npy`, in the dataset
folder when writable, else under `data_dir()/cache/<dataset>/`. Finished clips are skipped on the next run, so an
interrupted run resumes; every file is written atomically. A clip whose video is missing or unreadable is reported
and skipped.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import cv2
import numpy as np
import pandas as pd

from mujo.features import flow
from mujo.features.cache import cache_dir, candidate_dirs, load_json, output_dir, save_json, save_npy
from mujo.fimad.arrays import ArrayFileError, npy_info, open_npy
from mujo.fimad.errors import ClipError
from mujo.fimad.layout import FEATURES_DIR, MANIFEST, is_safe_clip_id
from mujo.fimad.video import VideoError

if TYPE_CHECKING:
    from mujo.fimad.dataset import FimadDataset

log = logging.getLogger(__name__)

MUJO_FLOW = "mujo_flow"
_META = "meta.json"  # clip ids cannot hold a ".", so this never collides with <clip_id>.npy
Progress = Callable[[float, str], None]


@dataclass
class VideoFeatureReport:
    """What a `compute_video_features` run did."""

    name: str
    folder: Path
    computed: list[str] = field(default_factory=list)
    already_done: int = 0
    no_video: list[str] = field(default_factory=list)  # clips without an mp4
    failed: dict[str, str] = field(default_factory=dict)  # clip id -> why (unreadable, truncated ...)
    frames: int = 0  # video frames decoded
    seconds: float = 0.0

    def summary(self) -> str:
        rate = f", {self.frames / self.seconds:.0f} frames/s" if self.seconds > 0 and self.frames else ""
        return (f"{self.name}: {len(self.computed)} clips computed ({self.frames} frames in {self.seconds:.1f} s"
                f"{rate}), {self.already_done} already done, {len(self.no_video)} without video, "
                f"{len(self.failed)} failed")


def _meta() -> dict:
    return {"descriptor": MUJO_FLOW, "version": flow.VERSION, "dim": flow.DIM}


def flow_dir(ds: FimadDataset) -> Path | None:
    """The folder holding this dataset's current mujo_flow features, or None when none were computed yet."""
    for folder in candidate_dirs(ds, FEATURES_DIR, MUJO_FLOW):
        if load_json(folder / _META) == _meta():
            return folder
    return None


def precomputed_video_features(ds: FimadDataset) -> list[str]:
    """Names of the precomputed video features listed in fimad.json whose folder exists."""
    return [n for n in ds.manifest.features
            if n != MUJO_FLOW and is_safe_clip_id(n) and (ds.root / FEATURES_DIR / n).is_dir()]


def flow_done(path: Path, n_frames: int) -> bool:
    """Whether `path` holds a clip's complete mujo_flow features (n_frames rows)."""
    try:
        info = npy_info(path)
    except (ArrayFileError, OSError):
        return False
    return info.shape == (n_frames, flow.DIM) and info.dtype == np.float32


def _compute_clip(video: str, out: str, n_frames: int, fps: float) -> tuple[int, str | None]:
    """Worker: describe one video, align to the clip's samples, save; returns (frames decoded, error or None)."""
    try:
        times, feats = flow.describe_video(video)
        save_npy(Path(out), flow.align_to_rate(times, feats, n_frames, fps))
        return len(feats), None
    except (VideoError, OSError, ValueError) as e:
        return 0, str(e)
    except Exception as e:  # noqa: BLE001  (an odd file must not end the whole run: report it)
        return 0, f"{video}: {type(e).__name__}: {e}"


def _init_worker() -> None:
    cv2.setNumThreads(1)  # parallel over clips: one thread per process


def prepare_flow_folder(ds: FimadDataset) -> Path:
    """The folder to write this dataset's mujo_flow features into (made, with its meta.json, when new)."""
    folder = flow_dir(ds)
    if folder is not None:
        return folder
    folder = output_dir(ds, FEATURES_DIR, MUJO_FLOW)
    if load_json(folder / _META) is None and any(folder.glob("*.npy")):
        # files we did not write (we write meta.json first): never overwrite them, use the project cache
        folder = cache_dir(ds) / FEATURES_DIR / MUJO_FLOW
        folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.npy"):  # our files from another descriptor version: start over
        stale.unlink(missing_ok=True)
    save_json(folder / _META, _meta())
    return folder


def compute_video_features(ds: FimadDataset, *, workers: int | None = None, clip_ids: list[str] | None = None,
                           progress: Progress | None = None) -> VideoFeatureReport:
    """Compute the mujo_flow descriptor of every clip with a video that does not have it yet.

    Args:
        ds: the dataset.
        workers: processes (default: the cores this process may use); 1 computes in this process.
        clip_ids: restrict to these clips (default: all).
        progress: called with (fraction of video frames, message).
    Returns:
        A report; failures (missing/unreadable video) are listed there and logged, never raised.
    """
    folder = prepare_flow_folder(ds)
    report = VideoFeatureReport(MUJO_FLOW, folder)
    clips = ds.clips if clip_ids is None else ds.clips.loc[list(clip_ids)]
    clips = clips[clips["n_frames"].notna()]
    todo: list[tuple[str, str, str, int]] = []
    for cid, n, has in zip(clips.index, clips["n_frames"].astype(int), clips["has_video"]):
        out = folder / f"{cid}.npy"
        if not has:
            report.no_video.append(cid)
        elif flow_done(out, n):
            report.already_done += 1
        else:
            todo.append((cid, str(ds.video_path(cid)), str(out), n))
    todo.sort(key=lambda job: -job[3])  # longest first: the pool ends with short clips, evenly loaded
    total = max(1, sum(job[3] for job in todo))
    finished, start = 0, time.monotonic()

    def record(job: tuple[str, str, str, int], frames: int, error: str | None) -> None:
        nonlocal finished
        cid = job[0]
        if error is None:
            report.computed.append(cid)
            report.frames += frames
        else:
            report.failed[cid] = error
            log.warning("video features of clip %s skipped: %s", cid, error)
        finished += job[3]
        if progress:
            rate = report.frames / max(time.monotonic() - start, 1e-9)
            progress(finished / total, f"video: {len(report.computed) + len(report.failed)}/{len(todo)} clips, "
                                       f"{rate:.0f} frames/s")

    if progress:
        progress(0.0, f"video: {len(todo)} clips to describe ({report.already_done} done)")
    n_workers = max(1, min(workers or len(os.sched_getaffinity(0)), len(todo)))
    if n_workers == 1:
        for job in todo:
            record(job, *_compute_clip(job[1], job[2], job[3], ds.fps))
    elif todo:
        # spawn: the caller may hold threads (Streamlit, torch) that a forked child would inherit mid-lock
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker) as pool:
            pending = {pool.submit(_compute_clip, j[1], j[2], j[3], ds.fps): j for j in todo}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        try:
                            frames, error = fut.result()
                        except BrokenProcessPool as e:  # a decoder crash kills its worker: report, go on
                            frames, error = 0, f"worker process died ({e}); run again to retry"
                        record(pending.pop(fut), frames, error)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # finished clips stay saved: the next run resumes
                raise
    report.seconds = time.monotonic() - start
    if report.no_video:
        log.info("%s: %d clips have no video", ds.root, len(report.no_video))
    return report


def ensure_video_features(ds: FimadDataset, *, name: str | None = None, workers: int | None = None,
                          progress: Progress | None = None) -> str:
    """Make sure per-frame video features exist and say which to use.

    Args:
        ds: the dataset.
        name: a precomputed feature (`features/<name>/`), or "mujo_flow"; None: the first precomputed feature listed
            in fimad.json that exists, else mujo_flow (computed where missing).
        workers, progress: as in `compute_video_features`.
    Returns:
        The feature name for `video_features`.
    Raises:
        ValueError: a named precomputed feature that the dataset does not have.
    """
    if name is None:
        found = precomputed_video_features(ds)
        name = found[0] if found else MUJO_FLOW
    if name != MUJO_FLOW:
        if not (ds.root / FEATURES_DIR / name).is_dir():
            listed = ", ".join(precomputed_video_features(ds)) or "none"
            raise ValueError(f"{ds.root / 'features' / name}: no such precomputed video features "
                             f"(present: {listed}; or use {MUJO_FLOW!r})")
        if progress:
            progress(1.0, f"video: precomputed {name}")
        return name
    report = compute_video_features(ds, workers=workers, progress=progress)
    if progress:
        progress(1.0, report.summary())
    return MUJO_FLOW


def video_features(ds: FimadDataset, clip_id: str, name: str) -> np.ndarray | None:
    """A clip's video features at the dataset rate: row t belongs to pose/IMU sample t.

    Precomputed features are resampled by time when their rate (fimad.json `features.<name>.fps`, default the
    dataset's) or length differs from the clip's.

    Returns:
        (T, D) float32 with T = the clip's n_frames, or None when the clip has none.
    Raises:
        ClipError: an unreadable or malformed feature file.
    """
    ds.file_path(clip_id, "video")  # ClipError for an unsafe or unknown id before any path is built
    n = ds.clips.at[clip_id, "n_frames"]
    if pd.isna(n):  # a bad n_frames in clips.csv: the clip has no windows
        return None
    n = int(n)
    if name == MUJO_FLOW:
        folder = flow_dir(ds)
        path = folder / f"{clip_id}.npy" if folder else None
        if path is None or not path.is_file():
            return None
        try:
            arr = open_npy(path)
        except (ArrayFileError, OSError) as e:
            raise ClipError(clip_id, path, str(e)) from None
        if arr.shape != (n, flow.DIM):
            raise ClipError(clip_id, path, f"mujo_flow has shape {arr.shape}, expected ({n}, {flow.DIM})")
        return np.asarray(arr, np.float32)
    arr = ds.features(name, clip_id)
    if arr is None:
        return None
    spec = ds.manifest.features.get(name)
    rate = spec.get("fps", ds.fps) if isinstance(spec, dict) else ds.fps
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
        raise ClipError(clip_id, ds.root / MANIFEST, f'"features.{name}.fps" must be a number > 0, got {rate!r}')
    rate = float(rate)
    if len(arr) == n and rate == ds.fps:
        return np.asarray(arr, np.float32)
    return flow.align_to_rate(np.arange(len(arr)) / rate, np.asarray(arr, np.float32), n, ds.fps)
