"""The fine-tuning classifier (paper section 5.2): per-input encoder + projection, concatenated, a two-layer head.

Also the pieces its training loop needs to stay fast on one CPU core: inputs prebuilt once as float32 tensors,
shuffled batches that index those tensors (no per-batch numpy copies), predictions in large batches without
autograd, and the frozen scenario's features computed once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from mujo.checkpoint import read_checkpoint_config
from mujo.config import with_overrides
from mujo.models.checkpoint_io import load_checkpoint
from mujo.models.joint import MODEL_TYPES, create_model
from mujo.train.loop import epoch_seed

EVAL_BATCH = 2048  # windows per forward pass when predicting (no autograd, so memory stays small)

Inputs = dict[str, torch.Tensor] | torch.Tensor  # {modality: (N, ...)} for the whole classifier, (N, D) for a head


class Classifier(nn.Module):
    """C(x) = head(concat_m p_m(e_m(x_m))): projection outputs of every input modality concatenated, then
    Linear(D, hidden) GELU Dropout Linear(hidden, K)."""

    def __init__(self, encoders: dict[str, nn.Module], projections: dict[str, nn.Module], n_classes: int,
                 hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        if not encoders or set(encoders) != set(projections):
            raise ValueError(f"need an encoder and a projection per input, got {list(encoders)} / {list(projections)}")
        self.inputs = tuple(encoders)
        self.encoders = nn.ModuleDict(encoders)
        self.projections = nn.ModuleDict(projections)
        self.feature_dim = sum(int(projections[m].out_dim) for m in self.inputs)
        self.head = nn.Sequential(nn.Linear(self.feature_dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, n_classes))

    def features(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, D) concatenated projection outputs (not normalised: the LayerNorm that ends a projection scales
        them already)."""
        return torch.cat([self.projections[m](self.encoders[m](x[m])) for m in self.inputs], dim=1)

    def forward(self, x: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, K) class logits of {modality: window batch}."""
        return self.head(self.features(x))

    def backbone_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of the encoders and projections (what the frozen scenario keeps fixed)."""
        yield from self.encoders.parameters()
        yield from self.projections.parameters()

    def freeze_backbone(self) -> None:
        """Fix encoders and projections: no gradients, eval mode (no dropout), now and after `train()`."""
        for p in self.backbone_parameters():
            p.requires_grad_(False)
        self._frozen = True
        self.train(self.training)

    def train(self, mode: bool = True) -> "Classifier":
        super().train(mode)
        if getattr(self, "_frozen", False):
            self.encoders.eval()
            self.projections.eval()
        return self


def backbone(inputs: Sequence[str], *, checkpoint: str | Path | None, pretrained: bool, preset: str,
             sites: Sequence[str], channels: Sequence[str], window: int) -> tuple[nn.Module, dict[str, Any]]:
    """The joint model whose encoders and projections the classifier takes over.

    Args:
        inputs: input modalities ("imu", "pose").
        checkpoint: a checkpoint folder: its weights when `pretrained`, else its architecture freshly initialised.
        pretrained: load the checkpoint's weights (frozen / fine-tuned scenarios).
        preset: the architecture without a checkpoint (`create_model(preset, ...)` with the data's sites).
        sites, channels, window: the data's IMU sites, channel groups and window length (no checkpoint).
    Returns:
        (model with `encoders` / `projections` ModuleDicts, the checkpoint's extra dict or {}). Random weights
        come from torch's global generator: seed it first.
    """
    if checkpoint is None:
        if pretrained:
            raise ValueError("the frozen and finetuned scenarios need a pre-trained checkpoint (--checkpoint)")
        return create_model(preset, modalities=list(inputs), imu_sites=list(sites), imu_channels=list(channels),
                            window=int(window)), {}
    if pretrained:
        model, extra = load_checkpoint(checkpoint)
        return model, extra
    config, extra = read_checkpoint_config(checkpoint)
    # Only the encoders the classifier uses: building the others would draw random numbers for nothing.
    config = with_overrides(config, modalities=[m for m in inputs])
    return MODEL_TYPES[config.model_type](config), extra


def build_classifier(model: nn.Module, inputs: Sequence[str], n_classes: int, hidden: int,
                     dropout: float) -> Classifier:
    """A Classifier over `model`'s encoders and projections of `inputs` (shared modules, not copies)."""
    missing = [m for m in inputs if m not in model.encoders]
    if missing:
        raise ValueError(f"the model has no {', '.join(missing)} encoder (it has {', '.join(model.encoders)})")
    return Classifier({m: model.encoders[m] for m in inputs}, {m: model.projections[m] for m in inputs}, n_classes,
                      hidden, dropout)


class Batches:
    """Shuffled mini-batches of prebuilt tensors for one epoch; the order is a pure function of (seed, epoch)."""

    def __init__(self, x: Inputs, y: torch.Tensor, batch_size: int, seed: int, epoch: int):
        self.x, self.y, self.batch_size = x, y, max(1, int(batch_size))
        g = torch.Generator().manual_seed(epoch_seed(seed, epoch, stream=1))
        self.order = torch.randperm(len(y), generator=g)

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Inputs, torch.Tensor]]:
        for i in range(0, len(self.y), self.batch_size):
            idx = self.order[i:i + self.batch_size]
            yield take(self.x, idx), self.y[idx]


def take(x: Inputs, idx: torch.Tensor | slice) -> Inputs:
    """Rows `idx` of a tensor or of every tensor of a dict."""
    if isinstance(x, dict):
        return {k: v[idx] for k, v in x.items()}
    return x[idx]


def n_rows(x: Inputs) -> int:
    """Rows of a tensor or of a dict's first tensor."""
    return int(next(iter(x.values())).shape[0]) if isinstance(x, dict) else int(x.shape[0])


def outputs(module: nn.Module, x: Inputs, batch: int = EVAL_BATCH, *, call: Callable[[Inputs], torch.Tensor] | None
            = None) -> torch.Tensor:
    """`call` (default: the module itself) over all rows of `x` in large batches, with `module` in eval mode and
    no autograd; the module's mode is restored.

    no_grad rather than inference_mode: the frozen scenario trains its head on these outputs, and inference
    tensors cannot be saved for backward.
    """
    fn = call or module
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            n = n_rows(x)
            parts = [fn(take(x, slice(i, i + batch))) for i in range(0, n, batch)]
    finally:
        module.train(was)
    return torch.cat(parts) if parts else torch.empty(0)


def predict(fn: nn.Module, x: Inputs, batch: int = EVAL_BATCH) -> np.ndarray:
    """(N,) arg-max class of `fn`'s logits (empty input: empty output)."""
    if n_rows(x) == 0:
        return np.zeros(0, np.int64)
    with torch.inference_mode():
        return outputs(fn, x, batch).argmax(1).numpy().astype(np.int64)


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """(K,) w_c = (windows of the largest class) / (windows of class c) over `y`; 0 for a class without any
    (it has nothing to weigh, and an infinite weight would poison the loss)."""
    counts = np.bincount(np.asarray(y, np.int64), minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)
    return w.astype(np.float32)
