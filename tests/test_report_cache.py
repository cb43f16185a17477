"""The validation report cached on disk: same findings as a full check, refreshed clip by clip."""

from __future__ import annotations

import os

import pytest
from fimad_factory import add_nan_gap, append_row, corrupt_header, make_fimad, set_cell

from mujo.cli import main
from mujo.fimad import report_cache
from mujo.fimad.validate import validate_dataset


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    return make_fimad(tmp_path / "d", n_clips=8, n_frames=120)


def _findings(report):
    return sorted((p.clip_id or "", p.file, p.kind, p.severity, p.message) for p in report.problems)


def _bump(path, when: float) -> None:
    os.utime(path, (when, when))


def test_no_cache_until_refreshed(root):
    assert report_cache.load_report(root) is None


def test_refresh_matches_a_full_check_and_reuses_unchanged_clips(root):
    add_nan_gap(root, "clip002", 10, 40)
    first = report_cache.refresh_report(root)
    assert (first.rechecked, first.reused) == (8, 0)
    assert _findings(first.report) == _findings(validate_dataset(root))
    loaded = report_cache.load_report(root)
    assert _findings(loaded.report) == _findings(first.report)
    assert loaded.report.n_clips == 8 and loaded.report.usable and loaded.age_s < 60

    second = report_cache.refresh_report(root)
    assert (second.rechecked, second.reused) == (0, 8)
    assert _findings(second.report) == _findings(first.report)


def test_a_changed_file_is_checked_again_and_its_problem_appears(root):
    report_cache.refresh_report(root)
    pose = root / "pose" / "clip005.npy"
    corrupt_header(pose)
    _bump(pose, pose.stat().st_mtime + 5)
    again = report_cache.refresh_report(root)
    assert again.rechecked == 1 and again.reused == 7
    assert "clip005" in again.report.clips_with_problems("error")
    assert _findings(again.report) == _findings(validate_dataset(root))


def test_a_changed_row_or_new_clip_is_checked(root):
    report_cache.refresh_report(root)
    set_cell(root, "clip001", "n_frames", "999")
    append_row(root, {"clip_id": "clip_new", "video_id": "vid9", "split": "train"})
    again = report_cache.refresh_report(root)
    assert again.rechecked == 2 and again.reused == 7
    assert _findings(again.report) == _findings(validate_dataset(root))


def test_other_settings_or_an_unreadable_cache_check_everything(root):
    report_cache.refresh_report(root)
    assert report_cache.refresh_report(root, check_video="none").rechecked == 8
    report_cache.cache_path(root).write_text("{not json", encoding="utf-8")
    assert report_cache.load_report(root) is None
    assert report_cache.refresh_report(root).rechecked == 8


def test_a_folder_that_is_not_a_dataset_gives_an_unusable_cached_report(tmp_path, monkeypatch):
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    (tmp_path / "empty").mkdir()
    out = report_cache.refresh_report(tmp_path / "empty")
    assert not out.report.usable
    assert not report_cache.load_report(tmp_path / "empty").report.usable


def test_cli_validate_cached(root, capsys):
    assert main(["validate", str(root), "--cached"]) == 0
    assert "8 clip(s) checked, 0 unchanged" in capsys.readouterr().err
    assert main(["validate", str(root), "--cached"]) == 0
    assert "0 clip(s) checked, 8 unchanged" in capsys.readouterr().err
    assert report_cache.load_report(root) is not None
