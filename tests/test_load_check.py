"""The load test's three checks (benchmarks/load_check.py) on hand-written event logs: each kind of fault it must
see (a lost acknowledged decision, undo or dispute; a press applied twice or a request id on two rows; a stale
write; a deliberate collision applied twice on one base) is counted, and a clean log counts nothing."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from load_check import APPLIED, CONFLICT, UNACKED, Press, Record, check  # noqa: E402


def _ev(i: int, who: str, clip: str, label: str | None, base: int | None = 0, undo_of: int | None = None,
        rid: str | None = None) -> dict:
    return {"id": i, "annotator": who, "clip_id": clip, "label": label, "t0_s": 0.0, "t1_s": None,
            "base_event": base, "undo_of": undo_of, "request_id": rid or f"r{i}"}


def test_a_clean_run_counts_nothing() -> None:
    events = [_ev(1, "ann", "c1", "null"), _ev(2, "bob", "c2", "bad"), _ev(3, "ann", "c1", "unsure", base=1),
              _ev(4, "ann", "c1", None, base=None, undo_of=3)]
    ann = Record("ann", presses=[Press("ann", "c1", "null", APPLIED), Press("ann", "c1", "unsure", APPLIED)],
                 undos=["c1"])
    bob = Record("bob", presses=[Press("bob", "c2", "bad", APPLIED)])
    v = check(events, [ann, bob])
    assert (v.lost, v.duplicated, v.undetected, v.stale_writes) == (0, 0, 0, 0), v.details


def test_lost_acknowledged_decisions_undos_and_disputes_are_counted() -> None:
    events = [_ev(1, "ann", "c1", "null")]
    ann = Record("ann", presses=[Press("ann", "c1", "null", APPLIED), Press("ann", "c2", "bad", APPLIED),
                                 Press("ann", "c3", "bad", UNACKED)],  # unacknowledged: may be missing
                 undos=["c1"], disputes=["c4"])
    v = check(events, [ann], disputes=[])
    assert v.lost == 3, v.details  # c2's decision, c1's undo, c4's dispute
    assert check(events, [ann], disputes=[{"raised_by": "ann", "clip_id": "c4"}]).lost == 2


def test_a_press_written_twice_and_a_request_id_on_two_rows_are_duplicates() -> None:
    events = [_ev(1, "ann", "c1", "null"), _ev(2, "ann", "c1", "null", base=1)]
    ann = Record("ann", presses=[Press("ann", "c1", "null", APPLIED)])
    assert check(events, [ann]).duplicated == 1
    events = [_ev(1, "ann", "c1", "null", rid="x"), _ev(2, "ann", "c2", "bad", rid="x")]
    ann = Record("ann", presses=[Press("ann", "c1", "null", APPLIED), Press("ann", "c2", "bad", APPLIED)])
    assert check(events, [ann]).duplicated == 1


def test_a_write_on_a_base_that_was_no_longer_in_force_is_an_undetected_conflict() -> None:
    # bob decided on base 0 after ann's event 1 was already the label in force: the store should have refused it
    events = [_ev(1, "ann", "c1", "null"), _ev(2, "bob", "c1", "bad", base=0)]
    recs = [Record("ann", presses=[Press("ann", "c1", "null", APPLIED)]),
            Record("bob", presses=[Press("bob", "c1", "bad", APPLIED)])]
    v = check(events, recs)
    assert v.stale_writes == 1 and v.undetected == 1, v.details
    # after ann's undo, base 0 is in force again: bob's write is fine
    events = [_ev(1, "ann", "c1", "null"), _ev(2, "ann", "c1", None, base=None, undo_of=1),
              _ev(3, "bob", "c1", "bad", base=0)]
    recs[0].undos.append("c1")
    assert check(events, recs).undetected == 0


def test_deliberate_collisions_detected_sequential_or_missed() -> None:
    def recs(outcome_b: str) -> list[Record]:
        return [Record("ann", presses=[Press("ann", "c1", "null", APPLIED, collision=7)]),
                Record("bob", presses=[Press("bob", "c1", "bad", outcome_b, collision=7)])]

    detected = check([_ev(1, "ann", "c1", "null")], recs(CONFLICT))
    assert (detected.collisions, detected.detected, detected.undetected) == (1, 1, 0)
    sequential = check([_ev(1, "ann", "c1", "null"), _ev(2, "bob", "c1", "bad", base=1)], recs(APPLIED))
    assert (sequential.collisions, sequential.sequential, sequential.undetected) == (1, 1, 0)
    missed = check([_ev(1, "ann", "c1", "null"), _ev(2, "bob", "c1", "bad", base=0)], recs(APPLIED))
    assert missed.undetected == 1 and any("undetected: collision 7" in d for d in missed.details), missed.details
    unanswered = check([_ev(1, "ann", "c1", "null")], recs(UNACKED))  # a kill: not a test of detection
    assert unanswered.collisions == 0
