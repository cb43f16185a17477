"""Curation page: the annotator guard, one-key decisions that write label events and move on, undo, previous/next,
the queue filters, time ranges, bulk labelling of an Embedding Space selection, progress, and text kept literal."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from app_helpers import LABELS, app_test, texts
from job_helpers import inline_jobs  # noqa: F401  (the fixture)

from mujo.store import Store, dataset_key
from mujo.ui.state import StateKeys

PAGE = "pages/6_Curation.py"
SCRIPT = "<script>alert(1)</script>"  # clip004's chapter (tests/fimad_factory.py TRICKY_TEXTS)


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _unescape(md: str) -> str:
    return re.sub(r"\\(.)", r"\1", md)


def _markdown(at) -> list[str]:
    return [_unescape(m.value) for m in at.markdown]


def _decide(at, label: str):
    return at.button(key=f"{StateKeys.CUR_DECIDE}.{label}").click().run()


def _open(annotator: str | None = "Ada", query: dict[str, str] | None = None):
    """The page run once, with the annotator typed in the sidebar when given."""
    at = app_test(PAGE, query).run()
    _ok(at)
    if annotator is not None:
        at.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input(annotator).run()
        _ok(at)
    return at


def _key(env: dict[str, Path]) -> str:
    return dataset_key(env["data"])


def _current(env: dict[str, Path]) -> dict[str, str]:
    """clip_id -> label in force (whole clip) in the store."""
    labels = Store().current_labels(_key(env))
    return dict(zip(labels["clip_id"], labels["label"]))


def _position(at) -> str:
    return next(m for m in _markdown(at) if m.startswith("**Clip ") or m.startswith("**Not in"))


def test_an_annotator_is_required_before_labelling(app_env: dict[str, Path]) -> None:
    at = _open(annotator=None)
    assert any("Annotator" in w.value for w in at.warning)
    for label in ("null", "activity", "unsure", "bad"):
        assert at.button(key=f"{StateKeys.CUR_DECIDE}.{label}").disabled
    assert at.button(key=StateKeys.CUR_UNDO).disabled
    assert not at.button(key=StateKeys.CUR_NEXT).disabled  # browsing the queue needs no name
    at.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input("Ada").run()
    assert not at.warning
    assert not at.button(key=f"{StateKeys.CUR_DECIDE}.null").disabled


def test_a_decision_writes_one_event_and_advances(app_env: dict[str, Path]) -> None:
    at = _open()
    queue = list(at.session_state[StateKeys.CUR_QUEUE])
    assert sorted(queue) == [f"clip{i:03d}" for i in range(8)]  # default status filter: every clip is unlabelled
    first = queue[0]
    assert at.session_state[StateKeys.CUR_CLIP] == first and at.query_params["clip"] == first
    assert _position(at).startswith(f"**Clip 1 of 8** · {first}")
    at.text_input(key=StateKeys.CUR_NOTE).input("talking to the camera").run()
    _decide(at, "null")
    _ok(at)
    ev = Store().label_events(_key(app_env))
    assert len(ev) == 1
    row = ev.iloc[0]
    assert (row["clip_id"], row["label"], row["annotator"], row["note"]) == (first, "null", "Ada",
                                                                            "talking to the camera")
    assert row["t0_s"] == 0.0, row  # a whole-clip label: from the start ...
    assert row["t1_s"] is None or np.isnan(row["t1_s"]), row  # ... to the end (no end time)
    assert at.session_state[StateKeys.CUR_CLIP] == queue[1]  # moved on
    assert at.query_params["clip"] == queue[1]
    assert _position(at).startswith(f"**Clip 2 of 8** · {queue[1]}")
    assert at.text_input(key=StateKeys.CUR_NOTE).value == ""  # the note belonged to that decision
    assert any(f"{first} labelled NULL" in _unescape(s.value) for s in at.success)
    # the queue is a snapshot: the labelled clip keeps its place and Previous shows it with its label
    at.button(key=StateKeys.CUR_PREV).click().run()
    assert at.session_state[StateKeys.CUR_CLIP] == first
    assert "NULL" in _markdown(at)[_markdown(at).index("**Current label**") + 1]
    assert "status: null" in _position(at)


def test_activity_unsure_and_bad_decisions(app_env: dict[str, Path]) -> None:
    at = _open()
    queue = list(at.session_state[StateKeys.CUR_QUEUE])
    own = dict(zip([f"clip{i:03d}" for i in range(8)], LABELS))
    # the activity defaults to the clip's own label; the options are the dataset's labels
    assert at.selectbox(key=StateKeys.CUR_ACTIVITY).value == own[queue[0]]
    assert at.selectbox(key=StateKeys.CUR_ACTIVITY).options == ["burpee", "lunge", "plank", "squat"]
    _decide(at, "activity")
    assert at.selectbox(key=StateKeys.CUR_ACTIVITY).value == own[queue[1]]  # the next clip's default
    at.selectbox(key=StateKeys.CUR_ACTIVITY).set_value("plank").run()
    _decide(at, "activity")
    _decide(at, "unsure")
    _decide(at, "bad")
    _ok(at)
    ev = Store().label_events(_key(app_env))
    assert list(ev["clip_id"]) == queue[:4]
    assert list(ev["label"]) == ["activity", "activity", "unsure", "bad"]
    assert list(ev["activity"])[:2] == [own[queue[0]], "plank"]
    assert ev["activity"][2:].isna().all()
    assert _position(at).startswith("**Clip 5 of 8**")


def test_an_activity_the_dataset_lacks(app_env: dict[str, Path]) -> None:
    # A name typed into the selectbox (accept_new_options) is its value; AppTest cannot type, so it is seeded.
    at = app_test(PAGE, {"clip": "clip003"})
    at.session_state[StateKeys.CUR_ANNOTATOR] = "Ada"
    at.session_state[StateKeys.CUR_ACTIVITY_FOR] = "clip003"
    at.session_state[StateKeys.CUR_ACTIVITY] = "jumping jacks"
    at.run()
    _ok(at)
    assert at.selectbox(key=StateKeys.CUR_ACTIVITY).options[0] == "jumping jacks"
    _decide(at, "activity")
    assert _current(app_env) == {"clip003": "activity"}
    assert Store().label_events(_key(app_env))["activity"].tolist() == ["jumping jacks"]


def test_undo_removes_the_label(app_env: dict[str, Path]) -> None:
    at = _open()
    first, second = at.session_state[StateKeys.CUR_QUEUE][:2]
    _decide(at, "null")
    assert _current(app_env) == {first: "null"}
    # on the next clip (nothing of Ada's there), Z undoes the last decision and goes back to its clip
    at.button(key=StateKeys.CUR_UNDO).click().run()
    _ok(at)
    assert _current(app_env) == {}
    assert at.session_state[StateKeys.CUR_CLIP] == first
    assert _markdown(at)[_markdown(at).index("**Current label**") + 1] == "Unlabelled"
    # on a clip labelled twice, undo takes back the newest label: the older one is in force again
    _decide(at, "bad")
    at.button(key=StateKeys.CUR_PREV).click().run()
    _decide(at, "unsure")
    at.button(key=StateKeys.CUR_PREV).click().run()
    at.button(key=StateKeys.CUR_UNDO).click().run()
    _ok(at)
    assert _current(app_env) == {first: "bad"}
    assert at.session_state[StateKeys.CUR_CLIP] == first
    # the clip's history, newest first: who, what, and the label before and after each event (drawn once opened)
    assert not [d for d in at.dataframe if "before" in d.value.columns]
    at.session_state[StateKeys.CUR_HISTORY_OPEN] = True
    at.run()
    hist = next(d.value for d in at.dataframe if "before" in d.value.columns)
    assert hist["event"].str.startswith("undo of").tolist() == [True, False, False, True, False]
    assert hist["after"].tolist() == ["Bad", "Unsure", "Bad", "no label", "NULL"]
    assert hist["before"].tolist() == ["Unsure", "Bad", "no label", "NULL", "no label"]
    assert set(hist["who"]) == {"Ada"} and set(hist["range"]) == {"whole clip"}
    # another annotator's label is not undone by Ada
    Store().add_label_event(_key(app_env), second, "activity", activity="squat", annotator="Bob")
    at.button(key=StateKeys.CUR_NEXT).click().run()
    at.button(key=StateKeys.CUR_UNDO).click().run()
    assert any("Nothing of yours to undo" in _unescape(i.value) for i in at.info)
    assert _current(app_env) == {first: "bad", second: "activity"}
    kinds = Store().label_events(_key(app_env))["undo_of"].notna().sum()
    assert kinds == 2  # two undo events, appended (the log is never edited)


def test_previous_and_next(app_env: dict[str, Path]) -> None:
    at = _open(annotator=None)
    queue = list(at.session_state[StateKeys.CUR_QUEUE])
    assert at.button(key=StateKeys.CUR_PREV).disabled and at.button(key=StateKeys.CUR_PREV_ARROW).disabled
    at.button(key=StateKeys.CUR_NEXT).click().run()
    at.button(key=StateKeys.CUR_NEXT_ARROW).click().run()
    assert at.session_state[StateKeys.CUR_CLIP] == queue[2]
    at.button(key=StateKeys.CUR_PREV_ARROW).click().run()
    assert at.session_state[StateKeys.CUR_CLIP] == queue[1]
    for _ in range(len(queue) - 2):
        at.button(key=StateKeys.CUR_NEXT).click().run()
    _ok(at)
    assert at.session_state[StateKeys.CUR_CLIP] == queue[-1]
    assert at.button(key=StateKeys.CUR_NEXT).disabled
    assert _position(at).startswith("**Clip 8 of 8**")
    assert len(at.get("iframe")) == 1  # the synchronised player of Browse shows the clip
    assert not Store().path.exists()  # browsing writes nothing (not even an empty store)


def test_the_queue_filters(app_env: dict[str, Path]) -> None:
    at = _open()
    assert len(at.session_state[StateKeys.CUR_QUEUE]) == 8
    at.multiselect(key=StateKeys.CUR_SPLITS).set_value(["val"]).run()
    _ok(at)
    queue = at.session_state[StateKeys.CUR_QUEUE]
    assert sorted(queue) == ["clip000", "clip001", "clip006", "clip007"]  # videos 0 and 3 are val
    assert at.session_state[StateKeys.CUR_CLIP] in queue
    at.multiselect(key=StateKeys.CUR_VIDEOS).set_value(["vid3"]).run()
    assert sorted(at.session_state[StateKeys.CUR_QUEUE]) == ["clip006", "clip007"]
    at.multiselect(key=StateKeys.CUR_VIDEOS).set_value([]).run()
    at.multiselect(key=StateKeys.CUR_SPLITS).set_value([]).run()
    # the queue is ranked by the combined NULL score, and the minimum score keeps only the high ones
    scores = at.session_state[StateKeys.CUR_QUEUE]
    at.slider(key=StateKeys.CUR_MIN_SCORE).set_value(0.5).run()
    high = at.session_state[StateKeys.CUR_QUEUE]
    assert 0 < len(high) < 8 and high == scores[: len(high)]
    at.slider(key=StateKeys.CUR_MIN_SCORE).set_value(0.0).run()
    # status: a labelled clip leaves an "unlabelled" queue on the next rebuild, and a "null" queue holds it
    first = at.session_state[StateKeys.CUR_CLIP]
    _decide(at, "null")
    assert first in at.session_state[StateKeys.CUR_QUEUE]  # kept until a rebuild
    at.button(key=StateKeys.CUR_REFRESH).click().run()
    assert first not in at.session_state[StateKeys.CUR_QUEUE] and len(at.session_state[StateKeys.CUR_QUEUE]) == 7
    at.multiselect(key=StateKeys.CUR_STATUS).set_value(["null"]).run()
    _ok(at)
    assert at.session_state[StateKeys.CUR_QUEUE] == [first]
    assert at.session_state[StateKeys.CUR_CLIP] == first
    at.multiselect(key=StateKeys.CUR_STATUS).set_value(["bad"]).run()
    _ok(at)
    assert at.session_state[StateKeys.CUR_QUEUE] == []
    assert any("No clip matches" in i.value for i in at.info)


def test_a_time_range_label_stays_on_the_clip(app_env: dict[str, Path]) -> None:
    at = _open()
    first = at.session_state[StateKeys.CUR_CLIP]
    at.toggle(key=StateKeys.CUR_RANGE).set_value(True).run()
    at.number_input(key=StateKeys.CUR_T0).set_value(1.0).run()
    at.number_input(key=StateKeys.CUR_T1).set_value(2.5).run()
    _decide(at, "bad")
    _ok(at)
    ev = Store().label_events(_key(app_env)).iloc[0]
    assert (ev["clip_id"], ev["label"], ev["t0_s"], ev["t1_s"]) == (first, "bad", 1.0, 2.5)
    assert at.session_state[StateKeys.CUR_CLIP] == first  # a range does not move on
    assert "status: partly labelled" in _position(at)
    shown = _markdown(at)[_markdown(at).index("**Current label**") + 1]
    assert shown.startswith("**Bad** (1 s – 2.5 s · by Ada")
    # an inverted range is refused with the store's reason, nothing written
    at.number_input(key=StateKeys.CUR_T1).set_value(0.5).run()
    _decide(at, "null")
    assert any("Not labelled" in _unescape(e.value) for e in at.error)
    assert len(Store().label_events(_key(app_env))) == 1


def test_bulk_labelling_of_a_selection(app_env: dict[str, Path]) -> None:
    at = app_test(PAGE)
    at.session_state[StateKeys.CUR_SELECTION] = ["clip001", "clip003", "clip999"]
    at.run()
    _ok(at)
    assert any("Label the 2 clips selected in the Embedding Space" in m for m in _markdown(at))
    run = at.button(key=StateKeys.CUR_BULK_RUN)
    assert run.disabled  # no annotator, no confirmation
    at.sidebar.text_input(key=StateKeys.CUR_ANNOTATOR).input("Ada").run()
    at.selectbox(key=StateKeys.CUR_BULK_LABEL).set_value("activity").run()
    at.selectbox(key=StateKeys.CUR_BULK_ACTIVITY).set_value("plank").run()
    assert at.button(key=StateKeys.CUR_BULK_RUN).disabled  # still unconfirmed
    at.checkbox(key=StateKeys.CUR_BULK_CONFIRM).check().run()
    at.button(key=StateKeys.CUR_BULK_RUN).click().run()
    _ok(at)
    ev = Store().label_events(_key(app_env))
    assert sorted(ev["clip_id"]) == ["clip001", "clip003"]
    assert set(ev["label"]) == {"activity"} and set(ev["activity"]) == {"plank"} and set(ev["annotator"]) == {"Ada"}
    assert ev["t0_s"].eq(0).all() and ev["t1_s"].isna().all()
    assert at.checkbox(key=StateKeys.CUR_BULK_CONFIRM).value is False  # a second bulk needs a new confirmation
    assert any("2 of 8 clips labelled" in p.proto.text for p in at.get("progress"))
    # the selection can also be the queue, and forgotten
    at.toggle(key=StateKeys.CUR_ONLY_SELECTION).set_value(True).run()
    at.multiselect(key=StateKeys.CUR_STATUS).set_value([]).run()
    assert sorted(at.session_state[StateKeys.CUR_QUEUE]) == ["clip001", "clip003"]
    at.button(key=StateKeys.CUR_BULK_CLEAR).click().run()
    _ok(at)
    assert at.session_state[StateKeys.CUR_SELECTION] is None
    assert not any("selected in the Embedding Space" in m for m in _markdown(at))
    assert len(at.session_state[StateKeys.CUR_QUEUE]) == 8


def test_progress_per_video_and_overall(app_env: dict[str, Path]) -> None:
    key, s = _key(app_env), Store()
    s.add_label_event(key, "clip000", "null", annotator="Bob")
    s.add_label_event(key, "clip001", "activity", activity="lunge", annotator="Bob")
    s.add_label_event(key, "clip004", "bad", t0_s=0.5, t1_s=1.0, annotator="Bob")  # part of a clip counts too
    undone = s.add_label_event(key, "clip006", "unsure", annotator="Bob")
    s.undo_label_event(undone, annotator="Bob")  # an undone label does not
    s.add_label_event("another dataset", "clip002", "null")  # labels of other datasets do not count
    at = _open(annotator=None)
    assert [p.proto.text for p in at.get("progress")][0] == "3 of 8 clips labelled (38%)"
    assert any("unlabelled: 5 · null: 1 · activity: 1 · unsure: 0 · bad: 0 · partly labelled: 1" in c.value
               for c in at.caption)
    assert not [d for d in at.dataframe if "share" in d.value.columns]  # the table is drawn once opened
    at.session_state[StateKeys.CUR_PROGRESS_OPEN] = True
    at.run()
    per = next(d.value for d in at.dataframe if "share" in d.value.columns).set_index("video_id")
    assert per["labelled"].to_dict() == {"vid0": 2, "vid1": 0, "vid2": 1, "vid3": 0}
    assert per["clips"].to_dict() == {"vid0": 2, "vid1": 2, "vid2": 2, "vid3": 2}
    assert per.loc["vid0", "share"] == 1.0 and per.loc["vid2", "share"] == 0.5
    # the default queue holds the unlabelled clips only
    assert sorted(at.session_state[StateKeys.CUR_QUEUE]) == ["clip002", "clip003", "clip005", "clip006", "clip007"]


def test_html_in_chapter_annotator_and_note_is_shown_literally(app_env: dict[str, Path]) -> None:
    at = _open(annotator="<b>Ada</b>", query={"clip": "clip004"})
    assert at.session_state[StateKeys.CUR_CLIP] == "clip004"
    assert SCRIPT in texts(at)  # the chapter, by the Browse clip view (st.text)
    at.text_input(key=StateKeys.CUR_NOTE).input("**bold** <img src=x onerror=alert(1)>").run()
    _decide(at, "null")
    at.button(key=StateKeys.CUR_PREV).click().run()
    _ok(at)
    for m in at.markdown:  # every Markdown string escapes < and *: nothing becomes HTML or emphasis
        assert not re.search(r"(?<!\\)<", m.value), m.value
    shown = _markdown(at)[_markdown(at).index("**Current label**") + 1]
    assert "by <b>Ada</b>" in shown and "note: **bold** <img src=x onerror=alert(1)>" in shown
    table = at.table[0].value
    assert table.iloc[0]["annotator"] == r"\<b\>Ada\</b\>"  # escaped for st.table's Markdown cells
    for frame in at.dataframe:  # dataframes show text as text; the suggestion's reasons are there
        assert not frame.value.empty


def test_an_unknown_clip_in_the_url(app_env: dict[str, Path]) -> None:
    at = _open(annotator=None, query={"clip": "nope"})
    assert any("There is no clip 'nope'" in _unescape(w.value) for w in at.warning)
    assert at.session_state[StateKeys.CUR_CLIP] == at.session_state[StateKeys.CUR_QUEUE][0]
    assert at.query_params["clip"] == at.session_state[StateKeys.CUR_CLIP]
    # a clip of the dataset that the queue lacks (a labelled one, from a link) is shown, outside the queue
    Store().add_label_event(_key(app_env), "clip002", "null", annotator="Bob")
    at = _open(annotator=None, query={"clip": "clip002"})
    assert at.session_state[StateKeys.CUR_CLIP] == "clip002" and "clip002" not in at.session_state[StateKeys.CUR_QUEUE]
    assert _position(at).startswith("**Not in the queue")
    at.button(key=StateKeys.CUR_NEXT).click().run()
    assert at.session_state[StateKeys.CUR_CLIP] == at.session_state[StateKeys.CUR_QUEUE][0]


def test_the_embedding_selection_hands_over_to_curation(tmp_path: Path, monkeypatch, inline_jobs) -> None:
    """Embedding Space's "Label these N clips" button stores the selected clips and opens Curation, whose signals
    then include the model's prompt and uncertainty signals (text features faked: no MiniLM download; the page's
    UMAP job runs in a thread, where model_env's fast UMAP applies)."""
    from embedding_fixtures import model_env  # noqa: PLC0415

    import mujo.features  # noqa: PLC0415

    def fake_minilm(texts, **_):
        rng = [np.random.default_rng(abs(hash(t)) % 2**32) for t in texts]
        v = np.stack([r.normal(size=384) for r in rng]).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    monkeypatch.setattr(mujo.features, "embed_texts", fake_minilm)
    model_env(tmp_path, monkeypatch)
    at = app_test("pages/2_Embedding_Space.py")
    at.session_state[StateKeys.EMB_LEVEL] = "clip"
    at.session_state[StateKeys.EMB_CHART] = {"selection": {
        "points": [{"curve_number": 0, "point_index": 0}, {"curve_number": 0, "point_index": 1}],
        "point_indices": [0, 1], "box": [], "lasso": []}}
    at.run()
    _ok(at)
    at.button(key=StateKeys.EMB_TO_CURATION).click().run()
    _ok(at)
    selected = at.session_state[StateKeys.CUR_SELECTION]
    assert len(selected) == 2
    assert any("Label the 2 clips selected in the Embedding Space" in m for m in _markdown(at))
    reasons = next(d.value for d in at.dataframe if "reason" in d.value.columns).set_index("signal")["reason"]
    assert not reasons["prompt"].startswith("not available"), reasons["prompt"]


def test_every_decision_and_move_has_its_key(app_env: dict[str, Path]) -> None:
    at = _open(annotator=None)
    keys = {f"{StateKeys.CUR_DECIDE}.null": "n", f"{StateKeys.CUR_DECIDE}.activity": "a",
            f"{StateKeys.CUR_DECIDE}.unsure": "u", f"{StateKeys.CUR_DECIDE}.bad": "b", StateKeys.CUR_NEXT: "j",
            StateKeys.CUR_NEXT_ARROW: "right", StateKeys.CUR_PREV: "k", StateKeys.CUR_PREV_ARROW: "left",
            StateKeys.CUR_UNDO: "z"}
    assert {k: at.button(key=k).proto.shortcut for k in keys} == keys
