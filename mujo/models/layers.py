"""Small building blocks shared by the encoders and projections."""

from __future__ import annotations

from typing import Sequence

from torch import nn


def mlp(in_dim: int, sizes: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear -> GELU -> Dropout for every size; the activation after the last layer too, since a projection's
    linear layer always follows an encoder (two linear layers in a row would collapse into one)."""
    layers: list[nn.Module] = []
    for size in sizes:
        layers += [nn.Linear(in_dim, size), nn.GELU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = size
    return nn.Sequential(*layers)


def conv_out(n: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution or pooling along one axis (PyTorch's floor rule)."""
    out = (n + 2 * padding - kernel) // stride + 1
    if out < 1:
        raise ValueError(f"input of length {n} is too short for kernel {kernel}, stride {stride}, padding {padding}")
    return out
