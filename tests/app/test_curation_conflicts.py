"""Curation with several annotators on one store (two AppTest sessions): leased clips are skipped, queues differ
per annotator, a decision overtaken by another annotator's label writes nothing and offers keep theirs / replace /
mark disputed; the Disagreements page shows kappa, the disagreeing clips with their history, settles them and
exports one label per annotator."""

from __future__ import annotations

import re
from pathlib import Path

from app_helpers import app_test

from mujo.store import Store, dataset_key
from mujo.ui.state import StateKeys

PAGE = "pages/6_Curation.py"
DIS = "pages/7_Disagreements.py"
BOB = "<b>Bob</b> :red[x]"  # a name that Markdown or HTML would render: shown as text


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _open(name: str, query: dict[str, str] | None = None, page: str = PAGE):
    at = app_test(page, query).run()
    _ok(at)
    at.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input(name).run()
    _ok(at)
    return at


def _key(env: dict[str, Path]) -> str:
    return dataset_key(env["data"])


def test_a_second_annotator_skips_the_leased_clip_and_walks_another_order(app_env: dict[str, Path]) -> None:
    ada = _open("Ada")
    a_clip = ada.session_state[StateKeys.CUR_CLIP]
    leases = Store().active_leases(_key(app_env))
    assert leases[a_clip].holder == "Ada"
    bob = _open("Bob")
    b_clip = bob.session_state[StateKeys.CUR_CLIP]
    assert b_clip != a_clip
    assert Store().active_leases(_key(app_env))[b_clip].holder == "Bob"
    # the same clips, each annotator's order within equal NULL scores
    assert sorted(ada.session_state[StateKeys.CUR_QUEUE]) == sorted(bob.session_state[StateKeys.CUR_QUEUE])
    assert ada.session_state[StateKeys.CUR_QUEUE] != bob.session_state[StateKeys.CUR_QUEUE]
    # Next skips the clip the other holds; moving on releases the previous lease.
    for _ in range(3):
        bob.button(key=StateKeys.CUR_NEXT).click().run()
        _ok(bob)
        assert bob.session_state[StateKeys.CUR_CLIP] != a_clip
    leases = Store().active_leases(_key(app_env))
    assert [c for c, lease in leases.items() if lease.holder == "Bob"] == [bob.session_state[StateKeys.CUR_CLIP]]
    # Bob opens Ada's clip by its link: he is told she has it open.
    bob2 = _open("Bob", {"clip": a_clip})
    assert bob2.session_state[StateKeys.CUR_CLIP] == a_clip
    assert any("Ada has this clip open" in _unescape(i.value) for i in bob2.info)


def _overtaken(app_env: dict[str, Path]):
    """Ada opens a clip; Bob labels it Bad meanwhile; Ada decides NULL: overtaken."""
    ada = _open("Ada")
    clip = ada.session_state[StateKeys.CUR_CLIP]
    bob = _open(BOB, {"clip": clip})
    bob.button(key=f"{StateKeys.CUR_DECIDE}.bad").click().run()
    _ok(bob)
    ada.button(key=f"{StateKeys.CUR_DECIDE}.null").click().run()
    _ok(ada)
    return ada, clip


def _in_force(env: dict[str, Path]) -> dict[str, tuple[str, str]]:
    cur = Store().current_labels(_key(env))
    return {c: (lab, who) for c, lab, who in zip(cur["clip_id"], cur["label"], cur["annotator"])}


def test_an_overtaken_decision_writes_nothing_and_says_who(app_env: dict[str, Path]) -> None:
    ada, clip = _overtaken(app_env)
    assert ada.session_state[StateKeys.CUR_CLIP] == clip  # stays on the clip
    assert _in_force(app_env) == {clip: ("bad", BOB)}
    assert len(Store().label_events(_key(app_env))) == 1
    (warning,) = [w.value for w in ada.warning if "Not labelled" in w.value]
    text = _unescape(warning)
    assert f"{BOB} changed {clip}" in text and "labelled it Bad" in text and "Your decision (NULL)" in text
    assert "\\<b\\>Bob\\</b\\> \\:red\\[x\\]" in warning  # escaped: shown as text
    for key in (StateKeys.CUR_KEEP, StateKeys.CUR_REPLACE, StateKeys.CUR_DISPUTE):
        assert ada.button(key=key)


def test_keep_theirs(app_env: dict[str, Path]) -> None:
    ada, clip = _overtaken(app_env)
    ada.button(key=StateKeys.CUR_KEEP).click().run()
    _ok(ada)
    assert _in_force(app_env) == {clip: ("bad", BOB)} and len(Store().label_events(_key(app_env))) == 1
    assert ada.session_state[StateKeys.CUR_CLIP] != clip and ada.session_state[StateKeys.CUR_CONFLICT] is None
    assert not [w for w in ada.warning if "Not labelled" in w.value]


