"""The joint model: shapes, unit norm, ModuleDicts, the loss against a naive reference, a short fit, Table 4 sizes."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import torch

from mujo.config import ConfigError, ModelConfig, TrainConfig, load_preset, preset_names, with_overrides
from mujo.modality import Modality
from mujo.models import MuJoModel, contrastive_loss, create_model
from mujo.models.flops import PAPER_TABLE4, cost_table
from mujo.models.registry import register_encoder
from mujo.models.text import FeatureMLP

# A tiny configuration: every part of the paper's architecture, a few hundred parameters each.
TINY = {
    "text_dim": 8, "video_dim": 6, "window": 20, "imu_sites": ["LWrist", "RWrist"], "imu_channels": ["acc", "gyro"],
    "text": {"hidden": [16]}, "video": {"hidden": [16, 16]},
    "pose": {"channels": [3, 6, 6], "kernel": [3, 3], "fc": [16]},
    "imu": {"channels": [3, 6, 6], "kernel": 3, "fc": [16]},
    "projection": {"hidden": 16}, "embed_dim": 8,
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_model(**overrides) -> MuJoModel:
    torch.manual_seed(0)
    return create_model({"model_type": "mujo", **TINY}, **overrides)


def random_batch(model: MuJoModel, n: int = 5, modalities=None) -> dict[Modality, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {m: torch.randn(model.example_input(m, n).shape, generator=g) for m in (modalities or model.modalities)}


def test_shapes_unit_norm_and_module_dicts() -> None:
    model = tiny_model()
    out = model(random_batch(model, n=5))
    assert set(out) == set(Modality)
    for m, z in out.items():
        assert z.shape == (5, 8)
        torch.testing.assert_close(z.norm(dim=-1), torch.ones(5))
    assert isinstance(model.encoders, torch.nn.ModuleDict) and isinstance(model.projections, torch.nn.ModuleDict)
    assert list(model.encoders) == list(model.projections) == [m.value for m in Modality]
    assert model.encode("imu", random_batch(model)[Modality.IMU]).shape == (5, 8)


def test_absent_modalities_are_skipped_and_unknown_ones_refused() -> None:
    model = tiny_model(modalities=["text", "imu"])
    assert list(model.encoders) == ["text", "imu"]
    full = tiny_model()
    out = model(random_batch(model, modalities=[Modality.IMU]))
    assert list(out) == [Modality.IMU]
    with pytest.raises(ValueError, match="no pose encoder"):
        model(random_batch(full, modalities=[Modality.IMU, Modality.POSE]))


def test_input_shape_errors_name_the_expected_layout() -> None:
    model = tiny_model()
    with pytest.raises(ValueError, match=r"\(B, 20, 2, 6\).*LWrist, RWrist.*acc \+ gyro"):
        model.encode("imu", torch.zeros(2, 20, 3, 6))
    with pytest.raises(ValueError, match=r"\(B, 20, 17, 3\)"):
        model.encode("pose", torch.zeros(2, 17, 20, 3))
    with pytest.raises(ValueError, match=r"text encoder expects \(B, 8\)"):
        model.encode("text", torch.zeros(2, 9))


def test_sensor_rows_are_site_major_with_acc_then_gyro() -> None:
    """Permuting sites changes the output (layer 1 spans all rows), and the reshape puts site 0's gyro in row 1."""
    enc = tiny_model().encoders["imu"]
    x = torch.randn(3, 20, 2, 6)  # (B, T, S, [acc xyz, gyro xyz])
    rows = x.reshape(3, 20, 2, 2, 3).permute(0, 4, 2, 3, 1).reshape(3, 3, 4, 20)  # (B, xyz, s_n, T)
    torch.testing.assert_close(rows[:, :, 1], x[:, :, 0, 3:6].permute(0, 2, 1))  # row 1 = site 0 gyro
    assert enc.s_n == 4 and enc.conv[0].kernel_size == (4, 3)


