"""Exact top-k search against a stable brute-force sort (random data, subsets, exclusions, ties, float16 memmaps)."""

from __future__ import annotations

import numpy as np
import pytest

import mujo.eval.search as search_mod
import mujo.eval.vector_index as index_mod
from mujo.eval.search import VectorIndex, brute_force, search
from mujo.eval.vector_index import half_matmul_is_safe


def unit(rng: np.random.Generator, n: int, d: int, dtype=np.float16) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(dtype)


def reference(db: np.ndarray, q: np.ndarray, k: int, rows=None, exclude_each=None) -> tuple[np.ndarray, np.ndarray]:
    """Stable brute force: every score, best first, ties by lower row, one query at a time."""
    q = np.atleast_2d(q).astype(np.float32)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    cand = np.arange(len(db)) if rows is None else np.unique(rows)
    out_i, out_s = [], []
    for i, qi in enumerate(q):
        c = cand if exclude_each is None else cand[~np.isin(cand, exclude_each[i])]
        s = db[c].astype(np.float32) @ qi
        order = sorted(range(len(c)), key=lambda j: (-s[j], c[j]))[:k]
        out_i.append(c[order])
        out_s.append(s[order])
    return np.array(out_i), np.array(out_s, np.float32)


PATHS = {"converted blocks": {"budget_bytes": 0, "half_filter": False},
         "float16 filter": {"budget_bytes": 0, "half_filter": True},
         "float32 copy": {"budget_bytes": 1 << 30}}


