"""Label import is bounded: a byte limit and a row limit (module constants, overridable per call) with clear
messages, Parquet checked from its metadata before rows are read, bad rows listed up to a cap and the rest counted,
uploads read in place; and CSV exports quote formula-like text so that spreadsheets show it as text, while the
project's own import gives every text back exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mujo.curation import label_read
from mujo.curation.label_export import (
    export_labels,
    restore_text,
    spreadsheet_frame,
    spreadsheet_text,
    write_table,
)
from mujo.curation.label_import import (
    MAX_LISTED_PROBLEMS,
    LabelFileTooLarge,
    LabelImportError,
    import_bytes,
    import_labels,
    parse_label_file,
)
from mujo.store import Store

KEY = "/data/fimad-demo"
FORMULAS = ["=1+2", "+SUM(A1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1:A2)", "\tTab first", "\rCR first",
            "'=already quoted", "''", "'plain quote", "'", "-", "=", "a = b", "007", "-0.5"]


def _rows(n: int, label: str = "null") -> pd.DataFrame:
    return pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "label": [label] * n})


def _write(tmp_path: Path, df: pd.DataFrame, fmt: str) -> Path:
    return write_table(df, tmp_path / f"labels.{fmt}", fmt)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_row_limit_per_call_and_by_module_constant(tmp_path: Path, fmt: str, monkeypatch) -> None:
    path = _write(tmp_path, _rows(12), fmt)
    assert len(parse_label_file(path, max_rows=12)) == 12
    with pytest.raises(LabelFileTooLarge, match=r"labels\.\w+: .*more than 11 rows; a label file may have at most 11"):
        parse_label_file(path, max_rows=11)
    monkeypatch.setattr(label_read, "MAX_IMPORT_ROWS", 5)  # a deployment's own limit, looked up at each call
    with pytest.raises(LabelFileTooLarge, match=r"may have at most 5 \(split it"):
        import_labels(Store(tmp_path / "s.sqlite"), KEY, path)
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_byte_limit_before_reading(tmp_path: Path, fmt: str) -> None:
    path = _write(tmp_path, _rows(50), fmt)
    size = path.stat().st_size
    assert len(parse_label_file(path, max_bytes=size)) == 50
    with pytest.raises(LabelFileTooLarge, match=rf"labels\.{fmt}: {size:,} bytes; a label file may be at most"):
        parse_label_file(path, max_bytes=size - 1)
    with pytest.raises(LabelFileTooLarge, match=rf"mine\.{fmt}: {size:,} bytes"):  # an upload: same check
        import_bytes(Store(tmp_path / "s.sqlite"), KEY, f"mine.{fmt}", path.read_bytes(), max_bytes=size - 1)


def test_parquet_row_count_comes_from_metadata_before_any_row_is_read(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path, _rows(30), "parquet")

    def no_reading(*a, **k):
        raise AssertionError("rows were read although the metadata says the file is over the limit")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_reading)
    with pytest.raises(LabelFileTooLarge, match="30 rows \\(from its metadata\\), more than 10 rows"):
        parse_label_file(path, max_rows=10)


def test_parquet_that_decompresses_far_beyond_its_size_is_refused(tmp_path: Path) -> None:
    notes = ["n" * 200_000] * 20  # 4 MB of text that compresses to almost nothing
    table = pa.table({"clip_id": [f"c{i}" for i in range(20)], "label": ["null"] * 20, "note": notes})
    path = tmp_path / "bomb.parquet"
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    size = path.stat().st_size
    assert size < 100_000
    with pytest.raises(LabelFileTooLarge, match=r"bomb\.parquet: its label columns hold .* uncompressed"):
        parse_label_file(path, max_bytes=200_000)
    extra = pa.table({"clip_id": ["c1"], "label": ["null"], "junk": ["j" * 3_000_000]})  # not a label column
    pq.write_table(extra, tmp_path / "extra.parquet", compression="zstd")
    assert len(parse_label_file(tmp_path / "extra.parquet", max_bytes=200_000)) == 1  # skipped, not read


def test_bad_rows_are_listed_up_to_a_cap_and_the_rest_counted(tmp_path: Path) -> None:
    n = MAX_LISTED_PROBLEMS + 150
    path = _write(tmp_path, _rows(n, label="maybe"), "csv")
    with pytest.raises(LabelImportError) as e:
        parse_label_file(path)
    err = e.value
    assert len(err.problems) == MAX_LISTED_PROBLEMS and err.more == 150 and err.bad_rows == n
    assert err.problems[0] == f"{path}: row 1: label 'maybe' is not one of null, activity, unsure, bad"
    assert str(err).splitlines()[-1] == f"... and {n - 20:,} more"  # the message shows 20 and counts the rest


def test_csv_cell_over_the_field_limit_names_its_row(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("clip_id,label,note\nc1,null,ok\nc2,null," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"big\.csv: row 2 \(line 3\): not valid CSV \(field larger"):
        parse_label_file(path)


def test_an_upload_is_read_in_place_and_left_open(tmp_path: Path) -> None:
    data = _write(tmp_path, _rows(3), "csv").read_bytes()
    upload = io.BytesIO(data)
    upload.seek(len(data))  # wherever a previous reader left it: the import reads from the start
    report = import_bytes(Store(tmp_path / "s.sqlite"), KEY, "../../etc/labels.csv", upload, dry_run=True)
    assert (report.added, str(report.path)) == (3, "labels.csv") and not upload.closed
    assert upload.getvalue() == data


@pytest.mark.parametrize("text", FORMULAS)
def test_spreadsheet_text_round_trips(text: str) -> None:
    quoted = spreadsheet_text(text)
    assert restore_text(quoted) == text
    assert quoted[:1] not in ("=", "+", "-", "@", "\t", "\r")  # no cell starts a formula
    assert quoted == text or quoted == "'" + text  # at most one quote is added


def test_csv_export_quotes_formulas_keeps_numbers_and_imports_back(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "a.sqlite"), Store(tmp_path / "b.sqlite")
    events = [{"clip_id": f"c{i}", "label": "activity", "activity": text.strip() or "x", "note": text,
               "t0_s": 0.5 * i, "t1_s": 0.5 * i + 1.0} for i, text in enumerate(FORMULAS)]
    events.append({"clip_id": "=HYPERLINK(\"http://evil\")", "label": "null", "annotator": "@me"})
    a.add_label_events(KEY, events, annotator="-ann")
    path, n = export_labels(a, KEY, tmp_path / "out.csv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for col in ("clip_id", "activity", "annotator", "note"):
            assert r[col][:1] not in ("=", "+", "-", "@", "\t", "\r"), (col, r[col])
        assert float(r["t0_s"]) >= 0 and r["event_id"].isdigit()  # numbers are written as numbers, unquoted
    import_labels(b, KEY, path)
    cols = ["clip_id", "t0_s", "t1_s", "label", "activity", "annotator", "note"]
    got, want = (s.current_labels(KEY)[cols].sort_values(["clip_id", "t0_s"]).reset_index(drop=True) for s in (b, a))
    pd.testing.assert_frame_equal(got, want)
    for fmt in ("jsonl", "parquet"):  # not spreadsheet formats: text is written as it is
        other, _ = export_labels(a, KEY, tmp_path / f"out.{fmt}")
        written = pd.read_json(other, lines=True, dtype=False) if fmt == "jsonl" else pd.read_parquet(other)
        assert set(written["note"]) == set(want["note"]) and import_labels(b, KEY, other).added == 0


def test_spreadsheet_frame_quotes_text_cells_only() -> None:
    df = pd.DataFrame({"dataset": ["=cmd", "ok", None], "macro_f1": [-0.5, 0.25, float("nan")], "n": [-1, 2, 3],
                       "flag": [True, False, True]})
    out = spreadsheet_frame(df)
    assert out["dataset"].tolist()[:2] == ["'=cmd", "ok"] and out["dataset"].isna().tolist()[2]
    assert out["macro_f1"].tolist()[:2] == [-0.5, 0.25] and out["n"].tolist() == [-1, 2, 3]
    assert out["flag"].tolist() == [True, False, True] and df["dataset"].tolist()[0] == "=cmd"  # a copy


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_mutated_label_files_only_ever_raise_value_errors(tmp_path: Path, fmt: str) -> None:
    """A seeded mutation loop: flipped, cut, repeated and inserted bytes of a valid export; reading and checking any
    of them either works or raises ValueError (a LabelImportError, LabelFileTooLarge or a read error naming the
    file), nothing else."""
    import numpy as np  # noqa: PLC0415

    df = pd.DataFrame({"clip_id": ["c1", "c2", "c3"], "t0_s": [0.0, 1.5, 0.0], "t1_s": [1.0, None, None],
                       "label": ["null", "activity", "bad"], "activity": [None, "=squat", None],
                       "note": ["a, \"b\"", "two\nlines", "'@x"], "created": ["2026-01-01T00:00:00"] * 3})
    good = _write(tmp_path, df, fmt).read_bytes()
    rng = np.random.default_rng(11)
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(150):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            k = int(rng.integers(0, max(1, len(data))))
            op = int(rng.integers(0, 5))
            if op == 0 and k < len(data):
                data[k] = int(rng.integers(0, 256))
            elif op == 1:
                del data[k:]
            elif op == 2:
                data[k:k] = bytes(rng.choice(list(b'[{"\\,\n\r\x00\xff=+-@\'9e'), int(rng.integers(1, 8))))
            elif op == 3:
                data[k:k] = data[k:k + int(rng.integers(1, 64))] * int(rng.integers(2, 40))
            else:
                data[k:k + 1] = b""
        try:
            parse_label_file(io.BytesIO(bytes(data)), {"c1": 2.0, "c2": 3.0, "c3": 1.0}, name=f"m.{fmt}",
                             max_rows=50, max_bytes=64_000)
            outcomes["ok"] += 1
        except ValueError as e:
            assert str(e).startswith(f"m.{fmt}") or isinstance(e, LabelImportError), str(e)[:200]
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and sum(outcomes.values()) == 150
