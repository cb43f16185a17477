"""The Curation page's decisions: versioned labels, the overtaken-decision choices (keep theirs, replace, mark
disputed) and undo. All are button callbacks (they run before the page is drawn); nothing here draws widgets.

A decision carries the version the annotator saw: when the page draws a clip it remembers the id of the event in
force on each of its ranges (`seen`); a decision is written only if that is still in force (`Store.decide_label`),
else the page shows who changed the clip, when and to what, and offers the three choices. Each drawn version gets
a request id, so a decision retried (a double click, a resent message) is applied once.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import streamlit as st

from mujo import actions
from mujo.store import LABELS, Decision, Store
from mujo.store.decisions import CONFLICT, REPLAYED
from mujo.ui import curation_queue as cq
from mujo.ui.access import current_user
from mujo.ui.state import StateKeys


def seen(key: str, clip_id: str) -> list[dict[str, Any]]:
    """The clip's labels in force (what the page shows of it), remembered as the versions the next decision saw.

    A changed version gets a new request id (an unchanged one keeps it: a retried decision is the same request).
    """
    s = cq.store()
    rows = s.clip_in_force(key, clip_id) if Path(s.path).exists() else []
    now = (clip_id, tuple((float(r["t0_s"]), r["t1_s"], int(r["id"])) for r in rows))
    if st.session_state.get(StateKeys.CUR_SEEN) != now or not st.session_state.get(StateKeys.CUR_REQUEST):
        st.session_state[StateKeys.CUR_SEEN] = now
        st.session_state[StateKeys.CUR_REQUEST] = uuid.uuid4().hex
    return rows


def _base(key: str, clip_id: str, t0: float, t1: float | None) -> int:
    """The event the annotator saw in force on the range (0: none); the version now when the page never drew it."""
    shown = st.session_state.get(StateKeys.CUR_SEEN)
    if not shown or shown[0] != clip_id:
        shown = (clip_id, tuple((float(r["t0_s"]), r["t1_s"], int(r["id"]))
                                for r in cq.store().clip_in_force(key, clip_id)))
    return next((i for a, b, i in shown[1] if a == t0 and b == t1), 0)


def _what(d: Decision) -> tuple[str, str, str]:
    """(who, when, what they did) of the change that overtook a decision."""
    c = d.change or {}
    who, when = str(c.get("annotator") or "someone"), str(c.get("created") or "")[:19].replace("T", " ")
    if c.get("undo_of") is not None:
        now = cq.describe(d.current["label"], d.current["activity"]) if d.current else "unlabelled"
        what = f"undid the label {cq.describe(c.get('undone_label'), c.get('undone_activity'))} (now: {now})"
    else:
        what = f"labelled it {cq.describe(c.get('label'), c.get('activity'))}"
    return who, when, what


def _write(key: str, c: dict[str, Any], base: int, request_id: str) -> Decision | None:
    try:
        return actions.label_store(current_user(), cq.store()).decide_label(
            key, c["clip_id"], c["label"], base_event=base, request_id=request_id, t0_s=c["t0"], t1_s=c["t1"],
            activity=c["activity"], annotator=c["who"], note=c["note"])
    except (ValueError, PermissionError) as e:
        cq.feedback("error", f"Not labelled: {e}")
        return None


def _done(key: str, c: dict[str, Any], d: Decision) -> None:
    """After a decision: remember it for undo, or keep the overtaken decision for the page's three choices."""
    if d.status == CONFLICT:
        who, when, what = _what(d)
        st.session_state[StateKeys.CUR_CONFLICT] = {**c, "base": int(d.current["id"]) if d.current else 0,
                                                    "by": who, "when": when, "what": what}
        return
    st.session_state[StateKeys.CUR_CONFLICT] = None
    st.session_state[StateKeys.CUR_LAST] = (c["clip_id"], d.event_id)
    st.session_state[StateKeys.CUR_NOTE] = ""
    what = f"{c['clip_id']} labelled {cq.describe(c['label'], c['activity'])}"
    if d.status == REPLAYED:
        what += " (this decision had been written already: it counts once)"
    if c["ranged"]:
        end = "the end" if c["t1"] is None else f"{c['t1']:g} s"
        cq.feedback("success", f"{what} from {c['t0']:g} s to {end}. (Z undoes it.)")
        return  # a range: the annotator may label more ranges of this clip
    _next(key, c["clip_id"], f"{what}.")


def _next(key: str, clip_id: str, what: str) -> None:
    queue = st.session_state.get(StateKeys.CUR_QUEUE) or []
    nxt = cq.advance(key, queue, clip_id)
    if nxt is None:
        more = cq.neighbour(queue, clip_id, +1) is not None
        cq.feedback("success", f"{what} " + ("The queue's other clips are open for other annotators now."
                                             if more else "That was the last clip of the queue.") + " (Z undoes it.)")
    else:
        cq.feedback("success", f"{what} (Z undoes it.)")
        cq.goto(nxt)


