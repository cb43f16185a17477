"""The first-start pipeline (`mujo demo`): the embedded demo dataset, its features, the demo model, its embeddings.

Heavy (the generator, torch): it runs in its own process; the app reads its progress through `mujo.demo.status`.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from mujo.demo.presets import demo_size
from mujo.demo.status import demo_model_dir, demo_model_ready, demo_ready
from mujo.demo.videos import describe_rendered_videos
from mujo.eval.embed import embed_dataset
from mujo.eval.embedding_view import warm_default_view
from mujo.eval.projection import project
from mujo.eval.retrieval import retrieval_eval, save_retrieval
from mujo.features import MUJO_FLOW, ensure_video_features, text_features
from mujo.fimad.dataset import FimadDataset
from mujo.paths import demo_dataset_dir
from mujo.synth.generate import generate_dataset, settings_differ
from mujo.train.pretrain import pretrain
from mujo.train.settings import PretrainSettings

# IMU sites of the demo model: both wrists, both thighs and the trunk, accelerometer and gyroscope. With the two
# wrists alone, text -> IMU R@10 on the demo's validation split was 34 % (chance 15 %); with these five, 45 %.
DEMO_SITES = ("LWrist", "RWrist", "LKnee", "RKnee", "Spine")
# Torch threads of the demo's pre-training: both cores (the videos are encoded after it; measured 3.5 s per epoch
# with 2 threads against 4.4 s with one on an idle 2-core machine).
DEMO_THREADS = 2


def ensure_demo_dataset(progress: Callable[[float, str], None] | None = None, root: Path | None = None, *,
                        videos: bool = True) -> Path:
    """Build the embedded synthetic dataset unless it is already there; resumes an interrupted build.

    Two app sessions starting at once do not build it twice: the second waits on a lock file and then finds it done.

    Args:
        progress: called with (fraction, message) while building.
        root: where to build (default: `mujo.paths.demo_dataset_dir()`).
        videos: False returns once every clip's pose, IMU and text are written (browsable), leaving its mp4s to a
            later call.
    Returns:
        The dataset folder.
    """
    root = root or demo_dataset_dir()
    if demo_ready(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    cfg = demo_size().synth
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not demo_ready(root):
            differ = settings_differ(root, cfg)
            if differ:  # a half-built demo of other demo settings (an older version, another MUJO_DEMO_SIZE)
                if progress:
                    progress(0.0, f"the unfinished demo dataset in {root} was made with other settings "
                                  f"({', '.join(differ)}): building it again")
                shutil.rmtree(root)
            generate_dataset(root, cfg, progress=progress, videos=videos)
    return root


# Share of the whole first-start pipeline's wall time on 2 cores that each stage takes, for one progress bar, from
# benchmarks/bench_first_start.py: the clips' pose, IMU and text, their video features from frames rendered in
# memory, pre-training, embedding + retrieval + UMAP, and then the mp4s (rendered and encoded once the model is ready).
_STAGES = (("dataset", 0.03), ("features", 0.22), ("pretrain", 0.37), ("embed", 0.08), ("videos", 0.30))


def _stage(progress: Callable[[float, str], None] | None, name: str) -> Callable[[float, str], None]:
    lo = sum(w for n, w in _STAGES[: [n for n, _ in _STAGES].index(name)])
    hi = lo + dict(_STAGES)[name]

    def report(fraction: float, message: str) -> None:
        if progress:
            progress(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), f"{name}: {message}")

    return report


def _start_umap_warmup() -> multiprocessing.process.BaseProcess:
    """Compile umap-learn's numba kernels into numba's cache on disk (`projection.numba_cache_dir`) in a process
    of its own, by projecting random points: the demo's projection then loads them instead of compiling on the
    critical path."""
    points = np.random.default_rng(0).normal(size=(1000, 128)).astype(np.float32)  # (N, D)
    # spawn: torch's threads in this process must not be forked; the child imports mujo.eval.projection only
    warm = multiprocessing.get_context("spawn").Process(target=project, args=(points,), kwargs={"n_epochs": 5},
                                                         daemon=True, name="umap warm-up")
    warm.start()
    return warm


def run_demo_pipeline(progress: Callable[[float, str], None] | None = None) -> Path:
    """The app's first start: the demo dataset's clips, their features, the demo model, its embeddings and
    retrieval metrics and UMAP view, and then the clips' videos.

    The mp4s come last: the video features are computed from the same frames rendered in memory
    (`mujo.demo.videos`), so the model is ready without waiting for the encoder; Browse shows each clip's video
    as soon as it is written. Its size is $MUJO_DEMO_SIZE's (`mujo.demo.presets.demo_size`; the "demo" size when
    unset). Every stage is cached or resumable, so a pipeline that was interrupted starts again where it stopped.
    Returns:
        The demo model's folder.
    """
    # umap-learn's kernels compile (once per machine) beside the first stages, not beside pre-training, whose
    # torch threads would wait on the core it takes (measured: epochs 3x slower while it ran)
    warm = _start_umap_warmup()
    root = ensure_demo_dataset(_stage(progress, "dataset"), videos=False)
    ds = FimadDataset(root)
    report = _stage(progress, "features")
    text_features(ds, "chapter_norm", progress=lambda f, m: report(0.05 * f, m))
    if demo_ready(root):  # complete (videos and all): its features come from its mp4s (cached)
        ensure_video_features(ds, progress=lambda f, m: report(0.05 + 0.95 * f, m))
    else:
        describe_rendered_videos(root, demo_size().synth, progress=lambda f, m: report(0.05 + 0.95 * f, m))
    out = demo_model_dir()
    report = _stage(progress, "embed")
    if not demo_model_ready():
        settings = PretrainSettings(dataset=str(root), out=str(out), preset="small", name="demo model",
                                    resume=True, threads=DEMO_THREADS, sites=DEMO_SITES, gyro=True,
                                    video_feature=MUJO_FLOW, epochs=demo_size().epochs)
        pretrain(settings, progress=_stage(progress, "pretrain"))
        store = embed_dataset(out, root, progress=lambda f, m: report(0.8 * f, m))
        save_retrieval(retrieval_eval(store, "val"), store, "val", checkpoint_dir=out)
    else:
        store = embed_dataset(out, root, progress=lambda f, m: report(0.8 * f, m))  # up to date: reused
    report(0.9, "projecting the embedding space (UMAP)")
    warm.join()  # its kernels are in numba's cache on disk now: the projection below loads them
    warm_default_view(store)  # so the first visit to the Embedding Space page is instant
    report(1.0, "demo model ready")
    ensure_demo_dataset(_stage(progress, "videos"))  # the mp4s: Browse plays each as soon as it is written
    return out
