"""A tiny in-memory target dataset for the preprocessing tests (no files to parse)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mujo.datasets.base import NULL_INDEX, DatasetError, DatasetInfo, FixedSplit, Recording, TargetDataset


class ToyDataset(TargetDataset):
    """Recordings given as arrays; `broken` ids raise DatasetError when read."""

    def __init__(self, root: Path, recordings: list[Recording], *, info: DatasetInfo | None = None,
                 broken: tuple[str, ...] = ()) -> None:
        super().__init__(root)
        self._recs = recordings
        self.broken = broken
        self.ids = [r.id for r in recordings]
        self.info = info or DatasetInfo(
            name="toy", classes=("walk", "run", "sit"), placements={"wrist": "RWrist", "pocket": "RHip"},
            channels=("acc", "gyro"), rate=recordings[0].rate, has_null=True, has_pose=True,
            fixed_splits=(FixedSplit("odd-even", "subject", ("1", "3"), ("5",), ("2", "4")),))
        self.reads = 0

    def _read(self, i: int) -> Recording:
        self.reads += 1
        if self.ids[i] in self.broken:
            raise DatasetError(f"{self.ids[i]}.csv: column 'acc_x' is missing")
        return self._recs[i]

    def subject_of(self, i: int) -> str:
        return self._recs[i].subject


def toy_recording(rid: str, subject: str, n: int, rate: float = 50.0, label_runs: list[tuple[int, int]] | None = None,
                  seed: int = 0, pose: bool = True) -> Recording:
    """A recording whose acc x column is the sample index (so resampling is easy to check)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    imu = {p: np.column_stack([t + k, rng.standard_normal((n, 5))]) for k, p in enumerate(("wrist", "pocket"))}
    labels = np.full(n, NULL_INDEX, np.int64)
    at = 0
    for cls, length in label_runs or [(0, n)]:
        labels[at:at + length] = cls
        at += length
    p = rng.standard_normal((n, 17, 3)) if pose else None
    return Recording(rid, subject, rate, imu, labels, p)


@pytest.fixture
def toy(tmp_path: Path) -> ToyDataset:
    recs = [toy_recording(f"s{s}/r{k}", str(s), 400, label_runs=[(k % 3, 200), (NULL_INDEX, 200)], seed=10 * s + k)
            for s in range(1, 7) for k in range(2)]
    return ToyDataset(tmp_path, recs)


# Tests get the helpers through fixtures: `from conftest import ...` is ambiguous with several conftest.py files.
@pytest.fixture
def make_rec():
    return toy_recording


@pytest.fixture
def Toy():  # noqa: N802 - the class itself
    return ToyDataset
