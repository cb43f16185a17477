"""What the load test's annotators saw, and the three checks of it against the store (no browser here).

Each simulated annotator records every decision key it pressed (`Press`: the clip, the label, and what the page
answered: applied, conflict, or nothing before the server died), every undo the page acknowledged, and each
deliberate collision it took part in. `check` then reads the store's event log and counts:

- lost: a decision, undo or dispute the page acknowledged with nothing of that annotator, clip (and label)
  behind it in the store;
- duplicated: more events of an annotator, clip and label than key presses that could have written them (one press
  applied twice, e.g. a click replayed after a reconnect), or a request id on two rows;
- undetected conflicts: a deliberate collision where both annotators' decisions were applied on the same base
  version, or any decision the store accepted although its base was no longer the label in force (replaying the
  log range by range, undos included).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

APPLIED, CONFLICT, UNACKED, REFUSED = "applied", "conflict", "unacked", "refused"


@dataclass
class Press:
    """One decision key press (or a "Replace" click) and the page's answer to it."""

    annotator: str
    clip: str
    label: str
    outcome: str = UNACKED  # APPLIED, CONFLICT, REFUSED (an error or warning on the page) or UNACKED
    latency_s: float | None = None  # key press -> the page showing the answer
    replayed: bool = False  # the page said the decision had been written already (counts once)
    collision: int | None = None  # the deliberate collision it belongs to


@dataclass
class Record:
    """Everything one annotator did and saw."""

    name: str
    presses: list[Press] = field(default_factory=list)
    undos: list[str] = field(default_factory=list)  # clips whose undo the page acknowledged
    disputes: list[str] = field(default_factory=list)  # clips the page acknowledged as marked disputed
    moves: int = 0
    reconnects: int = 0  # times the page had to find the server again (or be reloaded)
    reloads: int = 0
    move_s: list[float] = field(default_factory=list)  # J/K -> the next clip shown
    recover_s: list[float] = field(default_factory=list)  # a kill noticed -> labelling again


@dataclass
class Verdict:
    """The three counts and what lies behind them (for the report)."""

    lost: int = 0
    duplicated: int = 0
    undetected: int = 0
    collisions: int = 0  # deliberate collisions where both annotators got an answer
    detected: int = 0  # ... of which one applied and the other saw the conflict (or both saw one)
    sequential: int = 0  # ... of which both applied, on different base versions (not a collision)
    stale_writes: int = 0  # events whose base was not the label in force when written
    details: list[str] = field(default_factory=list)


def _in_force_replay(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The decisions (events with a base) written on a base that was not the range's label in force then."""
    active: dict[tuple, list[int]] = defaultdict(list)  # range -> label events not undone, oldest first
    by_id = {int(e["id"]): e for e in events}
    stale = []
    for e in events:  # oldest first
        rng = (e["clip_id"], float(e["t0_s"]), e["t1_s"])
        if e["undo_of"] is not None:
            undone = by_id.get(int(e["undo_of"]))
            if undone is not None:
                urng = (undone["clip_id"], float(undone["t0_s"]), undone["t1_s"])
                if int(undone["id"]) in active[urng]:
                    active[urng].remove(int(undone["id"]))
            continue
        if e.get("base_event") is not None:
            in_force = max(active[rng]) if active[rng] else 0
            if int(e["base_event"]) != in_force:
                stale.append({**e, "in_force": in_force})
        active[rng].append(int(e["id"]))
    return stale


def check(events: list[dict[str, Any]], records: list[Record], disputes: list[dict[str, Any]] = ()) -> Verdict:
    """Count lost, duplicated and undetected against the dataset's event log (`Store.label_event_rows`) and its
    disputes (`Store.label_disputes`: a dispute the page acknowledged and the store lacks is lost too)."""
    v = Verdict()
    raised = Counter((d["raised_by"], d["clip_id"]) for d in disputes)
    for r in records:
        for k, n in Counter(r.disputes).items():
            if raised[(r.name, k)] < n:
                v.lost += n - raised[(r.name, k)]
                v.details.append(f"lost: dispute of {k} by {r.name} acknowledged {n}x, {raised[(r.name, k)]} stored")
    labels = [e for e in events if e["undo_of"] is None]
    written = Counter((e["annotator"], e["clip_id"], e["label"]) for e in labels)
    undone = Counter((e["annotator"], e["clip_id"]) for e in events if e["undo_of"] is not None)
    for r in records:
        acked = Counter((p.annotator, p.clip, p.label) for p in r.presses if p.outcome == APPLIED and not p.replayed)
        pressed = Counter((p.annotator, p.clip, p.label) for p in r.presses if p.outcome in (APPLIED, UNACKED))
        for k, n in acked.items():
            if written[k] < n:
                v.lost += n - written[k]
                v.details.append(f"lost: {k} acknowledged {n}x, {written[k]} in the store")
        for k, n in Counter(u for u in r.undos).items():
            if undone[(r.name, k)] < n:
                v.lost += n - undone[(r.name, k)]
                v.details.append(f"lost: undo of {k} by {r.name} acknowledged {n}x, {undone[(r.name, k)]} stored")
        for k in {k for k in written if k[0] == r.name}:
            if written[k] > pressed[k]:
                v.duplicated += written[k] - pressed[k]
                v.details.append(f"duplicated: {k} written {written[k]}x for {pressed[k]} presses")
    rids = Counter(e["request_id"] for e in events if e.get("request_id"))
    for rid, n in rids.items():
        if n > 1:
            v.duplicated += n - 1
            v.details.append(f"duplicated: request {rid} on {n} rows")
    stale = _in_force_replay(events)
    v.stale_writes = len(stale)
    for e in stale:
        v.details.append(f"stale write: event {e['id']} ({e['annotator']}, {e['clip_id']}, {e['label']}) on base "
                         f"{e['base_event']} while {e['in_force']} was in force")
    missed = _collisions(v, labels, records)
    v.undetected = v.stale_writes + len(missed - {int(e["id"]) for e in stale})
    return v


def _collisions(v: Verdict, labels: list[dict[str, Any]], records: list[Record]) -> set[int]:
    """Tally the deliberate collisions; return the later event of each pair applied twice on one base."""
    missed: set[int] = set()
    pairs: dict[int, list[Press]] = defaultdict(list)
    for r in records:
        for p in r.presses:
            if p.collision is not None:
                pairs[p.collision].append(p)
    for cid, ps in sorted(pairs.items()):
        if len(ps) != 2 or any(p.outcome not in (APPLIED, CONFLICT) for p in ps):
            continue  # one of the two never pressed or got no answer (a kill): not a test of detection
        v.collisions += 1
        if any(p.outcome == CONFLICT for p in ps):
            v.detected += 1
            continue
        # both applied: a collision only if both were written on the same base version
        found = []
        for p in ps:
            mine = [e for e in labels if (e["annotator"], e["clip_id"], e["label"]) == (p.annotator, p.clip, p.label)]
            found.append(mine[-1] if mine else None)
        a, b = found
        if a is not None and b is not None and a.get("base_event") == b.get("base_event"):
            missed.add(max(int(a["id"]), int(b["id"])))
            v.details.append(f"undetected: collision {cid} on {ps[0].clip}: both applied on base {a['base_event']}")
        else:
            v.sequential += 1
    return missed


__all__ = ["APPLIED", "CONFLICT", "REFUSED", "UNACKED", "Press", "Record", "Verdict", "check"]
