"""Fuzz every FiMAD file type and the checkpoint files with thousands of seeded mutations; print what escaped.

Each case copies a small valid dataset and checkpoint (tests/fimad_fuzz.py), changes one file (an .npy/.npz header,
shape or dtype, a zip directory field, a byte range, a truncation, a metadata value or a clips.csv cell), then runs
validation and every reader the pages and training use under tracemalloc. Prints
"N inputs, E exceptions escaped, peak memory M", where M is the largest traced peak of one case, and lists every
case that escaped, left a broken clip unnamed or allocated more than its bound (16 x the bytes on disk + 64 MiB).

    python benchmarks/bench_fuzz.py --cases 3000
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from fimad_fuzz import exercise, fresh_copy, memory_bound, mutate, problems_of, write_template  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--check-video", default="header", choices=("header", "open"))
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # readers log each unreadable file; the cases are counted below instead
    warnings.simplefilter("ignore", RuntimeWarning)  # arithmetic on the mutated garbage values
    failures: list[str] = []
    kinds: Counter[str] = Counter()
    certain = escaped = 0
    peak = worst_ratio = 0.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mujo-fuzz-") as tmp:
        template = Path(tmp) / "template"
        write_template(template)
        for seed in range(args.start, args.start + args.cases):
            root, ckpt = fresh_copy(template, Path(tmp) / "case")
            mutation = mutate(random.Random(seed), root, ckpt)
            kinds["ckpt" if mutation.file.startswith("ckpt/") else mutation.file.split("/")[0]] += 1
            certain += mutation.must_fail
            out = exercise(root, ckpt, check_video=args.check_video)
            escaped += len(out.escaped)
            bound = memory_bound(root, ckpt)
            peak, worst_ratio = max(peak, out.peak_bytes), max(worst_ratio, out.peak_bytes / bound)
            bad = problems_of(out, mutation) + ([f"peak {out.peak_bytes:,} B > bound {bound:,} B"]
                                                if out.peak_bytes > bound else [])
            if bad:
                failures.append(f"seed {seed} ({mutation.file}: {mutation.what[:80]}): " + "; ".join(bad)[:400])
    secs = time.perf_counter() - t0
    print(f"{args.cases} inputs, {escaped} exceptions escaped, peak memory {peak / 2**20:.1f} MiB "
          f"(largest traced peak of one case; at most {100 * worst_ratio:.1f}% of its bound)")
    print(f"files mutated: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}; "
          f"{certain} mutations certainly broke a clip or file")
    print(f"{len(failures)} failing cases; {secs:.0f} s ({1000 * secs / args.cases:.0f} ms per case, video check "
          f"{args.check_video}); max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    for line in failures[:50]:
        print("  " + line)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
