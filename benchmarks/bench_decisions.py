"""Curation decisions of several annotators at once on one store, in library terms (no browser, no AppTest).

    python benchmarks/bench_decisions.py [--annotators 8] [--seconds 20] [--collide 0.05] [--retry 0.05]

Each annotator is a thread doing what one Curation key press does: lease its next clip (`acquire_lease`), read the
version in force (`clip_in_force`) and decide on it (`decide_label` with that version and a fresh request id).
Now and then an annotator deliberately collides: it posts the clip and the version it read, and another annotator
takes the post and decides on the same version, while the first decides too (exactly one of the two may apply).
Now and then a decision is retried with its request id (a lost reply): it must return the first answer.

Afterwards it checks three things against the store and prints them with decisions per second and p50/p95 latency
of the decide call and of the whole round trip (lease + read + decide):
- lost: an acknowledged decision whose event is not in the store (or differs);
- duplicated: a request id applied twice (a retry with a new event, or two rows for one request);
- undetected conflicts: a deliberate collision where both decisions were applied.
"""

from __future__ import annotations

import argparse
import queue
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mujo.store import Store  # noqa: E402

DATASET = "bench-decisions"
LABELS = ("null", "activity", "unsure", "bad")


@dataclass
class Worker:
    """One annotator's acknowledged decisions and timings."""

    name: str
    applied: list[tuple[str, int, str, str]] = field(default_factory=list)  # (request id, event id, clip, label)
    conflicts: int = 0
    decide_s: list[float] = field(default_factory=list)
    trip_s: list[float] = field(default_factory=list)
    retries: int = 0
    bad_retries: int = 0
    collisions: list[tuple[str, bool, bool]] = field(default_factory=list)  # (clip, poster applied, taker applied)


def _decide(store: Store, w: Worker, clip: str, base: int, label: str) -> tuple[str, object]:
    rid = uuid.uuid4().hex
    t = time.perf_counter()
    d = store.decide_label(DATASET, clip, label, base_event=base, annotator=w.name, request_id=rid,
                           activity="squat" if label == "activity" else None)
    w.decide_s.append(time.perf_counter() - t)
    if d.applied:
        w.applied.append((rid, int(d.event_id), clip, label))
    else:
        w.conflicts += 1
    return rid, d


def _run(store: Store, w: Worker, idx: int, n: int, args: argparse.Namespace, posts: queue.Queue,
         results: dict[str, list[bool]], lock: threading.Lock, stop: float) -> None:
    rng = random.Random(idx)
    session, k = f"s{idx}", 0
    while time.perf_counter() < stop:
        try:  # another annotator's deliberate collision: decide on the version it read
            owner, clip, base = posts.get_nowait()
            if owner == idx:
                posts.put((owner, clip, base))
            else:
                _, d = _decide(store, w, clip, base, rng.choice(LABELS))
                with lock:
                    results.setdefault(clip, []).append(d.applied)
                continue
        except queue.Empty:
            pass
        t = time.perf_counter()
        clip = f"a{idx}-{k}"
        k += 1
        collide = rng.random() < args.collide
        if collide:
            clip = f"x{idx}-{k}"
        store.acquire_lease(DATASET, clip, w.name, session)
        shown = store.clip_in_force(DATASET, clip)
        base = int(shown[0]["id"]) if shown else 0
        if collide:
            posts.put((idx, clip, base))
            time.sleep(rng.uniform(0, 0.003))  # let the other annotator pick it up, sometimes first
        rid, d = _decide(store, w, clip, base, rng.choice(LABELS))
        w.trip_s.append(time.perf_counter() - t)
        if collide:
            with lock:
                results.setdefault(clip, []).append(d.applied)
        if d.applied and rng.random() < args.retry:  # the reply was lost: the same request again
            w.retries += 1
            again = store.decide_label(DATASET, clip, "bad", base_event=base, annotator=w.name, request_id=rid)
            if again.status != "replayed" or again.event_id != d.event_id:
                w.bad_retries += 1


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


