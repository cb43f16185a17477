"""validate_dataset: each defect gives the right problem naming the clip and file; the rest stays readable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fimad_factory import (
    add_nan_gap,
    append_row,
    corrupt_header,
    has_video_io,
    make_fimad,
    rewrite_imu,
    rewrite_pose,
    set_cell,
    truncate,
)

from mujo.fimad.dataset import ClipError, FimadDataset
from mujo.fimad.validate import ValidationReport, validate_dataset

N = 6


@pytest.fixture
def root(tmp_path):
    return make_fimad(tmp_path / "d", n_clips=N, n_frames=200)


def _only(report: ValidationReport, kind: str, severity: str | None = None):
    found = [p for p in report.problems if p.kind == kind and severity in (None, p.severity)]
    assert len(found) == 1, (kind, report.problems)
    return found[0]


def _others_readable(root, broken: str) -> None:
    ds = FimadDataset(root)
    for cid in ds.clips.index:
        if cid != broken:
            assert ds.pose(cid).shape == (200, 17, 3) and ds.imu(cid)[0].shape == (200, 16, 3)


def test_clean_dataset(root):
    report = FimadDataset(root).validate()
    assert report.usable and report.n_clips == N and report.coverage == {"pose": N, "imu": N, "video": 0}
    assert report.severity_counts() == {"error": 0, "warning": 0, "info": 1}  # the coverage note
    assert report.clips_with_problems() == set() and "usable" in report.summary()


@pytest.mark.parametrize("breaker, file, kind", [
    (lambda r: corrupt_header(r / "pose" / "clip002.npy"), "pose/clip002.npy", "unreadable"),
    (lambda r: truncate(r / "pose" / "clip002.npy"), "pose/clip002.npy", "unreadable"),
    (lambda r: corrupt_header(r / "imu" / "clip002.npz"), "imu/clip002.npz", "unreadable"),
    (lambda r: truncate(r / "imu" / "clip002.npz", 0.9), "imu/clip002.npz", "unreadable"),
    (lambda r: rewrite_pose(r, "clip002", np.zeros((200, 16, 3), np.float32)), "pose/clip002.npy", "shape"),
    (lambda r: rewrite_pose(r, "clip002", np.zeros((200, 17, 3), np.int16)), "pose/clip002.npy", "dtype"),
    (lambda r: rewrite_pose(r, "clip002", np.zeros((200, 51), np.float32)), "pose/clip002.npy", "shape"),
    (lambda r: rewrite_imu(r, "clip002", acc=np.zeros((200, 15, 3), np.float32),
                           gyro=np.zeros((200, 15, 3), np.float32)), "imu/clip002.npz", "shape"),
    (lambda r: rewrite_imu(r, "clip002", acc=np.zeros((200, 16, 3), np.float32),
                           gyro=np.zeros((190, 16, 3), np.float32)), "imu/clip002.npz", "shape"),
    (lambda r: rewrite_imu(r, "clip002", gyro=np.zeros((200, 16, 3), np.float32)), "imu/clip002.npz", "shape"),
    (lambda r: rewrite_imu(r, "clip002", True, acc=np.zeros((200, 16, 3), np.float32),
                           gyro=np.zeros((200, 16), np.float32)), "imu/clip002.npz", "shape"),
])
def test_broken_file_is_an_error_for_that_clip_only(root, breaker, file, kind):
    breaker(root)
    ds = FimadDataset(root)
    report = ds.validate()
    errors = [p for p in report.problems if p.severity == "error"]
    assert errors and {(p.clip_id, p.file, p.kind) for p in errors} == {("clip002", file, kind)}
    assert report.usable and report.clips_with_problems("error") == {"clip002"}
    with pytest.raises(ClipError) as err:
        ds.pose("clip002") if file.startswith("pose") else ds.imu("clip002")
    assert err.value.clip_id == "clip002"
    _others_readable(root, "clip002")


def test_float64_is_a_warning_and_read_as_float32(root):
    rewrite_pose(root, "clip001", np.zeros((200, 17, 3)))
    ds = FimadDataset(root)
    p = _only(ds.validate(), "dtype", "warning")
    assert (p.clip_id, p.file) == ("clip001", "pose/clip001.npy")
    assert ds.pose("clip001").dtype == np.float32


def test_n_frames_disagreeing(root):
    set_cell(root, "clip003", "n_frames", "210")
    report = FimadDataset(root).validate()
    found = [p for p in report.problems if p.kind == "n_frames"]
    assert {(p.clip_id, p.file) for p in found} == {("clip003", "pose/clip003.npy"), ("clip003", "imu/clip003.npz")}
    assert "200" in found[0].message and "210" in found[0].message


def test_nan_gaps(root):
    add_nan_gap(root, "clip004", 20, 10)  # 0.2 s: interpolated
    add_nan_gap(root, "clip005", 50, 50)  # 1.0 s: left as NaN
    report = FimadDataset(root).validate()
    short = _only(report, "nan_gap", "info")
    assert short.clip_id == "clip004" and "10" in short.message and "interpolated" in short.message
    long = _only(report, "nan_gap", "warning")
    assert (long.clip_id, long.file) == ("clip005", "pose/clip005.npy") and "1.00-2.00 s" in long.message
    assert len(validate_dataset(root, max_gap_s=0.1).clips_with_problems("warning")) == 2


def test_missing_modalities(root):
    (root / "imu" / "clip001.npz").unlink()
    append_row(root, {"clip_id": "ghost", "n_frames": 200})
    report = FimadDataset(root).validate()
    assert (_only(report, "missing").clip_id, _only(report, "missing").file) == ("clip001", "imu/")
    nodata = _only(report, "no_data", "error")
    assert nodata.clip_id == "ghost"
    assert report.coverage == {"pose": N, "imu": N - 1, "video": 0}


def test_table_problems(root):
    append_row(root, {"clip_id": "clip000", "n_frames": 5})
    append_row(root, {"clip_id": "../escape", "n_frames": 5})
    set_cell(root, "clip001", "n_frames", "-3")
    (root / "splits.json").write_text(json.dumps({"train": ["clip002", "nope"], "val": ["clip002"]}))
    report = validate_dataset(root)
    assert report.usable and report.n_clips == N
    assert _only(report, "duplicate_id").clip_id == "clip000"
    unsafe = _only(report, "unsafe_id", "error")
    assert "../escape" in unsafe.message and unsafe.file == "clips.csv"
    bad = _only(report, "bad_value", "error")
    assert bad.clip_id == "clip001" and "-3" in bad.message
    unknown = _only(report, "unknown_split_id")
    assert (unknown.clip_id, unknown.file) == ("nope", "splits.json")
    assert _only(report, "split_conflict").clip_id == "clip002"


def test_split_leak(root):
    set_cell(root, "clip003", "split", "val")  # clip002 and clip003 come from vid1
    report = validate_dataset(root)
    leak = _only(report, "split_leak")
    assert leak.clip_id == "clip003" and "vid1" in leak.message and "clip002" in leak.message


def test_video_checks(root):
    (root / "video").mkdir()
    (root / "video" / "clip000.mp4").write_bytes(b"this is not a video at all")
    (root / "video" / "clip001.mp4").write_bytes(b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2" + b"\0" * 64)
    report = validate_dataset(root)
    p = _only(report, "unreadable", "error")
    assert (p.clip_id, p.file) == ("clip000", "video/clip000.mp4")
    assert {p.clip_id for p in report.problems if p.kind == "missing"} == {"clip002", "clip003", "clip004", "clip005"}
    assert validate_dataset(root, check_video="none").clips_with_problems("error") == set()
    assert validate_dataset(root, check_video=False).clips_with_problems("error") == set()
    assert validate_dataset(root, check_video=True).clips_with_problems("error") == {"clip000"}
    opened = validate_dataset(root, check_video="open")  # PyAV rejects the fake ftyp header too
    assert opened.clips_with_problems("error") == {"clip000", "clip001"}


def test_orphans_reported(root):
    np.save(root / "pose" / "stray.npy", np.zeros((3, 17, 3), np.float32))
    p = _only(validate_dataset(root), "orphan")
    assert p.clip_id is None and p.file == "pose/" and "stray" in p.message


def test_unopenable_dataset_gives_an_unusable_report(tmp_path):
    report = validate_dataset(tmp_path)
    assert not report.usable and report.problems[0].file == "fimad.json" and "not found" in report.summary()


def test_progress_and_frame(root):
    calls = []
    report = FimadDataset(root).validate(progress=lambda f, msg: calls.append((f, msg)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0 and fractions[-1] == 1 and fractions == sorted(fractions)
    frame = report.to_frame()
    assert list(frame.columns) == ["clip_id", "file", "kind", "severity", "message"] and len(frame) == 1
    assert report.counts() == {"coverage": 1}


@pytest.mark.skipif(not has_video_io(), reason="mujo.fimad.video is not there yet")
def test_real_videos_pass_and_a_broken_one_fails(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=2, with_video=True)
    ds = FimadDataset(root)
    assert ds.clips["has_video"].all() and ds.video_path("clip001") == root / "video" / "clip001.mp4"
    assert validate_dataset(root, check_video="open").severity_counts()["error"] == 0
    corrupt_header(root / "video" / "clip001.mp4")
    for mode in ("header", "open"):
        p = _only(validate_dataset(root, check_video=mode), "unreadable")
        assert (p.clip_id, p.file) == ("clip001", "video/clip001.mp4")