@pytest.fixture(params=list(PATHS))
def make_index(request):
    """A VectorIndex factory for each of the three ways of scoring."""
    return lambda db: VectorIndex(db, **PATHS[request.param])


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few hundred rows, so the merge across blocks is exercised on small data."""
    monkeypatch.setattr(index_mod, "BLOCK_BYTES", 300 * 4 * 16)
    monkeypatch.setattr(index_mod, "HALF_BLOCK_BYTES", 300 * 2 * 16)
    monkeypatch.setattr(search_mod, "SCORES_BYTES", 4 * 1000 * 8)


def test_half_matmul_accumulates_in_float32() -> None:
    # If this fails the float16 filter is switched off (searches stay exact, only slower): worth knowing.
    assert half_matmul_is_safe()


def test_equals_brute_force(make_index, small_blocks: None) -> None:
    rng = np.random.default_rng(0)
    db = unit(rng, 2000, 16)
    q = rng.standard_normal((9, 16))
    ref_i, ref_s = reference(db, q, 25)
    for n_q in (9, 2):  # many queries scan every block; a few take the float16 filter where allowed
        idx, scores = search(make_index(db), q[:n_q], k=25)
        assert idx.shape == (n_q, 25) and scores.dtype == np.float32 and idx.dtype == np.int64
        np.testing.assert_array_equal(idx, ref_i[:n_q])
        np.testing.assert_allclose(scores, ref_s[:n_q], atol=1e-6)
        assert (np.diff(scores, axis=1) <= 0).all()


def test_few_queries_without_a_copy_take_the_float16_filter(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_scan(*args):
        raise AssertionError("scanned instead of filtering")

    monkeypatch.setattr(search_mod, "_scan", no_scan)
    db = unit(np.random.default_rng(10), 500, 8)
    search(VectorIndex(db, budget_bytes=0), np.ones((2, 8)), k=3)
    with pytest.raises(AssertionError, match="scanned"):
        search(VectorIndex(db, budget_bytes=0), np.ones((search_mod.HALF_MAX_QUERIES + 1, 8)), k=3)


def test_numpy_reference_agrees() -> None:
    rng = np.random.default_rng(1)
    db = unit(rng, 3000, 32)
    q = unit(rng, 4, 32, np.float32)
    i1, s1 = search(db, q, k=10)
    i2, s2 = brute_force(db, q, 10)
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(s1, s2, atol=1e-6)


def test_single_query_vector_and_cosine_of_unnormalised_query() -> None:
    rng = np.random.default_rng(2)
    db = unit(rng, 500, 8)
    q = rng.standard_normal(8) * 7.0  # scaled: cosine ignores the length
    idx, scores = search(db, q, k=3)
    ref_i, ref_s = reference(db, q, 3)
    assert idx.shape == (1, 3)
    np.testing.assert_array_equal(idx, ref_i)
    assert np.all(np.abs(scores) <= 1.001)


def test_subset_rows(make_index, small_blocks: None) -> None:
    rng = np.random.default_rng(3)
    db = unit(rng, 1500, 12)
    q = rng.standard_normal((4, 12))
    rows = rng.choice(1500, 400, replace=False)
    idx, scores = search(make_index(db), q, k=10, rows=rows)
    ref_i, ref_s = reference(db, q, 10, rows=rows)
    np.testing.assert_array_equal(idx, ref_i)  # row numbers of the whole matrix, not positions in `rows`
    np.testing.assert_allclose(scores, ref_s, atol=1e-6)
    assert np.isin(idx, rows).all()


def test_exclude_for_all_and_per_query(make_index, small_blocks: None) -> None:
    rng = np.random.default_rng(4)
    db = unit(rng, 1200, 12)
    q_rows = np.array([5, 600, 1100])
    q = db[q_rows].astype(np.float32)  # query by example: each query's best hit is itself
    idx, _ = search(make_index(db), q, k=4)
    np.testing.assert_array_equal(idx[:, 0], q_rows)
    per_query = [[r] for r in q_rows]
    idx, scores = search(make_index(db), q, k=4, exclude=per_query)
    ref_i, ref_s = reference(db, q, 4, exclude_each=per_query)
    np.testing.assert_array_equal(idx, ref_i)
    assert not np.isin(q_rows, idx).any()
    banned = ref_i[:, 0]
    idx, _ = search(make_index(db), q, k=4, exclude=banned)
    assert not np.isin(banned, idx).any()
    ref_i, _ = reference(db, q, 4, rows=np.setdiff1d(np.arange(1200), banned))
    np.testing.assert_array_equal(idx, ref_i)


def test_ties_broken_by_lower_row_across_blocks(make_index, small_blocks: None) -> None:
    # Scores are exact in float32 (entries 0, 0.5, 1), so ties are real ties whatever the summation order.
    db = np.zeros((2500, 4), np.float16)
    db[:, 0] = 1
    db[::7, 1] = 0.5
    db[1000:1003] = [0, 1, 0, 0]
    q = np.array([[1, 0, 0, 0], [0.6, 0.8, 0, 0], [0, 1, 0, 0]], np.float32)
    for k in (1, 10, 333):
        idx, scores = search(make_index(db), q, k=k)
        ref_i, ref_s = reference(db, q, k)
        np.testing.assert_array_equal(idx, ref_i)
        np.testing.assert_array_equal(scores, ref_s)
    assert list(idx[0, :3]) == [0, 1, 2] and list(idx[2, :3]) == [1000, 1001, 1002]


def test_near_ties_within_the_float16_error(make_index, small_blocks: None) -> None:
    # Rows a hair apart: their float16 approximate scores cannot be told apart, the exact ones can.
    rng = np.random.default_rng(9)
    base = unit(rng, 1, 64, np.float32)
    db = base + 1e-2 * rng.standard_normal((3000, 64)).astype(np.float32)
    db = (db / np.linalg.norm(db, axis=1, keepdims=True)).astype(np.float16)
    q = base + 5e-3 * rng.standard_normal((3, 64))
    idx, scores = search(make_index(db), q, k=20)
    ref_i, ref_s = reference(db, q, 20)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_allclose(scores, ref_s, atol=1e-6)
    assert np.ptp(ref_s) < 2 * VectorIndex(db).half_error_bound()  # the 20 best lie within the filter's window


def test_float16_memmap_and_cache(tmp_path, small_blocks: None) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "v.npy"
    arr = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(1000, 24))
    arr[:] = unit(rng, 1000, 24)
    arr.flush()
    db = np.load(path, mmap_mode="r")
    cached = VectorIndex(db, budget_bytes=1 << 20)
    uncached = VectorIndex(db, budget_bytes=1000)
    q = rng.standard_normal((3, 24))
    a, sa = search(cached, q, k=7)
    b, sb = search(uncached, q, k=7)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(sa, sb, atol=1e-6)  # NumPy's and torch's matrix products may round differently
    assert cached.cached_bytes == 1000 * 24 * 4 and uncached.cached_bytes == 0


def test_k_larger_than_rows_and_empty_queries() -> None:
    db = unit(np.random.default_rng(6), 5, 4)
    idx, scores = search(db, np.ones((2, 4)), k=50)
    assert idx.shape == (2, 5) and sorted(idx[0]) == list(range(5))
    idx, scores = search(db, np.zeros((0, 4)), k=3)
    assert idx.shape == (0, 3)


@pytest.mark.parametrize("bad, msg", [(np.zeros((1, 4)), "all zeros"), (np.full((1, 4), np.nan), "NaN"),
                                      (np.ones((1, 5)), r"\(Q, 4\)")])
def test_bad_queries(bad: np.ndarray, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        search(unit(np.random.default_rng(7), 10, 4), bad)


def test_rows_out_of_range() -> None:
    with pytest.raises(ValueError, match="rows must lie"):
        search(unit(np.random.default_rng(8), 10, 4), np.ones(4), rows=[3, 10])