def decide(key: str, clip_id: str, label: str) -> None:
    """Write one label event for the shown clip (whole clip, or the range of the time-range panel), based on the
    version the page showed, and move on; overtaken by someone else's label, nothing is written."""
    who = cq.annotator()
    if not who:
        cq.feedback("warning", "Type your name in the sidebar first: every label records who made it.")
        return
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    activity = None
    if label == "activity":
        activity = str(st.session_state.get(StateKeys.CUR_ACTIVITY) or "").strip() or None
        if activity is None:
            cq.feedback("warning", "Choose or type the activity first.")
            return
    ranged = bool(st.session_state.get(StateKeys.CUR_RANGE))
    t0 = float(st.session_state.get(StateKeys.CUR_T0) or 0.0) if ranged else 0.0
    t1 = st.session_state.get(StateKeys.CUR_T1) if ranged else None
    t1 = None if t1 is None else float(t1)
    c = {"clip_id": clip_id, "label": label, "activity": activity, "t0": t0, "t1": t1, "ranged": ranged,
         "who": who, "note": str(st.session_state.get(StateKeys.CUR_NOTE) or "")}
    token = st.session_state.get(StateKeys.CUR_REQUEST) or uuid.uuid4().hex
    d = _write(key, c, _base(key, clip_id, t0, t1), f"{token}:{label}:{activity}:{t0!r}:{t1!r}")
    if d is not None:
        _done(key, c, d)


def keep_theirs(key: str) -> None:
    """Button callback: the overtaken decision is dropped; the other annotator's label stays."""
    c = st.session_state.get(StateKeys.CUR_CONFLICT)
    st.session_state[StateKeys.CUR_CONFLICT] = None
    if not c:
        return
    if c["ranged"]:
        cq.feedback("info", f"Kept {c['by']}'s label of {c['clip_id']}.")
    else:
        _next(key, c["clip_id"], f"Kept {c['by']}'s label of {c['clip_id']}.")


def replace_theirs(key: str) -> None:
    """Button callback: decide again, now based on the label in force (overtaken again: the page says so)."""
    c = st.session_state.get(StateKeys.CUR_CONFLICT)
    if not c:
        return
    d = _write(key, c, int(c["base"]), uuid.uuid4().hex)
    if d is not None:
        _done(key, c, d)


def mark_disputed(key: str) -> None:
    """Button callback: record the clip as disputed (with both labels in the note); the label in force stays."""
    c = st.session_state.get(StateKeys.CUR_CONFLICT)
    if not c:
        return
    mine = cq.describe(c["label"], c["activity"])
    note = f"{c['who']} would label it {mine}; {c['by']} {c['what']} ({c['when']})"
    try:
        actions.label_store(current_user(), cq.store()).raise_dispute(key, c["clip_id"], c["who"], note[:4000])
    except ValueError as e:
        cq.feedback("error", f"Not marked: {e}")
        return
    st.session_state[StateKeys.CUR_CONFLICT] = None
    msg = f"Marked {c['clip_id']} as disputed (the Disagreements page lists it)."
    if c["ranged"]:
        cq.feedback("info", msg)
    else:
        _next(key, c["clip_id"], msg)


def undo(key: str, clip_id: str) -> None:
    """Undo this annotator's latest label on the shown clip; with none there, this session's last decision (and go
    back to its clip)."""
    who = cq.annotator()
    if not who:
        cq.feedback("warning", "Type your name in the sidebar first: only your own labels can be undone.")
        return
    s = cq.store()
    target = _latest_own_event(s, key, clip_id, who) if Path(s.path).exists() else None
    back = None
    if target is None:
        last = st.session_state.get(StateKeys.CUR_LAST)
        if last and _latest_own_event(s, key, last[0], who) == last[1]:
            back, target = last[0], last[1]
    if target is None:
        cq.feedback("info", f"Nothing of yours to undo on {clip_id}.")
        return
    try:
        actions.label_store(current_user(), s).undo_label_event(int(target), annotator=who)
    except ValueError as e:
        cq.feedback("error", f"Cannot undo: {e}")
        return
    st.session_state[StateKeys.CUR_LAST] = None
    cq.feedback("success", f"Undid your last label of {back or clip_id}.")
    if back is not None and back != clip_id:
        cq.goto(back)


def _latest_own_event(s: Store, key: str, clip_id: str, who: str) -> int | None:
    """The id of the annotator's newest label event on a clip that is not undone yet."""
    if not Path(s.path).exists():
        return None
    ev = s.label_events(key, clip_id)
    undone = set(ev["undo_of"].dropna().astype(int))
    own = ev[(ev["annotator"] == who) & ev["undo_of"].isna() & ~ev["id"].isin(undone)]
    return int(own["id"].iloc[-1]) if len(own) else None


__all__ = ["decide", "keep_theirs", "mark_disputed", "replace_theirs", "seen", "undo"]
