"""Exact cosine top-k search over float16 embedding matrices, without a full float32 score matrix or database copy.

Many queries: the database is scanned in blocks (float32 copy or blocks converted on the fly), each block's
top k per query kept, and the candidates merged. A few queries without a float32 copy: float16 products filter
the rows, which are then re-scored exactly (see `mujo.eval.vector_index`). Either way the result equals a stable
brute-force sort: best score first, ties by the lower row number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from mujo.eval.vector_index import VectorIndex, cache_budget_bytes, half_matmul_is_safe

if TYPE_CHECKING:
    from mujo.eval.embed import EmbeddingStore

__all__ = ["VectorIndex", "brute_force", "cache_budget_bytes", "search"]

SCORES_BYTES = 32 << 20  # float32 bytes of one (queries, block) score matrix
HALF_MAX_QUERIES = 4  # up to here the float16 filter beats converting the database (measured on 2 cores)
HALF_SCORES_BYTES = 128 << 20  # bound on the filter's (Q, N) float16 approximate scores


def _unit_queries(queries: np.ndarray, dim: int) -> np.ndarray:
    q = np.asarray(queries, dtype=np.float32)
    q = q[None, :] if q.ndim == 1 else q
    if q.ndim != 2 or q.shape[1] != dim:
        raise ValueError(f"queries must be (Q, {dim}) to match the target vectors, got {np.shape(queries)}")
    if not np.isfinite(q).all():
        raise ValueError("queries contain NaN or infinite values")
    norms = np.linalg.norm(q, axis=1, keepdims=True)
    if (norms == 0).any():
        raise ValueError("a query vector is all zeros; cosine similarity is undefined")
    return np.ascontiguousarray(q / norms)


def _candidate_rows(n: int, rows: Sequence[int] | np.ndarray | None, exclude_all: np.ndarray | None
                    ) -> np.ndarray | None:
    if rows is None and exclude_all is None:
        return None
    r = np.arange(n) if rows is None else np.unique(np.asarray(rows, np.int64))  # sorted: ties by lower row
    if len(r) and (r[0] < 0 or r[-1] >= n):
        raise ValueError(f"rows must lie in [0, {n}), got {r[0]}..{r[-1]}")
    if exclude_all is not None:
        r = r[~np.isin(r, exclude_all)]
    return r


def _split_exclude(exclude, n_queries: int) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    """(rows excluded for every query, or per-query lists of excluded rows)."""
    if exclude is None:
        return None, None
    if isinstance(exclude, np.ndarray) and exclude.ndim == 1 or (
            not isinstance(exclude, np.ndarray) and all(np.ndim(e) == 0 for e in exclude)):
        return np.asarray(exclude, np.int64), None
    per_query = [np.asarray(e, np.int64).ravel() for e in exclude]
    if len(per_query) != n_queries:
        raise ValueError(f"per-query exclude needs one entry per query ({n_queries}), got {len(per_query)}")
    return None, per_query


def _block_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(Q, k) values and positions of each row's k best scores, ties at the cut broken by the lower position."""
    if k < scores.shape[1]:
        top = np.argpartition(scores, scores.shape[1] - k, axis=1)[:, -k:]
        values = np.take_along_axis(scores, top, axis=1)
    else:
        top = np.broadcast_to(np.arange(k), scores.shape).copy()
        values = scores.copy()
    kth = values.min(axis=1, keepdims=True)  # (Q, 1)
    # argpartition picks arbitrarily among scores equal to the k-th; redo (rarely) the rows where some were left out.
    for r in np.flatnonzero((scores >= kth).sum(axis=1) > k):
        top[r] = np.argsort(-scores[r], kind="stable")[:k]
        values[r] = scores[r, top[r]]
    return values, top


