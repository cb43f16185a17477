"""`mujo model-card`: parameters and forward FLOPs per encoder and projection, beside the paper's Table 4."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from mujo.checkpoint import CheckpointError, read_checkpoint_config
from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE
from mujo.models.flops import cost_table
from mujo.models.joint import create_model, resolve_config


def _millions(n: float | None) -> str:
    return "-" if n is None else f"{n / 1e6:.4f} M"


def _ratio(a: float, b: float | None) -> str:
    return "-" if not b else f"{a / b:.3f}"


def format_card(title: str, rows: list) -> str:
    """The model card as a text table (rows: mujo.models.flops.ModalityCost)."""
    head = ("modality", "enc params", "proj params", "total params", "paper", "ratio",
            "enc FLOPs", "proj FLOPs", "total FLOPs", "paper", "ratio")
    body = [(f"{r.modality.value}" + (f" ~ {r.paper_row}" if r.paper_row and r.paper_row != r.modality.value else ""),
             _millions(r.encoder_params), _millions(r.projection_params), _millions(r.params),
             _millions(r.paper_params), _ratio(r.params, r.paper_params),
             _millions(r.encoder_flops), _millions(r.projection_flops), _millions(r.flops),
             _millions(r.paper_flops), _ratio(r.flops, r.paper_flops)) for r in rows]
    total = sum(r.params for r in rows)
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]

    def line(cells) -> str:
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [title, line(head), line("-" * w for w in widths), *(line(b) for b in body),
           f"all modalities: {total:,} parameters ({total * 4 / 2**20:.1f} MiB as float32)",
           "paper: Table 4's row for the modality (IMU: the sensor row with as many sensor rows s_n = sites x "
           "channel groups, 1 to 3)",
           "FLOPs: forward pass at batch 1, 2 x multiply-accumulates (torch FlopCounterMode); the paper's counter "
           "also counts biases, activations and pooling, hence ratios slightly below 1 for the paper preset."]
    return "\n".join(out)


def step_times(model, batch: int, repeats: int = 7) -> dict[str, float]:
    """Median seconds of forward + backward per modality, and of a whole training step (all modalities, the loss,
    AdamW), on random inputs of `batch` windows, with torch's current thread count."""
    g = torch.Generator().manual_seed(0)
    inputs = {m: torch.randn(model.example_input(m, batch).shape, generator=g) for m in model.modalities}
    opt = torch.optim.AdamW(model.parameters())
    model.train()

    def median(fn) -> float:
        times = []
        for _ in range(repeats + 1):  # the first call warms up
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times[1:])

    out = {m.value: median(lambda m=m: model.encode(m, inputs[m]).sum().backward()) for m in model.modalities}

    def step() -> None:
        loss = model.loss(model(inputs))
        opt.zero_grad()
        loss.backward()
        opt.step()

    if len(model.modalities) > 1:
        out["step"] = median(step)
    return out


def cmd_model_card(args: argparse.Namespace) -> int:
    overrides = {k: v for k, v in (("text_dim", args.text_dim), ("video_dim", args.video_dim),
                                   ("imu_sites", args.sites), ("imu_channels", args.channels)) if v is not None}
    source = args.source
    try:
        if Path(source).is_dir() or Path(source).suffix.lower() not in ("", ".json"):
            config, _ = read_checkpoint_config(source)
            title = f"checkpoint {source}"
        else:
            config = resolve_config(source)
            title = f"preset {source}"
        config = resolve_config(config, **overrides)
        model = create_model(config)
    except ValueError as e:  # CheckpointError, ConfigError, or settings an encoder cannot be built with
        print(f"mujo model-card: {e}", file=sys.stderr)
        return EXIT_UNUSABLE if isinstance(e, CheckpointError) else EXIT_USAGE
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = cost_table(model)
    if args.json:
        print(json.dumps([{"modality": r.modality.value, "encoder_params": r.encoder_params,
                           "projection_params": r.projection_params, "params": r.params,
                           "encoder_flops": r.encoder_flops, "projection_flops": r.projection_flops,
                           "flops": r.flops, "paper_row": r.paper_row, "paper_params": r.paper_params,
                           "paper_flops": r.paper_flops} for r in rows], indent=1))
        return EXIT_OK
    n_sites = len(config.imu_sites)
    inputs = (f"inputs: text {config.text_dim}-d, video {config.video_dim}-d, pose ({config.window}, "
              f"{config.pose_joints}, 3), IMU ({config.window}, {n_sites} site{'s' if n_sites != 1 else ''}: "
              f"{', '.join(config.imu_sites)}; {' + '.join(config.imu_channels)})")
    print(format_card(f"{title}; {inputs}", rows))
    if args.time_batch:
        times = step_times(model, args.time_batch)
        print(f"forward + backward, batch {args.time_batch}, {torch.get_num_threads()} threads (median of 7): "
              + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in times.items() if k != "step")
              + (f"; training step (all modalities, loss, AdamW) {times['step'] * 1000:.0f} ms" if "step" in times
                 else ""))
    return EXIT_OK