def naive_loss(emb: dict, tau: float, mode: str, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Paper eq. 2-3 written out: loops over pairs and rows, explicit log-softmax (mean over rows)."""
    mods = list(emb)
    pairs = list(itertools.combinations(mods, 2)) if mode == "all_pairs" else [
        (Modality.TEXT, m) for m in mods if m != Modality.TEXT]
    z = {m: e / e.norm(dim=-1, keepdim=True) for m, e in emb.items()}
    total = torch.tensor(0.0, dtype=torch.float64)
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            n = z[x].shape[0]
            loss = 0.0
            for i in range(n):
                cols = [j for j in range(n) if j == i or mask is None or not mask[i, j]]
                s = torch.stack([z[x][i] @ z[y][j] / tau for j in cols]).double()
                loss = loss - (s[cols.index(i)] - torch.log(torch.exp(s).sum()))
            total = total + loss / n
    return total / len(pairs)


@pytest.mark.parametrize("mode", ["all_pairs", "text_anchor"])
@pytest.mark.parametrize("n_mod", [2, 3, 4])
def test_loss_equals_naive_reference(mode: str, n_mod: int) -> None:
    g = torch.Generator().manual_seed(n_mod)
    emb = {m: torch.randn(6, 5, generator=g) * 3 for m in list(Modality)[:n_mod]}  # text first, not unit norm
    for tau in (1.0, 0.1):
        torch.testing.assert_close(contrastive_loss(emb, tau, mode).double(), naive_loss(emb, tau, mode),
                                   rtol=1e-5, atol=1e-5)
    mask = torch.zeros(6, 6, dtype=torch.bool)
    mask[0, 1] = mask[1, 0] = mask[2, 3] = mask[3, 2] = mask[4, 4] = True  # same-clip pairs; the diagonal stays
    torch.testing.assert_close(contrastive_loss(emb, 0.5, mode, mask=mask).double(),
                               naive_loss(emb, 0.5, mode, mask), rtol=1e-5, atol=1e-5)


def test_loss_pair_counts_and_errors() -> None:
    e = {m: torch.eye(3) for m in Modality}
    # identical perfect embeddings: every pair gives the same value, so the average over pairs equals one pair
    two = contrastive_loss({Modality.TEXT: e[Modality.TEXT], Modality.IMU: e[Modality.IMU]}, 0.1)
    torch.testing.assert_close(contrastive_loss(e, 0.1), two)
    with pytest.raises(ValueError, match="at least two modalities"):
        contrastive_loss({Modality.IMU: torch.eye(3)}, 1.0)
    with pytest.raises(ValueError, match="needs text"):
        contrastive_loss({Modality.IMU: torch.eye(3), Modality.POSE: torch.eye(3)}, 1.0, mode="text_anchor")
    with pytest.raises(ValueError, match="loss mode"):
        contrastive_loss(e, 1.0, mode="anchors")
    with pytest.raises(ValueError, match="mask"):
        contrastive_loss(e, 1.0, mask=torch.zeros(2, 2, dtype=torch.bool))


def test_learnable_temperature_gets_gradients_and_is_clamped() -> None:
    model = tiny_model(learnable_temperature=True, temperature=0.5)
    assert model.log_temperature.requires_grad
    torch.testing.assert_close(model.temperature(), torch.tensor(0.5))
    model.loss(model(random_batch(model))).backward()
    assert model.log_temperature.grad is not None and model.log_temperature.grad.abs() > 0
    with torch.no_grad():
        model.log_temperature.fill_(math.log(1e-6))
    torch.testing.assert_close(model.temperature(), torch.tensor(0.01))  # lower end of temperature_range
    fixed = tiny_model()
    assert fixed.log_temperature is None and float(fixed.temperature()) == 1.0
    assert "log_temperature" not in dict(fixed.named_parameters())


def test_short_fit_matched_pairs_beat_shuffled() -> None:
    """Four modalities made from one latent per sample: after a short fit the diagonal dominates."""
    torch.manual_seed(0)
    model = tiny_model(temperature=0.1, projection={"dropout": 0.0}, text={"dropout": 0.0},
                       video={"dropout": 0.0}, pose={"dropout": 0.0})
    n, g = 48, torch.Generator().manual_seed(3)
    latent = torch.randn(n, 4, generator=g)
    batch = {}
    for m in Modality:
        shape = model.example_input(m, n).shape
        mixing = torch.randn(4, math.prod(shape[1:]), generator=g)
        batch[m] = ((latent @ mixing) + 0.1 * torch.randn(n, math.prod(shape[1:]), generator=g)).reshape(shape)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        loss = model.loss(model(batch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        z = model(batch)
    sim = z[Modality.IMU] @ z[Modality.TEXT].T  # (n, n)
    matched, shuffled = sim.diagonal().mean(), sim[torch.arange(n), torch.roll(torch.arange(n), 1)].mean()
    assert matched > shuffled + 0.3
    assert (sim.argmax(dim=1) == torch.arange(n)).float().mean() > 0.5  # chance: 1/48


def test_paper_preset_matches_table4() -> None:
    rows = {r.modality: r for r in cost_table(create_model("paper"))}
    expect = {Modality.TEXT: "text", Modality.POSE: "pose", Modality.VIDEO: "video", Modality.IMU: "sensor (MM-Fit)"}
    for m, row in rows.items():
        assert row.paper_row == expect[m]
        enc_flops, enc_params, proj_flops, proj_params, flops, params = PAPER_TABLE4[expect[m]]
        assert row.params == pytest.approx(params, rel=0.05)
        assert row.encoder_params == pytest.approx(enc_params, rel=1e-3)  # the arrangement is exact
        assert row.projection_params == pytest.approx(proj_params, rel=1e-3)
        assert row.flops == pytest.approx(flops, rel=0.05)
        assert row.encoder_flops == pytest.approx(enc_flops, rel=0.01)
    assert rows[Modality.TEXT].flops == pytest.approx(10.9e6, rel=0.01)
    # one and three sensors: Table 4's MyoGym and MHEALTH rows
    for sites, row_name in ((["RWrist"], "sensor (MyoGym)"), (["RWrist", "LFoot", "Thorax"], "sensor (MHEALTH)")):
        (row,) = cost_table(create_model("paper", modalities=["imu"], imu_sites=sites))
        assert row.paper_row == row_name and row.encoder_params == pytest.approx(PAPER_TABLE4[row_name][1], rel=1e-4)


def test_presets_hold_only_differences_and_build() -> None:
    assert {"paper", "small"} <= set(preset_names())
    for name in ("paper", "small"):
        raw = json.loads((Path(__file__).parents[1] / "mujo" / "presets" / f"{name}.json").read_text())
        assert raw["model_type"] == "mujo"
        preset = load_preset(name)
        defaults = ModelConfig().to_dict()
        for key, value in raw.get("model", {}).items():
            assert value != defaults[key], f"{name}.json repeats the default of {key}"
        assert isinstance(preset.train, TrainConfig)
    small = create_model("small", imu_sites=["RWrist"], text_dim=384)
    out = small(random_batch(small, n=3))
    assert all(z.shape == (3, small.config.embed_dim) for z in out.values())
    assert load_preset("paper").train.batch_size == 256 and load_preset("paper").train.lr == 8e-4


def test_config_errors_and_overrides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown preset"):
        load_preset("huge")
    (tmp_path / "p.json").write_text('{"model": {"embed_dim": 64}}')
    with pytest.raises(ConfigError, match="missing 'model_type'"):
        load_preset(tmp_path / "p.json")
    (tmp_path / "q.json").write_text('{"model_type": "mujo", "model": {"embed_dims": 64}}')
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['embed_dims'\]"):
        load_preset(tmp_path / "q.json")
    with pytest.raises(ConfigError, match="explicit 'model_type'"):
        create_model({"embed_dim": 64})
    with pytest.raises(ConfigError, match="unknown model_type 'clip'"):
        create_model({**TINY, "model_type": "clip"})
    with pytest.raises(ConfigError, match="expected int"):
        create_model({"model_type": "mujo", "text_dim": "384"})
    cfg = with_overrides(ModelConfig(), imu={"fc": [64]}, imu_channels=["gyro", "acc"])
    assert cfg.imu.fc == (64,) and cfg.imu.kernel == 11 and cfg.imu_channels == ("acc", "gyro")
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_new_encoder_type_needs_no_change_to_the_joint_model() -> None:
    @register_encoder("test_text_wide", input_shape=lambda c: (c.text_dim,))
    def build(config):
        return FeatureMLP(config.text_dim, (32,), 0.0, "text")

    model = tiny_model(text={"type": "test_text_wide"})
    assert model.encoders["text"].out_dim == 32
    assert model(random_batch(model, modalities=[Modality.TEXT]))[Modality.TEXT].shape == (5, 8)
    with pytest.raises(ValueError, match="unknown encoder type 'nope'"):
        tiny_model(text={"type": "nope"})
