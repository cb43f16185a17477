"""Text and video features of a dataset: MiniLM sentence embeddings and the OpenCV flow descriptor, cached."""

from mujo.features.text import MINILM, TextFeatures, embed_texts, text_features
from mujo.features.video import (
    MUJO_FLOW,
    VideoFeatureReport,
    compute_video_features,
    ensure_video_features,
    video_features,
)

__all__ = ["MINILM", "MUJO_FLOW", "TextFeatures", "VideoFeatureReport", "compute_video_features", "embed_texts",
           "ensure_video_features", "text_features", "video_features"]
