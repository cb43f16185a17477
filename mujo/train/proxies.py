"""Proxy-task baselines on the IMU encoder (paper 5.2): multi-task transformation recognition, autoencoder, SimCLR.

Each objective is an nn.Module whose forward(batch) returns the loss, so DistributedDataParallel syncs the
encoder, projection and head alike. The representation is the IMU projection's output (before normalisation),
as in the paper: "the representation was obtained from our projection layer".

Layout of an IMU window: (B, T, S, C) with C = 3 G channels, groups [acc xyz, gyro xyz] per site (the bank's).
Random draws come from the objective's own `torch.Generator` (reseed it per epoch with `reseed`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mujo.modality import Modality

METHODS = ("multitask", "autoencoder", "simclr")
TRANSFORMS = ("noise", "scale", "negate", "flip", "permute", "channel_shuffle")


class ProxyObjective(nn.Module):
    """Base: `model` (a joint model with an IMU encoder and projection) plus a method-specific head."""

    method = ""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.generator = torch.Generator().manual_seed(0)

    def reseed(self, seed: int) -> None:
        self.generator.manual_seed(int(seed))

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, S, C) -> (B, D): the IMU encoder and projection."""
        key = Modality.IMU.value
        return self.model.projections[key](self.model.encoders[key](x))

    def head_state(self) -> dict[str, torch.Tensor]:
        """The head's weights (everything but `model`), for checkpoints."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("model.")}

    def _randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=self.generator)

    def _rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=self.generator)


# --- multi-task self-supervision (Saeed et al. 2019) ---------------------------------------------------------------


def transform(name: str, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """One of TRANSFORMS applied to every window of x (B, T, S, C), each with its own random draw."""
    b, t, s, c = x.shape
    if name == "noise":
        return x + 0.05 * torch.randn(x.shape, generator=g)
    if name == "scale":  # per channel, N(1, 0.1) (method-notes: the paper's "same distribution" would zero x)
        return x * (1.0 + 0.1 * torch.randn(b, 1, s, c, generator=g))
    if name == "negate":
        return -x
    if name == "flip":  # "horizontal flip": time reversal
        return x.flip(1)
    if name == "permute":  # cut into 4 segments at random points, put them in a random order
        idx = torch.empty(b, t, dtype=torch.long)
        for i in range(b):
            cuts = torch.sort(torch.randperm(t - 1, generator=g)[:3] + 1).values.tolist()
            bounds = [0, *cuts, t]
            segs = [torch.arange(bounds[k], bounds[k + 1]) for k in range(4)]
            idx[i] = torch.cat([segs[k] for k in torch.randperm(4, generator=g).tolist()])
        return torch.gather(x, 1, idx[:, :, None, None].expand(b, t, s, c))
    if name == "channel_shuffle":  # one random order of all S x C channels per window
        perm = torch.argsort(torch.rand(b, s * c, generator=g), dim=1)  # (B, S C)
        flat = x.reshape(b, t, s * c)
        return torch.gather(flat, 2, perm[:, None, :].expand(b, t, s * c)).reshape(b, t, s, c)
    raise ValueError(f"unknown transformation {name!r}; known: {', '.join(TRANSFORMS)}")


class MultiTask(ProxyObjective):
    """A binary head per transformation: was it applied to this window? Loss: mean binary cross-entropy.

    Head: FC 256 + ReLU -> FC 256 + ReLU -> FC 1 + sigmoid. The paper's second layer is "256 with sigmoid"; a
    binary task needs one output, so the sigmoid sits on a one-unit output layer after it (as in Saeed et al.).
    """

    method = "multitask"

    def __init__(self, model: nn.Module, rep_dim: int):
        super().__init__(model)
        self.heads = nn.ModuleDict({name: nn.Sequential(nn.Linear(rep_dim, 256), nn.ReLU(), nn.Linear(256, 256),
                                                        nn.ReLU(), nn.Linear(256, 1)) for name in TRANSFORMS})

    def forward(self, batch: dict) -> torch.Tensor:
        x = batch[Modality.IMU]  # (B, T, S, C)
        b = x.shape[0]
        views = torch.cat([x] + [transform(name, x, self.generator) for name in TRANSFORMS])  # (7 B, T, S, C)
        rep = self.representation(views)  # (7 B, D)
        original = rep[:b]
        loss = x.new_zeros(())
        for k, name in enumerate(TRANSFORMS, start=1):
            logits = self.heads[name](torch.cat([original, rep[k * b:(k + 1) * b]])).squeeze(1)  # (2 B,)
            target = torch.cat([x.new_zeros(b), x.new_ones(b)])
            loss = loss + F.binary_cross_entropy_with_logits(logits, target)
        return loss / len(TRANSFORMS)


# --- autoencoder (Haresamudram et al. 2019) ------------------------------------------------------------------------


class Autoencoder(ProxyObjective):
    """Decode the representation back to the window; loss: mean squared error (on the z-scored signal).

    Decoder: linear to (32, s_n, T/4), BatchNorm, ReLU, then three transposed-convolution blocks, kernel (1, 11),
    channels 32 -> 16 -> 8 -> 3. The first two blocks are transposed conv, dropout 0.05, ReLU, 2x upsampling along
    time (T/4 -> T/2 -> T); the third is the output layer (no ReLU, which would clip the z-scored signal, no
    dropout, no upsampling: a third doubling would overshoot T). Rows are the encoder's sensor rows
    (s_n = sites x channel groups) with xyz as the 3 channels, mirroring the encoder's input layout.
    """

    method = "autoencoder"

    def __init__(self, model: nn.Module, rep_dim: int, window: int, sites: int, groups: int):
        super().__init__(model)
        self.window, self.sites, self.groups = window, sites, groups
        self.rows, self.t0 = sites * groups, max(window // 4, 1)
        self.linear = nn.Linear(rep_dim, 32 * self.rows * self.t0)
        self.norm = nn.Sequential(nn.BatchNorm2d(32), nn.ReLU())

        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, (1, 11), padding=(0, 5)), nn.Dropout(0.05),
                                 nn.ReLU(), nn.Upsample(scale_factor=(1, 2)))

        self.decoder = nn.Sequential(block(32, 16), block(16, 8), nn.ConvTranspose2d(8, 3, (1, 11), padding=(0, 5)))

    def decode(self, rep: torch.Tensor) -> torch.Tensor:
        """(B, D) -> (B, T, S, 3 G)."""
        b = rep.shape[0]
        y = self.decoder(self.norm(self.linear(rep).reshape(b, 32, self.rows, self.t0)))  # (B, 3, s_n, ~T)
        if y.shape[-1] != self.window:  # T not a multiple of 4
            y = F.interpolate(y, size=(self.rows, self.window), mode="bilinear", align_corners=False)
        y = y.reshape(b, 3, self.sites, self.groups, self.window).permute(0, 4, 2, 3, 1)  # (B, T, S, G, 3)
        return y.reshape(b, self.window, self.sites, 3 * self.groups)

    def forward(self, batch: dict) -> torch.Tensor:
        x = batch[Modality.IMU]
        return F.mse_loss(self.decode(self.representation(x)), x)


# --- SimCLR with random 3D rotations (Tang et al. 2021) -------------------------------------------------------------


def random_rotations(n: int, g: torch.Generator) -> torch.Tensor:
    """(n, 3, 3) rotations about uniformly random axes by angles uniform in (-pi, pi) (Rodrigues' formula)."""
    axis = F.normalize(torch.randn(n, 3, generator=g), dim=1)
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.pi
    k = torch.zeros(n, 3, 3)
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(1, 2)  # skew-symmetric cross-product matrix of the axis
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return torch.eye(3) + s * k + (1 - c) * (k @ k)


def rotate_sites(x: torch.Tensor, g: torch.Generator, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate each site's xyz triplets (acc and gyro with the same rotation) by a random rotation per window and
    site: the sensor's mounting orientation is what the view should not depend on.

    With the bank's per-channel normalisation stats (mean, std of shape (S, C)) the rotation acts on the physical
    signal (gravity included) and the result is normalised again; without them, on the z-scored values.
    """
    b, t, s, c = x.shape
    phys = x * std + mean if mean is not None and std is not None else x
    r = random_rotations(b * s, g).reshape(b, s, 3, 3)
    y = torch.einsum("bsij,btsgj->btsgi", r, phys.reshape(b, t, s, c // 3, 3)).reshape(b, t, s, c)
    return (y - mean) / std if mean is not None and std is not None else y


def nt_xent(h1: torch.Tensor, h2: torch.Tensor, temperature: float, mask: torch.Tensor | None = None
            ) -> torch.Tensor:
    """NT-Xent over 2B views (cosine similarity): view i's positive is its other view; all other views are
    negatives, except where `mask` (B, B) bool is True (e.g. other windows of the same clip)."""
    b = h1.shape[0]
    z = F.normalize(torch.cat([h1, h2]), dim=1)  # (2 B, d)
    logits = z @ z.T / temperature  # (2 B, 2 B)
    drop = torch.eye(2 * b, dtype=torch.bool)
    if mask is not None:
        off = mask & ~torch.eye(b, dtype=torch.bool)
        drop = drop | off.repeat(2, 2)
    logits = logits.masked_fill(drop, float("-inf"))
    target = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)])
    return F.cross_entropy(logits, target)


class SimCLR(ProxyObjective):
    """Two independently rotated views of every window; projection 256 -> 128 -> 128 (ReLU after the first two
    layers) on the representation; NT-Xent."""

    method = "simclr"

    def __init__(self, model: nn.Module, rep_dim: int, temperature: float = 0.1,
                 mean: torch.Tensor | None = None, std: torch.Tensor | None = None):
        super().__init__(model)
        self.temperature = temperature
        self.head = nn.Sequential(nn.Linear(rep_dim, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                  nn.Linear(128, 128))
        # Buffers (not parameters): they travel with the module and its state_dict.
        self.register_buffer("imu_mean", mean if mean is not None else torch.zeros(0), persistent=False)
        self.register_buffer("imu_std", std if std is not None else torch.zeros(0), persistent=False)

    def forward(self, batch: dict) -> torch.Tensor:
        x = batch[Modality.IMU]
        mean, std = (self.imu_mean, self.imu_std) if self.imu_mean.numel() else (None, None)
        v1, v2 = rotate_sites(x, self.generator, mean, std), rotate_sites(x, self.generator, mean, std)
        h = self.head(self.representation(torch.cat([v1, v2])))  # (2 B, 128)
        return nt_xent(h[:len(x)], h[len(x):], self.temperature, batch.get("same_clip"))


def build_proxy(method: str, model: nn.Module, *, imu_mean: torch.Tensor | None = None,
                imu_std: torch.Tensor | None = None, simclr_temperature: float = 0.1) -> ProxyObjective:
    """The objective of a proxy method around `model`'s IMU encoder and projection.

    Args:
        method: one of METHODS.
        model: a joint model with an IMU encoder (config with `window`, `imu_sites`, `imu_channels`, `embed_dim`).
        imu_mean, imu_std: (S, C) normalisation stats of the IMU windows (SimCLR rotates physical signals).
    """
    cfg = model.config
    rep_dim = model.projections[Modality.IMU.value].out_dim
    if method == "multitask":
        return MultiTask(model, rep_dim)
    if method == "autoencoder":
        return Autoencoder(model, rep_dim, cfg.window, len(cfg.imu_sites), len(cfg.imu_channels))
    if method == "simclr":
        return SimCLR(model, rep_dim, simclr_temperature, imu_mean, imu_std)
    raise ValueError(f"unknown proxy method {method!r}; known: {', '.join(METHODS)}")
