"""Subject-wise splits and per-class sampling of training fractions."""

from __future__ import annotations

import numpy as np
import pytest

from mujo.datasets.base import DatasetError
from mujo.datasets.prepare import prepare
from mujo.datasets.splits import Split, dataset_splits, get_split, random_subject_splits, sample_fraction, split_rows


def test_random_subject_splits_are_deterministic_and_disjoint():
    subs = [str(i) for i in range(1, 25)]
    splits = random_subject_splits(subs, seed=3)
    assert [s.name for s in splits] == [f"random-{k}" for k in range(5)]
    assert splits == random_subject_splits(list(reversed(subs)), seed=3)
    assert splits != random_subject_splits(subs, seed=4)
    for s in splits:
        assert s.key == "subject" and (len(s.train), len(s.val), len(s.test)) == (14, 5, 5)
        assert sorted(s.train + s.val + s.test, key=int) == subs
    assert len({s.test for s in splits}) == 5
    assert len(set().union(*(s.test for s in splits[:4]))) == 20  # the first four test parts are disjoint
    eight = random_subject_splits([str(i) for i in range(1, 9)])
    assert len(set().union(*(s.test for s in eight[:4]))) == 8 and len(set(eight)) == 5  # 4 folds of 2, then new
    small = random_subject_splits(["a", "b", "c"], n=2)
    assert all(len(s.train) == len(s.val) == len(s.test) == 1 for s in small)
    with pytest.raises(DatasetError, match="at least 3 subjects"):
        random_subject_splits(["a", "b"])


def test_dataset_splits_and_rows(toy):
    ws = prepare(toy, cache=False)
    splits = dataset_splits(ws)
    assert [s.name for s in splits] == ["odd-even"] + [f"random-{k}" for k in range(5)]
    rows = split_rows(ws, splits[0])
    subj = np.array(ws.subjects)[ws.subject]
    assert set(subj[rows["train"]]) == {"1", "3"} and set(subj[rows["val"]]) == {"5"}
    assert set(subj[rows["test"]]) == {"2", "4"} and rows["train"].dtype == np.int64
    assert (np.diff(rows["train"]) > 0).all()
    r = split_rows(ws, splits[1])
    assert sorted(np.concatenate(list(r.values())).tolist()) == list(range(len(ws)))
    assert get_split(ws, "random-2") == splits[3]
    with pytest.raises(DatasetError, match="no split 'nope'.*odd-even"):
        get_split(ws, "nope")
    toy.info.random_splits = False
    assert [s.name for s in dataset_splits(ws)] == ["odd-even"]
    by_session = split_rows(ws, Split("s", "session", ("",), (), ()))
    assert len(by_session["train"]) == len(ws) and len(by_session["val"]) == 0


def test_sample_fraction_per_class():
    targets = np.array([0] * 40 + [1] * 300 + [-1] * 50 + [2] * 10)
    rows = np.arange(len(targets))
    names = ("sitting", "walking", "jogging", "lying")
    s = sample_fraction(rows, targets, names, 0.01, seed=0, split="random-2")
    assert s.per_class == {"sitting": (40, 1), "walking": (300, 3), "jogging": (10, 1), "lying": (0, 0)}
    assert "class 'sitting': 1% of 40 windows is 0.4; took 1 in split random-2" in s.warnings
    assert "class 'lying' has no training windows in split random-2" in s.warnings
    assert len(s.rows) == 5 and (np.diff(s.rows) > 0).all() and (targets[s.rows] >= 0).all()
    full = sample_fraction(rows, targets, names, 1.0, seed=0)
    assert len(full.rows) == 350 and full.warnings == ["class 'lying' has no training windows"]
    # same seed: a smaller fraction is a subset of a larger one; another seed differs
    half, quarter = (sample_fraction(rows, targets, names, f, seed=1).rows for f in (0.5, 0.25))
    assert set(quarter) <= set(half) and len(half) == 20 + 150 + 5
    assert not np.array_equal(half, sample_fraction(rows, targets, names, 0.5, seed=2).rows)
    # targets for all windows, indexed by a subset of rows
    sub = np.arange(0, 400, 2)
    s = sample_fraction(sub, targets, names, 1.0, seed=0)
    assert set(s.rows) == {r for r in sub if targets[r] >= 0}
    # rounding half up: 2.5 -> 3
    assert sample_fraction(np.arange(5), np.zeros(5, int), ("a",), 0.5, 0).per_class["a"] == (5, 3)
    with pytest.raises(ValueError, match="fraction"):
        sample_fraction(rows, targets, names, 0.0, 0)
