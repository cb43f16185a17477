"""Proxy-task baselines: transformations, rotations, decoder shapes, NT-Xent, and one pre-training epoch each."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from train_fixtures import one_thread, train_data  # noqa: F401 (fixtures)

from mujo.modality import Modality
from mujo.models import create_model
from mujo.train.proxies import TRANSFORMS, build_proxy, nt_xent, random_rotations, rotate_sites, transform

SITES = ("LWrist", "RWrist", "Head")


def _model(groups=("acc", "gyro")):
    torch.manual_seed(0)
    return create_model("small", modalities=["imu"], imu_sites=list(SITES), imu_channels=list(groups))


def _x(b: int = 8, c: int = 6) -> torch.Tensor:
    return torch.randn(b, 100, len(SITES), c, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transformations(name: str) -> None:
    x = _x()
    y = transform(name, x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and not torch.equal(x, y)
    if name == "negate":
        assert torch.equal(y, -x)
    if name == "flip":
        assert torch.equal(y[:, 0], x[:, -1])
    if name in ("permute", "channel_shuffle"):  # the same values, rearranged, per window
        for i in range(len(x)):
            assert torch.equal(torch.sort(x[i].flatten()).values, torch.sort(y[i].flatten()).values)
    if name == "permute":  # rearranged along time only: each time step moves whole
        rows = {tuple(r.tolist()) for r in x[0].reshape(100, -1)}
        assert all(tuple(r.tolist()) in rows for r in y[0].reshape(100, -1))
    if name == "noise":
        assert (y - x).std().item() == pytest.approx(0.05, rel=0.1)
    if name == "scale":
        ratio = y / x  # one factor per window and channel, drawn around 1 with sd 0.1
        assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-4)
        assert ratio[:, 0].std().item() == pytest.approx(0.1, rel=0.3)


def test_rotations_are_rotations_and_keep_triplet_norms() -> None:
    r = random_rotations(500, torch.Generator().manual_seed(0))
    assert torch.allclose(r @ r.transpose(1, 2), torch.eye(3).expand(500, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(500), atol=1e-5)
    angles = torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(1) - 1) / 2).clamp(-1, 1))
    assert angles.mean().item() == pytest.approx(math.pi / 2, rel=0.1)  # |angle| uniform on (0, pi)
    x = _x()
    y = rotate_sites(x, torch.Generator().manual_seed(3))
    xn, yn = x.reshape(8, 100, 3, 2, 3).norm(dim=-1), y.reshape(8, 100, 3, 2, 3).norm(dim=-1)
    assert torch.allclose(xn, yn, atol=1e-4)
    # acc and gyro of a site turn by the same rotation: the angle between them is kept
    dot = lambda z: (z.reshape(8, 100, 3, 2, 3)[..., 0, :] * z.reshape(8, 100, 3, 2, 3)[..., 1, :]).sum(-1)  # noqa
    assert torch.allclose(dot(x), dot(y), atol=1e-4)
    mean, std = torch.full((3, 6), 2.0), torch.full((3, 6), 0.5)  # physical = z * 0.5 + 2
    phys = rotate_sites(x, torch.Generator().manual_seed(3), mean, std) * std + mean
    assert torch.allclose((x * std + mean).reshape(8, 100, 3, 2, 3).norm(dim=-1),
                          phys.reshape(8, 100, 3, 2, 3).norm(dim=-1), atol=1e-4)


def test_nt_xent_matches_naive_reference() -> None:
    g = torch.Generator().manual_seed(0)
    h1, h2 = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    z = F.normalize(torch.cat([h1, h2]), dim=1)
    total = 0.0
    for i in range(10):
        pos = (i + 5) % 10
        num = math.exp(float(z[i] @ z[pos]) / 0.5)
        den = sum(math.exp(float(z[i] @ z[k]) / 0.5) for k in range(10) if k != i)
        total += -math.log(num / den)
    assert nt_xent(h1, h2, 0.5).item() == pytest.approx(total / 10, rel=1e-5)
    mask = torch.zeros(5, 5, dtype=torch.bool)
    mask[0, 1] = mask[1, 0] = True  # windows 0 and 1 of one clip: not negatives of each other
    assert nt_xent(h1, h2, 0.5, mask).item() < nt_xent(h1, h2, 0.5).item()


@pytest.mark.parametrize("method", ["multitask", "autoencoder", "simclr"])
def test_objective_trains(method: str) -> None:
    model = _model()
    objective = build_proxy(method, model)
    opt = torch.optim.AdamW(objective.parameters(), lr=1e-3)
    batch = {Modality.IMU: _x(16)}
    losses = []
    for _ in range(6):
        objective.reseed(0)  # the same draws each step: the loss on a fixed batch must fall
        loss = objective(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert objective.head_state() and not any(k.startswith("model.") for k in objective.head_state())


def test_autoencoder_decodes_to_the_window_shape() -> None:
    for groups, c in ((("acc",), 3), (("acc", "gyro"), 6)):
        objective = build_proxy("autoencoder", _model(groups))
        rep = torch.randn(4, objective.model.projections["imu"].out_dim)
        assert objective.decode(rep).shape == (4, 100, len(SITES), c)


def test_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown proxy method"):
        build_proxy("byol", _model())


# --- one pre-training epoch per method on a tiny dataset -----------------------------------------------------------


@pytest.fixture
def data(train_data):
    """(dataset, tiny preset file), shared by the training tests."""
    return train_data


def _settings(data, out: Path, method: str, **kw):
    from train_fixtures import SITES

    from mujo.train.pretrain import PretrainSettings

    ds, preset = data
    return PretrainSettings(dataset=str(ds), out=str(out), preset=str(preset), method=method, sites=SITES,
                            gyro=True, threads=1, **kw)


@pytest.mark.parametrize("method", ["multitask", "autoencoder", "simclr"])
def test_proxy_pretraining_yields_a_loadable_checkpoint(data, tmp_path: Path, method: str) -> None:
    from mujo.models.checkpoint_io import load_checkpoint
    from mujo.train.pretrain import pretrain

    result = pretrain(_settings(data, tmp_path / "out", method, epochs=1), store=tmp_path / "s.sqlite")
    assert result.method == method and result.epochs == 1 and np.isfinite(result.history[0]["train_loss"])
    model, extra = load_checkpoint(tmp_path / "out", expect={"modalities": ["imu"], "imu_sites": ["LWrist", "RWrist"],
                                                              "imu_channels": ["acc", "gyro"]})
    assert model.config.modalities == (Modality.IMU,) and extra["method"] == method
    assert (tmp_path / "out" / "proxy_head.safetensors").is_file()
    x = torch.zeros(2, 100, 2, 6)
    assert model.encode(Modality.IMU, x).shape == (2, model.config.embed_dim)


def test_proxy_resume_restores_the_head(data, tmp_path: Path) -> None:
    """The autoencoder's head holds BatchNorm statistics: resuming must restore them with the weights."""
    from safetensors.torch import load_file

    from mujo.train.pretrain import pretrain

    store = tmp_path / "s.sqlite"
    pretrain(_settings(data, tmp_path / "full", "autoencoder", epochs=2), store=store)
    polls = {"n": 0}

    def stop() -> bool:
        polls["n"] += 1
        return polls["n"] > 4  # 4 batches per epoch

    assert pretrain(_settings(data, tmp_path / "part", "autoencoder", epochs=2), store=store,
                    should_stop=stop).interrupted
    pretrain(_settings(data, tmp_path / "part", "autoencoder", epochs=2, resume=True), store=store)
    for name in ("model.safetensors", "proxy_head.safetensors"):
        a, b = load_file(str(tmp_path / "full" / "last" / name)), load_file(str(tmp_path / "part" / "last" / name))
        for k in a:
            assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), (name, k)
