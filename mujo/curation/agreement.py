"""Agreement between annotators: Cohen's kappa per pair on the clips both labelled, and the clips they disagree on.

Each annotator's vote on a clip is their own latest whole-clip label (`Store.annotator_labels`; a later label by
someone else does not replace it, an adjudication that settles a disagreement is not a vote). The category of a vote
is its label, with the activity's name for "activity" ("activity: squat" and "activity: lunge" disagree).
"""

from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from typing import Any, Sequence

import pandas as pd

KAPPA_COLUMNS = ["annotator_a", "annotator_b", "clips_both", "agreement", "kappa", "note"]
DISAGREEMENT_COLUMNS = ["clip_id", "votes", "annotators", "open_dispute", "last_event"]


def category(label: Any, activity: Any = None) -> str:
    """A vote's category: the label, with the activity's name for "activity"."""
    if label == "activity" and isinstance(activity, str) and activity:
        return f"activity: {activity}"
    return str(label)


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float:
    """Cohen's kappa of two raters' categories on the same items: (p_o - p_e) / (1 - p_e).

    p_o is the share of items both put in the same category, p_e the agreement expected by chance from each rater's
    own category shares. Undefined (NaN) without items, and when p_e is 1 (both raters used one and the same category
    throughout: nothing to tell agreement from chance; sklearn gives NaN there too). Raters who each used one but
    different categories get 0.

    Raises:
        ValueError: the sequences differ in length.
    """
    if len(a) != len(b):
        raise ValueError(f"the raters have {len(a)} and {len(b)} items; kappa compares the same items")
    n = len(a)
    if n == 0:
        return math.nan
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if math.isclose(p_e, 1.0):
        return math.nan
    return (p_o - p_e) / (1.0 - p_e)


def votes(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Whole-clip votes (`Store.annotator_labels` rows with t0_s 0 and an open end) as a frame of clip_id,
    annotator, category, event id; ranged labels are left out."""
    whole = [r for r in rows if float(r["t0_s"]) == 0 and r["t1_s"] is None]
    return pd.DataFrame({"clip_id": [r["clip_id"] for r in whole], "annotator": [r["annotator"] for r in whole],
                         "category": [category(r["label"], r["activity"]) for r in whole],
                         "event_id": [int(r["id"]) for r in whole]},
                        columns=["clip_id", "annotator", "category", "event_id"])


def pairwise_kappa(v: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa for every pair of annotators on the clips both labelled (KAPPA_COLUMNS; note says why a kappa is
    undefined). Pairs are sorted by name."""
    table = v.pivot(index="clip_id", columns="annotator", values="category") if len(v) else pd.DataFrame()
    rows = []
    for x, y in combinations(sorted(map(str, table.columns)), 2):
        both = table[[x, y]].dropna()
        a, b = both[x].tolist(), both[y].tolist()
        k = cohen_kappa(a, b)
        note = ("no clip labelled by both" if not a else
                "undefined: both used only one category" if math.isnan(k) else "")
        rows.append({"annotator_a": x, "annotator_b": y, "clips_both": len(a),
                     "agreement": (sum(p == q for p, q in zip(a, b)) / len(a)) if a else math.nan,
                     "kappa": k, "note": note})
    return pd.DataFrame(rows, columns=KAPPA_COLUMNS)


def disagreements(v: pd.DataFrame, disputes: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Clips whose annotators' votes differ (unless settled since their newest vote) or that have an open dispute.

    Args:
        v: `votes(...)`.
        disputes: `Store.label_disputes` rows of the dataset: an open one lists its clip; a resolved one settles
            the clip until a vote newer than its resolution_event.
    Returns:
        DISAGREEMENT_COLUMNS, newest change first: votes ("Ada: null · Bob: bad"), how many annotators, whether a
        dispute is open, the newest vote's event id.
    """
    open_clips = {d["clip_id"] for d in disputes if d["resolved"] is None}
    settled: dict[str, int] = {}
    for d in disputes:
        if d["resolved"] is not None:
            settled[d["clip_id"]] = max(settled.get(d["clip_id"], 0), int(d["resolution_event"] or 0))
    rows = []
    for clip, g in v.groupby("clip_id", sort=False):
        last = int(g["event_id"].max())
        differ = g["category"].nunique() > 1 and last > settled.get(str(clip), -1)
        if differ or clip in open_clips:
            g = g.sort_values("annotator")
            rows.append({"clip_id": str(clip), "votes": " · ".join(f"{a or '(no name)'}: {c}" for a, c in
                                                                      zip(g["annotator"], g["category"])),
                         "annotators": len(g), "open_dispute": clip in open_clips, "last_event": last})
    for clip in sorted(open_clips - set(v["clip_id"])):  # disputed, but nobody's vote is left
        rows.append({"clip_id": clip, "votes": "", "annotators": 0, "open_dispute": True, "last_event": 0})
    df = pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)
    return df.sort_values("last_event", ascending=False, kind="stable").reset_index(drop=True)


__all__ = ["DISAGREEMENT_COLUMNS", "KAPPA_COLUMNS", "category", "cohen_kappa", "disagreements", "pairwise_kappa",
           "votes"]
