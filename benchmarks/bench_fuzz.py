"""Fuzz every FiMAD file type and the checkpoint files with thousands of seeded mutations; print what escaped.

Each case copies a small valid dataset and checkpoint (tests/fimad_fuzz.py), changes one file (an .npy/.npz header,
shape or dtype, a zip directory field, a byte range, a truncation, a metadata value, a clips.csv cell, or an mp4's
boxes: tests/mp4_fuzz.py), then runs validation and every reader the pages and training use, the video readers
included (probing, RGB decoding, the mujo_flow descriptor and its worker), under tracemalloc. Prints
"N inputs, E exceptions escaped, peak memory M, peak RSS R", where M is the largest traced peak of one case and R the
largest growth of the resident memory in one case (VmHWM, reset before each case: it counts what PyAV, FFmpeg,
OpenCV and zlib allocate, which tracemalloc does not see), and lists every case that escaped, left a broken clip
unnamed, allocated more than its bound (16 x the bytes on disk + 64 MiB traced; 64 MiB more resident) or had a video
reader take longer than MAX_SECONDS on one file.

With `--mp4 N`, N more cases mutate only clip000's mp4 (tests/mp4_fuzz.py) and run all four video readers on it,
and validation with `check_video="open"`: "mp4: N inputs, E exceptions escaped, peak RSS R, slowest reader S".

    python benchmarks/bench_fuzz.py --cases 3000 --mp4 1000
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import resource
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fimad_fuzz import (  # noqa: E402
    exercise,
    flow_clips_of,
    fresh_copy,
    memory_bound,
    mutate,
    peak_rss_since,
    problems_of,
    reset_peak_rss,
    rss_bound,
    write_template,
)
from mp4_fuzz import MAX_SECONDS, mutate_mp4, read_video_everywhere  # noqa: E402


def _mp4_cases(tmp: Path, template: Path, start: int, n: int, failures: list[str]) -> str:
    """n cases that mutate clip000's mp4 only; returns the summary line and appends failing cases to `failures`."""
    from mujo.fimad.validate import validate_dataset  # noqa: PLC0415

    escaped = 0
    peak_rss = slowest = 0.0
    ops: Counter[str] = Counter()
    for seed in range(start, start + n):
        root, _ = fresh_copy(template, tmp / "case")
        path = root / "video" / "clip000.mp4"
        what, certain = mutate_mp4(random.Random(seed), path)
        ops[re.sub(r"\s*(=|:| at byte| \d).*$", "", what)] += 1
        begin = reset_peak_rss()
        bad, _, took = read_video_everywhere(path, 60, 50.0, tmp)
        report = validate_dataset(root, check_video="open")
        grew = peak_rss_since(begin)
        escaped += len(bad)
        peak_rss, slowest = max(peak_rss, grew), max(slowest, took)
        if certain and not any(p.clip_id == "clip000" and p.severity == "error" for p in report.problems):
            bad.append("validation names no error for clip000")
        bad += [f"peak RSS {grew:,} B > 64 MiB"] if grew > 64 << 20 else []
        bad += [f"a reader took {took:.1f} s"] if took > MAX_SECONDS else []
        if bad:
            failures.append(f"mp4 seed {seed} ({what}): " + "; ".join(bad)[:400])
    return (f"mp4: {n} inputs, {escaped} exceptions escaped, peak RSS {peak_rss / 2**20:.1f} MiB (largest resident "
            f"growth of one case), slowest reader {slowest:.2f} s; mutations: "
            + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--check-video", default="header", choices=("header", "open"))
    ap.add_argument("--mp4", type=int, default=0, help="cases that mutate only an mp4 (after the others)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # readers log each unreadable file; the cases are counted below instead
    warnings.simplefilter("ignore", RuntimeWarning)  # arithmetic on the mutated garbage values
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    certain = escaped = 0
    peak = worst_ratio = peak_rss = slowest_case = slowest_video = 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mujo-fuzz-") as tmp:
        template = Path(tmp) / "template"
        write_template(template)
        for seed in range(args.start, args.start + args.cases):
            root, ckpt = fresh_copy(template, Path(tmp) / "case")
            mutation = mutate(random.Random(seed), root, ckpt)
            kinds["ckpt" if mutation.file.startswith("ckpt/") else mutation.file.split("/")[0]] += 1
            certain += mutation.must_fail
            out = exercise(root, ckpt, check_video=args.check_video, flow_clips=flow_clips_of(mutation))
            escaped += len(out.escaped)
            bound, rss_cap = memory_bound(root, ckpt), rss_bound(root, ckpt)
            peak, worst_ratio = max(peak, out.peak_bytes), max(worst_ratio, out.peak_bytes / bound)
            peak_rss = max(peak_rss, out.peak_rss_bytes)
            slowest_case, slowest_video = max(slowest_case, out.seconds), max(slowest_video, out.slowest_video_s)
            bad = problems_of(out, mutation) + ([f"peak {out.peak_bytes:,} B > bound {bound:,} B"]
                                                if out.peak_bytes > bound else [])
            bad += [f"peak RSS {out.peak_rss_bytes:,} B > bound {rss_cap:,} B"] if out.peak_rss_bytes > rss_cap else []
            bad += [f"a video reader took {out.slowest_video_s:.1f} s"] if out.slowest_video_s > MAX_SECONDS else []
            if bad:
                failures.append(f"seed {seed} ({mutation.file}: {mutation.what[:80]}): " + "; ".join(bad)[:400])
        secs = time.perf_counter() - t0
        mp4_line = _mp4_cases(Path(tmp), template, args.start, args.mp4, failures) if args.mp4 else ""
    print(f"{args.cases} inputs, {escaped} exceptions escaped, peak memory {peak / 2**20:.1f} MiB "
          f"(largest traced peak of one case; at most {100 * worst_ratio:.1f}% of its bound), peak RSS "
          f"{peak_rss / 2**20:.1f} MiB (largest resident growth of one case)")
    print(f"slowest case {slowest_case:.2f} s; slowest video reader on one file {slowest_video:.2f} s "
          f"(bound {MAX_SECONDS:g} s)")
    print(f"files mutated: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}; "
          f"{certain} mutations certainly broke a clip or file")
    print(f"{len(failures)} failing cases; {secs:.0f} s ({1000 * secs / args.cases:.0f} ms per case, video check "
          f"{args.check_video}); max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if mp4_line:
        print(mp4_line)
    for line in failures[:50]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
