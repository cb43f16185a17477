"""Parameters and forward FLOPs per encoder and projection, beside the paper's Table 4."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from mujo.modality import Modality

# Paper Table 4: (encoder FLOPs, encoder params, projection FLOPs, projection params, total FLOPs, total params).
# Its counter adds bias, activation and pooling operations to 2 x MACs, so its FLOPs run 0.1-0.5 % above
# FlopCounterMode's. The sensor rows differ only in the number of sensors s_n; the paper's text lists them
# swapped (it says one sensor for MHEALTH, three for MyoGym), the parameter counts show MHEALTH's 3 wrist/chest/
# ankle sensors (99 = 9 x 11 weights per sensor row more) and MyoGym's and MotionSense's single sensor.
# Section 6.4 quotes 38.15 M FLOPs for pose: that is the encoder column; the pose total is 47.33 M.
PAPER_TABLE4: dict[str, tuple[float, float, float, float, float, float]] = {
    "text": (2.3601e6, 1.1804e6, 8.5286e6, 4.2662e6, 10.8887e6, 5.4467e6),
    "pose": (38.1508e6, 2.3296e6, 9.1840e6, 4.5939e6, 47.3348e6, 6.9235e6),
    "video": (655.8720e3, 328.1920e3, 7.2179e6, 3.6109e6, 7.8738e6, 3.9391e6),
    "sensor (MyoGym)": (2.1521e6, 619.5140e3, 7.8733e6, 3.9386e6, 10.0254e6, 4.5581e6),
    "sensor (MM-Fit)": (2.1719e6, 619.6130e3, 7.8733e6, 3.9386e6, 10.0452e6, 4.5582e6),
    "sensor (MHEALTH)": (2.1917e6, 619.7120e3, 7.8733e6, 3.9386e6, 10.0650e6, 4.5583e6),
}
_SENSOR_ROW = {1: "sensor (MyoGym)", 2: "sensor (MM-Fit)", 3: "sensor (MHEALTH)"}  # by s_n


@dataclass
class ModalityCost:
    """Size and forward cost of one modality's encoder and projection (FLOPs at batch 1, 2 x MACs)."""

    modality: Modality
    encoder_params: int
    projection_params: int
    encoder_flops: int
    projection_flops: int
    paper_row: str | None  # the Table 4 row it compares with

    @property
    def params(self) -> int:
        return self.encoder_params + self.projection_params

    @property
    def flops(self) -> int:
        return self.encoder_flops + self.projection_flops

    @property
    def paper_params(self) -> float | None:
        return PAPER_TABLE4[self.paper_row][5] if self.paper_row else None

    @property
    def paper_flops(self) -> float | None:
        return PAPER_TABLE4[self.paper_row][4] if self.paper_row else None


def count_params(module: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


def count_flops(module: nn.Module, x: torch.Tensor) -> int:
    """Forward FLOPs of module(x) as torch's FlopCounterMode counts them (2 x MACs of matmuls and convolutions)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(x)
    finally:
        module.train(was_training)
    return int(counter.get_total_flops())


def paper_row(model: nn.Module, modality: Modality) -> str | None:
    """The Table 4 row a modality's part compares with (the sensor row with the same number of sensor rows)."""
    if modality == Modality.IMU:
        return _SENSOR_ROW.get(getattr(model.encoders[modality.value], "s_n", 0))
    return modality.value if modality.value in PAPER_TABLE4 else None


def cost_table(model: nn.Module) -> list[ModalityCost]:
    """Parameters and batch-1 forward FLOPs of every modality's encoder and projection.

    Args:
        model: a MuJoModel.
    Returns:
        One ModalityCost per modality of the model, in the config's order.
    """
    rows = []
    was_training = model.training
    model.eval()
    try:
        for m in model.modalities:
            encoder, projection = model.encoders[m.value], model.projections[m.value]
            x = model.example_input(m, batch=1)
            with torch.no_grad():
                h = encoder(x)  # (1, encoder out_dim): the projection's input
            rows.append(ModalityCost(m, count_params(encoder), count_params(projection), count_flops(encoder, x),
                                     count_flops(projection, h), paper_row(model, m)))
    finally:
        model.train(was_training)
    return rows
