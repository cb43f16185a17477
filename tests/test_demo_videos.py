"""The first start's video features from frames rendered in memory (mujo.demo.videos): the same descriptor as from
the encoded mp4s (up to the codec's loss), usable for training before any mp4 exists, resumable; the generator's
first pass alone leaves the dataset browsable and pending, and a later call renders the mp4s."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from mujo.banks.sources import resolve_sources
from mujo.banks.spec import BankSpec
from mujo.demo.pipeline import ensure_demo_dataset
from mujo.demo.presets import demo_size, preset_config
from mujo.demo.videos import describe_rendered_videos
from mujo.features import compute_video_features, flow, video_features
from mujo.features.video import MUJO_FLOW, flow_dir
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.layout import SPLITS, VIDEO_DIR
from mujo.modality import Modality
from mujo.synth.generate import generate_dataset, settings_differ
from mujo.synth.state import generation_pending

ENERGY = 288  # mean flow magnitude in the descriptor's global block


def _cfg():
    return dataclasses.replace(preset_config("tiny", n_videos=1), video_fps=10)


def test_rgb_luma_is_the_encoders_luma() -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)  # odd: padded like write_mp4 pads it
    y = flow.rgb_luma(rgb)
    assert y.shape == (8, 10) and y.dtype == np.uint8
    full = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_allclose(y[:7, :9], 16 + full * 219 / 255, atol=1.0)  # BT.601, limited range


@pytest.mark.slow
def test_features_before_videos_match_the_mp4s_and_train(tmp_path: Path) -> None:
    cfg, root = _cfg(), tmp_path / "demo"
    generate_dataset(root, cfg, workers=1, videos=False)
    assert generation_pending(root) and not (root / SPLITS).exists()
    assert not list((root / VIDEO_DIR).glob("*.mp4")) if (root / VIDEO_DIR).exists() else True
    ds = FimadDataset(root)
    assert not ds.clips["has_video"].any() and len(ds.clips) >= 5

    n = describe_rendered_videos(root, cfg, workers=1)
    assert n == len(ds.clips)
    assert describe_rendered_videos(root, cfg, workers=1) == 0  # resumes: nothing left to do
    mem = {cid: video_features(ds, cid, MUJO_FLOW) for cid in ds.clips.index}
    for cid, x in mem.items():
        assert x.shape == (int(ds.clips.at[cid, "n_frames"]), flow.DIM) and x.dtype == np.float32
    assert max(float(x[:, ENERGY].max()) for x in mem.values()) > 0.01  # the trainer moves

    # a window bank sees the video modality although no clip has an mp4 yet
    src = resolve_sources(ds, BankSpec(modalities=(Modality.VIDEO, Modality.POSE)))
    assert Modality.VIDEO in src.modalities and src.video_feature == MUJO_FLOW

    generate_dataset(root, cfg, workers=1)  # the later call: the mp4s, and the dataset is complete
    assert not generation_pending(root) and (root / SPLITS).is_file()
    ds = FimadDataset(root)
    assert ds.clips["has_video"].all()
    shutil.rmtree(flow_dir(ds))  # the same descriptor from the encoded files
    compute_video_features(ds, workers=1)
    for cid, x in mem.items():
        y = video_features(ds, cid, MUJO_FLOW)
        assert y.shape == x.shape
        # only the codec's loss (crf 28) between them: the same shapes (HOG) everywhere, the same motion where the
        # trainer moves (in a near-still clip the codec's noise adds flow of its own: measured HOF r 0.55 there)
        r = [np.corrcoef(x[:, sl].ravel(), y[:, sl].ravel())[0, 1] for sl in (slice(0, 300), slice(128, 256))]
        assert r[0] > 0.9 and r[1] > 0.99, (cid, r)
        if y[:, ENERGY].mean() > 0.01:
            assert r[0] > 0.95, (cid, r)
            assert abs(x[:, ENERGY].mean() - y[:, ENERGY].mean()) < 0.1 * y[:, ENERGY].mean(), cid


def test_a_half_built_demo_of_other_settings_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded demo folder is the app's own: one left half-built by other demo settings (an older version's
    25 video frames/s, another MUJO_DEMO_SIZE) is built again instead of refusing the first start."""
    monkeypatch.setenv("MUJO_DEMO_SIZE", "tiny")
    root = tmp_path / "fimad-demo"
    other = dataclasses.replace(demo_size().synth, video_fps=25)
    generate_dataset(root, other, workers=1, videos=False)  # pending: the first pass only
    (root / "stray.txt").write_text("from the old build")
    messages: list[str] = []
    assert ensure_demo_dataset(lambda f, m: messages.append(m), root=root, videos=False) == root
    assert any("other settings (video_fps): building it again" in m for m in messages), messages
    assert not (root / "stray.txt").exists() and settings_differ(root, demo_size().synth) == []
    assert generation_pending(root)  # its videos come later
