"""Missing samples in per-clip arrays: NaN and ±inf both mark one; finding runs of them and filling short ones."""

from __future__ import annotations

import numpy as np

__all__ = ["nan_runs", "frame_nan_mask", "has_nan", "has_missing", "inf_to_nan", "fill_short_gaps"]


def nan_runs(mask: np.ndarray) -> np.ndarray:
    """Runs of True in a 1-D bool mask, as an (K, 2) int array of [start, stop)."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    return np.flatnonzero(m[1:] != m[:-1]).reshape(-1, 2)


def frame_nan_mask(x: np.ndarray) -> np.ndarray:
    """(T,) True where any value of a sample (a frame) is missing: NaN or ±inf."""
    return ~np.isfinite(np.asarray(x).reshape(len(x), -1)).all(axis=1)


def has_nan(x: np.ndarray) -> bool:
    """Whether an array holds any NaN (on a plain view: ufuncs on np.memmap pay for subclass wrapping)."""
    return bool(np.isnan(np.asarray(x)).any())


def has_missing(x: np.ndarray) -> bool:
    """Whether a float array holds any missing sample: NaN or ±inf."""
    return not bool(np.isfinite(np.asarray(x)).all())


def inf_to_nan(x: np.ndarray) -> np.ndarray:
    """A float32 copy of `x` with ±inf replaced by NaN (an infinite reading is a missing sample, never a value)."""
    out = np.array(x, dtype=np.float32, order="C")
    out[np.isinf(out)] = np.nan
    return out


def fill_short_gaps(x: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate runs of missing samples (NaN or ±inf) of at most `max_gap` samples along axis 0.

    Short runs at either end hold the nearest valid value; longer runs become NaN (callers report them).

    Args:
        x: (T, ...) float array; not modified.
        max_gap: the longest run (in samples) that is filled.
    Returns:
        A float32 copy with short gaps filled and every infinite value turned into NaN.
    """
    out = inf_to_nan(x)
    flat = out.reshape(len(out), -1)  # (T, C) view
    nan = np.isnan(flat)
    t = np.arange(len(flat))
    for c in np.flatnonzero(nan.any(axis=0)):
        m = nan[:, c]
        if m.all():
            continue
        col = flat[:, c]
        col[m] = np.interp(t[m], t[~m], col[~m])
        for a, b in nan_runs(m):
            if b - a > max_gap:
                col[a:b] = np.nan
    return out
