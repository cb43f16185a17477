"""Agreement statistics: Cohen's kappa (a hand-computed example, degenerate cases, sklearn where installed), kappa per
annotator pair, the disagreements list, and the per-annotator export."""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import pytest

from mujo.curation.agreement import cohen_kappa, disagreements, pairwise_kappa, votes
from mujo.curation.label_export import ANNOTATOR_COLUMNS, annotator_labels, write_table
from mujo.store import Store

DS = "ds"


def test_kappa_hand_computed() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    # p_o = 35/50 = 0.7; A says yes 25/50, B 30/50: p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.2/0.5 = 0.4
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    # Three categories: p_o = 2/4; both raters x 2, y 1, z 1: p_e = (2*2 + 1*1 + 1*1)/16 = 6/16;
    # kappa = (8/16 - 6/16) / (10/16) = 1/5
    assert cohen_kappa(["x", "x", "y", "z"], ["x", "y", "x", "z"]) == pytest.approx(0.2)


def test_kappa_degenerate_cases() -> None:
    assert math.isnan(cohen_kappa([], []))  # no overlap
    assert math.isnan(cohen_kappa(["null"] * 5, ["null"] * 5))  # one category only: p_e = 1
    assert cohen_kappa(["null"] * 4, ["bad"] * 4) == 0.0  # each one category, different: p_o = p_e = 0
    # Perfect disagreement on two balanced categories: kappa = -1.
    assert cohen_kappa(["a", "b"] * 3, ["b", "a"] * 3) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], [])


def test_kappa_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 40)
        cats = ["null", "bad", "activity: squat", "unsure"][: rng.randint(1, 4)]
        a = [rng.choice(cats) for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice(cats) for x in a]
        ours = cohen_kappa(a, b)
        with warnings.catch_warnings():  # sklearn warns where kappa is undefined (one category)
            warnings.simplefilter("ignore")
            theirs = metrics.cohen_kappa_score(a, b)
        assert (math.isnan(ours) and math.isnan(theirs)) or ours == pytest.approx(theirs, abs=1e-12), (a, b)


def _store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.db")
    for clip, ada, bob in [("c1", "null", "null"), ("c2", "bad", "null"), ("c3", "null", None),
                           ("c4", "bad", "bad")]:
        s.add_label_event(DS, clip, ada, annotator="Ada")
        if bob:
            s.add_label_event(DS, clip, bob, annotator="Bob")
    s.add_label_event(DS, "c1", "activity", activity="squat", annotator="Cy")
    s.add_label_event(DS, "c1", "unsure", t0_s=1, t1_s=2, annotator="Cy")  # a range: no vote
    return s


def test_pairwise_kappa_and_disagreements(tmp_path: Path) -> None:
    s = _store(tmp_path)
    s.add_label_event(DS, "c3", "null", annotator="Dee")
    v = votes(s.annotator_labels(DS))
    k = pairwise_kappa(v).set_index(["annotator_a", "annotator_b"])
    # Ada/Bob on c1, c2, c4: null/null, bad/null, bad/bad: p_o 2/3; Ada bad 2/3, Bob null 2/3:
    # p_e = (1/3)(2/3) + (2/3)(1/3) = 4/9; kappa = (2/3 - 4/9) / (5/9) = 2/5
    assert k.loc[("Ada", "Bob"), "clips_both"] == 3
    assert k.loc[("Ada", "Bob"), "kappa"] == pytest.approx(0.4)
    assert k.loc[("Ada", "Bob"), "agreement"] == pytest.approx(2 / 3)
    assert k.loc[("Ada", "Cy"), "clips_both"] == 1 and k.loc[("Ada", "Cy"), "kappa"] == 0.0  # null vs squat
    assert math.isnan(k.loc[("Ada", "Dee"), "kappa"])  # c3: both null, one category only
    assert k.loc[("Ada", "Dee"), "note"] == "undefined: both used only one category"
    assert k.loc[("Bob", "Dee"), "clips_both"] == 0 and k.loc[("Bob", "Dee"), "note"] == "no clip labelled by both"
    d = disagreements(v, s.label_disputes(DS))
    assert set(d["clip_id"]) == {"c1", "c2"}
    assert d.set_index("clip_id").loc["c2", "votes"] == "Ada: bad · Bob: null"
    # A dispute lists its clip; settling it hides the clip until a newer vote.
    s.raise_dispute(DS, "c4", "Ada")
    assert "c4" in set(disagreements(v, s.label_disputes(DS))["clip_id"])
    c2 = s.clip_in_force(DS, "c2")[0]["id"]
    assert s.settle_clip(DS, "c2", "Cy", base_event=c2).applied
    assert s.settle_clip(DS, "c4", "Cy", base_event=s.clip_in_force(DS, "c4")[0]["id"], label="bad").applied
    d = disagreements(votes(s.annotator_labels(DS)), s.label_disputes(DS))
    assert set(d["clip_id"]) == {"c1"}
    s.add_label_event(DS, "c2", "unsure", annotator="Bob")  # a newer vote that still differs: back in the list
    d = disagreements(votes(s.annotator_labels(DS)), s.label_disputes(DS))
    assert set(d["clip_id"]) == {"c1", "c2"}


def test_per_annotator_export(tmp_path: Path) -> None:
    s = _store(tmp_path)
    df = annotator_labels(s, DS)
    assert list(df.columns) == ANNOTATOR_COLUMNS
    whole = df[df["t1_s"].isna()]
    assert len(whole) == 8  # c1: Ada, Bob, Cy; c2: Ada, Bob; c3: Ada; c4: Ada, Bob
    assert list(whole[whole["clip_id"] == "c1"]["annotator"]) == ["Ada", "Bob", "Cy"]
    assert whole.set_index(["clip_id", "annotator"]).loc[("c1", "Cy"), "activity"] == "squat"
    path = write_table(df, tmp_path / "per_annotator.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(ANNOTATOR_COLUMNS)
    assert annotator_labels(Store(tmp_path / "none.db"), DS).empty
