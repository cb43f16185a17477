"""First start, measured: `mujo demo` in a fresh temporary MUJO_HOME, wall and CPU time per stage.

Prints, per stage of the first-start pipeline (the prefix of its progress messages; "umap" for the projection),
the wall time and the CPU time (user + sys of the whole process tree: sampled with psutil while it runs, the final
total from getrusage(RUSAGE_CHILDREN)), the time until the demo dataset is browsable (fimad.json + clips.csv
published), until the demo is ready (model, embeddings, retrieval metrics, UMAP view: the pages' "ready"), the total
(every mp4 rendered too), and the demo model's retrieval figures (from its checkpoint's retrieval file), so that a
speed-up cannot silently wreck quality. The load average at start and end says how busy the machine was: on a
shared machine wall times are inflated, and CPU times are the fairer figure.

    python benchmarks/bench_first_start.py                 # the "demo" size (what the app builds)
    MUJO_DEMO_SIZE=tiny python benchmarks/bench_first_start.py
    python benchmarks/bench_first_start.py --keep /tmp/x   # keep the MUJO_HOME it built
    python benchmarks/bench_first_start.py --until-browsable  # only the time until Browse has clips
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from mujo.checkpoint import RETRIEVAL
from mujo.demo.status import demo_browsable, demo_model_dir
from mujo.paths import demo_dataset_dir


def _tree_cpu(proc: psutil.Process) -> float:
    """User + sys seconds of a process and its live descendants (their reaped children included)."""
    total = 0.0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


def _stage_of(message: str) -> str:
    if "UMAP" in message:
        return "umap"
    return message.split(":", 1)[0].strip() if ":" in message else "?"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(home: Path, poll_s: float = 0.1, until_browsable: bool = False) -> dict:
    """Run `mujo demo` with MUJO_HOME=home; return the stages, browsable time, total and retrieval figures.

    until_browsable: stop it (SIGTERM) as soon as the dataset is browsable.
    """
    os.environ["MUJO_HOME"] = str(home)
    progress = home / "bench-progress.json"
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    cli = "import sys; from mujo.cli import main; sys.exit(main())"  # the `mujo` command, this interpreter
    log = open(home / "bench-demo.log", "w")  # a file, not a pipe: the progress bar would fill an unread pipe
    proc = subprocess.Popen([sys.executable, "-c", cli, "demo", "--progress-file", str(progress)],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=log)
    ps = psutil.Process(proc.pid)
    stages: list[list] = []  # [name, wall start, cpu start]
    browsable_s = model_s = None
    last_cpu = 0.0
    while proc.poll() is None:
        now = time.perf_counter() - t0
        cpu = max(_tree_cpu(ps), last_cpu)
        last_cpu = cpu
        if browsable_s is None and demo_browsable(demo_dataset_dir()):
            browsable_s = now
            if until_browsable:
                proc.terminate()
        try:
            msg = json.loads(progress.read_text(encoding="utf-8")).get("message", "")
        except (OSError, ValueError):
            msg = ""
        if model_s is None and "demo model ready" in msg:  # the pipeline's last step before the mp4s
            model_s = now
        name = _stage_of(msg) if msg else "start"
        if not stages or stages[-1][0] != name:
            stages.append([name, now, cpu])
        time.sleep(poll_s)
    log.close()
    err = (home / "bench-demo.log").read_text(errors="replace")
    total = time.perf_counter() - t0
    cpu_total = max(_children_cpu() - cpu0, last_cpu)
    if browsable_s is None and demo_browsable(demo_dataset_dir()):
        browsable_s = total
    rows = []
    for i, (name, w, c) in enumerate(stages):
        w1, c1 = (stages[i + 1][1], stages[i + 1][2]) if i + 1 < len(stages) else (total, cpu_total)
        rows.append((name, w1 - w, c1 - c))
    retrieval = None
    path = demo_model_dir() / RETRIEVAL
    if path.is_file():
        retrieval = json.loads(path.read_text(encoding="utf-8"))
    return {"rc": proc.returncode, "stderr": err, "stages": rows, "browsable_s": browsable_s, "model_s": model_s,
            "total_s": total,
            "cpu_s": cpu_total, "retrieval": retrieval}


def _print_retrieval(doc: dict | None) -> None:
    if not doc:
        print("retrieval: no retrieval file")
        return
    for key, res in doc.get("results", {}).items():
        print(f"retrieval ({key}):")
        for m in res.get("metrics", []):
            figs = "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items())
            print(f"  {figs}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="build in this folder (kept) instead of a temporary one")
    ap.add_argument("--until-browsable", action="store_true", help="stop once the dataset is browsable")
    args = ap.parse_args()
    home = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mujo-first-start-"))
    home.mkdir(parents=True, exist_ok=True)
    size = os.environ.get("MUJO_DEMO_SIZE", "") or "demo"
    print(f"first start: `mujo demo`, size {size}, MUJO_HOME={home}, {os.cpu_count()} cores")
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    try:
        res = run(home, until_browsable=args.until_browsable)
    finally:
        load_end = os.getloadavg()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print(f"{'stage':<10} {'wall s':>8} {'cpu s':>8}")
    for name, w, c in res["stages"]:
        print(f"{name:<10} {w:8.1f} {c:8.1f}")
    print(f"{'total':<10} {res['total_s']:8.1f} {res['cpu_s']:8.1f}")
    b = res["browsable_s"]
    print(f"browsable after: {b:.1f} s" if b is not None else "browsable: never")
    m = res["model_s"]
    print(f"demo ready (model, embeddings, retrieval metrics, UMAP view) after: {m:.1f} s; every video rendered "
          f"after: {res['total_s']:.1f} s" if m is not None else "demo model: never ready")
    _print_retrieval(res["retrieval"])
    print("load average at end: %.2f %.2f %.2f" % load_end)
    if res["rc"] and not args.until_browsable:
        print(f"`mujo demo` failed (exit {res['rc']}):\n{res['stderr'][-3000:]}")
    return 0 if args.until_browsable else res["rc"]


if __name__ == "__main__":
    raise SystemExit(main())
