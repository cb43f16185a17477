"""What one fine-tuning run is asked to do (FinetuneSettings): built by the CLI, the pages and the sweeps; no torch."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mujo.datasets.inputs import INPUTS, valid_inputs

SCENARIOS = ("baseline", "frozen", "finetuned")


@dataclass
class FinetuneSettings:
    """One fine-tuning run; the CLI, the pages and the sweep all build one of these."""

    dataset: str  # open_target spec: registry name, "name:/path" or a folder
    scenario: str = "baseline"  # baseline (random init) | frozen | finetuned
    checkpoint: str | None = None  # needed for frozen/finetuned; for baseline it gives the architecture
    preset: str = "paper"  # baseline architecture when no checkpoint
    inputs: tuple[str, ...] = ("imu",)  # "imu", "pose" or both (features concatenated before the head)
    channels: tuple[str, ...] | None = None  # None: the checkpoint's imu_channels, else ("acc",)
    fraction: float = 1.0  # share of each class's training windows
    repeat: int = 0  # seed = seed + repeat; split = repeat_split(repeat_splits(ws), repeat) unless `split`
    split: str | None = None  # a split name from dataset_splits
    null: bool = False  # keep NULL windows as a class
    epochs: int = 200  # at most
    patience: int = 25  # early stopping: epochs without a better validation macro F1
    batch_size: int = 256
    lr: float = 1e-3  # AdamW
    weight_decay: float = 1e-4  # AdamW
    head_hidden: int = 256  # width of the head's hidden layer
    head_dropout: float = 0.2  # between the head's layers
    seed: int = 0
    threads: int = 1  # torch threads (0: leave torch's setting alone)
    train_rows: tuple[int, ...] | None = None  # exact training windows (repeat an earlier run)
    fingerprint: str | None = None  # with train_rows: the WindowSet they index (refuse a changed dataset)
    name: str = ""  # run name in the store ("" = made from the settings)

    def __post_init__(self) -> None:
        self.inputs = tuple(str(m) for m in self.inputs)
        if self.channels is not None:
            self.channels = tuple(self.channels)
        if self.train_rows is not None:
            self.train_rows = tuple(int(r) for r in self.train_rows)

    def check(self) -> None:
        """Raise ValueError naming the first bad setting."""
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}, got {self.scenario!r}")
        if self.scenario != "baseline" and not self.checkpoint:
            raise ValueError(f"the {self.scenario} scenario needs a pre-trained checkpoint")
        if not valid_inputs(self.inputs):
            raise ValueError(f"inputs must be a non-empty subset of {', '.join(INPUTS)}, got {list(self.inputs)}")
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1], got {self.fraction}")
        for key in ("epochs", "patience", "batch_size", "head_hidden"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.repeat < 0 or self.threads < 0:
            raise ValueError("repeat and threads must not be negative")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FinetuneSettings:
        """Settings from a dict such as a stored run's config (keys that are not fields are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items() if k in names})

