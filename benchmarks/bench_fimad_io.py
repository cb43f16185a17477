"""Benchmark FiMAD I/O on a 10,000-clip dataset: write, open + list, validate, window reads, memory."""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mujo.fimad.dataset import FimadDataset  # noqa: E402
from mujo.fimad.windows import read_windows  # noqa: E402
from mujo.fimad.writer import FimadWriter  # noqa: E402


def write_dataset(root: Path, n_clips: int, n_frames: int, rng: np.random.Generator) -> float:
    """Write n_clips clips of pose + IMU (cheap data: one random block, shifted per clip); return seconds."""
    t0 = time.perf_counter()
    base_pose = rng.normal(size=(n_frames + 64, 17, 3)).astype(np.float32)
    base_imu = rng.normal(size=(n_frames + 64, 16, 3)).astype(np.float32)
    w = FimadWriter(root, name="bench", fps=50, synthetic=True, source="benchmark noise")
    rows = []
    for i in range(n_clips):
        cid = f"vid{i // 8:05d}___{i % 8}"
        k = i % 64
        w.write_pose(cid, base_pose[k: k + n_frames])
        w.write_imu(cid, base_imu[k: k + n_frames], base_imu[k: k + n_frames] * 0.5)
        rows.append({"clip_id": cid, "n_frames": n_frames, "video_id": f"vid{i // 8:05d}", "chapter_index": i % 8,
                     "chapter": f"Exercise {i % 24}, set {i % 3}", "split": "val" if (i // 8) % 5 == 0 else "train"})
    w.finish(rows)
    return time.perf_counter() - t0


def window_rate(ds: FimadDataset, rows_batches: list[np.ndarray], index, modality: str) -> tuple[float, int]:
    """Windows per second reading these batches with a cold clip cache."""
    ds.cache.clear()
    gc.collect()
    t0 = time.perf_counter()
    n = 0
    for rows in rows_batches:
        n += len(read_windows(ds, index, rows, modality))
    return n / (time.perf_counter() - t0), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--root", type=Path, default=None, help="reuse/keep the dataset here (default: a temp folder)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench_fimad_")
        root = Path(tmp) / "ds"
    try:
        if not (root / "fimad.json").exists():
            secs = write_dataset(root, args.clips, args.frames, rng)
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            print(f"write: {args.clips} clips x {args.frames} frames (pose + IMU) in {secs:.1f} s, "
                  f"{size / 1e6:.0f} MB on disk")

        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        ds = FimadDataset(root)
        n_listed = len(ds.clips.index.tolist())
        t_open = time.perf_counter() - t0
        print(f"open + list: {n_listed} clips in {t_open:.3f} s (limit 2 s: {'OK' if t_open <= 2 else 'FAIL'})")
        del ds
        gc.collect()
        tracemalloc.start()  # a second open, traced (tracing slows it down, so it is not the timed one)
        ds = FimadDataset(root)
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        table = ds.clips.memory_usage(deep=True).sum()
        print(f"memory of the open dataset: {current / 1e6:.1f} MB held by Python objects "
              f"(peak {peak / 1e6:.1f} MB while opening; clips table {table / 1e6:.1f} MB)")

        t0 = time.perf_counter()
        report = ds.validate()
        t_val = time.perf_counter() - t0
        sev = report.severity_counts()
        print(f"validate: {t_val:.1f} s ({t_val / max(1, len(ds)) * 1e3:.2f} ms/clip; "
              f"{sev['error']} errors, {sev['warning']} warnings)")

        index = ds.windows()
        seq = [np.arange(a, min(a + args.batch, len(index))) for a in range(0, len(index), args.batch)]
        perm = rng.permutation(len(index))
        rand = [perm[a: a + args.batch] for a in range(0, len(index), args.batch)]
        for modality in ("pose", "acc", "gyro"):
            rate, n = window_rate(ds, seq, index, modality)
            verdict = "" if modality == "gyro" else f" (target 20,000/s: {'OK' if rate >= 20_000 else 'FAIL'})"
            print(f"windows {modality:4s} sequential by clip: {rate:,.0f}/s over {n} windows{verdict}")
            rate, n = window_rate(ds, rand, index, modality)
            print(f"windows {modality:4s} random across clips: {rate:,.0f}/s over {n} windows "
                  f"(batches of {args.batch}, cache {ds.cache.max_items} clips)")
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"max RSS of this process: {rss1 / 1e3:.0f} MB (before opening: {rss0 / 1e3:.0f} MB; "
              "includes the OS page cache of memory-mapped files touched)")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
