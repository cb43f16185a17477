"""Fine-tuning on real sensor data (issue 4): macro F1 per scenario and training fraction, against the paper.

Runs (or resumes) named sweeps in the project's store and prints mean ± std of macro F1, the paired tests and the
paper's reference figures. Every cell is a real fine-tuning run; a sweep that is already complete is only read.

    python benchmarks/bench_finetune.py motionsense-paper      # baseline, paper architecture, 2 % / 100 %, 5 repeats
    python benchmarks/bench_finetune.py motionsense-pretrained # baseline / frozen / fine-tuned, small architecture
    python benchmarks/bench_finetune.py motionsense-proxy      # SimCLR proxy frozen / fine-tuned (pairs with the above)
    python benchmarks/bench_finetune.py utd                    # UTD-MHAD odd/even cross-subject: imu, pose, both
    python benchmarks/bench_finetune.py all --workers 2

Checkpoints for the pre-trained scenarios (pre-trained on the embedded synthetic data with the matching site):
    mujo synth data/fimad-pretrain --preset fimad --videos 300 --no-video
    mujo pretrain data/fimad-pretrain --out data/models/pre-rhip-acc --modalities text pose imu --sites RHip \
        --no-gyro --epochs 40 --threads 1
    mujo pretrain data/fimad-pretrain --out data/models/pre-rwrist-gyro --modalities text pose imu --sites RWrist \
        --gyro --epochs 40 --threads 1
    mujo pretrain data/fimad-pretrain --out data/models/proxy-simclr-rhip --method simclr --sites RHip \
        --no-gyro --epochs 20 --threads 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mujo import paths  # noqa: E402
from mujo.store import Store  # noqa: E402
from mujo.train import sweep_report  # noqa: E402
from mujo.train.sweep import SweepSpec, create_sweep, list_sweeps, sweep_results  # noqa: E402
from mujo.train.sweep_exec import run_sweep  # noqa: E402

PAPER = {  # paper Table 1 / datasets.md: mean macro F1 over 20 runs, sensor input, no NULL
    "motionsense": {"baseline": (0.675, 0.819), "MuJo fine-tuned": (0.734, 0.845)},
}


def _models() -> Path:
    return paths.data_dir() / "models"


def grids() -> dict[str, SweepSpec]:
    m = _models()
    return {
        "motionsense-paper": SweepSpec(
            datasets=("motionsense",), scenarios=("baseline",), fractions=(0.02, 1.0), repeats=5, preset="paper",
            name="MotionSense paper-architecture baseline"),
        "motionsense-pretrained": SweepSpec(
            datasets=("motionsense",), checkpoints=(str(m / "pre-rhip-acc"),),
            scenarios=("baseline", "frozen", "finetuned"), fractions=(0.02, 1.0), repeats=5,
            name="MotionSense pre-trained (RHip acc)"),
        "motionsense-proxy": SweepSpec(
            datasets=("motionsense",), checkpoints=(str(m / "proxy-simclr-rhip"),),
            scenarios=("frozen", "finetuned"), fractions=(0.02, 1.0), repeats=5,
            name="MotionSense SimCLR proxy (RHip acc)"),
        "utd": SweepSpec(
            datasets=("utd-mhad",), checkpoints=(str(m / "pre-rwrist-gyro"),),
            scenarios=("baseline", "frozen", "finetuned"), fractions=(1.0,), repeats=5,
            inputs=(("imu",), ("pose",), ("imu", "pose")), split="odd-even",
            name="UTD-MHAD odd/even (RWrist acc+gyro)"),
    }


def sweep_id_for(spec: SweepSpec, store: Store) -> int:
    """The sweep of this name, created when absent (so an interrupted benchmark resumes it)."""
    sweeps = list_sweeps(store)
    same = sweeps[sweeps["name"] == spec.name]
    if len(same):
        return int(same["id"].iloc[0])
    return create_sweep(spec, store)


# Sweeps whose results are reported together: the proxy sweep pairs with the baseline runs of the pre-trained sweep
# (same seeds, splits and classifier architecture, so repeat r trained on the same windows).
REPORT_WITH = {"motionsense-proxy": ("motionsense-pretrained",)}


def report(name: str, sweep_id: int, store: Store, seconds: float) -> None:
    df = sweep_results(store, sweep_id)
    for other in REPORT_WITH.get(name, ()):
        same = list_sweeps(store)
        same = same[same["name"] == grids()[other].name]
        if len(same):
            df = pd.concat([df, sweep_results(store, int(same["id"].iloc[0]))], ignore_index=True)
    print(f"\n== {name} (sweep {sweep_id}): {len(df)} finished runs, {seconds:.0f} s in this call")
    if df.empty:
        return
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(sweep_report.summary_table(df).to_string())
        tests = sweep_report.paired_tests(df)
        if len(tests):
            print(tests.to_string(index=False))
        per_run = df["seconds"].dropna()
        if len(per_run):
            print(f"run time: median {per_run.median():.0f} s, total {per_run.sum() / 60:.1f} min")
    for dataset, refs in PAPER.items():
        if dataset in set(df["dataset"]):
            print("paper (20 runs): " + "; ".join(f"{k} 2 % {v[0]:.3f}, 100 % {v[1]:.3f}" for k, v in refs.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("which", nargs="+", choices=[*grids(), "all"])
    p.add_argument("--workers", type=int, default=1, help="local worker processes")
    p.add_argument("--report-only", action="store_true", help="print what the store holds; run nothing")
    args = p.parse_args(argv)
    store = Store()
    names = list(grids()) if "all" in args.which else args.which
    for name in names:
        spec = grids()[name]
        missing = [c for c in spec.checkpoints if not (Path(c) / "config.json").exists()]
        if missing:
            print(f"{name}: skipped, checkpoint(s) missing: {', '.join(missing)} (see this file's docstring)")
            continue
        sid = sweep_id_for(spec, store)
        t0 = time.perf_counter()
        if not args.report_only:
            run_sweep(sid, store, workers=args.workers)
        report(name, sid, store, time.perf_counter() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
