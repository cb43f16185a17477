"""The generator publishes clips as it goes (pose, IMU and text first, videos after), so the app can browse a
dataset that is still being built; an interrupted video pass resumes where it stopped."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from mujo.fimad.dataset import FimadDataset
from mujo.fimad.layout import CLIPS, MANIFEST, SPLITS
from mujo.synth.generate import generate_dataset
from mujo.synth.plan import SynthConfig
from mujo.synth.state import generation_pending

DATA_ONLY = SynthConfig(name="t", n_videos=3, chapters=(5, 6), exercise_s=(10.0, 12.0), with_video=False,
                        val_every=3)
WITH_VIDEO = dataclasses.replace(DATA_ONLY, n_videos=2, with_video=True, video_fps=5, video_size=(96, 72))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_clips_are_published_while_the_first_pass_runs(tmp_path: Path) -> None:
    root = tmp_path / "d"
    seen: list[int] = []

    def look(fraction: float, message: str) -> None:
        if (root / MANIFEST).exists() and fraction < 1.0:
            seen.append(len(FimadDataset(root).clips))
            assert generation_pending(root)
            assert not (root / SPLITS).exists()  # the split column alone, until the end

    generate_dataset(root, DATA_ONLY, workers=1, progress=look, publish_every_s=0.0)
    assert seen and seen == sorted(seen) and seen[0] < seen[-1]  # clips appeared video by video
    assert not generation_pending(root)
    ds = FimadDataset(root)
    assert (root / SPLITS).exists() and not ds.load_problems
    assert len(ds.clips) > seen[-1]  # the last video arrives with the final publish


def test_videos_come_after_the_data_and_a_killed_video_pass_resumes(tmp_path: Path) -> None:
    full = generate_dataset(tmp_path / "full", WITH_VIDEO, workers=1)
    root = tmp_path / "part"
    states: list[tuple[int, int]] = []

    def stop_in_the_video_pass(fraction: float, message: str) -> None:
        if (root / CLIPS).exists():
            ds = FimadDataset(root)
            states.append((len(ds.clips), int(ds.clips["has_video"].sum())))
            if message.startswith("rendering video 1/"):
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_dataset(root, WITH_VIDEO, workers=1, progress=stop_in_the_video_pass)
    n_clips = len(FimadDataset(full).clips)
    assert states[0] == (n_clips, 0)  # every clip browsable before any video
    assert 0 < states[-1][1] < n_clips  # the first video's clips have theirs
    assert generation_pending(root)
    rendered = {p.name: p.stat().st_mtime_ns for p in (root / "video").iterdir()}

    generate_dataset(root, WITH_VIDEO, workers=1)
    assert not generation_pending(root)
    assert all((root / "video" / n).stat().st_mtime_ns == t for n, t in rendered.items())  # not rendered again
    ds = FimadDataset(root)
    assert bool(ds.clips["has_video"].all()) and not ds.load_problems
    assert (root / CLIPS).read_bytes() == (full / CLIPS).read_bytes()
    for f in sorted((full / "pose").iterdir()) + sorted((full / "imu").iterdir()):
        assert _digest(f) == _digest(root / f.parent.name / f.name), f.name
    assert sorted(p.name for p in (full / "video").iterdir()) == sorted(p.name for p in (root / "video").iterdir())
