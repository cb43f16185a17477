"""Curation labels to and from files: round trips, the per-window rule, import checks, history, clips.csv, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fimad_factory import make_fimad, read_rows, write_rows

from mujo.cli import main
from mujo.curation import label_windows as lw
from mujo.curation.label_export import CLIP_COLUMNS, clip_labels, export_labels, label_history
from mujo.curation.label_import import LabelImportError, import_labels
from mujo.fimad import label_column
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.windows import build_index
from mujo.store import Store, dataset_key

KEY = "/data/fimad-demo"
SAME = ["clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created"]


def _seed(store: Store, key: str = KEY) -> dict[str, int]:
    """Superseded, ranged, undone and tricky-text labels (notes CSV and pandas like to mangle)."""
    ids = {"c1_null": store.add_label_event(key, "c1", "null", annotator="ann")}
    ids["c1_squat"] = store.add_label_event(key, "c1", "activity", activity="squat", annotator="ann",
                                            note='Squats, then "jump" squats')
    ids["c1_bad"] = store.add_label_event(key, "c1", "bad", t0_s=2.0, t1_s=4.25, note="two\nlines, comma")
    ids["c2"] = store.add_label_event(key, "007", "unsure", annotator="007", note="null")
    ids["c3"] = store.add_label_event(key, "c3", "activity", note="NaN")
    ids["c4"] = store.add_label_event(key, "c4", "bad")
    store.undo_label_event(ids["c4"])
    ids["c5"] = store.add_label_event(key, "c5", "null", t0_s=0.5, t1_s=1.5, annotator="Гантели",
                                      note="💪🏽 <b>x</b>")
    store.add_label_event("other", "c1", "bad")
    return ids


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    norm = [df[SAME].astype(object).where(df[SAME].notna(), None).to_dict("records") for df in (a, b)]
    assert norm[0] == norm[1]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_round_trip_and_idempotent_reimport(tmp_path: Path, fmt: str) -> None:
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    _seed(a)
    path, n = export_labels(a, KEY, tmp_path / f"labels.{fmt}")
    assert n == 5 and len(a.current_labels(KEY)) == 5
    report = import_labels(b, KEY, path)
    assert (report.added, report.unchanged) == (5, 0) and len(report.event_ids) == 5
    _same(a.current_labels(KEY), b.current_labels(KEY))
    again = import_labels(b, KEY, path)
    assert (again.added, again.unchanged) == (0, 5) and len(b.label_events(KEY)) == 5
    assert import_labels(a, KEY, path).added == 0  # its own export changes nothing in store A either
    assert list(clip_labels(b, KEY).columns) == CLIP_COLUMNS


def test_export_without_store_creates_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "none.sqlite")
    path, n = export_labels(store, KEY, tmp_path / "x.csv")
    assert n == 0 and path.read_text().startswith("dataset,clip_id") and not store.path.exists()
    report = import_labels(store, KEY, path, dry_run=True)
    assert report.added == 0 and not store.path.exists()
    for fmt in ("jsonl", "parquet"):
        path, _ = export_labels(store, KEY, tmp_path / f"x.{fmt}", history=fmt == "parquet")
        assert import_labels(store, KEY, path, dry_run=True).rows == 0


def _windows_frame(labels: list[tuple], **kw) -> pd.DataFrame:
    df = pd.DataFrame(labels, columns=["clip_id", "t0_s", "t1_s", "label", "activity", "id"])
    index = build_index(["a", "b", "c", "d"], np.array([500, 300, 100, 100]), size=100, hop=50, trim=0.0)
    return lw.window_labels(df, index, 50.0, dataset="ds", **kw)  # windows: 2 s long, 1 s apart


def test_window_rule_on_hand_made_ranges() -> None:
    out = _windows_frame([
        ("a", 0.0, 2.9, "null", None, 1),    # window 0 [0,2): 100 %; window 1 [1,3): 95 %; window 2 [2,4): 45 %
        ("a", 3.0, None, "bad", None, 2),    # open end: windows 2 (exactly half: labelled) to 8
        ("b", 0.0, None, "activity", "squat", 3),
        ("b", 0.0, 2.0, "unsure", None, 4),  # ties the whole-clip label on window 0: the later event wins
        ("c", 0.0, 2.0, "bad", None, 5),
        ("c", 0.0, None, "null", None, 6),   # later whole-clip label wins the tie over the earlier range
        ("d", 0.0, 0.8, "null", None, 7),    # two ranges of 40 % each: no label (overlaps never add up)
        ("d", 1.2, 2.0, "bad", None, 8),
    ])
    got = {(r.clip_id, r.window): (r.label, r.activity, r.coverage, r.event_id) for r in out.itertuples()}
    assert got[("a", 0)] == ("null", None, 1.0, 1)
    assert got[("a", 1)] == ("null", None, 0.95, 1)
    assert got[("a", 2)] == ("bad", None, 0.5, 2)
    assert [got[("a", w)][0] for w in range(3, 9)] == ["bad"] * 6
    assert got[("b", 0)][:1] == ("unsure",) and got[("b", 1)][:2] == ("activity", "squat")
    assert got[("c", 0)] == ("null", None, 1.0, 6)
    assert ("d", 0) not in got
    assert list(out.columns) == lw.WINDOW_COLUMNS and (out["dataset"] == "ds").all()
    assert out.loc[0, ["start_s", "end_s"]].tolist() == [0.0, 2.0]
    every = _windows_frame([("a", 0.0, 0.5, "null", None, 1)], all_windows=True)
    assert len(every) == 9 + 5 + 1 + 1 and set(every["label"]) == {""}  # 25 % is not enough


def test_import_errors_name_file_and_row_and_write_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.add_label_event(KEY, "c1", "null")
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,t0_s,t1_s,label\nc1,0,,activity\nc1,0,,maybe\nc2,3,2,null\nc3,abc,,null\n"
                   "ghost,0,,null\nc1,1,9,bad\nc1,0,,null\nc1,,,bad\n,0,,null\n", encoding="utf-8")
    with pytest.raises(LabelImportError) as err:
        import_labels(store, KEY, bad, durations={"c1": 4.0, "c2": 4.0, "c3": 4.0})
    problems = err.value.problems
    assert all(p.startswith(f"{bad}: row ") for p in problems)
    text = str(err.value)
    for needle in ("row 2: label 'maybe'", "row 3: empty or inverted range", "row 4: t0_s 'abc' is not a number",
                   "row 5: clip id 'ghost' is not in the dataset", "row 6: t1_s=9.0 is after the end",
                   "row 9: clip_id is empty"):
        assert needle in text
    assert len(problems) == 6 and len(store.label_events(KEY)) == 1  # rows 1, 7 and 8 were fine: still nothing
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"clip_id": "c1", "label": "null"}\n\n{"clip_id": "c1", "label": "nope"}\n', encoding="utf-8")
    with pytest.raises(LabelImportError, match=r"bad.jsonl: line 3: label 'nope'"):
        import_labels(store, KEY, lines)
    path, _ = export_labels(store, KEY, tmp_path / "h.csv", history=True)
    with pytest.raises(ValueError, match="history export"):
        import_labels(store, KEY, path)
    with pytest.raises(ValueError, match="extension"):
        import_labels(store, KEY, tmp_path / "labels.txt")


def test_import_within_file_and_annotator(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"clip_id": "c1", "label": "null"},
        {"clip_id": "c1", "label": "null"},  # same as the row before: unchanged
        {"clip_id": "c1", "label": "activity", "activity": "lunge", "annotator": "bo"},
        {"clip_id": "c2", "label": "bad", "t0_s": 1, "t1_s": 2.5}]) + "\n", encoding="utf-8")
    dry = import_labels(store, KEY, f, annotator="al", dry_run=True)
    assert (dry.added, dry.unchanged, dry.dry_run) == (3, 1, True) and not store.path.exists()
    report = import_labels(store, KEY, f, annotator="al")
    assert (report.added, report.unchanged) == (3, 1)
    cur = store.current_labels(KEY).set_index("clip_id")
    assert cur.loc["c1", ["label", "activity", "annotator"]].tolist() == ["activity", "lunge", "bo"]
    assert cur.loc["c2", ["t0_s", "t1_s", "annotator"]].tolist() == [1.0, 2.5, "al"]


def test_history_before_and_after(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    a = store.add_label_event(KEY, "c1", "null")
    b = store.add_label_event(KEY, "c1", "activity", activity="squat")
    ub = store.undo_label_event(b)
    ua = store.undo_label_event(a)
    x = store.add_label_event(KEY, "c2", "bad", t0_s=1, t1_s=2)
    y = store.add_label_event(KEY, "c2", "unsure", t0_s=1, t1_s=2)
    ux = store.undo_label_event(x)  # x was already superseded by y: nothing changes
    h = label_history(store, KEY).set_index("event_id")
    cols = ["kind", "label", "before_label", "before_event_id", "after_label", "after_activity", "after_event_id"]
    assert h.loc[a, cols].tolist() == ["label", "null", None, None, "null", None, a]
    assert h.loc[b, cols].tolist() == ["label", "activity", "null", a, "activity", "squat", b]
    assert h.loc[ub, cols].tolist() == ["undo", "activity", "activity", b, "null", None, a]
    assert h.loc[ua, cols].tolist() == ["undo", "null", "null", a, None, None, None]
    assert h.loc[y, cols].tolist() == ["label", "unsure", "bad", x, "unsure", None, y]
    assert h.loc[ux, ["undo_of", "before_event_id", "after_event_id"]].tolist() == [x, y, y]
    assert len(label_history(store, KEY, "c2")) == 3
    path, n = export_labels(store, KEY, tmp_path / "h.parquet", history=True)
    assert n == 7 and pd.read_parquet(path)["kind"].tolist().count("undo") == 3


def _dataset(tmp_path: Path, with_label: bool) -> Path:
    root = make_fimad(tmp_path / "ds", 5, n_frames=200, with_imu=False)
    if with_label:
        rows = read_rows(root)
        rows[0].append("label")
        for i, r in enumerate(rows[1:]):
            r.append(["", "old", "lunge", "", "keep me"][i])
        write_rows(root, rows)
    return root


@pytest.mark.parametrize("with_label", [True, False])
def test_write_clips(tmp_path: Path, with_label: bool) -> None:
    root = _dataset(tmp_path, with_label)
    before_bytes = (root / "clips.csv").read_bytes()
    before = read_rows(root)
    store = Store(tmp_path / "s.sqlite")
    store.add_label_event(KEY, "clip000", "null")
    store.add_label_event(KEY, "clip001", "activity", activity="squat")
    store.add_label_event(KEY, "clip002", "activity")  # no name: keep the existing label
    store.add_label_event(KEY, "clip003", "bad")
    store.add_label_event(KEY, "clip004", "null", t0_s=1.0, t1_s=2.0)  # part of a clip: skipped
    store.add_label_event(KEY, "ghost", "null")
    report = lw.write_clip_labels(clip_labels(store, KEY), root, backup=True)
    assert report.written and report.backup.read_bytes() == before_bytes
    assert [c for c, _, _ in report.changed] == ["clip000", "clip001"]
    assert (report.kept, report.not_written, report.ranged, report.unknown) == (
        ["clip002"], ["clip003"], ["clip004"], ["ghost"])
    after = read_rows(root)
    col = after[0].index("label")
    assert after[0][:col] == before[0][:col]
    assert [r[:col] for r in after] == [r[:col] for r in before]  # every other column as it was, same order
    expected = ["null_class", "squat", "lunge" if with_label else "", "", "keep me" if with_label else ""]
    assert [r[col] for r in after[1:]] == expected
    text = (root / "clips.csv").read_bytes().decode()
    raw = before_bytes.decode()
    chapters = [r[before[0].index("chapter")] for r in before[1:]]
    assert "two\nlines" in chapters[1] and "crlf\r\ninside" in chapters[2]
    if with_label:  # unchanged rows keep their exact bytes (the tricky chapters' quoting and line breaks)
        assert text.split("clip002", 1)[1] == raw.split("clip002", 1)[1]
    assert FimadDataset(root).clips.loc["clip000", "label"] == "null_class"
    again = lw.write_clip_labels(clip_labels(store, KEY), root)
    assert not again.written and len(again.unchanged) == 2 and "left as it was" in again.summary()


def test_write_clips_keeps_bytes_of_untouched_rows(tmp_path: Path) -> None:
    raw = ('\ufeffclip_id,n_frames,"note",label\n'  # BOM, LF endings, needless quotes, no final newline
           'a,10,"plain",\n'
           'b,010,"x, ""y""\nz",old\n'
           'c,1e1,"c",keep')
    (tmp_path / "clips.csv").write_bytes(raw.encode("utf-8"))
    labels = pd.DataFrame([dict(zip(CLIP_COLUMNS, [KEY, c, 0.0, None, lab, act, "", "", "t", i]))
                           for i, (c, lab, act) in enumerate([("b", "activity", "jumping jack, fast"),
                                                              ("c", "activity", None)])])
    report = lw.write_clip_labels(labels, tmp_path)
    assert report.changed == [("b", "old", "jumping jack, fast")] and report.kept == ["c"]
    assert (tmp_path / "clips.csv").read_bytes().decode("utf-8") == raw.replace(
        'b,010,"x, ""y""\nz",old\n', 'b,010,"x, ""y""\nz","jumping jack, fast"\n')
    (tmp_path / "clips.csv").write_bytes(b"clip_id,n_frames\r\na,10\r\nb,20")
    lw.write_clip_labels(labels.iloc[:1], tmp_path)  # no label column yet: appended, rows otherwise unchanged
    assert (tmp_path / "clips.csv").read_bytes().decode("utf-8") == (
        'clip_id,n_frames,label\r\na,10,\r\nb,20,"jumping jack, fast"')


def test_window_labels_without_labels() -> None:
    index = build_index(["a"], np.array([300]), size=100, hop=50, trim=0.15)
    empty = pd.DataFrame(columns=["clip_id", "t0_s", "t1_s", "label", "activity", "event_id"])
    assert lw.window_labels(empty, index, 50.0).empty
    assert (lw.window_labels(empty, index, 50.0, all_windows=True)["label"] == "").all()
    other = pd.DataFrame([["zz", 0.0, None, "bad", None, 1]], columns=empty.columns)  # a clip not indexed
    assert lw.window_labels(other, index, 50.0).empty


def test_write_clips_refuses_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _dataset(tmp_path, True)
    before = (root / "clips.csv").read_bytes()
    labels = pd.DataFrame([dict(zip(CLIP_COLUMNS, [KEY, "clip000", 0.0, None, "null", None, "", "", "t", 1]))])
    monkeypatch.setattr(label_column.os, "access", lambda path, mode: False)  # root writes anywhere: fake the refusal
    with pytest.raises(lw.ReadOnlyError, match="read-only"):
        lw.write_clip_labels(labels, root, backup=True)
    assert (root / "clips.csv").read_bytes() == before and not (root / "clips.csv.bak").exists()


def test_cli_labels(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = _dataset(tmp_path, True)
    store = str(tmp_path / "s.sqlite")
    key = dataset_key(root)
    assert key == str(root.resolve())
    db = Store(store)
    db.add_label_event(key, "clip000", "null", annotator="ann")
    db.add_label_event(key, "clip001", "bad", t0_s=0.0, t1_s=2.0)
    out = tmp_path / "out"
    assert main(["labels", "export", str(root), str(out / "l.csv"), "--store", store]) == 0
    assert "wrote 2 labelled ranges" in capsys.readouterr().out
    assert main(["labels", "export", str(root), str(out / "w.jsonl"), "--per", "window", "--store", store]) == 0
    windows = [json.loads(line) for line in (out / "w.jsonl").read_text().splitlines()]
    assert {w["clip_id"] for w in windows} == {"clip000", "clip001"} and len(windows) == 2  # one window per clip
    assert windows[1]["start_s"] == 0.6 and windows[1]["coverage"] == 0.7
    assert main(["labels", "export", str(root), str(out / "h.parquet"), "--history", "--store", store]) == 0
    votes_store = str(tmp_path / "votes.sqlite")  # ann and bea disagree on clip000
    Store(votes_store).add_label_event(key, "clip000", "null", annotator="ann")
    Store(votes_store).add_label_event(key, "clip000", "activity", annotator="bea")
    Store(votes_store).add_label_event(key, "clip001", "bad", t0_s=0.0, t1_s=2.0)
    capsys.readouterr()
    assert main(["labels", "export", str(root), str(out / "a.csv"), "--per", "annotator", "--store",
                 votes_store]) == 0
    assert "wrote 3 annotator labels" in capsys.readouterr().out
    votes = pd.read_csv(out / "a.csv", keep_default_na=False)  # "null" is a label, not a missing value
    assert sorted(zip(votes["clip_id"], votes["annotator"], votes["label"])) == [
        ("clip000", "ann", "null"), ("clip000", "bea", "activity"), ("clip001", "", "bad")]
    assert main(["labels", "export", str(root), str(out / "l.txt"), "--store", store]) == 2
    assert main(["labels", "export", str(tmp_path / "nope"), str(out / "w.csv"), "--per", "window"]) == 1
    capsys.readouterr()

    store2 = str(tmp_path / "s2.sqlite")
    assert main(["labels", "import", str(root), str(out / "l.csv"), "--store", store2, "--dry-run"]) == 0
    assert "would add 2" in capsys.readouterr().out and not Path(store2).exists()
    assert main(["labels", "import", str(root), str(out / "l.csv"), "--store", store2]) == 0
    assert main(["labels", "import", str(root), str(out / "l.csv"), "--store", store2]) == 0
    assert "added 0 label events, 2 unchanged" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("clip_id,label\nclip999,null\n", encoding="utf-8")
    assert main(["labels", "import", str(root), str(bad), "--store", store2]) == 1
    assert f"{bad}: row 1: clip id 'clip999' is not in the dataset" in capsys.readouterr().err

    assert main(["labels", "write-clips", str(root), "--backup", "--store", store]) == 0
    assert "1 labels changed" in capsys.readouterr().out and (root / "clips.csv.bak").exists()
    assert FimadDataset(root).clips.loc["clip000", "label"] == "null_class"
    db.undo_label_event(1)
    assert main(["labels", "history", str(root), "--clip", "clip000", "--store", store]) == 0
    shown = capsys.readouterr().out
    assert "undo 1" in shown and "null" in shown
    assert main(["labels", "history", "no-such-key", "--store", store]) == 0
    assert "no label events" in capsys.readouterr().out
    assert main(["labels", "import", str(tmp_path / "moved" / "ds"), str(out / "l.csv"), "--store", store2]) == 1
    assert "is not a folder" in capsys.readouterr().err
    db.add_label_event("test-fimad", "clip003", "bad")  # labelled under the dataset's name, not its path
    assert main(["labels", "export", str(root), str(out / "n.csv"), "--store", store2]) == 0
    assert main(["labels", "export", str(root), str(out / "n.csv"), "--store", store, "--key", "nothing"]) == 0
    assert "wrote 0 labelled ranges" in capsys.readouterr().out
    db2 = Store(tmp_path / "s3.sqlite")
    db2.add_label_event("test-fimad", "clip003", "bad")
    assert main(["labels", "export", str(root), str(out / "n.csv"), "--store", str(db2.path)]) == 0
    assert "--key test-fimad" in capsys.readouterr().out
