"""The demo's video features before its videos: every clip's frames rendered in memory and described (mujo_flow).

A synthetic clip's video is a pure function of (seed, video index), so the first start need not encode the mp4s
(half of the video work) and decode them again before the model can train: it renders the frames, takes the luma
plane the encoder would have been given (`flow.rgb_luma`) and describes it exactly as `compute_video_features`
describes a decoded file. The features differ from those of the encoded mp4 only by the codec's loss. The mp4s
themselves are rendered afterwards, once the demo model is ready (`generate_dataset` resumes its video pass).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable

import cv2

from mujo.features import flow
from mujo.features.cache import save_npy
from mujo.features.video import flow_done, prepare_flow_folder
from mujo.fimad.dataset import FimadDataset
from mujo.synth.generate import generate_video, video_look
from mujo.synth.plan import SynthConfig
from mujo.synth.render import render_frames

Progress = Callable[[float, str], None]


def _describe_video(folder: str, index: int, cfg: SynthConfig) -> tuple[int, int]:
    """Worker: the mujo_flow features of every clip of video `index` that lacks them; (clips, frames) described."""
    cv2.setNumThreads(1)  # parallel over videos: one thread per process
    video = generate_video(cfg.seed, index, cfg)
    camera, appearance = video_look(cfg.seed, index, cfg, video)
    clips = frames = 0
    for clip in video.clips:
        out, n = Path(folder) / f"{clip.row['clip_id']}.npy", int(clip.row["n_frames"])
        if flow_done(out, n):
            continue
        rendered = render_frames(clip.clean_pose, cfg.fps, camera, appearance, video_fps=cfg.video_fps,
                                 size=cfg.video_size)
        lumas = ((i / cfg.video_fps, flow.shrink(flow.rgb_luma(rgb))) for i, rgb in enumerate(rendered))
        times, feats = flow.describe_frames(lumas, clip.row["clip_id"])
        save_npy(out, flow.align_to_rate(times, feats, n, cfg.fps))
        clips, frames = clips + 1, frames + len(feats)
    return clips, frames


def describe_rendered_videos(root: str | Path, cfg: SynthConfig, *, workers: int | None = None,
                             progress: Progress | None = None) -> int:
    """Compute the mujo_flow features of the synthetic dataset at `root` (generated with `cfg`, its first pass
    done) from frames rendered in memory; clips that have them are skipped, so an interrupted pass resumes.

    Args:
        workers: processes (default: the cores this process may use); 1 computes in this process.
        progress: (fraction of the videos, message).
    Returns:
        The number of clips described.
    """
    folder = str(prepare_flow_folder(FimadDataset(root)))
    todo = list(range(cfg.n_videos))
    n_workers = max(1, min(workers or len(os.sched_getaffinity(0)), len(todo)))
    start, described, frames = time.monotonic(), 0, 0

    def record(done: int, result: tuple[int, int]) -> None:
        nonlocal described, frames
        described, frames = described + result[0], frames + result[1]
        if progress:
            rate = frames / max(time.monotonic() - start, 1e-9)
            progress(done / len(todo), f"video: {done}/{len(todo)} videos rendered and described in memory, "
                                       f"{rate:.0f} frames/s")

    if n_workers == 1:
        for k, index in enumerate(todo, 1):
            record(k, _describe_video(folder, index, cfg))
        return described
    # spawn: the caller may hold threads (torch) that a forked child would inherit mid-lock
    with ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(_describe_video, folder, index, cfg) for index in todo}
        k = 0
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                k += 1
                record(k, fut.result())
    return described
