"""Projection head: linear layers from an encoder's output into the joint space (paper: three, 1280 wide)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mujo.models.layers import mlp

if TYPE_CHECKING:
    from mujo.config import ProjectionConfig


class Projection(nn.Module):
    """(B, in_dim) -> (B, out_dim): `layers - 1` hidden layers (Linear, GELU, Dropout), a last Linear, LayerNorm.

    Table 4 counts 2,560 = 2 x 1280 parameters more per projection than three linear layers hold, for every
    modality: one LayerNorm(1280) on the output (CLIP-style projection heads end with one).
    """

    def __init__(self, in_dim: int, out_dim: int, cfg: "ProjectionConfig"):
        super().__init__()
        if cfg.layers < 1:
            raise ValueError("a projection needs at least one linear layer")
        if cfg.norm not in ("layer", "none"):
            raise ValueError(f"projection norm must be 'layer' or 'none', got {cfg.norm!r}")
        self.hidden = mlp(in_dim, [cfg.hidden] * (cfg.layers - 1), cfg.dropout)
        self.out = nn.Linear(cfg.hidden if cfg.layers > 1 else in_dim, out_dim)
        self.norm = nn.LayerNorm(out_dim) if cfg.norm == "layer" else nn.Identity()
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.out(self.hidden(x)))
