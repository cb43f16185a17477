"""Which windows go into which batch: seeded epoch plans, at most one window per clip, shards per DDP rank.

Windows of one clip share its text embedding (text is per clip), so in a contrastive batch two windows of the same
clip would be pushed apart from a text that describes both. Two remedies, chosen by `same_clip`:
- "mask" (default): random batches; the loss ignores same-clip pairs as negatives (a (B, B) mask per batch).
- "one_per_clip": batches never hold two windows of one clip (needs at least batch-size clips).
- "ignore": plain random batches (what a CLIP-style loader does).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from mujo.train.loop import epoch_seed

SAME_CLIP = ("mask", "one_per_clip", "ignore")


def random_plan(rows: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A random permutation of `rows` cut into full batches (the last partial one is dropped, unless there is
    only that one)."""
    perm = rng.permutation(rows)
    n = len(perm) // batch_size
    if n == 0:
        return [perm] if len(perm) >= 2 else []
    return [perm[i * batch_size:(i + 1) * batch_size] for i in range(n)]


def one_per_clip_plan(rows: np.ndarray, clips: np.ndarray, batch_size: int,
                      rng: np.random.Generator) -> list[np.ndarray]:
    """Random full batches in which no clip appears twice.

    Each clip's windows are spread evenly over the epoch (window k of a clip with n windows gets the key
    (k + u) / n, u uniform per clip), then a greedy pass defers a window whose clip is already in the batch to the
    next batch. Windows still deferred at the end of the epoch wait for the next epoch's draw.

    Args:
        rows: window rows to draw from; clips: the clip code of each of those rows (same length).
    """
    if len(rows) == 0:
        return []
    order = rng.permutation(len(rows))
    rows, clips = rows[order], clips[order]
    _, inverse, counts = np.unique(clips, return_inverse=True, return_counts=True)
    rank_in_clip = np.empty(len(rows), dtype=np.float64)
    seen = np.zeros(len(counts), dtype=np.int64)
    for i, c in enumerate(inverse):  # rows are already in random order, so ranks are random within a clip
        rank_in_clip[i] = seen[c]
        seen[c] += 1
    key = (rank_in_clip + rng.random(len(counts))[inverse]) / counts[inverse]
    sequence = np.argsort(key, kind="stable")
    batches: list[np.ndarray] = []
    pending: deque[int] = deque()
    current: list[int] = []
    in_batch: set[int] = set()
    for i in sequence:
        for _ in range(len(pending)):  # deferred windows first, as long as their clip is free
            j = pending.popleft()
            if inverse[j] in in_batch:
                pending.append(j)
            else:
                current.append(j)
                in_batch.add(inverse[j])
                if len(current) == batch_size:
                    break
        if len(current) < batch_size and inverse[i] not in in_batch:
            current.append(i)
            in_batch.add(inverse[i])
        else:
            pending.append(i)
        if len(current) == batch_size:
            batches.append(rows[np.array(current)])
            current, in_batch = [], set()
    if not batches and len(current) >= 2:
        batches.append(rows[np.array(current)])
    return batches


def shard(batches: list[np.ndarray], rank: int, world_size: int) -> list[np.ndarray]:
    """This rank's share of an epoch's batches: every world_size-th batch, the count equal on all ranks
    (DDP needs the same number of steps everywhere, so up to world_size - 1 batches are left out)."""
    n = len(batches) // world_size * world_size
    return batches[rank:n:world_size]


def same_clip_mask(clips: np.ndarray) -> torch.Tensor:
    """(B, B) bool: True where windows i and j come from the same clip (diagonal included)."""
    return torch.from_numpy(clips[:, None] == clips[None, :])


class LazyBatches(Sequence):
    """An epoch's batches as row arrays, loaded only when iterated (sized, so progress knows the total)."""

    def __init__(self, plan: list[np.ndarray], load: Callable[[np.ndarray], Any]):
        self.plan, self.load = plan, load

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]
        return self.load(self.plan[i])

    def __iter__(self) -> Iterator[Any]:
        for rows in self.plan:
            yield self.load(rows)


class BankBatches:
    """Training and validation batches of a window bank for one process of a (possibly distributed) run.

    Training: each epoch a new seeded plan (the same on every rank), this rank's shard of it. Validation: the val
    split shuffled once (so a batch mixes clips, as in training), cut into batches, this rank's share.
    """

    def __init__(self, bank: Any, modalities: Sequence[Any], batch_size: int, same_clip: str, seed: int,
                 rank: int = 0, world_size: int = 1):
        if same_clip not in SAME_CLIP:
            raise ValueError(f"same_clip must be one of {', '.join(SAME_CLIP)}, got {same_clip!r}")
        self.bank, self.modalities, self.same_clip, self.seed = bank, list(modalities), same_clip, seed
        self.rank, self.world_size = rank, world_size
        self.clips = pd.factorize(bank.index["clip_id"])[0]  # (N,) clip code per window
        # Windows given one shared text (WindowBank.with_shared_text: a NULL anchor for every NULL clip) describe the
        # same text as each other, like windows of one clip: the mask keeps them from being each other's negatives.
        shared = getattr(bank, "shared_text_windows", None)
        self.mask_groups = self.clips if shared is None else np.where(shared, -1, self.clips)
        self.train_rows, val_rows = np.asarray(bank.rows("train")), np.asarray(bank.rows("val"))
        if len(self.train_rows) < 2:
            raise ValueError(f"{len(self.train_rows)} training windows; need at least 2")
        self.batch_size = batch_size
        if same_clip == "one_per_clip":
            self.batch_size = min(batch_size, len(np.unique(self.clips[self.train_rows])))
        if not shard(self.plan(0), 0, world_size):
            raise ValueError(f"{len(self.train_rows)} training windows make fewer batches of {self.batch_size} "
                             f"than the {world_size} processes; lower the batch size")
        self.val_rows = np.random.default_rng(epoch_seed(seed, 0, 0, stream=3)).permutation(val_rows)
        b = self.batch_size
        self.val_plan = [r for r in (self.val_rows[i:i + b] for i in range(0, len(self.val_rows), b)) if len(r) >= 2]

    def load(self, rows: np.ndarray) -> dict:
        """{Modality: inputs} of these windows, plus the (B, B) "same_clip" mask unless same_clip is "ignore"."""
        out: dict[Any, torch.Tensor] = dict(self.bank.batch(rows, self.modalities))
        if self.same_clip != "ignore":
            out["same_clip"] = same_clip_mask(self.mask_groups[rows])
        return out

    def plan(self, epoch: int) -> list[np.ndarray]:
        """All batches of an epoch (every rank computes the same)."""
        rng = np.random.default_rng(epoch_seed(self.seed, epoch, 0, stream=1))
        if self.same_clip == "one_per_clip":
            return one_per_clip_plan(self.train_rows, self.clips[self.train_rows], self.batch_size, rng)
        return random_plan(self.train_rows, self.batch_size, rng)

    def train(self, epoch: int) -> LazyBatches:
        """This rank's training batches of an epoch."""
        return LazyBatches(shard(self.plan(epoch), self.rank, self.world_size), self.load)

    def val(self) -> LazyBatches:
        """This rank's validation batches (ranks may get different counts: evaluation has no collectives)."""
        return LazyBatches(self.val_plan[self.rank::self.world_size], self.load)
