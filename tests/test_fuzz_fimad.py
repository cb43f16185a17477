"""Seeded fuzzing of every FiMAD file type and the checkpoint files: nothing escapes, broken clips are named.

Each case copies a small valid dataset (tests/fimad_fuzz.py), changes one file (header, shape, dtype, bytes,
truncation, zip directory, metadata value, CSV cell, or an mp4 box: tests/mp4_fuzz.py), then validates it and runs
every reader the pages and training use (the video readers too), under tracemalloc and with the peak resident memory
measured. benchmarks/bench_fuzz.py runs the same cases by the thousand.
"""

from __future__ import annotations

import random

import pytest
from fimad_fuzz import (
    exercise,
    flow_clips_of,
    fresh_copy,
    memory_bound,
    mutate,
    peak_rss_since,
    problems_of,
    reset_peak_rss,
    rss_bound,
    write_template,
)
from mp4_fuzz import MAX_SECONDS, mutate_mp4, read_video_everywhere

from mujo.features import flow
from mujo.fimad import video as video_mod
from mujo.fimad.errors import VideoError
from mujo.fimad.validate import validate_dataset

# A fixed list (the same cases on every run): one seed per file type and outcome (a certain break or not), picked
# from the first 200 seeds; test_the_seed_list_reaches_every_file_type keeps it honest if mutate() changes.
# Found by bench_fuzz: 271 and 923 zero bytes of a zip directory so that zipfile computes a negative member offset;
# 2632 flips a byte into the "version needed" field (zipfile raises NotImplementedError).
SEEDS = (0, 1, 2, 3, 4, 5, 6, 7, 11, 12, 15, 22, 26, 29, 68, 102, 271, 923, 2632)
# One seed per mp4 mutation (box sizes, entry counts, flips and truncations in moov and mdat, swapped boxes, sizes,
# zero length, garbage). Found by this fuzz: 104 leaves the video stream without a decoder (PyAV's codec_context is
# None: AttributeError), 255 makes the udta metadata invalid UTF-8 (UnicodeDecodeError from av.open).
MP4_SEEDS = (0, 1, 2, 3, 5, 9, 14, 17, 19, 20, 44, 64, 71, 104, 124, 148, 255)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz") / "template"
    write_template(folder)
    return folder


@pytest.mark.parametrize("seed", SEEDS)
def test_mutated_dataset_never_raises_and_names_the_clip(template, tmp_path, seed):
    root, ckpt = fresh_copy(template, tmp_path / "case")
    mutation = mutate(random.Random(seed), root, ckpt)
    out = exercise(root, ckpt, flow_clips=flow_clips_of(mutation))
    assert problems_of(out, mutation) == [], mutation
    assert out.peak_bytes <= memory_bound(root, ckpt), (mutation, out.peak_bytes)
    assert out.peak_rss_bytes <= rss_bound(root, ckpt), (mutation, out.peak_rss_bytes)
    assert out.slowest_video_s <= MAX_SECONDS, (mutation, out.slowest_video_s)


def test_the_seed_list_reaches_every_file_type(template, tmp_path):
    # the suite's fixed seeds must keep exercising each kind of file, not drift to a few
    kinds = set()
    for seed in SEEDS:
        root, ckpt = fresh_copy(template, tmp_path / "case")
        m = mutate(random.Random(seed), root, ckpt)
        kinds.add(("ckpt" if m.file.startswith("ckpt/") else m.file.split("/")[0], m.must_fail))
    files = {"pose", "imu", "video", "clips.csv", "fimad.json", "splits.json", "features", "text_features", "ckpt"}
    assert {k for k, _ in kinds} == files, kinds
    assert {k for k, certain in kinds if certain} >= {"pose", "imu", "video", "clips.csv", "features", "ckpt"}, kinds


def test_unmutated_template_reads_cleanly(template, tmp_path):
    root, ckpt = fresh_copy(template, tmp_path / "case")
    out = exercise(root, ckpt)
    assert out.escaped == [] and out.clip_errors == {} and out.checkpoint_error is None
    assert out.report.usable and out.report.severity_counts()["error"] == 0, out.report.summary()


@pytest.mark.parametrize("seed", MP4_SEEDS)
def test_mutated_mp4_is_read_or_refused_by_every_video_reader_naming_it(template, tmp_path, seed):
    """Probing, RGB decoding, the mujo_flow descriptor and its worker: each reads the file or raises a VideoError
    naming it, in bounded time and resident memory; validation that opens videos names the clip."""
    root, ckpt = fresh_copy(template, tmp_path / "case")
    path = root / "video" / "clip000.mp4"
    what, certain = mutate_mp4(random.Random(seed), path)
    start = reset_peak_rss()
    escaped, refused, slowest = read_video_everywhere(path, 60, 50.0, tmp_path)
    grew = peak_rss_since(start)
    assert escaped == [], what
    assert slowest <= MAX_SECONDS and grew <= 64 << 20, (what, slowest, grew)
    report = validate_dataset(root, check_video="open")
    if certain:
        assert any(p.clip_id == "clip000" and p.severity == "error" for p in report.problems), what


def test_frames_over_the_pixel_bound_are_refused_before_decoding(template, tmp_path, monkeypatch):
    root, _ = fresh_copy(template, tmp_path / "case")
    path = root / "video" / "clip000.mp4"
    monkeypatch.setattr(video_mod, "MAX_PIXELS", 64 * 48 - 1)
    for read in (video_mod.video_info, lambda p: list(video_mod.read_frames(p)), flow.describe_video):
        with pytest.raises(VideoError, match=rf"^{path}: 64x48 frames; at most 3,071 pixels a frame are read"):
            read(path)
    with video_mod.av.open(str(path)) as container:  # a size that changes after the header: checked per frame
        frame = next(container.decode(video=0))
    with pytest.raises(VideoError, match=rf"^{path}: a 64x48 frame; at most 3,071 pixels"):
        video_mod.check_frame(path, frame)
