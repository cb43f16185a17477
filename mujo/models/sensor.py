"""IMU encoder: CNN whose first kernel spans all s_n sensor rows, (s_n, 11), then (1, 11), (1, 11), then linear.

Input layout. A window is (B, T, S, C) with S sites and C = 3 x G channels, G channel groups in the order
[acc, gyro] (G = 1 for accelerometer only, 2 with the gyroscope). Each (site, group) pair is one "sensor input"
with xyz axes, so s_n = S x G rows, ordered site-major (site 1 acc, site 1 gyro, site 2 acc, ...), and the CNN
sees (B, 3, s_n, T): the three axes are the input channels, as in MM-Fit (`grouped=[3, 3, 1]` keeps x, y, z apart
in the first two layers). Layer 1 has no padding across rows, so it folds all s_n rows into one and layers 2-3
run along time only. A model is therefore tied to its sites and channel groups, in order (checked on load).

Layer arrangement, worked out from Table 4 (MM-Fit, two wrist accelerometers: 619,613 encoder parameters, 2.17 M
FLOPs; one sensor 619,514 and three 619,712, i.e. 99 = 9 x 11 weights per sensor row, which is what the grouped
(s_n, 11) kernel adds): stride 1 along time, padding 5, max-pool 2 along time, flatten 24 x 1 x 50 = 1200,
linear 1200 -> 512:

    (3, s_n, 100) -conv1 3->9, g3, (s_n, 11)-> (9, 1, 100) -conv2 9->15, g3-> (15, 1, 100) -conv3 15->24->
    (24, 1, 100) -max-pool (1, 2)-> (24, 1, 50) -flatten-> 1200 -linear-> 512

Parameters 99 s_n + 9 + 510 + 3,984 + 614,912 (s_n = 2: 619,613, exactly Table 4's); FLOPs (2 x MACs)
2.14 M + 19,800 s_n (Table 4's counter adds biases, GELUs and the pool). GELU after every layer, no dropout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mujo.models.layers import conv_out, mlp
from mujo.models.registry import register_encoder

if TYPE_CHECKING:
    from mujo.config import ModelConfig, SensorEncoderConfig


class SensorCNN(nn.Module):
    """(B, T, S, 3 G) IMU windows -> (B, out_dim)."""

    def __init__(self, window: int, sites: tuple[str, ...], groups: tuple[str, ...], cfg: "SensorEncoderConfig"):
        super().__init__()
        if len(cfg.channels) != len(cfg.groups):
            raise ValueError(f"IMU encoder: {len(cfg.channels)} channel sizes but {len(cfg.groups)} group counts")
        self.window, self.sites, self.channel_groups = window, tuple(sites), tuple(groups)
        self.s_n = len(sites) * len(groups)  # sensor rows
        convs: list[nn.Module] = []
        c_in, w, pad = 3, window, cfg.kernel // 2
        for i, (c_out, g) in enumerate(zip(cfg.channels, cfg.groups)):
            kernel = (self.s_n if i == 0 else 1, cfg.kernel)
            convs += [nn.Conv2d(c_in, c_out, kernel, stride=(1, cfg.stride), padding=(0, pad), groups=g), nn.GELU()]
            w, c_in = conv_out(w, cfg.kernel, cfg.stride, pad), c_out
        convs.append(nn.MaxPool2d((1, cfg.pool)))
        w = conv_out(w, cfg.pool, cfg.pool, 0)
        self.conv = nn.Sequential(*convs)
        self.flat_dim = c_in * w
        self.fc = mlp(self.flat_dim, cfg.fc, cfg.dropout)
        self.out_dim = cfg.fc[-1] if cfg.fc else self.flat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, g = len(self.sites), len(self.channel_groups)
        if x.ndim != 4 or x.shape[1:] != (self.window, s, 3 * g):
            raise ValueError(f"IMU encoder expects (B, {self.window}, {s}, {3 * g}) windows (sites "
                             f"{', '.join(self.sites)}; channels {' + '.join(self.channel_groups)}), "
                             f"got {tuple(x.shape)}")
        b, t = x.shape[:2]
        x = x.reshape(b, t, s, g, 3).permute(0, 4, 2, 3, 1)  # (B, 3, S, G, T)
        x = x.reshape(b, 3, self.s_n, t)  # (B, 3, s_n, T), rows site-major
        return self.fc(self.conv(x).flatten(1))  # (B, 24 * T') -> (B, out_dim)


@register_encoder("sensor_cnn",
                  input_shape=lambda c: (c.window, len(c.imu_sites), 3 * len(c.imu_channels)))
def build_sensor(config: "ModelConfig") -> SensorCNN:
    """IMU encoder of `config` (window, imu_sites, imu_channels, settings `config.imu`)."""
    return SensorCNN(config.window, config.imu_sites, config.imu_channels, config.imu)
