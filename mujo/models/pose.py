"""Pose encoder: MM-Fit's three-layer CNN over (joint, time) with xyz as channels, then linear layers.

Layer arrangement, worked out from the paper's Table 4 (2.3296 M encoder parameters, 38.15 M forward FLOPs):
the input is laid out as (3, 17, 100) = (xyz, joint, time), the paper's own "(3, 17, 100)", and MM-Fit's
skeleton settings are kept as they are: kernel (11, 11), stride (2, 1), padding 5, groups [3, 3, 1]
(`conv_ae.py`: `grouped=[3, 3, 1]`, so xyz stay apart in the first two layers). With this layout MM-Fit's stride
of 2 lands on the joint axis (MM-Fit's own skeleton input was (time, joint)):

    (3, 17, 100) -conv1 3->9, g3-> (9, 9, 100) -conv2 9->15, g3-> (15, 5, 100) -conv3 15->24-> (24, 3, 100)
    -max-pool 2x2-> (24, 1, 50) -flatten-> 1200 -linear-> 1024 -linear-> 1024

Parameters: convolutions 1,098 + 5,460 + 43,584, linear 1,229,824 + 1,049,600 = 2,329,566 (Table 4: 2.3296 M);
FLOPs (2 x MACs) 38.10 M (Table 4: 38.15 M, whose counter adds biases, GELUs and the pool: exactly 54,848 more).
The stride along time instead, (1, 2), would give a 1152-wide flatten (24 x 8 x 6), 2.28 M parameters and
30.2 M FLOPs, matching neither. (Section 6.4's "38.15 M" for pose is this encoder-only figure; the modality's
total with its projection is Table 4's 47.33 M.) GELU after every layer (MuJo's choice over MM-Fit's ReLU),
dropout after the linear layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mujo.models.layers import conv_out, mlp
from mujo.models.registry import register_encoder

if TYPE_CHECKING:
    from mujo.config import ModelConfig, PoseEncoderConfig


class PoseCNN(nn.Module):
    """(B, T, J, 3) pose windows -> (B, out_dim)."""

    def __init__(self, window: int, joints: int, cfg: "PoseEncoderConfig"):
        super().__init__()
        if len(cfg.channels) != len(cfg.groups):
            raise ValueError(f"pose encoder: {len(cfg.channels)} channel sizes but {len(cfg.groups)} group counts")
        self.window, self.joints = window, joints
        convs: list[nn.Module] = []
        c_in, h, w = 3, joints, window  # (xyz, joint, time)
        pad = (cfg.kernel[0] // 2, cfg.kernel[1] // 2)  # MM-Fit: (k - 1) / 2
        for c_out, g in zip(cfg.channels, cfg.groups):
            convs += [nn.Conv2d(c_in, c_out, cfg.kernel, stride=cfg.stride, padding=pad, groups=g), nn.GELU()]
            h, w = conv_out(h, cfg.kernel[0], cfg.stride[0], pad[0]), conv_out(w, cfg.kernel[1], cfg.stride[1], pad[1])
            c_in = c_out
        convs.append(nn.MaxPool2d(cfg.pool))
        h, w = conv_out(h, cfg.pool[0], cfg.pool[0], 0), conv_out(w, cfg.pool[1], cfg.pool[1], 0)
        self.conv = nn.Sequential(*convs)
        self.flat_dim = c_in * h * w
        self.fc = mlp(self.flat_dim, cfg.fc, cfg.dropout)
        self.out_dim = cfg.fc[-1] if cfg.fc else self.flat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1:] != (self.window, self.joints, 3):
            raise ValueError(f"pose encoder expects (B, {self.window}, {self.joints}, 3) windows, "
                             f"got {tuple(x.shape)}")
        x = x.permute(0, 3, 2, 1)  # (B, 3, J, T): xyz as channels
        return self.fc(self.conv(x).flatten(1))  # (B, C*J'*T') -> (B, out_dim)


@register_encoder("pose_cnn", input_shape=lambda c: (c.window, c.pose_joints, 3))
def build_pose(config: "ModelConfig") -> PoseCNN:
    """Pose encoder of `config` (window, pose_joints, settings `config.pose`)."""
    return PoseCNN(config.window, config.pose_joints, config.pose)
