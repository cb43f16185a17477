"""Search latency over FiMAD-sized float16 embedding matrices, against a plain NumPy brute force in the same run.

    python benchmarks/bench_search.py [--n 280000] [--dims 128 256 1280] [--reps 20] [--batches 16 256]

For each embedding size: random unit vectors written as a float16 .npy memmap (like `mujo embed` writes), then
single queries and batches of queries timed with `mujo.eval.search.search` in its two set-ups -- "f32 copy" (a
float32 copy of the matrix kept in memory, what it does when the copy fits `MUJO_SEARCH_CACHE_MB`, default 1024)
and "no copy" (float16 filter + exact re-scoring for up to 4 queries, float32 blocks converted on the fly for
more) -- and with the brute-force reference (`q @ db.astype(float32).T` + argpartition), interleaved so all see
the same machine load. Prints median and p95 latency, the speed-up over the reference, and the memory the index
takes (file size, resident pages of the mapping, float32 copy).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mujo.eval.search import HALF_MAX_QUERIES, brute_force, search
from mujo.eval.vector_index import VectorIndex, cache_budget_bytes


def write_random_unit(path: Path, n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """An (n, dim) float16 memmap of random unit rows, written in chunks."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, dim))
    step = max(1, (64 << 20) // (4 * dim))
    for lo in range(0, n, step):
        x = rng.standard_normal((min(step, n - lo), dim), dtype=np.float32)
        out[lo:lo + len(x)] = x / np.linalg.norm(x, axis=1, keepdims=True)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def mapping_rss_bytes(path: Path) -> int:
    """Resident bytes of this process's mappings of `path` (from /proc/self/smaps; 0 where unavailable)."""
    total, inside = 0, False
    try:
        with open("/proc/self/smaps", encoding="utf-8") as f:
            for line in f:
                if "-" in line.split(" ", 1)[0]:
                    inside = line.rstrip().endswith(str(path))
                elif inside and line.startswith("Rss:"):
                    total += int(line.split()[1]) * 1024
    except OSError:
        return 0
    return total


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def unit_queries(rng: np.random.Generator, q: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((q, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bench_dim(folder: Path, n: int, dim: int, reps: int, batches: list[int], k: int) -> None:
    rng = np.random.default_rng(dim)
    path = folder / f"vectors_{dim}.npy"
    t_write = timed(lambda: write_random_unit(path, n, dim, rng))
    db = np.load(path, mmap_mode="r")
    print(f"\n=== N={n:,} D={dim}: float16 file {path.stat().st_size / 2**20:.0f} MiB (written in {t_write:.1f} s) ===")
    copy = VectorIndex(db, budget_bytes=1 << 40)
    no_copy = VectorIndex(db, budget_bytes=0)
    t_copy = timed(lambda: search(copy, unit_queries(rng, 1, dim), k=k))
    t_norms = timed(lambda: search(no_copy, unit_queries(rng, 1, dim), k=k))
    f32 = copy.cached_bytes
    default = "f32 copy" if f32 <= cache_budget_bytes() else "no copy"
    print(f"float32 copy {f32 / 2**20:.0f} MiB, made by the first search in {t_copy * 1e3:.0f} ms; the no-copy index's "
          f"first search (row norms for the float16 error bound) {t_norms * 1e3:.0f} ms; with the default budget "
          f"({cache_budget_bytes() / 2**20:.0f} MiB) search uses: {default}")
    variants = [("f32 copy", copy), ("no copy", no_copy)]
    swaps: dict[str, int] = {}
    for q in [1] + batches:
        n_rep = reps if q == 1 else max(3, reps // 4)
        times: dict[str, list[float]] = {name: [] for name, _ in variants}
        times["numpy"] = []
        for _ in range(n_rep):
            queries = unit_queries(rng, q, dim)
            got: dict[str, tuple] = {}
            for name, index in variants:
                times[name].append(timed(lambda: got.__setitem__(name, search(index, queries, k=k))))
            times["numpy"].append(timed(lambda: got.__setitem__("numpy", brute_force(db, queries, k))))
            for name, _ in variants:  # same scores; an order may differ only between scores a rounding apart
                assert np.allclose(got[name][1], got["numpy"][1], atol=1e-5), f"{name} and the brute force disagree"
                swaps[name] = swaps.get(name, 0) + int((got[name][0] != got["numpy"][0]).sum())
        ref_med = np.median(times["numpy"])
        for name, ts in times.items():
            ms = np.asarray(ts) * 1e3
            speed = "" if name == "numpy" else f"  x{ref_med / np.median(ts):.1f} vs numpy"
            print(f"  Q={q:<5d} {name:8s} median {np.median(ms):8.1f} ms  p95 {np.percentile(ms, 95):8.1f} ms"
                  f"  ({q / np.median(ts):8.0f} queries/s){speed}")
    if any(swaps.values()):
        print(f"  results identical to the reference except {swaps} positions swapped between scores within 1e-5 "
              "(float32 rounding of the dot products differs between BLAS kernels)")
    print(f"memory: file {path.stat().st_size / 2**20:.0f} MiB, resident mapping {mapping_rss_bytes(path) / 2**20:.0f}"
          f" MiB, float32 copy (f32 copy set-up only) {f32 / 2**20:.0f} MiB; the no-copy set-up keeps nothing "
          f"beyond the mapping (per search: up to {HALF_MAX_QUERIES} x N float16 approximate scores, or 64 MiB blocks)")
    copy = no_copy = db = None  # drop the mapping before the file goes (the lambdas above hold these cells)
    path.unlink()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=280_000, help="windows (FiMAD: ~280,000)")
    p.add_argument("--dims", type=int, nargs="+", default=[128, 256, 1280], help="embedding sizes")
    p.add_argument("--reps", type=int, default=20, help="single-query repetitions (batches: a quarter, >= 3)")
    p.add_argument("--batches", type=int, nargs="*", default=[16, 256], help="query batch sizes")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--dir", default=None, help="where to write the temporary matrices (default: a temp folder)")
    args = p.parse_args()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, load average {load}, "
          f"float32 copy budget {cache_budget_bytes() / 2**20:.0f} MiB")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for dim in args.dims:
            bench_dim(Path(tmp), args.n, dim, args.reps, args.batches, args.k)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
