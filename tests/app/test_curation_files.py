"""Curation page, files panel: export (CSV, JSON Lines, Parquet; per clip, per window, history) as a download,
import of an uploaded file (checked first; bad rows named, nothing written), and writing clips.csv on request."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from app_helpers import app_test as page_test

from mujo.curation import label_import, label_read
from mujo.curation.label_windows import export_table
from mujo.fimad.dataset import FimadDataset
from mujo.store import Store, dataset_key
from mujo.ui.state import StateKeys

PAGE = "pages/6_Curation.py"
KEEP = ["clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note", "created"]


def app_test(page: str):
    """The Curation page with its files panel open (the panel is drawn only while open)."""
    at = page_test(page)
    at.session_state[StateKeys.CUR_FILES_OPEN] = True
    return at


def test_the_files_panel_is_drawn_only_while_open(labelled: dict[str, Path]) -> None:
    at = page_test(PAGE).run()
    _ok(at)
    assert not at.get("radio") and not at.get("file_uploader")  # closed: nothing of it runs
    at.session_state[StateKeys.CUR_FILES_OPEN] = True
    at.run()
    _ok(at)
    assert [r.label for r in at.get("radio")] == ["Format", "Rows"] and len(at.get("file_uploader")) == 1


def _ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@pytest.fixture()
def labelled(app_env: dict[str, Path]) -> dict[str, Path]:
    """Three whole-clip labels (one with an activity name and a note with markup) and a ranged one."""
    clips = FimadDataset(app_env["data"]).clips.index.astype(str).tolist()
    Store().add_label_events(dataset_key(app_env["data"]), [
        {"clip_id": clips[0], "label": "null", "note": "trainer <b>talks</b>, \"quoted\""},
        {"clip_id": clips[1], "label": "activity", "activity": "squat"},
        {"clip_id": clips[2], "label": "bad"},
        {"clip_id": clips[3], "label": "unsure", "t0_s": 0.5, "t1_s": 1.5}], annotator="Ada")
    app_env["clips"] = clips  # type: ignore[assignment]
    return app_env


def _current(env: dict[str, Path]) -> pd.DataFrame:
    df = Store().current_labels(dataset_key(env["data"]))
    return df[KEEP].sort_values(["clip_id", "t0_s"]).reset_index(drop=True)


def _export(at, fmt: str, per: str) -> tuple[int, bytes]:
    at.radio(key=StateKeys.CUR_IO_FORMAT).set_value(fmt)
    at.radio(key=StateKeys.CUR_IO_PER).set_value(per).run()
    at.button(key=StateKeys.CUR_IO_PREPARE).click().run()
    _ok(at)
    got_fmt, got_per, rows, data = at.session_state[StateKeys.CUR_IO_EXPORT]
    assert (got_fmt, got_per) == (fmt, per)
    button = at.get("download_button")
    label = _plain(button[0].proto.label)  # the label is escaped Markdown (the name comes from the dataset)
    assert len(button) == 1 and f"({rows} rows)" in label
    assert label.endswith(f"-labels-{per}.{fmt} ({rows} rows)")
    return rows, data


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_then_import_into_an_empty_store_gives_the_same_labels(labelled: dict[str, Path], fmt: str) -> None:
    before = _current(labelled)
    at = app_test(PAGE).run()
    rows, data = _export(at, fmt, "clip")
    assert rows == 4
    if fmt == "parquet":
        assert data[:4] == b"PAR1"
    elif fmt == "jsonl":
        assert len([json.loads(line) for line in data.decode().splitlines()]) == 4
    else:
        assert pd.read_csv(io.BytesIO(data))["clip_id"].tolist() == before["clip_id"].tolist()
    Store().path.unlink()  # an empty store: the import must rebuild the labels
    at = app_test(PAGE).run()
    at.file_uploader(key=StateKeys.CUR_IO_UPLOAD).upload(f"mine.{fmt}", data).run()
    _ok(at)
    assert any("would add 4 label events" in _plain(c.value) for c in at.caption)
    at.button(key=StateKeys.CUR_IO_IMPORT).click().run()
    _ok(at)
    assert any("mine." + fmt in _plain(s.value) and "added 4" in _plain(s.value) for s in at.success)
    pd.testing.assert_frame_equal(_current(labelled), before, check_dtype=False)
    assert at.button(key=StateKeys.CUR_IO_IMPORT).disabled  # importing the same file again would add nothing


def test_per_window_and_history_exports(labelled: dict[str, Path]) -> None:
    at = app_test(PAGE).run()
    ds = FimadDataset(labelled["data"])
    rows, data = _export(at, "csv", "window")
    expected = export_table(Store(), dataset_key(labelled["data"]), "window", ds=ds)
    assert rows == len(expected) > 0
    got = pd.read_csv(io.BytesIO(data), keep_default_na=False)
    assert got["label"].tolist() == expected["label"].tolist() and set(got["label"]) <= {"null", "activity", "bad",
                                                                                         "unsure"}
    rows, data = _export(at, "jsonl", "history")
    events = [json.loads(line) for line in data.decode().splitlines()]
    assert rows == len(events) == 4 and all(e["before_label"] is None and e["after_label"] for e in events)


def test_a_bad_file_names_its_rows_and_writes_nothing(labelled: dict[str, Path]) -> None:
    before = _current(labelled)
    bad = "clip_id,label,t0_s,t1_s\nnope,null,,\n" + f"{labelled['clips'][4]},maybe,,\n"
    at = app_test(PAGE).run()
    at.file_uploader(key=StateKeys.CUR_IO_UPLOAD).upload("bad.csv", bad.encode(), "text/csv").run()
    assert not at.exception
    assert any("bad.csv: 2 bad row(s)" in _plain(e.value) for e in at.error)
    code = next(c.proto.code_text for c in at.get("code") if "bad.csv" in c.proto.code_text)
    assert "bad.csv: row 1:" in code and "nope" in code and "bad.csv: row 2:" in code and "maybe" in code
    assert "mujo-labels-" not in code  # the upload's name, not the temporary copy
    with pytest.raises(KeyError):
        at.button(key=StateKeys.CUR_IO_IMPORT)
    pd.testing.assert_frame_equal(_current(labelled), before)


def test_write_clips_csv_on_request(labelled: dict[str, Path]) -> None:
    path = labelled["data"] / "clips.csv"
    original = path.read_bytes()
    at = app_test(PAGE).run()
    assert at.button(key=StateKeys.CUR_IO_WRITE).disabled  # until the checkbox is ticked
    at.checkbox(key=StateKeys.CUR_IO_CONFIRM).check().run()
    at.button(key=StateKeys.CUR_IO_WRITE).click().run()
    _ok(at)
    assert any("2 labels changed" in _plain(s.value) for s in at.success)
    clips = pd.read_csv(path, keep_default_na=False).set_index("clip_id")
    c = labelled["clips"]
    assert clips.at[c[0], "label"] == "null_class" and clips.at[c[1], "label"] == "squat"
    assert (labelled["data"] / "clips.csv.bak").read_bytes() == original
    assert not at.checkbox(key=StateKeys.CUR_IO_CONFIRM).value  # the next write is asked for again


def test_an_upload_is_checked_once_and_read_in_place(labelled: dict[str, Path], monkeypatch) -> None:
    import mujo.actions as cio  # noqa: PLC0415  (the page imports through mujo.actions, which checks the role)

    calls: list[tuple[str, bool, str]] = []
    real = cio.import_bytes

    def counting(store, key, name, data, **kw):
        calls.append((name, bool(kw.get("dry_run")), type(data).__name__))
        return real(store, key, name, data, **kw)

    monkeypatch.setattr(cio, "import_bytes", counting)
    data = f"clip_id,label,note\n{labelled['clips'][5]},null,=1+2\n".encode()
    at = app_test(PAGE).run()
    at.file_uploader(key=StateKeys.CUR_IO_UPLOAD).upload("mine.csv", data, "text/csv").run()
    at.run()
    at.checkbox(key=StateKeys.CUR_IO_BACKUP).check().run()  # other widgets rerun the page
    _ok(at)
    assert [c[:2] for c in calls] == [("mine.csv", True)]  # checked once for this file
    assert calls[0][2] != "bytes"  # the uploaded file itself, not a copy of its bytes
    at.button(key=StateKeys.CUR_IO_IMPORT).click().run()
    _ok(at)
    assert [c[:2] for c in calls][1] == ("mine.csv", False) and calls[1][2] != "bytes"
    assert "=1+2" in _current(labelled)["note"].tolist()


def test_an_upload_over_the_limits_is_refused_with_the_limit(labelled: dict[str, Path], monkeypatch) -> None:
    monkeypatch.setattr(label_read, "MAX_IMPORT_ROWS", 3)
    before = _current(labelled)
    rows = "".join(f"{c},null\n" for c in labelled["clips"][:5])
    at = app_test(PAGE).run()
    at.file_uploader(key=StateKeys.CUR_IO_UPLOAD).upload("many.csv", ("clip_id,label\n" + rows).encode()).run()
    assert not at.exception
    assert any("many.csv: more than 3 rows; a label file may have at most 3" in _plain(e.value) for e in at.error)
    bad = "clip_id,label\n" + "".join(f"nope{i},null\n" for i in range(3))
    monkeypatch.setattr(label_read, "MAX_IMPORT_ROWS", 1_000)
    monkeypatch.setattr(label_import, "MAX_LISTED_PROBLEMS", 2)
    at.file_uploader(key=StateKeys.CUR_IO_UPLOAD).upload("bad.csv", bad.encode()).run()
    assert any("bad.csv: 3 bad row(s)" in _plain(e.value) for e in at.error)
    code = next(c.proto.code_text for c in at.get("code") if "bad.csv" in c.proto.code_text)
    assert code.count("bad.csv: row") == 2 and code.endswith("... and 1 more problems")
    pd.testing.assert_frame_equal(_current(labelled), before)

