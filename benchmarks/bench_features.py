"""Speed of the feature extractors and the window bank on the demo dataset (or any FiMAD folder).

Prints: the mujo_flow descriptor per frame (decoding alone and decoding + descriptor, CPU ms on one core), the whole
dataset with a process pool (wall time, frames/s, ms per frame per core), MiniLM texts per second, the window
bank's build time and `.batch` throughput. The dataset is only read: features go into a temporary copy that links
its files, and the bank into a temporary MUJO_HOME.

    python benchmarks/bench_features.py                 # descriptor, text, bank (video from the first --clips)
    python benchmarks/bench_features.py --full          # also every video with --workers processes
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def linked_copy(src: Path, dst: Path) -> Path:
    """A dataset folder whose tables are copies and whose per-clip folders are links to `src`'s."""
    dst.mkdir(parents=True)
    for name in ("fimad.json", "clips.csv", "splits.json"):
        if (src / name).exists():
            shutil.copy(src / name, dst / name)
    for name in ("pose", "imu", "video"):
        if (src / name).exists():
            (dst / name).symlink_to((src / name).resolve())
    return dst


def bench_descriptor(ds, n_clips: int) -> None:
    import cv2

    from mujo.features import flow

    cv2.setNumThreads(1)
    paths = [ds.video_path(c) for c in ds.clips.index[ds.clips["has_video"]][:n_clips]]
    c0 = time.process_time()
    n = sum(1 for p in paths for _ in flow.decode_luma(p))
    decode = (time.process_time() - c0) / n * 1e3
    c0, w0 = time.process_time(), time.perf_counter()
    n = sum(len(flow.describe_video(p)[1]) for p in paths)
    cpu, wall = (time.process_time() - c0) / n * 1e3, (time.perf_counter() - w0) / n * 1e3
    print(f"descriptor ({flow.DIM}-d), {len(paths)} clips, {n} frames, one process:")
    print(f"  decode + shrink only      {decode:.3f} ms CPU per frame")
    print(f"  decode + descriptor       {cpu:.3f} ms CPU per frame ({wall:.3f} ms wall)")


def bench_full(ds, workers: int) -> None:
    from mujo.features import compute_video_features

    c0 = os.times()
    report = compute_video_features(ds, workers=workers)
    c1 = os.times()
    cpu = (c1.children_user + c1.children_system - c0.children_user - c0.children_system
           + c1.user + c1.system - c0.user - c0.system)
    print(f"whole dataset, {workers} workers: {report.summary()}")
    if report.frames:
        print(f"  wall {report.seconds:.1f} s = {report.seconds * workers / report.frames * 1e3:.3f} ms per frame "
              f"per core; CPU {cpu / report.frames * 1e3:.3f} ms per frame (all processes)")


def bench_text(ds) -> None:
    from mujo.features import text as text_mod
    from mujo.features import text_features

    t0 = time.perf_counter()
    text_mod.load_minilm()
    load = time.perf_counter() - t0
    texts = ds.clips["chapter_norm"].astype(str).tolist() if "chapter_norm" in ds.clips else ["squats"] * 300
    sentences = [f"{t} {i}" for i, t in enumerate(texts)]  # all distinct: no de-duplication shortcut
    t0 = time.perf_counter()
    text_mod.embed_texts(sentences)
    dt = time.perf_counter() - t0
    print(f"MiniLM: model load {load:.1f} s; {len(sentences)} distinct short texts in {dt:.2f} s = "
          f"{len(sentences) / dt:.0f} texts/s")
    if "chapter_norm" in ds.clips:
        t0 = time.perf_counter()
        text_features(ds, "chapter_norm")
        miss = time.perf_counter() - t0
        t0 = time.perf_counter()
        text_features(ds, "chapter_norm")
        print(f"  text_features(chapter_norm): {miss:.2f} s computed and cached, "
              f"{(time.perf_counter() - t0) * 1e3:.0f} ms from the cache")


def bench_bank(ds, with_video: bool) -> None:
    from mujo.banks.bank import BankSpec, build_bank
    from mujo.modality import Modality

    mods = tuple(Modality) if with_video else (Modality.TEXT, Modality.POSE, Modality.IMU)
    t0 = time.perf_counter()
    bank = build_bank(ds, BankSpec(modalities=mods))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_bank(ds, BankSpec(modalities=mods))
    reopen = time.perf_counter() - t0
    print(f"window bank: built in {build:.1f} s (features cached), reopened in {reopen * 1e3:.0f} ms; "
          f"{bank.summary().splitlines()[0]}")
    rng = np.random.default_rng(0)
    for wanted in ([Modality.IMU], [Modality.POSE], list(bank.modalities)):
        batches = [rng.choice(len(bank), 256, replace=False) for _ in range(60)]
        bank.batch(batches[0], wanted)  # page the arrays in
        t0 = time.perf_counter()
        for rows in batches:
            bank.batch(rows, wanted)
        rate = len(batches) * 256 / (time.perf_counter() - t0)
        print(f"  batch of 256 random windows, {'+'.join(m.value for m in wanted):22s} {rate:8.0f} windows/s")


def main() -> None:
    from mujo import paths

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=str(paths.project_root() / "data" / "fimad-demo"))
    p.add_argument("--clips", type=int, default=20, help="clips for the one-process descriptor timing")
    p.add_argument("--full", action="store_true", help="describe every video with a process pool")
    p.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    args = p.parse_args()

    import torch

    torch.set_num_threads(len(os.sched_getaffinity(0)))
    from mujo.fimad.dataset import FimadDataset

    with tempfile.TemporaryDirectory(prefix="bench_features_") as tmp:
        os.environ["MUJO_HOME"] = str(Path(tmp) / "home")
        ds = FimadDataset(linked_copy(Path(args.dataset), Path(tmp) / "ds"))
        print(f"{ds!r}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        bench_descriptor(ds, args.clips)
        if args.full:
            bench_full(ds, args.workers)
        bench_text(ds)
        bench_bank(ds, with_video=args.full)


if __name__ == "__main__":
    main()
