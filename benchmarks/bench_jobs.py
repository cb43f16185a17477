"""The job registry (mujo.jobs): start latency, dedupe under racing submits, the cap and its FIFO queue, and the cost
of numba's compilation for a UMAP job in a fresh process, cold (empty NUMBA_CACHE_DIR) and warm.

Everything runs in a temporary MUJO_HOME (store, logs, UMAP and numba caches), on real `mujo` processes:
- start latency: `submit` returning (the row is 'running' with a pid), the job's first progress write (its process
  is up: Python, mujo's CLI, the store), and its end, for `mujo jobs sleep 0.5`;
- dedupe: several processes submitting the same work at the same moment, how many jobs result;
- cap: 6 one-second jobs with MUJO_MAX_JOBS=2: the most seen running at once, the order they started in, the wall;
- numba: two `mujo project` jobs (the Embedding Space's UMAP) on a synthetic embedding store, different seeds (so
  the second is no cache hit of the projection itself): the first compiles umap-learn's kernels into an empty
  NUMBA_CACHE_DIR, the second loads them; then `import umap` alone in a fresh process, cold and warm. What the
  cache cannot hold (pynndescent's and the layout's kernels compiled at the first fit) each job still pays.

    python benchmarks/bench_jobs.py                 # 5,000 points for the UMAP jobs
    python benchmarks/bench_jobs.py --points 20000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def fake_store(folder: Path, n: int, dim: int = 64) -> Path:
    """An embedding store (mujo.eval.embed's format) of n windows of clustered random unit vectors."""
    import numpy as np
    import pandas as pd

    from mujo.eval.embed import STORE_VERSION

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 12, n)
    clips = np.arange(n) // 10
    idx = pd.DataFrame({"clip_id": [f"c{c:05d}" for c in clips], "start": (np.arange(n) % 10) * 50,
                        "t0_s": (np.arange(n) % 10) * 1.0, "split": np.where(clips % 5 == 0, "val", "train"),
                        "video_id": [f"v{c // 4:04d}" for c in clips], "label": [f"a{k}" for k in labels],
                        "chapter": [f"activity {k}" for k in labels]})
    folder.mkdir(parents=True)
    idx.to_parquet(folder / "index.parquet", index=False)
    centers = rng.normal(size=(12, dim)) * 2.0
    v = centers[labels] + rng.normal(size=(n, dim))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    np.save(folder / "imu.npy", v.astype(np.float16), allow_pickle=False)
    meta = {"version": STORE_VERSION, "checkpoint_sha256": "bench", "checkpoint_id": "bench", "dataset_id": "bench",
            "modalities": ["imu"], "dims": {"imu": dim}, "n_windows": n, "embed_dim": dim, "dtype": "float16",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return folder


def wait(job_id: int, timeout: float = 600.0):
    from mujo import jobs

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if not job.active:
            return job
        time.sleep(0.02)
    raise TimeoutError(f"job {job_id} still {jobs.get(job_id).state}")


def start_latency(repeats: int = 3) -> None:
    from mujo import jobs

    submit_s, first_s, end_s = [], [], []
    for i in range(repeats):
        t0 = time.perf_counter()
        job = jobs.submit("bench", ["jobs", "sleep", "0.5"], key_inputs=f"latency-{i}")
        submit_s.append(time.perf_counter() - t0)
        assert job.state == jobs.RUNNING and job.pid, job
        while " of " not in (jobs.get(job.id).message or "") and jobs.get(job.id).active:
            time.sleep(0.005)
        first_s.append(time.perf_counter() - t0)
        done = wait(job.id)
        end_s.append(time.perf_counter() - t0)
        assert done.state == jobs.DONE, done
    med = statistics.median
    print(f"start latency (median of {repeats}, `mujo jobs sleep 0.5`): submit -> running with a pid "
          f"{1000 * med(submit_s):.0f} ms; -> first progress from the job's process {med(first_s):.2f} s; "
          f"-> done {med(end_s):.2f} s")


def dedupe(racers: int = 4) -> None:
    from mujo import jobs

    code = ("import sys, time; from mujo import jobs; t = float(sys.argv[1]); time.sleep(max(0.0, t - time.time())); "
            "print(jobs.submit('bench', ['jobs', 'sleep', '1'], key_inputs='race').id)")
    at = time.time() + 3.0  # every racer imports first, then all submit at this moment
    procs = [subprocess.Popen([sys.executable, "-c", code, str(at)], stdout=subprocess.PIPE, text=True)
             for _ in range(racers)]
    ids = [int(p.communicate(timeout=120)[0].strip()) for p in procs]
    rows = [j for j in jobs.list_jobs(limit=1000) if j.key == jobs.job_key("bench", "race")]
    print(f"dedupe: {racers} processes submitting the same work at once -> {len(set(ids))} job id(s) "
          f"{sorted(set(ids))},"
          f" {len(rows)} registry row(s)")
    wait(ids[0])


def cap(n: int = 6, limit: int = 2) -> None:
    from mujo import jobs

    os.environ["MUJO_MAX_JOBS"] = str(limit)
    t0 = time.perf_counter()
    submitted = [jobs.submit("bench", ["jobs", "sleep", "1"], key_inputs=f"cap-{i}") for i in range(n)]
    most, queued_at_start = 0, sum(j.state == jobs.QUEUED for j in submitted)
    while any(jobs.get(j.id).active for j in submitted):
        most = max(most, sum(jobs.get(j.id).state == jobs.RUNNING for j in submitted))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    done = [jobs.get(j.id) for j in submitted]
    fifo = [j.id for j in sorted(done, key=lambda j: j.started)] == [j.id for j in submitted]
    print(f"cap: {n} one-second jobs, MUJO_MAX_JOBS={limit}: {queued_at_start} queued at submit, at most {most} "
          f"running at once, started in submit order: {fifo}, all {sum(j.state == jobs.DONE for j in done)} done "
          f"in {wall:.1f} s (no poller: each ending job started the next)")
    del os.environ["MUJO_MAX_JOBS"]


def numba(store: Path) -> None:
    from mujo import jobs
    from mujo.eval.projection import numba_cache_dir
    from mujo.paths import data_dir

    def cache_dir() -> Path:
        return data_dir() / "cache"

    times, inside = [], []
    for seed in (0, 1):
        view = {"modality": "imu", "level": "window", "max_points": 10**6, "seed": 0}
        argv = ["project", str(store), "--view", json.dumps(view), "--params", json.dumps({"seed": seed}), "--quiet"]
        t0 = time.perf_counter()
        job = jobs.submit("umap", argv, key_inputs={"seed": seed})
        done = wait(job.id)
        times.append(time.perf_counter() - t0)
        assert done.state == jobs.DONE, (done.error, jobs.log_path(job.id).read_text()[-2000:])
        meta = max((cache_dir() / "umap").glob("*.json"), key=lambda p: p.stat().st_mtime)
        inside.append(json.loads(meta.read_text())["seconds"])  # project(): umap's import, compilation, layout
    cache = numba_cache_dir()
    files = list(cache.rglob("*")) if cache.exists() else []
    size = sum(f.stat().st_size for f in files if f.is_file())
    print(f"UMAP job (`mujo project`, {json.loads(store.joinpath('meta.json').read_text())['n_windows']:,} points): "
          f"first {times[0]:.1f} s (numba compiles into an empty NUMBA_CACHE_DIR; UMAP itself {inside[0]:.1f} s), "
          f"second {times[1]:.1f} s (kernels from the cache; UMAP itself {inside[1]:.1f} s); the rest is the "
          f"process's start and imports. Cache: {len(files)} files, {size / 1e6:.1f} MB in {cache}")
    code = "import time; t = time.perf_counter(); import umap; print(time.perf_counter() - t)"
    took = {}
    for name, folder in (("warm", cache), ("cold", cache.parent / "numba-empty")):
        env = {**os.environ, "NUMBA_CACHE_DIR": str(folder)}
        took[name] = float(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                          check=True).stdout.split()[-1])
    print(f"`import umap` in a fresh process (most of numba's compilation): {took['cold']:.1f} s with an empty "
          f"NUMBA_CACHE_DIR, {took['warm']:.1f} s with the cache the jobs left")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=5000, help="windows in the synthetic store for the UMAP jobs")
    ap.add_argument("--numba-only", action="store_true", help="only the two UMAP jobs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_jobs_") as tmp:
        os.environ["MUJO_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("MUJO_MAX_JOBS", None)
        os.environ.pop("NUMBA_CACHE_DIR", None)
        print(f"{os.cpu_count()} cores; cap default {os.cpu_count()} heavy jobs")
        if not args.numba_only:
            start_latency()
            dedupe()
            cap()
        numba(fake_store(Path(tmp) / "store", args.points))


if __name__ == "__main__":
    main()
