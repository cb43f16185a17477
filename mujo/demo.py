"""The embedded default: a synthetic FiMAD that the app builds on first start, and the generator's size presets."""

from __future__ import annotations

import dataclasses
import fcntl
from pathlib import Path
from typing import Callable

from mujo import jobs
from mujo.synth.plan import SynthConfig
from mujo.paths import data_dir, demo_dataset_dir

DEMO_JOB = "demo"
# IMU sites of the demo model: both wrists, both thighs and the trunk, accelerometer and gyroscope. With the two
# wrists alone, text -> IMU R@10 on the demo's validation split was 34 % (chance 15 %); with these five, 45 %.
DEMO_SITES = ("LWrist", "RWrist", "LKnee", "RKnee", "Spine")

# Size presets of `mujo synth`. "demo" is the app's embedded default: big enough for the pages, the demo model and
# curation to be meaningful, small enough to build in a few minutes on 2 cores. "fimad" matches FiMAD's size
# (9,811 clips, about 78 hours): pose + IMU only is the benchmark's workload.
PRESETS: dict[str, SynthConfig] = {
    "demo": SynthConfig(name="fimad-demo", n_videos=40, chapters=(5, 12), exercise_s=(20.0, 45.0)),
    "fimad": SynthConfig(name="fimad-synthetic", n_videos=981, chapters=(5, 15), exercise_s=(15.0, 45.0)),
    "tiny": SynthConfig(name="fimad-tiny", n_videos=2, val_every=2, chapters=(5, 6), exercise_s=(12.0, 20.0)),
}


def preset_config(name: str = "demo", *, seed: int | None = None, n_videos: int | None = None,
                  with_video: bool | None = None) -> SynthConfig:
    """A preset's settings with optional overrides."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    over = {k: v for k, v in (("seed", seed), ("n_videos", n_videos), ("with_video", with_video)) if v is not None}
    return dataclasses.replace(PRESETS[name], **over)


def demo_ready(root: Path | None = None) -> bool:
    """Whether the embedded dataset is complete (its manifest and clip table are written last)."""
    root = root or demo_dataset_dir()
    return (root / "fimad.json").is_file() and (root / "clips.csv").is_file()


def ensure_demo_dataset(progress: Callable[[float, str], None] | None = None, root: Path | None = None) -> Path:
    """Build the embedded synthetic dataset unless it is already there; resumes an interrupted build.

    Two app sessions starting at once do not build it twice: the second waits on a lock file and then finds it done.

    Args:
        progress: called with (fraction, message) while building.
        root: where to build (default: `mujo.paths.demo_dataset_dir()`).
    Returns:
        The dataset folder.
    """
    from mujo.synth.generate import generate_dataset

    root = root or demo_dataset_dir()
    if demo_ready(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not demo_ready(root):
            generate_dataset(root, PRESETS["demo"], progress=progress)
    return root


def demo_model_dir() -> Path:
    """Where the demo model is pre-trained (the best checkpoint at its root, `last/` and `best/` inside)."""
    return data_dir() / "models" / "demo"


def demo_model_ready() -> bool:
    """Whether the demo model is trained and its embeddings of the demo dataset are written."""
    return (demo_model_dir() / "retrieval.json").is_file()


# Share of the whole first-start pipeline that each stage takes (measured on 2 cores), for one progress bar.
_STAGES = (("dataset", 0.30), ("features", 0.20), ("pretrain", 0.42), ("embed", 0.08))


def _stage(progress: Callable[[float, str], None] | None, name: str) -> Callable[[float, str], None]:
    lo = sum(w for n, w in _STAGES[: [n for n, _ in _STAGES].index(name)])
    hi = lo + dict(_STAGES)[name]

    def report(fraction: float, message: str) -> None:
        if progress:
            progress(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), f"{name}: {message}")

    return report


def run_demo_pipeline(progress: Callable[[float, str], None] | None = None) -> Path:
    """The app's first start: build the demo dataset, its features, pre-train the demo model, embed and evaluate.

    Every stage is cached or resumable, so a pipeline that was interrupted starts again where it stopped.
    Returns:
        The demo model's folder.
    """
    from mujo.fimad.dataset import FimadDataset
    from mujo.eval.embed import embed_dataset
    from mujo.eval.embedding_view import warm_default_view
    from mujo.eval.retrieval import retrieval_eval, save_retrieval
    from mujo.features import ensure_video_features, text_features
    from mujo.train.pretrain import pretrain
    from mujo.train.settings import PretrainSettings

    root = ensure_demo_dataset(_stage(progress, "dataset"))
    ds = FimadDataset(root)
    report = _stage(progress, "features")
    text_features(ds, "chapter_norm", progress=lambda f, m: report(0.1 * f, m))
    ensure_video_features(ds, progress=lambda f, m: report(0.1 + 0.9 * f, m))
    out = demo_model_dir()
    report = _stage(progress, "embed")
    if not demo_model_ready():
        # One torch thread: on 2 shared cores a second one mostly waits (measured up to 40x slower), and the app's
        # server needs the other core.
        settings = PretrainSettings(dataset=str(root), out=str(out), preset="small", name="demo model",
                                    resume=True, threads=1, sites=DEMO_SITES, gyro=True)
        pretrain(settings, progress=_stage(progress, "pretrain"))
        store = embed_dataset(out, root, progress=lambda f, m: report(0.8 * f, m))
        save_retrieval(retrieval_eval(store, "val"), store, "val", checkpoint_dir=out)
    else:
        store = embed_dataset(out, root, progress=lambda f, m: report(0.8 * f, m))  # up to date: reused
    report(0.9, "projecting the embedding space (UMAP)")
    warm_default_view(store)  # so the first visit to the Embedding Space page is instant
    report(1.0, "demo model ready")
    return out


def start_demo_build() -> jobs.JobStatus:
    """Run the first-start pipeline (dataset, features, demo model, embeddings) in a background process.

    Idempotent: while it runs, its status is returned; a pipeline that died resumes where it stopped.
    """
    if demo_ready() and demo_model_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.start(DEMO_JOB, ["demo"])


def demo_build_status() -> jobs.JobStatus:
    """Status of the first-start pipeline (done once the dataset and the demo model are complete)."""
    if demo_ready() and demo_model_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.status(DEMO_JOB)
