"""The joint model: one encoder file per modality, projection heads, the joint model and its losses."""

from mujo.models.joint import MuJoModel, create_model
from mujo.models.losses import contrastive_loss

__all__ = ["MuJoModel", "create_model", "contrastive_loss"]
