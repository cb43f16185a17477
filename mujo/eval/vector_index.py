"""An embedding matrix prepared for search: an optional float32 copy, float32 blocks, float16 approximate scores.

Three ways to score queries against the (N, D) float16 rows, picked by `mujo.eval.search`:
- the float32 copy, kept when it fits `MUJO_SEARCH_CACHE_MB` (default 1024): NumPy's BLAS, no conversion;
- float32 blocks converted on the fly (torch converts float16 several times faster than NumPy; NumPy multiplies);
- float16 products (torch's CPU half matmul accumulates in float32 and rounds the result), used as a filter for
  a few queries: every row whose approximate score is within twice the error bound of the k-th best is
  re-scored exactly, so the answer is still exact. `half_matmul_is_safe` checks the accumulation once per
  process; if the kernel rounded partial sums to float16 the filter is not used.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from typing import Iterator

import numpy as np
import torch

DEFAULT_CACHE_MB = 1024
BLOCK_BYTES = 64 << 20  # float32 bytes of one converted block (large: each block is one parallel region)
HALF_BLOCK_BYTES = 64 << 20  # float16 bytes of one block of the approximate pass
UNIT_ROUNDOFF = 2.0 ** -11  # float16


def cache_budget_bytes() -> int:
    """Largest float32 copy of one embedding matrix that a VectorIndex keeps in memory."""
    return int(float(os.environ.get("MUJO_SEARCH_CACHE_MB", DEFAULT_CACHE_MB)) * (1 << 20))


def read_only_tensor(a: np.ndarray) -> torch.Tensor:
    """A tensor view of a (possibly read-only memmap) array; only ever read, so torch's warning does not apply."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(np.ascontiguousarray(a))


@functools.cache
def half_matmul_is_safe() -> bool:
    """Whether torch's CPU float16 matmul accumulates in float32 (its error then stays at one float16 rounding).

    Probed with all-positive 1024-d unit vectors, where float16 partial sums would be off by far more.
    """
    rng = np.random.default_rng(0)
    x = np.abs(rng.standard_normal((65, 1024))).astype(np.float32)
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    approx = torch.mm(torch.from_numpy(x[:1]), torch.from_numpy(x[1:]).T).float().numpy()
    exact = x[:1].astype(np.float64) @ x[1:].astype(np.float64).T
    return bool(np.abs(approx - exact).max() <= 1.01 * UNIT_ROUNDOFF * np.abs(exact).max() + 1e-6)