def run(annotators: int = 8, seconds: float = 20.0, collide: float = 0.05, retry: float = 0.05,
        path: Path | None = None) -> dict[str, float]:
    """Run the benchmark; returns the figures it prints."""
    args = argparse.Namespace(collide=collide, retry=retry)
    with tempfile.TemporaryDirectory(prefix="mujo-bench-decisions-") as tmp:
        store = Store(path or Path(tmp) / "store.db")
        store.clip_in_force(DATASET, "warm-up")  # the schema exists before the clock starts
        workers = [Worker(f"annotator{i}") for i in range(annotators)]
        posts: queue.Queue = queue.Queue()
        results: dict[str, list[bool]] = {}
        lock = threading.Lock()
        start = time.perf_counter()
        stop = start + seconds
        threads = [threading.Thread(target=_run, args=(store, w, i, annotators, args, posts, results, lock, stop))
                   for i, w in enumerate(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        rows = {int(r["id"]): r for r in store.label_event_rows(DATASET)}
        acked = [a for w in workers for a in w.applied]
        lost = sum(1 for rid, eid, clip, label in acked
                   if eid not in rows or (rows[eid]["request_id"], rows[eid]["clip_id"], rows[eid]["label"])
                   != (rid, clip, label))
        per_request = Counter(r["request_id"] for r in rows.values())
        duplicated = sum(n - 1 for n in per_request.values() if n > 1) + sum(w.bad_retries for w in workers)
        duplicated += len(rows) - len({eid for _, eid, _, _ in acked})  # rows nobody was told about, or told twice
        pairs = {c: r for c, r in results.items() if len(r) == 2}
        undetected = sum(1 for r in pairs.values() if all(r))
        decide_s = [x for w in workers for x in w.decide_s]
        trip_s = [x for w in workers for x in w.trip_s]
        figures = {"annotators": annotators, "seconds": elapsed, "decisions": len(decide_s),
                   "per_s": len(decide_s) / elapsed, "applied": len(acked),
                   "conflicts": sum(w.conflicts for w in workers), "collisions": len(pairs),
                   "retries": sum(w.retries for w in workers),
                   "decide_p50_ms": _pct(decide_s, 0.5), "decide_p95_ms": _pct(decide_s, 0.95),
                   "trip_p50_ms": _pct(trip_s, 0.5), "trip_p95_ms": _pct(trip_s, 0.95),
                   "lost": lost, "duplicated": duplicated, "undetected": undetected,
                   "collisions_both_rejected": sum(1 for r in pairs.values() if not any(r))}
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--annotators", type=int, default=8)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--collide", type=float, default=0.05, help="share of decisions that are deliberate collisions")
    p.add_argument("--retry", type=float, default=0.05, help="share of applied decisions retried with their id")
    p.add_argument("--store", type=Path, default=None, help="a store file (default: a temporary one)")
    a = p.parse_args(argv)
    f = run(a.annotators, a.seconds, a.collide, a.retry, a.store)
    print(f"{f['annotators']} annotators, {f['seconds']:.1f} s: {f['decisions']} decisions, "
          f"{f['per_s']:.0f} decisions/s ({f['applied']} applied, {f['conflicts']} conflicts; "
          f"{f['collisions']} deliberate collisions, {f['retries']} retried requests)")
    print(f"decide_label latency: p50 {f['decide_p50_ms']:.1f} ms, p95 {f['decide_p95_ms']:.1f} ms")
    print(f"round trip (lease + read + decide): p50 {f['trip_p50_ms']:.1f} ms, p95 {f['trip_p95_ms']:.1f} ms")
    print(f"lost {f['lost']}, duplicated {f['duplicated']}, undetected conflicts {f['undetected']}")
    return 0 if f["lost"] == f["duplicated"] == f["undetected"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
