"""Classification metrics: confusion matrix, per-class and macro F1, accuracy, top-k accuracy."""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted class."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    bad = (y_true < 0) | (y_true >= n_classes) | (y_pred < 0) | (y_pred >= n_classes)
    if bad.any():
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    return np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_f1(confusion: np.ndarray) -> np.ndarray:
    """(K,) F1 per class; NaN for a class that is neither in the truth nor predicted (it does not count)."""
    c = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(c)
    support, predicted = c.sum(1), c.sum(0)
    denom = support + predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2 * tp / denom, np.nan)
    return f1


def macro_f1(confusion: np.ndarray) -> float:
    """Mean F1 over the classes present in the truth (scikit-learn's macro F1 over labels seen in y_true).

    A class never in the truth but predicted scores 0 in scikit-learn when listed; here only classes with support
    count, which is what the HAR papers report on a test split that holds every class.
    """
    c = np.asarray(confusion)
    f1 = per_class_f1(c)
    present = c.sum(1) > 0
    return float(np.nanmean(np.where(present, np.nan_to_num(f1), np.nan))) if present.any() else float("nan")


def accuracy(confusion: np.ndarray) -> float:
    c = np.asarray(confusion)
    total = c.sum()
    return float(np.trace(c) / total) if total else float("nan")


def topk_accuracy(scores: np.ndarray, y_true: np.ndarray, k: int) -> float:
    """Share of rows whose true class is among the k highest scores. scores: (N, K)."""
    scores, y_true = np.asarray(scores), np.asarray(y_true, np.int64)
    if len(y_true) == 0:
        return float("nan")
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == y_true[:, None]).any(1).mean())