class VectorIndex:
    """An (N, D) matrix of unit-norm rows prepared for repeated top-k search (see the module docstring)."""

    def __init__(self, vectors: np.ndarray, *, budget_bytes: int | None = None, max_norm: float | None = None,
                 half_filter: bool = True):
        """Args:
            vectors: (N, D) float16/float32 array or memmap; scores are dot products (rows unit-norm for cosine).
            budget_bytes: largest float32 copy to keep (default `cache_budget_bytes()`; 0 keeps none).
            max_norm: the largest row norm if known (bounds the float16 error); computed on first need otherwise.
            half_filter: allow the float16 filter for a few queries (float16 vectors only).
        """
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be (N, D), got shape {vectors.shape}")
        self.vectors = vectors
        self._budget = cache_budget_bytes() if budget_bytes is None else budget_bytes
        self._f32: np.ndarray | None = np.asarray(vectors) if vectors.dtype == np.float32 else None
        self._owns_f32 = False
        self._max_norm = max_norm
        self.half_filter = half_filter and vectors.dtype == np.float16
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[int, int]:
        return self.vectors.shape

    @property
    def cached_bytes(self) -> int:
        """Bytes of the float32 copy held in memory (0 when none, or when the vectors are float32 already)."""
        return self._f32.nbytes if self._owns_f32 and self._f32 is not None else 0

    def float32(self) -> np.ndarray | None:
        """The whole matrix in float32 if it is (or may be made) resident, else None."""
        if self._f32 is None and self.vectors.size * 4 <= self._budget:
            with self._lock:
                if self._f32 is None:
                    self._f32, self._owns_f32 = _to_float32(self.vectors), True
        return self._f32

    def has_float32(self) -> bool:
        """Whether searches use a resident float32 matrix (making it if the budget allows)."""
        return self.float32() is not None

    def blocks(self, rows: np.ndarray | None, n_queries: int, scores_bytes: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (offset into `rows` or into all rows, (B, D) float32 block), block by block.

        Converted blocks are large (64 MiB): torch converts and NumPy's BLAS multiplies (each the faster one
        here, measured), and few blocks mean few hand-overs between their two thread pools, which otherwise
        spin against each other on a small machine.

        Args:
            rows: sorted row numbers to visit (None: all rows).
            n_queries: queries scored against each block; scores_bytes: bound on a block's (Q, B) float32 scores.
        """
        n = self.shape[0] if rows is None else len(rows)
        full = self.float32()
        per_scores = scores_bytes // (4 * max(n_queries, 1))
        size = max(256, min(per_scores, n if full is not None else BLOCK_BYTES // (4 * self.shape[1])))
        buf = None
        for lo in range(0, n, size):
            hi = min(lo + size, n)
            if full is not None:
                yield lo, full[lo:hi] if rows is None else full[rows[lo:hi]]
                continue
            src = self.vectors[slice(lo, hi) if rows is None else rows[lo:hi]]
            if buf is None:
                buf = torch.empty((size, self.shape[1]), dtype=torch.float32)
            out = buf[: hi - lo]
            out.copy_(read_only_tensor(src))
            yield lo, out.numpy()

    def max_norm(self) -> float:
        """The largest row norm (computed once, in blocks, when not given)."""
        if self._max_norm is None:
            step = max(1, HALF_BLOCK_BYTES // (2 * self.shape[1]))
            norms = [torch.linalg.vector_norm(read_only_tensor(self.vectors[lo:lo + step]), dim=1,
                                              dtype=torch.float32).max().item()
                     for lo in range(0, self.shape[0], step)]
            self._max_norm = float(max(norms, default=0.0))
        return self._max_norm

    def half_error_bound(self) -> float:
        """Bound on |float16 approximate score - exact score| for a unit-norm query.

        Rounding the query to float16 moves a score by at most u * |q| * |x|, rounding the result by u * |score|
        (u = 2^-11; float32 accumulation adds ~D * 2^-24); twice their sum leaves a margin.
        """
        return 2.0 * (2.0 * UNIT_ROUNDOFF * self.max_norm() * (1 + UNIT_ROUNDOFF) + self.shape[1] * 2.0 ** -24)

    def approx_scores(self, queries: np.ndarray, rows: np.ndarray | None) -> torch.Tensor:
        """(Q, N or len(rows)) float16 approximate scores from float16 products (see `half_error_bound`)."""
        n = self.shape[0] if rows is None else len(rows)
        qh = torch.from_numpy(queries).half()
        out = torch.empty((len(queries), n), dtype=torch.float16)
        step = max(1, HALF_BLOCK_BYTES // (2 * self.shape[1]))
        src16 = self.vectors if self.vectors.dtype == np.float16 else None
        for lo in range(0, n, step):
            sel = slice(lo, lo + step) if rows is None else rows[lo:lo + step]
            block = src16[sel] if src16 is not None else np.asarray(self.vectors[sel], np.float16)
            torch.mm(qh, read_only_tensor(block).T, out=out[:, lo:lo + step])
        return out

    def rows_float32(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), D) float32 copies of some rows."""
        full = self._f32
        return full[rows] if full is not None else np.asarray(self.vectors[rows], np.float32)


def _to_float32(a: np.ndarray) -> np.ndarray:
    out = torch.empty(a.shape, dtype=torch.float32)
    step = max(1, (64 << 20) // max(1, 2 * a.shape[1]))
    for lo in range(0, a.shape[0], step):
        out[lo:lo + step].copy_(read_only_tensor(a[lo:lo + step]))
    return out.numpy()
