"""Text encoder: linear layers over a precomputed sentence embedding (paper: 1536 -> 768, GELU, dropout 0.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mujo.models.layers import mlp
from mujo.models.registry import register_encoder

if TYPE_CHECKING:
    from mujo.config import ModelConfig


class FeatureMLP(nn.Module):
    """An MLP over a feature vector (B, D) -> (B, out_dim); the text and video encoders are both one."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], dropout: float, name: str):
        super().__init__()
        if not hidden:
            raise ValueError(f"{name} encoder needs at least one layer")
        self.in_dim, self.out_dim, self.name = in_dim, hidden[-1], name
        self.net = mlp(in_dim, hidden, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"{self.name} encoder expects (B, {self.in_dim}) features, got {tuple(x.shape)}")
        return self.net(x)


@register_encoder("text_mlp", input_shape=lambda c: (c.text_dim,))
def build_text(config: "ModelConfig") -> FeatureMLP:
    """Text encoder of `config` (input size `text_dim`, settings `config.text`)."""
    return FeatureMLP(config.text_dim, config.text.hidden, config.text.dropout, "text")