def _best_first(q_of: np.ndarray, idx: np.ndarray, scores: np.ndarray, n_queries: int, k: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The k best (score, then lower row) of each query's candidates; every query has at least k."""
    order = np.lexsort((idx, -scores, q_of))
    q_of, idx, scores = q_of[order], idx[order], scores[order]
    starts = np.searchsorted(q_of, np.arange(n_queries))
    take = (starts[:, None] + np.arange(k)).ravel()
    return idx[take].reshape(n_queries, k), scores[take].reshape(n_queries, k)


def _scan(index: VectorIndex, q: np.ndarray, k: int, k_search: int, cand: np.ndarray | None,
          exclude_each: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Block scan: the exact scores of every row, top k per block, merged."""
    found_idx, found_scores = [], []
    q_block = max(1, SCORES_BYTES // (4 * 4096))  # a query block's scores cover >= 4096 rows per database block
    for q_lo in range(0, len(q), q_block):
        qb = q[q_lo:q_lo + q_block]
        part_idx, part_scores = [], []
        for lo, block in index.blocks(cand, len(qb), SCORES_BYTES):
            values, top = _block_top_k(qb @ block.T, min(k_search, len(block)))  # scores (Qb, B)
            part_scores.append(values)
            part_idx.append(top + lo)
        idx, sc = np.concatenate(part_idx, axis=1), np.concatenate(part_scores, axis=1)
        if cand is not None:
            idx = cand[idx]
        if exclude_each is not None:
            for i, ex in enumerate(exclude_each[q_lo:q_lo + q_block]):
                sc[i, np.isin(idx[i], ex)] = -np.inf
        q_of = np.repeat(np.arange(len(qb)), idx.shape[1])
        i_k, s_k = _best_first(q_of, idx.ravel(), sc.ravel(), len(qb), k)
        found_idx.append(i_k)
        found_scores.append(s_k)
    return np.concatenate(found_idx), np.concatenate(found_scores)


def _filter_and_rescore(index: VectorIndex, q: np.ndarray, k: int, k_search: int, cand: np.ndarray | None,
                        exclude_each: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Float16 approximate scores, then exact scores of every row that could be in the top k."""
    approx = index.approx_scores(q, cand)  # (Q, Nc) float16
    kth = torch.topk(approx, k_search, dim=1).values[:, -1:].float()  # (Q, 1) k_search-th best approximate score
    eps = index.half_error_bound()
    # A true top-k row scores >= s_k - eps approximately, and the approximate k-th is <= s_k + eps.
    q_of, pos = np.nonzero((approx.float() >= kth - 2 * eps).numpy())  # float32 compares beat float16 ones
    idx = pos if cand is None else cand[pos]
    order = np.argsort(idx, kind="stable")  # read the memmap in row order
    exact = np.empty(len(idx), np.float32)
    exact[order] = np.einsum("ij,ij->i", index.rows_float32(idx[order]), q[q_of[order]])
    if exclude_each is not None:
        exact[[bool(np.isin(r, exclude_each[qi])) for qi, r in zip(q_of, idx)]] = -np.inf
    return _best_first(q_of, idx.astype(np.int64), exact, len(q), k)


def search(store_or_vectors: EmbeddingStore | VectorIndex | np.ndarray, queries: np.ndarray, target: str | None = None,
           k: int = 10, rows: Sequence[int] | np.ndarray | None = None, exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine top-k of each query among the target vectors.

    Args:
        store_or_vectors: an EmbeddingStore (then `target` names the modality searched), a VectorIndex, or an
            (N, D) array of unit-norm rows (float16 memmap or float32).
        queries: (Q, D) or (D,) float query vectors (normalised here).
        target: the modality to search in a store (a Modality or its value).
        k: results per query (fewer when fewer rows are searched).
        rows: search only these row numbers (default all rows).
        exclude: row numbers never returned: one 1-D array for all queries, or one sequence per query (e.g. each
            query's own window in query-by-example).
    Returns:
        idx (Q, k) int64 row numbers (into the whole matrix, also when `rows` is given), best first, ties by lower
        row; scores (Q, k) float32 cosine similarities. With per-query exclusions that leave fewer than k rows,
        the last columns hold excluded rows with score -inf.
    """
    index = _as_index(store_or_vectors, target)
    n, dim = index.shape
    q = _unit_queries(queries, dim)
    exclude_all, exclude_each = _split_exclude(exclude, len(q))
    cand = _candidate_rows(n, rows, exclude_all)
    n_cand = n if cand is None else len(cand)
    k = int(min(k, n_cand))
    if k < 1 or len(q) == 0:
        return np.zeros((len(q), max(k, 0)), np.int64), np.zeros((len(q), max(k, 0)), np.float32)
    spare = max((len(e) for e in exclude_each), default=0) if exclude_each is not None else 0
    k_search = min(n_cand, k + spare)  # so that k remain after dropping each query's own exclusions
    few = len(q) <= HALF_MAX_QUERIES and len(q) * n_cand * 2 <= HALF_SCORES_BYTES
    if few and index.half_filter and not index.has_float32() and half_matmul_is_safe():
        idx, scores = _filter_and_rescore(index, q, k, k_search, cand, exclude_each)
    else:
        idx, scores = _scan(index, q, k, k_search, cand, exclude_each)
    return idx.astype(np.int64), scores.astype(np.float32)


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The plain NumPy reference: the whole float32 score matrix, then argpartition and a sort (ties unordered).

    Args:
        vectors: (N, D) database rows; queries: (Q, D) unit-norm queries; k: results per query.
    Returns:
        idx (Q, k), scores (Q, k).
    """
    s = np.atleast_2d(queries).astype(np.float32) @ vectors.astype(np.float32).T  # (Q, N)
    k = min(k, s.shape[1])
    top = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, top, axis=1), axis=1)
    idx = np.take_along_axis(top, order, axis=1)
    return idx, np.take_along_axis(s, idx, axis=1)


def _as_index(obj, target) -> VectorIndex:
    if isinstance(obj, VectorIndex):
        return obj
    if isinstance(obj, np.ndarray):
        # One-off search: no float32 copy outlives the call, and no extra pass to measure the row norms.
        return VectorIndex(obj, budget_bytes=0, half_filter=False)
    if target is None:
        raise ValueError("searching a store needs `target`, the modality to search")
    return obj.search_index(target)

