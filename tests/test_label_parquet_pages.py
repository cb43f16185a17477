"""A Parquet label file whose footer is within bounds but whose page headers are not is refused before pyarrow
reads a page: the uncompressed sizes the page headers claim (what pyarrow allocates and decompresses into) count
against the import's bound, whatever the footer says; and peak memory stays flat while it is refused."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from parquet_hostile import footer_lies, header_claims

from mujo.curation import label_read
from mujo.curation.label_import import LabelFileTooLarge, parse_label_file

REPO = Path(__file__).resolve().parents[1]


def _no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_reading(*a, **k):
        raise AssertionError("pyarrow read a page of a file whose page headers are over the bound")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_reading)


def test_a_page_header_claiming_2_gib_is_refused_before_any_page_is_read(tmp_path: Path, monkeypatch) -> None:
    path = header_claims(tmp_path / "claims.parquet")
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).total_uncompressed_size < 1000  # a sane footer
    _no_reading(monkeypatch)
    with pytest.raises(LabelFileTooLarge, match=r"claims\.parquet: row group 0, column 'clip_id': its page headers "
                                                r"claim 2048\.0 MiB uncompressed; at most 128\.0 MiB"):
        parse_label_file(path)
    upload = io.BytesIO(path.read_bytes())  # an upload: the same check, naming the upload
    with pytest.raises(LabelFileTooLarge, match=r"^mine\.parquet: row group 0"):
        parse_label_file(upload, name="mine.parquet")


def test_a_page_that_decompresses_beyond_what_the_footer_says_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = footer_lies(tmp_path / "lies.parquet", unpacked=2_000_000, claim=1000)
    assert pq.ParquetFile(path).metadata.row_group(0).column(2).total_uncompressed_size == 1000
    assert len(label_read.read_table(path, max_bytes=1_000_000)[1]) == 1  # under the bound: read
    with pytest.raises(LabelFileTooLarge) as e:  # 1.9 MiB is more than 4 x 100 kB
        parse_label_file(path, max_bytes=100_000)
    assert str(e.value).startswith(f"{path}: row group 0, column 'note': its page headers claim 1.9 MiB")
    monkeypatch.setattr(label_read, "_check_pages", lambda *a: None)  # without the check, pyarrow reads it all
    with pytest.raises(LabelFileTooLarge, match="more than 390,625|more than 400,000 bytes of label data"):
        parse_label_file(path, max_bytes=100_000)  # ... and only the count of what was read stops it, afterwards


_MEASURE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from mujo.curation import label_read
from mujo.curation.label_import import parse_label_file
if sys.argv[2] == "unchecked":
    label_read._check_pages = lambda *a: None
def peak():  # VmHWM: ru_maxrss would start from the parent's peak (it is kept across fork and exec)
    return next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM"))
before = peak()
try:
    parse_label_file(sys.argv[1], max_bytes=1_000_000)
    outcome = "read"
except ValueError as e:
    outcome = str(e)
print(json.dumps({{"outcome": outcome,
                  "grew_mib": (peak() - before) / 1024}}))
"""


def _measure(path: Path, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE.format(repo=str(REPO)), str(path), how],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmHWM from /proc")
def test_peak_memory_stays_flat_while_a_hostile_page_is_refused(tmp_path: Path) -> None:
    """In a fresh process (its peak resident memory counts pyarrow's allocations, which tracemalloc does not see)."""
    path = footer_lies(tmp_path / "bomb.parquet", unpacked=96 * 2**20)
    assert path.stat().st_size < 200_000
    checked, unchecked = _measure(path, "checked"), _measure(path, "unchecked")
    assert checked["outcome"].startswith(f"{path}: row group 0, column 'note': its page headers claim 96.0 MiB")
    assert checked["grew_mib"] < 16, checked
    assert unchecked["grew_mib"] > 90, unchecked  # what the check saves: pyarrow decompresses the whole page


def test_mutated_page_headers_only_ever_raise_value_errors(tmp_path: Path) -> None:
    """Seeded byte flips inside the first page headers of a valid file: refused with a ValueError naming the file, or
    read; never another exception from the header reader."""
    good = bytearray(header_claims(tmp_path / "x.parquet", claim=346, codec="none").read_bytes())
    rng = np.random.default_rng(5)
    seen = {"ok": 0, "refused": 0}
    for _ in range(400):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(4, 80))] = int(rng.integers(0, 256))
        try:
            parse_label_file(io.BytesIO(bytes(data)), name="m.parquet")
            seen["ok"] += 1
        except ValueError as e:
            assert str(e).startswith("m.parquet"), str(e)[:200]
            seen["refused"] += 1
    assert seen["refused"] > 100
