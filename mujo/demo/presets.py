"""The synthetic generator's size presets (`mujo synth --preset`); "demo" is what the app builds on first start, and
`MUJO_DEMO_SIZE` picks a smaller first-start build (tests, a quick look)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from mujo.synth.plan import SynthConfig

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


DEMO_SIZE_ENV = "MUJO_DEMO_SIZE"  # the first-start build's size: "demo" (default) or "tiny"


@dataclass(frozen=True)
class DemoSize:
    """What the first start builds: the demo dataset's generator settings and the demo model's epochs."""

    synth: SynthConfig
    epochs: int | None = None  # at most; None: the pre-training preset's


# "tiny": the "tiny" preset (2 videos, 12 clips) with 10 video frames per second, and a 2-epoch model: the whole
# first start in about a minute of CPU time (measured 60 s of `mujo demo`; the embedding, UMAP's compilation and
# the video features take most of it), for the tests and a quick look; its model is not meant to be good.
# "demo": the "demo" preset (the same 40 videos and their ~330 clips) with 10 video frames per second instead of 25,
# exercise chapters of 12-25 s instead of 20-45 and NULL chapters half as long, and a 40-epoch model: rendering
# and describing the videos (per frame) and pre-training (per window) were most of the first start's time (measured
# by benchmarks/bench_first_start.py on an idle 2-core machine: 113 s for the video features and 266 s for 60 epochs
# of pre-training with the full-length clips); the demo's stick figures play smoothly enough at 10 frames/s.
DEMO_SIZES: dict[str, DemoSize] = {
    "demo": DemoSize(dataclasses.replace(PRESETS["demo"], video_fps=10, exercise_s=(12.0, 25.0), null_scale=0.5),
                     epochs=40),
    "tiny": DemoSize(dataclasses.replace(PRESETS["tiny"], video_fps=10), epochs=2),
}


def demo_size() -> DemoSize:
    """The first-start build's size named by $MUJO_DEMO_SIZE (unset or empty: "demo").

    Raises:
        ValueError: an unknown size (names the variable and the choices).
    """
    name = os.environ.get(DEMO_SIZE_ENV, "").strip() or "demo"
    if name not in DEMO_SIZES:
        raise ValueError(f"{DEMO_SIZE_ENV}={name!r} is not a demo size; choose one of {', '.join(DEMO_SIZES)}")
    return DEMO_SIZES[name]
