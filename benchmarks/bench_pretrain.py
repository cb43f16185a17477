"""Pre-training throughput (windows/s, forward + backward + AdamW step) and model FLOPs utilisation per preset.

MFU = achieved model FLOP/s / float32 matrix-product FLOP/s, both measured here on the same threads. Achieved
model FLOP/s counts forward + backward as 3 x the forward FLOPs (torch's FlopCounterMode: 2 per multiply-add of
matrix products and convolutions) times windows per second.

    python benchmarks/bench_pretrain.py [--threads 2 1] [--presets small paper] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from mujo.models import create_model
from mujo.train.pretrain import ContrastiveObjective


def matmul_flops_per_s(n: int = 2048, seconds: float = 3.0) -> float:
    """float32 torch.mm FLOP/s (2 n^3 per product) on the current threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        torch.mm(a, b)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or reps < 3:
        torch.mm(a, b)
        reps += 1
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def synthetic_batch(model: torch.nn.Module, batch: int, same_clip: bool = True) -> dict:
    """Random inputs shaped like the window bank's for every modality of the model."""
    out: dict = {m: torch.randn_like(model.example_input(m, batch)) for m in model.config.modalities}
    if same_clip:  # clips of ~20 windows, as in the demo dataset
        clips = torch.arange(batch) // 20
        out["same_clip"] = clips[:, None] == clips[None, :]
    return out


def forward_flops(model: torch.nn.Module, batch: dict) -> int:
    """Forward FLOPs of the embeddings and the loss for one batch."""
    objective = ContrastiveObjective(model).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        objective(batch)
    return counter.get_total_flops()


def bench_preset(preset: str, batch_size: int | None, seconds: float) -> dict:
    torch.manual_seed(0)
    model = create_model(preset)
    from mujo.config import load_preset  # noqa: PLC0415

    b = batch_size or load_preset(preset).train.batch_size
    batch = synthetic_batch(model, b)
    flops = forward_flops(model, batch) / b
    objective = ContrastiveObjective(model).train()
    opt = torch.optim.AdamW(objective.parameters(), lr=1e-4)

    def step() -> None:
        loss = objective(batch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):  # warm-up (allocator, kernels)
        step()
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or steps < 3:
        step()
        steps += 1
    wps = b * steps / (time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    return {"preset": preset, "batch": b, "params_M": params / 1e6, "fwd_MFLOP_per_window": flops / 1e6,
            "windows_per_s": wps, "model_GFLOP_per_s": 3 * flops * wps / 1e9,
            "inputs": ", ".join(f"{m.value} {tuple(model.example_input(m).shape[1:])}"
                                for m in model.config.modalities)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2], help="torch thread counts to measure (default 2)")
    ap.add_argument("--presets", nargs="+", default=["small", "paper"])
    ap.add_argument("--batch-size", type=int, default=None, help="default: each preset's")
    ap.add_argument("--seconds", type=float, default=10.0, help="timed seconds per preset")
    args = ap.parse_args()
    print(f"torch {torch.__version__}; machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
          "(other processes slow multi-threaded torch down a lot)")
    for threads in args.threads:
        torch.set_num_threads(threads)
        peak = matmul_flops_per_s()
        rows = [bench_preset(p, args.batch_size, args.seconds) for p in args.presets]
        peak_after = matmul_flops_per_s()  # the machine may change speed during the run: report both ends
        ref = (peak + peak_after) / 2
        print(f"\n{threads} thread(s): float32 torch.mm 2048x2048 {peak / 1e9:.1f} GFLOP/s before, "
              f"{peak_after / 1e9:.1f} after")
        print(f"{'preset':8} {'batch':>5} {'params':>8} {'fwd MFLOP/win':>13} {'windows/s':>10} {'GFLOP/s':>8} "
              f"{'MFU':>6}")
        for r in rows:
            print(f"{r['preset']:8} {r['batch']:5d} {r['params_M']:7.2f}M {r['fwd_MFLOP_per_window']:13.2f} "
                  f"{r['windows_per_s']:10.0f} {r['model_GFLOP_per_s']:8.2f} "
                  f"{r['model_GFLOP_per_s'] * 1e9 / ref:6.1%}")
    for r in rows:
        print(f"  {r['preset']} inputs: {r['inputs']}")


if __name__ == "__main__":
    main()
