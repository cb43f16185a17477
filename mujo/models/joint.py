"""The joint model: per-modality encoders and projections in ModuleDicts, unit-norm embeddings, the factory."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mujo.checkpoint import MODEL_TYPE_NAMES
from mujo.config import ConfigError, ModelConfig, Preset, from_dict, load_preset, with_overrides
from mujo.modality import Modality
from mujo.models.losses import contrastive_loss
from mujo.models.projection import Projection
from mujo.models.registry import encoder_type


class MuJoModel(nn.Module):
    """rep_m(x) = normalize(p_m(e_m(x))) for every modality m of the config (paper section 4).

    Encoders and projections live in `nn.ModuleDict`s keyed by the modality's value; each encoder is built by the
    builder registered for its config's `type`, so a new modality never touches this class.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoders = nn.ModuleDict()
        self.projections = nn.ModuleDict()
        for m in config.modalities:
            encoder = encoder_type(config.encoder_config(m).type).build(config)
            self.encoders[m.value] = encoder
            self.projections[m.value] = Projection(encoder.out_dim, config.embed_dim, config.projection)
        lo, hi = config.temperature_range
        self._log_t_range = (math.log(lo), math.log(hi))
        if config.learnable_temperature:
            self.log_temperature = nn.Parameter(torch.tensor(math.log(config.temperature)))
        else:
            self.log_temperature = None

    @property
    def modalities(self) -> tuple[Modality, ...]:
        return self.config.modalities

    def temperature(self) -> torch.Tensor:
        """The InfoNCE temperature: the config's, or the learnt one clamped (in place) into temperature_range."""
        if self.log_temperature is None:
            return torch.tensor(self.config.temperature)
        with torch.no_grad():  # CLIP's way: keep the parameter itself in range, so it can move back
            self.log_temperature.clamp_(*self._log_t_range)
        return self.log_temperature.exp()

    def encode(self, modality: Modality | str, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings (B, embed_dim) of one modality's inputs."""
        key = Modality(modality).value
        if key not in self.encoders:
            raise ValueError(f"this model has no {key} encoder (it has {', '.join(self.encoders)})")
        return F.normalize(self.projections[key](self.encoders[key](x)), dim=-1)

    def forward(self, batch: dict[Modality, torch.Tensor]) -> dict[Modality, torch.Tensor]:
        """Embed every modality in `batch` (modalities absent from the batch are simply not returned).

        Args:
            batch: {modality: input tensor} shaped as the window bank gives them (see mujo.modality).
        Returns:
            {modality: (B, embed_dim) unit-norm embeddings}.
        """
        return {Modality(m): self.encode(m, x) for m, x in batch.items()}

    def loss(self, embeddings: dict[Modality, torch.Tensor], mask: torch.Tensor | None = None) -> torch.Tensor:
        """The config's contrastive loss with the model's temperature."""
        return contrastive_loss(embeddings, self.temperature(), mode=self.config.loss, mask=mask)

    def example_input(self, modality: Modality | str, batch: int = 1) -> torch.Tensor:
        """Zeros shaped like a batch of one modality's inputs (for FLOP counts and smoke tests)."""
        shape = encoder_type(self.config.encoder_config(Modality(modality)).type).input_shape(self.config)
        return torch.zeros(batch, *shape)


MODEL_TYPES: dict[str, type[nn.Module]] = {"mujo": MuJoModel}
if tuple(MODEL_TYPES) != MODEL_TYPE_NAMES:  # the torch-free config check (mujo.checkpoint) reads the names there
    raise ImportError(f"mujo.models.joint.MODEL_TYPES {tuple(MODEL_TYPES)} and mujo.checkpoint.MODEL_TYPE_NAMES "
                      f"{MODEL_TYPE_NAMES} differ: add a new model type to both")


def resolve_config(name_or_path_or_config: str | Path | ModelConfig | Preset | dict[str, Any],
                   **overrides: Any) -> ModelConfig:
    """The ModelConfig a preset name, preset JSON file, Preset, config dict or ModelConfig stands for, overridden.

    A dict must name its `model_type`. Overrides replace fields; a dict for a nested setting (e.g.
    `imu={"fc": [256]}`) is merged into it.
    """
    src = name_or_path_or_config
    if isinstance(src, ModelConfig):
        config = src
    elif isinstance(src, Preset):
        config = src.model
    elif isinstance(src, dict):
        if "model_type" not in src:
            raise ConfigError("a model config dict needs an explicit 'model_type' (e.g. \"mujo\")")
        config = from_dict(ModelConfig, src)
    elif isinstance(src, (str, Path)):
        config = load_preset(src).model
    else:
        raise TypeError(f"expected a preset name, path, Preset, ModelConfig or dict, got {type(src).__name__}")
    return with_overrides(config, **overrides) if overrides else config


def create_model(name_or_path_or_config: str | Path | ModelConfig | Preset | dict[str, Any],
                 **overrides: Any) -> MuJoModel:
    """Build a model from a preset (`"paper"`, `"small"`, a JSON path), a config or a config dict.

    Args:
        name_or_path_or_config: what to build; its `model_type` picks the class (never guessed from keys).
        **overrides: ModelConfig fields to replace, e.g. `text_dim=384, imu_sites=["RWrist"]`.
    Returns:
        A freshly initialised model (training mode).
    """
    config = resolve_config(name_or_path_or_config, **overrides)
    if config.model_type not in MODEL_TYPES:
        raise ConfigError(f"unknown model_type {config.model_type!r}; known: {', '.join(MODEL_TYPES)}")
    return MODEL_TYPES[config.model_type](config)