def test_replace_theirs(app_env: dict[str, Path]) -> None:
    ada, clip = _overtaken(app_env)
    ada.button(key=StateKeys.CUR_REPLACE).click().run()
    _ok(ada)
    assert _in_force(app_env) == {clip: ("null", "Ada")}
    ev = Store().label_event_rows(_key(app_env))
    assert len(ev) == 2 and ev[1]["base_event"] == ev[0]["id"]  # based on Bob's label, which it supersedes
    assert ada.session_state[StateKeys.CUR_CLIP] != clip
    # Undo keeps working: Ada's replacement is taken back, Bob's label is in force again.
    ada.button(key=StateKeys.CUR_UNDO).click().run()
    _ok(ada)
    assert _in_force(app_env) == {clip: ("bad", BOB)}


def test_mark_disputed_and_settle_on_the_disagreements_page(app_env: dict[str, Path]) -> None:
    ada, clip = _overtaken(app_env)
    ada.button(key=StateKeys.CUR_DISPUTE).click().run()
    _ok(ada)
    (d,) = Store().label_disputes(_key(app_env), open_only=True)
    assert d["clip_id"] == clip and d["raised_by"] == "Ada" and "would label it NULL" in d["note"]
    assert _in_force(app_env) == {clip: ("bad", BOB)}
    # A second clip where both labelled, differently: a disagreement without a dispute.
    other = next(c for c in ada.session_state[StateKeys.CUR_QUEUE] if c != clip)
    Store().add_label_event(_key(app_env), other, "null", annotator="Ada")
    Store().add_label_event(_key(app_env), other, "activity", activity="squat", annotator="Cy")
    page = _open("Dee", page=DIS)
    table = next(df.value for df in page.dataframe if "votes" in df.value.columns)
    assert set(table["clip_id"]) == {clip, other}
    row = table.set_index("clip_id").loc[other]
    assert row["votes"] == "Ada: null · Cy: activity: squat" and not row["open_dispute"]
    assert table.set_index("clip_id").loc[clip, "open_dispute"]
    # one label per annotator: Bob's on the disputed clip (Ada's overtaken decision was not written), Ada's and Cy's
    (download,) = page.get("download_button")
    assert "labels-per-annotator.csv (3 rows)" in _unescape(download.proto.label)
    kappa = next(df.value for df in page.dataframe if "kappa" in df.value.columns)
    assert {(r.annotator_a, r.annotator_b) for r in kappa.itertuples()} >= {("Ada", "Cy")}
    # The history of the selected clip, and settling it as Cy's label.
    page.selectbox(key=StateKeys.DIS_CLIP).select(other).run()
    _ok(page)
    hist = next(df.value for df in page.dataframe if "in force after" in df.value.columns)
    assert list(hist["who"]) == ["Cy", "Ada"]
    page.button(key=f"{StateKeys.DIS_SETTLE}.1").click().run()
    _ok(page)
    assert any("Settled" in s.value for s in page.success)
    assert _in_force(app_env)[other] == ("activity", "Dee")
    table = next(df.value for df in page.dataframe if "votes" in df.value.columns)
    assert set(table["clip_id"]) == {clip}
    # The disputed clip: keep the label in force; the list is empty.
    page.selectbox(key=StateKeys.DIS_CLIP).select(clip).run()
    page.button(key=StateKeys.DIS_KEEP).click().run()
    _ok(page)
    assert Store().label_disputes(_key(app_env), open_only=True) == []
    assert any("No clip has conflicting labels" in i.value for i in page.info)
    assert _in_force(app_env)[clip] == ("bad", BOB)


def test_disagreements_page_without_labels(app_env: dict[str, Path]) -> None:
    at = app_test(DIS).run()
    _ok(at)
    assert any("No clip has conflicting labels" in i.value for i in at.info)
    assert any("at least two annotators" in c.value for c in at.caption)


def test_leaving_the_curation_page_gives_the_clip_back(app_env: dict[str, Path]) -> None:
    ada = _open("Ada")
    clip = ada.session_state[StateKeys.CUR_CLIP]
    assert Store().active_leases(_key(app_env))[clip].holder == "Ada"
    ada.switch_page("pages/1_Browse.py").run()
    _ok(ada)
    assert clip not in Store().active_leases(_key(app_env))  # free for the others at once, not when it expires
    bob = _open("Bob", {"clip": clip})
    assert bob.session_state[StateKeys.CUR_CLIP] == clip
    assert not any("Ada has this clip open" in _unescape(i.value) for i in bob.info)
    assert Store().active_leases(_key(app_env))[clip].holder == "Bob"


def test_annotators_arriving_together_do_not_share_the_first_clip(app_env: dict[str, Path]) -> None:
    ada, bob = app_test(PAGE).run(), app_test(PAGE).run()  # both open the page before either has typed a name
    _ok(ada)
    _ok(bob)
    first = ada.session_state[StateKeys.CUR_CLIP]
    assert bob.session_state[StateKeys.CUR_CLIP] == first
    ada.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input("Ada").run()
    _ok(ada)
    bob.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input("Bob").run()
    _ok(bob)
    a_clip, b_clip = ada.session_state[StateKeys.CUR_CLIP], bob.session_state[StateKeys.CUR_CLIP]
    assert a_clip != b_clip  # the one who came second goes on to a free clip instead of labelling the same one
    leases = Store().active_leases(_key(app_env))
    assert leases[a_clip].holder == "Ada" and leases[b_clip].holder == "Bob"
    assert not any("has this clip open" in _unescape(i.value) for i in bob.info)
