"""Video encoder: linear layers over window-averaged frame features (paper: 1024 -> 256 -> 256, dropout 0.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mujo.models.registry import register_encoder
from mujo.models.text import FeatureMLP

if TYPE_CHECKING:
    from mujo.config import ModelConfig


@register_encoder("video_mlp", input_shape=lambda c: (c.video_dim,))
def build_video(config: "ModelConfig") -> FeatureMLP:
    """Video encoder of `config` (input size `video_dim`, settings `config.video`)."""
    return FeatureMLP(config.video_dim, config.video.hidden, config.video.dropout, "video")
