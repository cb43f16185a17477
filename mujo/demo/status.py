"""Where the first-start build stands: is the demo dataset and model there, start it as a job, its status.

Light on purpose (jobs, paths, the FiMAD file names): the Home page reads it on every run, while the build itself
(`mujo.demo.pipeline`) runs in its own process, as `mujo demo`.
"""

from __future__ import annotations

from pathlib import Path

from mujo import jobs
from mujo.checkpoint import RETRIEVAL
from mujo.fimad.layout import CLIPS, MANIFEST
from mujo.paths import data_dir, demo_dataset_dir
from mujo.synth.state import generation_pending

DEMO_JOB = "demo"


def demo_ready(root: Path | None = None) -> bool:
    """Whether the embedded dataset is complete: written, and its generation not still adding clips or videos."""
    root = root or demo_dataset_dir()
    return (root / MANIFEST).is_file() and (root / CLIPS).is_file() and not generation_pending(root)


def demo_browsable(root: Path | None = None) -> bool:
    """Whether the embedded dataset can be opened already (its first clips are published while it is built)."""
    root = root or demo_dataset_dir()
    return (root / MANIFEST).is_file() and (root / CLIPS).is_file()


def demo_model_dir() -> Path:
    """Where the demo model is pre-trained (the best checkpoint at its root, `last/` and `best/` inside)."""
    return data_dir() / "models" / "demo"


def demo_model_ready() -> bool:
    """Whether the demo model is trained and its embeddings of the demo dataset are written."""
    return (demo_model_dir() / RETRIEVAL).is_file()


def start_demo_build() -> jobs.JobStatus:
    """Run the first-start pipeline (dataset, features, demo model, embeddings) as a registry job (`mujo demo`).

    Idempotent: while it is queued or runs, its status is returned (every session joins the same job); a pipeline
    that died resumes where it stopped.
    """
    if demo_ready() and demo_model_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.start(DEMO_JOB, ["demo"], owner="first start")


def demo_build_status() -> jobs.JobStatus:
    """Status of the first-start pipeline (done once the dataset and the demo model are complete)."""
    if demo_ready() and demo_model_ready():
        return jobs.JobStatus(name=DEMO_JOB, state=jobs.DONE, fraction=1.0, message="ready")
    return jobs.status(DEMO_JOB)
