"""Retrieval metrics: where the first relevant target ranks, R@k and MRR (tie-aware), and their chance levels.

A query's outcome is summarised by three counts about its best-scoring relevant target: how many non-relevant
targets score strictly above it (`above`), how many score exactly the same (`tied`) and how many relevant targets
share that score (`tied_relevant`, at least 1). Ties are broken uniformly at random, and R@k and MRR are the exact
expected values under that rule, so identical embeddings (e.g. the same chapter text in two clips) neither help nor
hurt a model. A random ranking is the case where every target ties: chance levels use the same formulas.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln


@dataclass(frozen=True)
class FirstRelevant:
    """Per query: the counts that fix the rank of its first relevant target (see the module docstring)."""

    above: np.ndarray  # (Q,) int64 non-relevant targets scoring strictly above the best relevant one
    tied: np.ndarray  # (Q,) int64 non-relevant targets scoring exactly that
    tied_relevant: np.ndarray  # (Q,) int64 relevant targets scoring exactly that (>= 1)

    def __len__(self) -> int:
        return len(self.above)

    @property
    def best_rank(self) -> np.ndarray:
        """(Q,) 1-based rank of the first relevant target when ties favour it."""
        return self.above + 1

    @property
    def worst_rank(self) -> np.ndarray:
        """(Q,) 1-based rank of the first relevant target when ties go against it."""
        return self.above + self.tied + 1

    @staticmethod
    def concat(parts: list[FirstRelevant]) -> FirstRelevant:
        """Join the outcomes of several blocks of queries."""
        return FirstRelevant(*(np.concatenate([getattr(p, f) for p in parts]) if parts else np.zeros(0, np.int64)
                               for f in ("above", "tied", "tied_relevant")))


def first_relevant(scores: np.ndarray, relevant: np.ndarray) -> FirstRelevant:
    """Where each query's first relevant target lands in the ranking by score.

    Args:
        scores: (Q, N) similarity of each query to each target (higher ranks first).
        relevant: (Q, N) bool, True where the target is relevant; every query needs at least one.
    Returns:
        FirstRelevant counts per query.
    """
    scores, relevant = np.asarray(scores), np.asarray(relevant, bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be the same (Q, N) shape")
    if not relevant.any(axis=1).all():
        raise ValueError(f"{int((~relevant.any(axis=1)).sum())} queries have no relevant target")
    best = np.where(relevant, scores, -np.inf).max(axis=1, keepdims=True)  # (Q, 1)
    above = ((scores > best) & ~relevant).sum(axis=1)
    at_best = scores == best
    return FirstRelevant(above=above.astype(np.int64), tied=(at_best & ~relevant).sum(axis=1).astype(np.int64),
                         tied_relevant=(at_best & relevant).sum(axis=1).astype(np.int64))


def ranks_to_outcome(ranks: np.ndarray) -> FirstRelevant:
    """Plain 1-based ranks of the first relevant target (no ties) as FirstRelevant counts."""
    ranks = np.asarray(ranks, np.int64)
    if ranks.size and ranks.min() < 1:
        raise ValueError("ranks are 1-based and must be >= 1")
    return FirstRelevant(above=ranks - 1, tied=np.zeros_like(ranks), tied_relevant=np.ones_like(ranks))


def _as_outcome(ranks: np.ndarray | FirstRelevant) -> FirstRelevant:
    return ranks if isinstance(ranks, FirstRelevant) else ranks_to_outcome(ranks)


def _log_p_none_in_first(j: np.ndarray, t: np.ndarray, m: np.ndarray) -> np.ndarray:
    """log P(the first j of t + m shuffled tied items are all non-relevant) = log C(t, j) / C(t + m, j)."""
    return gammaln(t + 1) - gammaln(t - j + 1) + gammaln(t + m - j + 1) - gammaln(t + m + 1)


def recall_at_k(ranks: np.ndarray | FirstRelevant, k: int, *, reduce: bool = True) -> float | np.ndarray:
    """R@k: the probability that a relevant target is among the first k (expected over random tie-breaking).

    Args:
        ranks: (Q,) 1-based ranks of the first relevant target, or FirstRelevant counts.
        k: cut-off, >= 1.
        reduce: average over queries (else return the (Q,) per-query values).
    Returns:
        The mean over queries (NaN without queries), or per-query values.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    o = _as_outcome(ranks)
    j = k - o.above  # places left for the tied group
    t, m = o.tied.astype(np.float64), o.tied_relevant.astype(np.float64)
    jj = np.clip(j, 0, None).astype(np.float64)
    miss = np.where(jj > t, 0.0, np.exp(_log_p_none_in_first(np.minimum(jj, t), t, m)))
    per_query = np.where(j <= 0, 0.0, 1.0 - miss)
    return _reduce(per_query, reduce)


def mrr(ranks: np.ndarray | FirstRelevant, *, reduce: bool = True) -> float | np.ndarray:
    """Mean reciprocal rank of the first relevant target (expected over random tie-breaking).

    Args:
        ranks: (Q,) 1-based ranks of the first relevant target, or FirstRelevant counts.
        reduce: average over queries (else return the (Q,) per-query values).
    Returns:
        The mean over queries (NaN without queries), or per-query values.
    """
    o = _as_outcome(ranks)
    per_query = 1.0 / (o.above + 1.0)  # right whenever nothing ties
    tied = np.flatnonzero(o.tied > 0)
    if len(tied):
        triples = np.stack([o.above[tied], o.tied[tied], o.tied_relevant[tied]], axis=1)
        uniq, inverse = np.unique(triples, axis=0, return_inverse=True)
        values = np.array([_expected_reciprocal(*row) for row in uniq])
        per_query[tied] = values[inverse.ravel()]
    return _reduce(per_query, reduce)


def _expected_reciprocal(g: int, t: int, m: int) -> float:
    """E[1 / (g + X)] where X is the position of the first of m relevant items among t + m shuffled ones."""
    j = np.arange(t + 1, dtype=np.float64)  # X - 1 = number of non-relevant items before the first relevant one
    t_, m_ = float(t), float(m)
    p_before = np.exp(_log_p_none_in_first(j, t_, m_))  # P(X > j)
    p_after = np.exp(_log_p_none_in_first(np.minimum(j + 1, t_), t_, m_))
    p_after[-1] = 0.0  # X > t + 1 is impossible
    return float(np.sum((p_before - p_after) / (g + j + 1)))


def chance(n_targets: np.ndarray | int, n_relevant: np.ndarray | int) -> FirstRelevant:
    """The outcome of a random ranking: every target ties, `n_relevant` of `n_targets` are relevant.

    Args:
        n_targets: (Q,) or scalar number of targets per query.
        n_relevant: (Q,) or scalar number of relevant targets per query (1 <= n_relevant <= n_targets).
    Returns:
        FirstRelevant counts; feed them to recall_at_k / mrr for chance levels.
    """
    n, m = np.broadcast_arrays(np.asarray(n_targets, np.int64), np.asarray(n_relevant, np.int64))
    if (m < 1).any() or (m > n).any():
        raise ValueError("need 1 <= n_relevant <= n_targets for every query")
    return FirstRelevant(above=np.zeros(n.shape, np.int64).ravel(), tied=(n - m).ravel(), tied_relevant=m.ravel())


def _reduce(per_query: np.ndarray, reduce: bool) -> float | np.ndarray:
    if not reduce:
        return per_query
    return float(per_query.mean()) if len(per_query) else float("nan")
