"""Windows: start positions, the index over a dataset, batched reads equal to naive slicing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fimad_factory import add_nan_gap, make_fimad, set_cell

from mujo.fimad.dataset import ClipError, FimadDataset
from mujo.fimad.windows import build_index, n_windows, nan_windows, read_windows, window_starts


def _naive(t: int, size: int, hop: int, trim: float) -> list[int]:
    cut = math.floor(t * trim + 1e-9)
    lo, hi = cut, t - cut
    return list(range(lo, hi - size + 1, hop))


@pytest.mark.parametrize("t, expected", [
    (0, []), (50, []), (100, []), (141, []),  # 141 - 2 * 21 = 99 < 100
    (142, [21]), (143, [21]),  # size / (1 - 2 * trim) = 142.86, but the cut is floored
    (200, [30]), (211, [31]), (212, [31, 81]), (300, [45, 95, 145]), (1000, list(range(150, 751, 50))),
])
def test_window_starts_defaults(t, expected):
    assert window_starts(t).tolist() == expected
    assert n_windows(t) == len(expected)


@pytest.mark.parametrize("size, hop, trim", [(100, 50, 0.15), (10, 3, 0.0), (7, 7, 0.29), (1, 1, 0.49),
                                             (64, 100, 0.1)])
def test_window_starts_match_naive(size, hop, trim):
    for t in range(0, 400, 7):
        assert window_starts(t, size, hop, trim).tolist() == _naive(t, size, hop, trim)


def test_build_index_matches_per_clip():
    lengths = np.array([0, 141, 142, 300, 1000, 57, 500])
    ids = [f"c{i}" for i in range(len(lengths))]
    index = build_index(ids, lengths, 100, 50, 0.15)
    expected = [(cid, s) for cid, t in zip(ids, lengths) for s in window_starts(int(t))]
    assert list(zip(index.clip_ids, index.starts.tolist())) == expected
    frame = index.to_frame()
    assert list(frame.columns) == ["clip_id", "start", "stop"] and (frame["stop"] - frame["start"] == 100).all()
    assert index.counts().to_dict() == {cid: n_windows(int(t)) for cid, t in zip(ids, lengths)}
    assert len(build_index([], np.array([], int))) == 0


@pytest.mark.parametrize("kw", [{"size": 0}, {"hop": 0}, {"trim": 0.5}, {"trim": -0.1}, {"size": 2.5}])
def test_bad_settings(kw):
    with pytest.raises(ValueError):
        window_starts(300, **kw)


@pytest.fixture
def ds(tmp_path):
    return FimadDataset(make_fimad(tmp_path / "d", n_clips=5, n_frames=[300, 250, 120, 400, 143]))


@pytest.mark.parametrize("modality", ["pose", "acc", "gyro"])
def test_read_windows_equal_naive(ds, modality):
    index = ds.windows()
    assert len(index) == 3 + 2 + 0 + 4 + 1
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(index))[:8].tolist() + [0, 0]  # shuffled, repeated
    got = read_windows(ds, index, rows, modality)
    for k, r in enumerate(rows):
        cid, start = index.clip_ids[r], index.starts[r]
        full = ds.pose(cid) if modality == "pose" else ds.imu(cid)[modality == "gyro"]
        np.testing.assert_array_equal(got[k], full[start: start + 100])
    all_windows = read_windows(ds, index, modality=modality)
    width = 17 if modality == "pose" else 16
    assert all_windows.shape == (len(index), 100, width, 3) and all_windows.dtype == np.float32
    np.testing.assert_array_equal(read_windows(ds, index, slice(2, 6), modality), all_windows[2:6])
    assert read_windows(ds, index, [], modality).shape == (0, 100, width, 3)


def test_long_gap_windows_come_back_with_nan(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=2, n_frames=300)
    add_nan_gap(root, "clip001", 100, 40)  # long: samples 100..139 stay NaN
    add_nan_gap(root, "clip000", 100, 5)  # short: filled
    ds = FimadDataset(root)
    index = ds.windows()
    mask = nan_windows(read_windows(ds, index))
    # clip001's windows start at 45, 95, 145: the first two overlap 100..139
    assert mask.tolist() == [False, False, False, True, True, False]


def test_n_frames_longer_than_file_is_nan_padded(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=1, n_frames=200)
    set_cell(root, "clip000", "n_frames", "260")  # windows at 39 and 89, the file ends at 200
    ds = FimadDataset(root)
    x = read_windows(ds, ds.windows())
    assert not np.isnan(x[0]).any() and np.isnan(x[1, 111:]).all() and not np.isnan(x[1, :111]).any()


def test_modality_filter_and_clip_subset(tmp_path):
    root = make_fimad(tmp_path / "d", n_clips=3, n_frames=300)
    (root / "imu" / "clip001.npz").unlink()
    ds = FimadDataset(root)
    assert set(ds.windows(modality="acc").clip_list) == {"clip000", "clip002"}
    assert set(ds.windows(modality="pose").clip_list) == {"clip000", "clip001", "clip002"}
    assert ds.windows(clip_ids=["clip002"]).clip_list == ("clip002",)
    with pytest.raises(ClipError, match="clip001"):
        read_windows(ds, ds.windows(), modality="acc")
    with pytest.raises(ValueError):
        ds.windows(modality="smell")


def test_cache_stays_bounded(tmp_path):
    ds = FimadDataset(make_fimad(tmp_path / "d", n_clips=6, n_frames=200), cache_clips=2)
    index = ds.windows()
    read_windows(ds, index, modality="acc")
    read_windows(ds, index, modality="pose")
    assert len(ds.cache) <= 2


def test_dataset_pickles_for_worker_processes(ds):
    import pickle

    index = ds.windows()
    before = read_windows(ds, index, modality="acc")
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone.cache) == 0 and clone.cache.max_items == ds.cache.max_items
    np.testing.assert_array_equal(read_windows(clone, index, modality="acc"), before)
