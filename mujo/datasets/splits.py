"""Subject-wise splits of prepared windows (fixed or random) and per-class sampling of a training fraction."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from mujo.datasets.base import DatasetError, natural_key

if TYPE_CHECKING:
    from mujo.datasets.windowset import WindowSet

PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class Split:
    """Which subjects (or sessions) form the training, validation and test parts."""

    name: str  # "odd-even", "fixed", "random-0", ...
    key: str  # "subject" | "session": the WindowSet attribute the values name
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def part(self, name: str) -> tuple[str, ...]:
        """The values of part "train", "val" or "test"."""
        if name not in PARTS:
            raise ValueError(f"split part must be one of {PARTS}, got {name!r}")
        return getattr(self, name)


def random_subject_splits(subjects: Sequence[str], n: int = 5, seed: int = 0, val: float = 0.2,
                          test: float = 0.2) -> list[Split]:
    """`n` random subject-wise splits "random-0".."random-{n-1}", deterministic in (subjects, seed).

    Args:
        subjects: the subject names (order does not matter).
        n: how many splits.
        seed: seed of the subject shuffles.
        val, test: fraction of the subjects in each part (rounded, at least one each; train keeps the rest).

    Raises:
        DatasetError: fewer than three subjects.
    """
    subs = sorted(set(map(str, subjects)), key=natural_key)
    if len(subs) < 3:
        raise DatasetError(f"random subject splits need at least 3 subjects, got {len(subs)}: {subs}")
    n_test = min(max(1, _round(test * len(subs))), len(subs) - 2)
    n_val = min(max(1, _round(val * len(subs))), len(subs) - 1 - n_test)
    # test parts are taken in turn along a shuffle (like cross-validation folds), so the splits' test subjects
    # differ instead of repeating by chance; when a shuffle is used up, a new one (seed, round) starts
    folds = len(subs) // n_test
    out = []
    for k in range(n):
        perm = np.random.default_rng([seed, k // folds]).permutation(len(subs))
        pick = [subs[i] for i in np.roll(perm, -(k % folds) * n_test)]
        parts = pick[:n_test], pick[n_test:n_test + n_val], pick[n_test + n_val:]
        test_p, val_p, train_p = (tuple(sorted(p, key=natural_key)) for p in parts)
        out.append(Split(f"random-{k}", "subject", train_p, val_p, test_p))
    return out


def dataset_splits(ws: WindowSet) -> list[Split]:
    """The dataset's fixed splits (info.fixed_splits) first, then five random subject splits if it allows them."""
    out = [Split(f.name, f.key, tuple(f.train), tuple(f.val), tuple(f.test)) for f in ws.info.fixed_splits]
    if ws.info.random_splits:
        out += random_subject_splits(ws.subjects)
    return out


def repeat_splits(ws: WindowSet) -> list[Split]:
    """The splits that fine-tuning repeats cycle through: the five random subject splits where the dataset allows
    them (the protocol), else its first fixed split only (MM-Fit: every repeat on the same workouts, so repeats
    differ in seed and sampled windows, never in which test set they report on). Other fixed splits (UTD-MHAD's
    odd-even, MM-Fit's unseen subjects) are asked for by name."""
    if ws.info.random_splits:
        return random_subject_splits(ws.subjects)
    return [Split(f.name, f.key, tuple(f.train), tuple(f.val), tuple(f.test)) for f in ws.info.fixed_splits[:1]]


def repeat_split(splits: Sequence[Split], repeat: int) -> Split:
    """The split that repeat `repeat` runs on: repeats cycle through `splits` (repeat 0 takes the first)."""
    return splits[repeat % len(splits)]


def get_split(ws: WindowSet, name: str) -> Split:
    """The split of `dataset_splits(ws)` called `name` (DatasetError listing the names otherwise)."""
    splits = dataset_splits(ws)
    for s in splits:
        if s.name == name:
            return s
    raise DatasetError(f"{ws.info.name} has no split {name!r}; it has {', '.join(s.name for s in splits)}")


def split_rows(ws: WindowSet, split: Split) -> dict[str, np.ndarray]:
    """Sorted window indices of the "train", "val" and "test" parts of `split`."""
    if split.key not in ("subject", "session"):
        raise ValueError(f"split {split.name}: key must be 'subject' or 'session', got {split.key!r}")
    names = ws.subjects if split.key == "subject" else ws.sessions
    codes = np.asarray(ws.subject if split.key == "subject" else ws.session)
    out = {}
    for part in PARTS:
        wanted = set(map(str, split.part(part)))
        member = np.array([n in wanted for n in names], dtype=bool)
        out[part] = np.flatnonzero(member[codes]).astype(np.int64) if len(names) else np.zeros(0, np.int64)
    return out


@dataclass
class FractionSample:
    """The training windows chosen for one fraction, per class counts, and what the caller should be told."""

    rows: np.ndarray  # chosen training rows (sorted)
    per_class: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (available, taken)
    warnings: list[str] = field(default_factory=list)


def sample_fraction(rows: np.ndarray, targets: np.ndarray, class_names: Sequence[str], fraction: float, seed: int,
                    *, split: str | None = None) -> FractionSample:
    """Take `fraction` of the training windows of every class: n = max(1, round(fraction * available)).

    Smaller fractions with the same seed are subsets of larger ones (a fixed per-class shuffle is cut).

    Args:
        rows: candidate window indices (a split's training part).
        targets: per-window class indices, either for all windows (indexed by `rows`) or aligned with `rows`
            (same length); rows whose target is -1 (dropped NULL) are never taken.
        class_names: the K class names of targets 0..K-1.
        fraction: in (0, 1].
        seed: the sample's seed.
        split: the split's name, used in warnings.

    Returns:
        The FractionSample; a class without training windows or one rounded up to a single window is reported
        in `warnings`, not silently dropped.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rows = np.asarray(rows, dtype=np.int64)
    targets = np.asarray(targets)
    y = targets if len(targets) == len(rows) else targets[rows]
    where = f" in split {split}" if split else ""
    chosen, per_class, warnings = [], {}, []
    for c, name in enumerate(class_names):
        avail = rows[y == c]
        if len(avail) == 0:
            per_class[name] = (0, 0)
            warnings.append(f"class {name!r} has no training windows{where}")
            continue
        want = fraction * len(avail)
        n = max(1, _round(want))
        if want < 1:
            warnings.append(f"class {name!r}: {100 * fraction:.4g}% of {len(avail)} windows is {want:.2g}; took 1"
                            + where)
        order = np.random.default_rng([seed, c]).permutation(len(avail))
        chosen.append(avail[order[:n]])
        per_class[name] = (int(len(avail)), int(n))
    picked = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, np.int64)
    return FractionSample(picked, per_class, warnings)


def _round(x: float) -> int:
    """Round half up (Python's round() rounds half to even: 2.5 -> 2)."""
    return int(math.floor(x + 0.5))
