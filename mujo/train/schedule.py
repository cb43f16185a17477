"""Learning-rate schedule: linear warm-up, then cosine annealing from the peak to a minimum."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class WarmupCosine:
    """lr(t) for t in epochs (fractional: the schedule advances every batch).

    Warm-up rises linearly from lr / (warmup + 1) to `lr` over `warmup` epochs; then
    lr(t) = min_lr + (lr - min_lr) (1 + cos(pi (t - warmup) / cycle)) / 2. After `cycle` epochs the value is
    `min_lr`; past that, `after="periodic"` keeps following the cosine (it climbs back, as torch's
    CosineAnnealingLR does when stepped beyond T_max, which is what the paper's "33 iterations" most likely ran),
    `after="hold"` stays at `min_lr`.
    """

    lr: float = 8e-4  # peak learning rate
    min_lr: float = 3.0398e-06  # floor of the cosine
    warmup: float = 34.0  # epochs of linear warm-up
    cycle: float = 33.0  # epochs from the peak down to min_lr
    after: str = "periodic"  # periodic | hold

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.min_lr < 0 or self.min_lr > self.lr:
            raise ValueError(f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, min_lr={self.min_lr}")
        if self.warmup < 0 or self.cycle <= 0:
            raise ValueError(f"need warmup >= 0 and cycle > 0 epochs, got {self.warmup}, {self.cycle}")
        if self.after not in ("periodic", "hold"):
            raise ValueError(f"after must be 'periodic' or 'hold', got {self.after!r}")

    def __call__(self, t: float) -> float:
        """The learning rate at epoch t >= 0 (t = epoch + batch / batches_per_epoch)."""
        if t < self.warmup:
            # Start above zero (the first batch must move): lr / (warmup + 1) at t = 0, lr at t = warmup.
            return self.lr * (t + 1.0) / (self.warmup + 1.0)
        s = (t - self.warmup) / self.cycle
        if self.after == "hold" and s >= 1.0:
            return self.min_lr
        return self.min_lr + (self.lr - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * s))


def scaled_schedule(lr: float, min_lr: float, warmup: float, cycle: float, *, reference_epochs: int,
                    epochs: int, after: str = "periodic") -> WarmupCosine:
    """The schedule of a `reference_epochs` budget compressed or stretched to `epochs` (warm-up and cycle scale
    by epochs / reference_epochs), so a short demo run keeps the paper's shape."""
    f = epochs / max(reference_epochs, 1)
    return WarmupCosine(lr=lr, min_lr=min_lr, warmup=warmup * f, cycle=max(cycle * f, 1e-9), after=after)
