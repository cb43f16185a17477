"""The store's online backup, measured: how long `mujo store backup` takes for a store of a lab's size, and how long
a writer waits meanwhile.

    python benchmarks/bench_backup.py [--events 1000000] [--keep DIR]

Builds a store with `--events` label events (10,000 clips, 8 annotators, in transactions of 10,000 rows through
`Store.add_label_events`), then copies it with `mujo.store.backup.backup_store` twice: alone, and while a writer
thread appends one label event after another (as annotators do). Prints the store size, the copy's time and
throughput, the writer's events during the copy and its worst wait for one event, and checks the copy holds every
event that was there when it began.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from mujo.store import Store
from mujo.store.backup import backup_store

ROWS_PER_TRANSACTION = 10_000


def build(path: Path, n_events: int) -> Store:
    store = Store(path)
    labels = ["null", "activity", "unsure", "bad"]
    t = time.perf_counter()
    for start in range(0, n_events, ROWS_PER_TRANSACTION):
        rows = [{"clip_id": f"clip{i % 10_000:05d}", "label": labels[i % 4], "annotator": f"annotator{i % 8}"}
                for i in range(start, min(n_events, start + ROWS_PER_TRANSACTION))]
        store.add_label_events("bench", rows)
    print(f"built {n_events:,} label events in {time.perf_counter() - t:.1f} s", flush=True)
    return store


def events_in(path: Path) -> int:
    with sqlite3.connect(path) as c:
        return int(c.execute("SELECT COUNT(*) FROM label_events").fetchone()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, default=None, help="build in this folder (kept)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mujo-backup-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        store = build(work / "mujo.sqlite", args.events)
        size = sum(p.stat().st_size for p in work.glob("mujo.sqlite*")) / 2**20
        before = events_in(store.path)
        t = time.perf_counter()
        copy = backup_store(work / "copy-alone.sqlite", store)
        alone = time.perf_counter() - t
        print(f"store {size:,.1f} MiB ({before:,} events): backup alone {alone:.2f} s, {size / alone:,.0f} MiB/s; "
              f"the copy holds {events_in(copy):,} events")

        stop, waits, written = threading.Event(), [], [0]

        def writer() -> None:
            w = Store(store.path)
            while not stop.is_set():
                t0 = time.perf_counter()
                w.add_label_event("bench", "clip00001", "null", annotator="writer")
                waits.append(time.perf_counter() - t0)
                written[0] += 1

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        time.sleep(0.5)
        start_count = events_in(store.path)
        t = time.perf_counter()
        copy = backup_store(work / "copy-busy.sqlite", store)
        busy = time.perf_counter() - t
        during = written[0]
        stop.set()
        th.join()
        held = events_in(copy)
        print(f"backup while a writer appends: {busy:.2f} s; the writer wrote {during:,} events meanwhile, its worst "
              f"wait for one {max(waits) * 1000:.0f} ms (median {sorted(waits)[len(waits) // 2] * 1000:.1f} ms); "
              f"the copy holds {held:,} events (>= {start_count:,} at its start: "
              f"{'yes' if held >= start_count else 'NO'})")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
