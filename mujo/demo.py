"""The embedded default: a synthetic FiMAD that the app builds on first start, and the generator's size presets."""

from __future__ import annotations

import dataclasses
import fcntl
from pathlib import Path
from typing import Callable

from mujo import jobs
from mujo.data.synth_plan import SynthConfig
from mujo.paths import demo_dataset_dir

DEMO_JOB = "demo-dataset"

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
    from mujo.data.synth import generate_dataset

    root = root or demo_dataset_dir()
    if demo_ready(root):
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not demo_ready(root):
            generate_dataset(root, PRESETS["demo"], progress=progress)
    return root


def start_demo_build() -> jobs.JobStatus:
    """Build the embedded dataset in a background process (the app's first start); returns the job's status.

    Idempotent: while a build runs, its status is returned; a build that died is resumed where it stopped.
    """
    if demo_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.start(DEMO_JOB, ["synth", str(demo_dataset_dir()), "--preset", "demo"])


def demo_build_status() -> jobs.JobStatus:
    """Status of the background build of the embedded dataset (done once the dataset is complete)."""
    if demo_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.status(DEMO_JOB)
