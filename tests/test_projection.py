"""UMAP projections: the on-disk cache (hits, keys, damage), exact neighbours, landmark placement, a real layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import mujo.eval.projection as projection
from mujo.eval.neighbours import exact_knn, ivf_knn, knn_graph
from mujo.eval.projection import DEFAULT_PARAMS, cached_projection, lookup, projection_key

KEY = {"checkpoint": "abc", "space": "imu", "level": "window", "subset": "d1", "n": 50}


def _fake(calls: list[int]):
    def project(vectors, **params):
        calls.append(len(vectors))
        return np.random.default_rng(params["seed"]).normal(size=(len(vectors), 2)).astype(np.float32)
    return project


def _vectors(n: int = 50, d: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_cache_hit_returns_the_same_array_without_recomputing(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(projection, "project", _fake(calls))
    asked: list[bool] = []

    def vectors():
        asked.append(True)
        return _vectors()

    first = cached_projection(KEY, vectors, {"n_neighbors": 10}, cache_dir=tmp_path)
    again = cached_projection(KEY, vectors, {"n_neighbors": 10}, cache_dir=tmp_path)
    assert calls == [50] and asked == [True]  # neither the vectors nor the projection were made twice
    np.testing.assert_array_equal(first, again)
    assert again.dtype == np.float32 and again.shape == (50, 2)
    np.testing.assert_array_equal(lookup(KEY, {"n_neighbors": 10}, tmp_path), first)
    info = json.loads((tmp_path / f"{projection_key(KEY, {'n_neighbors': 10})}.json").read_text())
    assert info["n"] == 50 and info["params"]["n_neighbors"] == 10 and info["points"] == KEY
    assert not list(tmp_path.glob("*.tmp"))


def test_key_changes_with_parameters_and_points() -> None:
    base = projection_key(KEY, {})
    assert base == projection_key(KEY, dict(DEFAULT_PARAMS))  # defaults filled in: same key
    assert base == projection_key(dict(reversed(list(KEY.items()))), {})  # order of the parts does not matter
    others = {projection_key(KEY, {"n_neighbors": 30}), projection_key(KEY, {"min_dist": 0.5}),
              projection_key(KEY, {"seed": 1}), projection_key(KEY | {"subset": "d2"}, {}),
              projection_key(KEY | {"space": "joint"}, {}), projection_key(KEY | {"checkpoint": "xyz"}, {})}
    assert base not in others and len(others) == 6
    with pytest.raises(ValueError, match="unknown projection parameter"):
        projection_key(KEY, {"neighbours": 5})


def test_other_parameters_compute_again(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(projection, "project", _fake(calls))
    a = cached_projection(KEY, _vectors, {"seed": 0}, cache_dir=tmp_path)
    b = cached_projection(KEY, _vectors, {"seed": 1}, cache_dir=tmp_path)
    assert calls == [50, 50] and not np.array_equal(a, b)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_damaged_entry_is_recomputed(tmp_path: Path, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(projection, "project", _fake(calls))
    cached_projection(KEY, _vectors, {}, cache_dir=tmp_path)
    (tmp_path / f"{projection_key(KEY, {})}.npy").write_bytes(b"not numpy")
    assert lookup(KEY, {}, tmp_path) is None
    out = cached_projection(KEY, _vectors, {}, cache_dir=tmp_path)
    assert calls == [50, 50] and out.shape == (50, 2)


def test_default_cache_is_under_the_data_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_HOME", str(tmp_path))
    monkeypatch.setattr(projection, "project", _fake([]))
    cached_projection(KEY, _vectors, {})
    assert len(list((tmp_path / "cache" / "umap").glob("*.npy"))) == 1


def test_exact_neighbours_match_brute_force() -> None:
    rng = np.random.default_rng(1)
    base, queries = rng.normal(size=(300, 6)).astype(np.float32), rng.normal(size=(40, 6)).astype(np.float32)
    idx, dist = exact_knn(queries, base, 7, block=16)
    d = np.linalg.norm(queries[:, None, :] - base[None], axis=2)
    np.testing.assert_array_equal(idx, np.argsort(d, axis=1, kind="stable")[:, :7])
    np.testing.assert_allclose(dist, np.sort(d, axis=1)[:, :7], atol=1e-4)


def test_inverted_file_finds_most_true_neighbours() -> None:
    rng = np.random.default_rng(2)
    centers = rng.normal(size=(20, 8)) * 4
    x = (centers[rng.integers(0, 20, 3000)] + rng.normal(size=(3000, 8))).astype(np.float32)  # low intrinsic dim
    approx, dist = ivf_knn(x, 10, np.random.default_rng(0))
    exact, _ = exact_knn(x, x, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert recall > 0.9, recall
    assert (approx[:, 0] == np.arange(3000)).mean() > 0.99 and (np.diff(dist, axis=1) >= -1e-5).all()
    again, _ = ivf_knn(x, 10, np.random.default_rng(0))
    np.testing.assert_array_equal(approx, again)  # seeded
    small, _ = knn_graph(x[:500], 10, np.random.default_rng(0))  # small: exact
    np.testing.assert_array_equal(small, exact_knn(x[:500], x[:500], 10)[0])


def test_placement_is_a_convex_mix_of_the_nearest_landmarks() -> None:
    layout = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    out = projection._place(np.array([[0.1, 0.5, 3.0]], np.float32), np.array([[0, 1, 2]]), layout)
    assert (out >= 0).all() and out[0, 0] < 5 and out[0, 1] < 1  # pulled to the nearest landmark


def test_tiny_inputs_and_bad_input() -> None:
    assert projection.project(np.zeros((0, 4), np.float32)).shape == (0, 2)
    assert projection.project(_vectors(1)).tolist() == [[0.0, 0.0]]
    assert projection.project(_vectors(3)).shape == (3, 2)
    with pytest.raises(ValueError, match="NaN"):
        projection.project(np.full((10, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="metric"):
        projection.project(_vectors(10), metric="manhattan")
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        projection.project(np.zeros(5, np.float32))


@pytest.mark.slow
def test_real_umap_separates_clusters_and_places_the_rest() -> None:
    """umap-learn itself (its kernels compile on first use: ~20-40 s on 2 cores)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 32)) * 3
    labels = np.repeat(np.arange(3), 150)
    x = (centers[labels] + rng.normal(size=(450, 32))).astype(np.float16)  # float16 like a store
    out = projection.project(x, n_neighbors=10, seed=0, fit_max=300)  # 300 landmarks, 150 points placed
    assert out.shape == (450, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    idx, _ = exact_knn(out, out, 6)
    agree = (labels[idx[:, 1:]] == labels[:, None]).mean()
    assert agree > 0.95, agree  # neighbours in 2-D share the cluster
    again = projection.project(x, n_neighbors=10, seed=0, fit_max=300)
    np.testing.assert_array_equal(out, again)  # seeded: the same layout
