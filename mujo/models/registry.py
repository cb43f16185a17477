"""Encoder builders keyed by encoder type; each encoder file registers its own, so the joint model never changes."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from torch import nn

if TYPE_CHECKING:
    from mujo.config import ModelConfig


@dataclass(frozen=True)
class EncoderType:
    """How to build one kind of encoder from a ModelConfig and what one input sample looks like."""

    build: Callable[["ModelConfig"], nn.Module]  # the module has an `out_dim` attribute
    input_shape: Callable[["ModelConfig"], tuple[int, ...]]  # one sample, without the batch axis


_ENCODERS: dict[str, EncoderType] = {}


def register_encoder(name: str, input_shape: Callable[["ModelConfig"], tuple[int, ...]]):
    """Decorator for an encoder builder: `@register_encoder("text_mlp", input_shape=lambda c: (c.text_dim,))`."""

    def wrap(build: Callable[["ModelConfig"], nn.Module]) -> Callable[["ModelConfig"], nn.Module]:
        if name in _ENCODERS and _ENCODERS[name].build is not build:
            raise ValueError(f"encoder type {name!r} registered twice")
        _ENCODERS[name] = EncoderType(build, input_shape)
        return build

    return wrap


def encoder_type(name: str) -> EncoderType:
    """The registered encoder type `name`; every module of `mujo.models` is imported first so all have registered."""
    if name not in _ENCODERS:
        for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
            importlib.import_module(f"{__package__}.{info.name}")
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoder type {name!r}; known: {', '.join(sorted(_ENCODERS))}")
    return _ENCODERS[name]
