"""How well NULL suggestions rank the true NULL clips first: ground truth per clip, AP, precision@k per signal."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from mujo.curation.suggest import NULL_KINDS, SIGNALS, is_null_label, text_col


def null_truth(clips: pd.DataFrame) -> pd.Series:
    """Ground truth per clip_id where known: label in NULL_LABELS, else segment_kind in NULL_KINDS.

    Returns:
        bool Series indexed by clip_id; clips with neither a label nor a segment kind are left out.
    """
    label = text_col(clips, "label").str.strip()
    kind = text_col(clips, "segment_kind").str.strip()
    truth = pd.Series(is_null_label(label), index=clips.index.astype(str))
    from_kind = (label == "").to_numpy() & (kind != "").to_numpy()
    truth[from_kind] = kind[from_kind].isin(NULL_KINDS).to_numpy()
    return truth[((label != "") | (kind != "")).to_numpy()]


def average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """AP of scores against bool truth, tied scores counted as one threshold (as sklearn); NaN without positives."""
    s, y = np.asarray(scores, np.float64), np.asarray(truth, bool)
    if not y.any():
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last index of each tie group
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0, tp]) / y.sum()
    return float((precision * recall_gain).sum())


def precision_at_k(scores: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Expected precision of the top k (ties at the cut broken at random; k past the end counts every row)."""
    s, y = np.asarray(scores, np.float64), np.asarray(truth, bool)
    k = min(int(k), len(s))
    if k <= 0:
        return float("nan")
    cut = np.sort(s)[::-1][k - 1]
    above = s > cut
    tied = s == cut
    return float((y[above].sum() + (k - above.sum()) * y[tied].mean()) / k)


def ranking_quality(df: pd.DataFrame, truth: pd.Series | np.ndarray | str,
                    ks: Sequence[int] = (5, 10, 20)) -> pd.DataFrame:
    """How well the combined score and each signal rank the true NULL clips first.

    Args:
        df: `rank_signals`/`rank_clips` output (or `compute_signals`: then only the signals are rated).
        truth: a bool Series indexed by clip_id (`null_truth(ds.clips)`), a (N,) bool array aligned to df's rows,
            or the name of a bool column of df. Rows without truth are left out.
        ks: precision@k cut-offs.
    Returns:
        One row per score (combined, then SIGNALS): n (rows where it is available), positives, base_rate (the
        NULL share among them: the AP of a random ranking), ap, p@k per k.
    """
    if isinstance(truth, str):
        y = df[truth]
    elif isinstance(truth, pd.Series):
        y = df["clip_id"].map(truth)
    else:
        y = pd.Series(np.asarray(truth), index=df.index)
    known = y.notna().to_numpy()
    rows = {}
    for col in ("combined", *SIGNALS):
        if col not in df.columns:
            continue
        s = df[col].to_numpy(np.float64)
        ok = known & np.isfinite(s)
        yy = y[ok].astype(bool).to_numpy()
        row = {"n": int(ok.sum()), "positives": int(yy.sum()), "base_rate": float(yy.mean()) if ok.any() else np.nan,
               "ap": average_precision(s[ok], yy)}
        for k in ks:
            row[f"p@{k}"] = precision_at_k(s[ok], yy, k) if ok.sum() else np.nan
        rows[col] = row
    return pd.DataFrame.from_dict(rows, orient="index")
