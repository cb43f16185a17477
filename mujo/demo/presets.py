"""The synthetic generator's size presets (`mujo synth --preset`); "demo" is what the app builds on first start."""

from __future__ import annotations

import dataclasses

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
