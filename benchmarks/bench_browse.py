"""Browse at FiMAD's size (10,000 clips): text search over the clip table, and the page itself (AppTest).

    python benchmarks/bench_browse.py [--n 10000] [--reps 20] [--page-reps 3]

Prints the median and worst time of `mujo.fimad.query.search_mask` over N clips (the search the Browse page runs on
every keystroke), then for the Browse page driven by Streamlit's AppTest: the first run (opening and validating the
dataset), a search, and opening a clip. These figures replace the wall-clock bounds that unit tests used to assert
(tests/test_query.py, tests/app/test_browse_scale.py), which flaked on a loaded machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the tests' dataset factory: one way to write a small FiMAD

from fimad_factory import make_fimad, read_rows, write_rows  # noqa: E402

from mujo.fimad.query import search_mask  # noqa: E402

WORDS = np.array(["squat", "lunge", "plank", "burpee", "rest", "left", "right", "jump", "push", "up"])


def clip_table(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n clips with random chapter, caption and description text drawn from WORDS."""
    return pd.DataFrame(
        {"chapter": [" ".join(rng.choice(WORDS, 3)) for _ in range(n)],
         "chapter_norm": [" ".join(rng.choice(WORDS, 2)) for _ in range(n)],
         "caption": [" ".join(rng.choice(WORDS, 8)) for _ in range(n)],
         "description": [" ".join(rng.choice(WORDS, 12)) for _ in range(n)]},
        index=pd.Index([f"c{i}" for i in range(n)], name="clip_id"))


def big_dataset(root: Path, n: int, rng: np.random.Generator) -> Path:
    """A FiMAD whose clips.csv lists n clips; only the first 4 have files (the rest are 'no data' problems)."""
    make_fimad(root, n_clips=4)
    rows = read_rows(root)
    hdr = rows[0]
    out = [hdr] + [list(r) for r in rows[1:]]
    for i in range(4, n):
        r = list(rows[1 + i % 4])
        r[hdr.index("clip_id")] = f"c{i:05d}"
        r[hdr.index("chapter")] = " ".join(rng.choice(WORDS, 3))
        r[hdr.index("caption")] = " ".join(rng.choice(WORDS, 8))
        r[hdr.index("video_id")] = f"v{i // 8}"
        out.append(r)
    write_rows(root, out)
    return root


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_search(n: int, reps: int) -> None:
    df = clip_table(n, np.random.default_rng(0))
    times = [timed(lambda: search_mask(df, "squat LEFT jump")) for _ in range(reps)]
    hits = int(search_mask(df, "squat LEFT jump").sum())
    print(f"search_mask over {n:,} clips, 3 words ({hits:,} hits), {reps} runs: "
          f"median {1000 * statistics.median(times):.1f} ms, worst {1000 * max(times):.1f} ms")


def bench_page(n: int, reps: int) -> None:
    from streamlit.testing.v1 import AppTest  # noqa: PLC0415  (only this part needs streamlit)

    from mujo.ui.state import StateKeys  # noqa: PLC0415

    first, search, clip = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = big_dataset(Path(tmp) / "big", n, np.random.default_rng(0))
        for k in range(reps):
            os.environ["MUJO_DATA"] = str(data)
            os.environ["MUJO_HOME"] = str(Path(tmp) / f"home{k}")  # a fresh home: nothing cached on disk
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
            at.switch_page("pages/1_Browse.py")
            first.append(timed(at.run))
            assert not at.exception, [e.value for e in at.exception]
            search.append(timed(lambda: at.text_input(key=StateKeys.SEARCH).input("squat LEFT").run()))
            at.query_params["clip"] = "clip002"
            clip.append(timed(at.run))
            assert not at.exception and len(at.get("iframe")) == 1
    print(f"Browse page (AppTest) over {n:,} clips, {reps} runs, each in a fresh session and home "
          f"(Streamlit's in-process caches stay warm after the first):")
    for name, ts in (("first run (open + validate)", first), ("search 'squat LEFT'", search),
                     ("open a clip", clip)):
        print(f"  {name:<28} first {ts[0]:.2f} s, median {statistics.median(ts):.2f} s, worst {max(ts):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--page-reps", type=int, default=3)
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    bench_search(args.n, args.reps)
    bench_page(args.n, args.page_reps)


if __name__ == "__main__":
    main()
