"""Label files read as bounded streams (CSV, JSON Lines, Parquet): the byte and row limits of a label import, and
each file's records with where they are ("row 3", "line 7"), never more than the limits allow in memory.

The limits are module constants, looked up at each call (so a deployment may change them) and overridable per call
with `max_rows` / `max_bytes`. A Parquet file's row count and uncompressed size are checked from its metadata before
any row is read; as the metadata may lie, the page headers of the label columns are read too (a minimal thrift
reader) and the sizes they claim, which pyarrow would allocate, are checked before pyarrow reads a page; and what is
read is counted again. The checks of the records are `mujo.curation.label_import`.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

import pyarrow.parquet as pq

from mujo.curation.label_export import CLIP_COLUMNS, file_format, plain_value, restore_text

MAX_IMPORT_BYTES = 32 * 1024 * 1024  # a label file larger than this is refused before it is read (32 MiB)
MAX_IMPORT_ROWS = 100_000  # a label file with more rows than this is refused (checked while reading)
PARQUET_EXPANSION = 4  # a Parquet file's columns may hold at most this many times MAX_IMPORT_BYTES uncompressed
_READ_COLUMNS = set(CLIP_COLUMNS) | {"undo_of", "window"}  # what a Parquet read needs (other columns are skipped)


class LabelFileTooLarge(ValueError):
    """A label file over the byte or row limit; nothing was read past the limit and nothing was written."""


def _limits(max_rows: int | None, max_bytes: int | None) -> tuple[int, int]:
    """The limits of one call: the module constants unless given (looked up now, so a changed constant counts)."""
    return (MAX_IMPORT_ROWS if max_rows is None else int(max_rows),
            MAX_IMPORT_BYTES if max_bytes is None else int(max_bytes))


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _too_many_rows(name: str, max_rows: int, more: str = "more than") -> LabelFileTooLarge:
    return LabelFileTooLarge(f"{name}: {more} {max_rows:,} rows; a label file may have at most {max_rows:,} "
                             "(split it into smaller files)")


class _Borrowed(io.RawIOBase):
    """A caller's binary file read through without closing it (text wrappers close what they wrap)."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.f.read(len(b))
        b[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.f.seek(offset, whence)

    def tell(self) -> int:
        return self.f.tell()


def _open_binary(source: str | Path | IO[bytes], name: str, max_bytes: int) -> IO[bytes]:
    """A seekable binary stream of the source from its start, checked against the byte limit before anything is
    read; closing it never closes a stream the caller gave."""
    if isinstance(source, (str, Path)):
        try:
            size = Path(source).stat().st_size
        except FileNotFoundError:
            raise ValueError(f"{name}: not found") from None
        except OSError as e:
            raise ValueError(f"{name}: cannot be read ({e.strerror or e})") from None
        if size > max_bytes:
            raise LabelFileTooLarge(f"{name}: {_mib(size)}; a label file may be at most {_mib(max_bytes)}")
        try:
            return open(source, "rb")
        except OSError as e:
            raise ValueError(f"{name}: cannot be read ({e.strerror or e})") from None
    if not (hasattr(source, "seekable") and source.seekable()):
        source = io.BytesIO(source.read(max_bytes + 1))  # at most one byte past the limit is read
    size = source.seek(0, io.SEEK_END)
    source.seek(0)
    if size > max_bytes:
        raise LabelFileTooLarge(f"{name}: {_mib(size)}; a label file may be at most {_mib(max_bytes)}")
    return io.BufferedReader(_Borrowed(source))


class LabelTable:
    """A label file's columns and its rows as a stream of (where, record); `columns` is complete once `rows` is
    used up (JSON Lines records may each have other keys)."""

    def __init__(self, stream: IO[bytes], name: str, fmt: str, max_rows: int, max_bytes: int) -> None:
        self.name, self.fmt, self.columns = name, fmt, {}
        if fmt == "csv":
            self.rows = self._csv(stream, max_rows)
        elif fmt == "jsonl":
            self.rows = self._jsonl(stream, max_rows)
        else:
            self.rows = self._parquet(stream, max_rows, max_bytes)

    def _csv(self, stream: IO[bytes], max_rows: int) -> Iterator[tuple[str, dict[str, Any]]]:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise ValueError(f"{self.name}: the header cannot be read as CSV ({e})") from None
        header = [restore_text(h) for h in header or []]
        self.columns = dict.fromkeys(header)
        return self._csv_rows(reader, header, max_rows)

    def _csv_rows(self, reader: Any, header: list[str], max_rows: int) -> Iterator[tuple[str, dict[str, Any]]]:
        i = 0
        while True:
            try:
                cells = next(reader, None)
            except csv.Error as e:
                raise ValueError(f"{self.name}: row {i + 1} (line {reader.line_num}): not valid CSV ({e})") from None
            if cells is None:
                return
            if not any(cells):  # a blank line
                continue
            i += 1
            if i > max_rows:
                raise _too_many_rows(self.name, max_rows)
            # The export quoted formula-like text cells (label_export.spreadsheet_text): take that quote off.
            yield f"row {i}", {h: restore_text(c) if c[:1] == "'" else c for h, c in zip(header, cells)}

    def _jsonl(self, stream: IO[bytes], max_rows: int) -> Iterator[tuple[str, dict[str, Any]]]:
        n = 0
        for i, line in enumerate(io.TextIOWrapper(stream, encoding="utf-8-sig"), 1):
            if not line.strip():
                continue
            n += 1
            if n > max_rows:
                raise _too_many_rows(self.name, max_rows)
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{self.name}: line {i}: invalid JSON ({e.msg})") from None
            except RecursionError:
                raise ValueError(f"{self.name}: line {i}: invalid JSON (nested too deeply)") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{self.name}: line {i}: expected a JSON object, got {type(obj).__name__}")
            self.columns.update(dict.fromkeys(obj))
            yield f"line {i}", obj

    def _parquet(self, stream: IO[bytes], max_rows: int, max_bytes: int) -> Iterator[tuple[str, dict[str, Any]]]:
        try:
            pf = pq.ParquetFile(stream)
        except Exception as e:  # noqa: BLE001 - pyarrow raises its own types for a broken footer
            raise ValueError(f"{self.name}: cannot be read as parquet ({e})") from None
        meta = pf.metadata
        self.columns = dict.fromkeys(str(c) for c in pf.schema_arrow.names)
        if meta.num_rows > max_rows:
            raise _too_many_rows(self.name, max_rows, f"{meta.num_rows:,} rows (from its metadata), more than")
        wanted = [c for c in pf.schema_arrow.names if c in _READ_COLUMNS]
        paths = set(wanted)
        unpacked = sum(rg.column(j).total_uncompressed_size for rg in (meta.row_group(i)
                                                                        for i in range(meta.num_row_groups))
                       for j in range(rg.num_columns) if rg.column(j).path_in_schema.split(".")[0] in paths)
        bound = PARQUET_EXPANSION * max_bytes
        if unpacked > bound:
            raise LabelFileTooLarge(f"{self.name}: its label columns hold {_mib(unpacked)} uncompressed; at most "
                                    f"{_mib(bound)} are read")
        _check_pages(stream, self.name, meta, paths, bound)
        return self._parquet_rows(pf, wanted, max_rows, bound)

    def _parquet_rows(self, pf: Any, wanted: list[str], max_rows: int, bound: int
                      ) -> Iterator[tuple[str, dict[str, Any]]]:
        n, read = 0, 0
        try:
            for batch in pf.iter_batches(batch_size=4096, columns=wanted):
                read += batch.nbytes  # the metadata can lie: count what was really read
                if read > bound:
                    raise LabelFileTooLarge(f"{self.name}: more than {_mib(bound)} of label data uncompressed")
                cols = batch.to_pydict()
                for k in range(batch.num_rows):
                    n += 1
                    if n > max_rows:
                        raise _too_many_rows(self.name, max_rows)
                    yield f"row {n}", {c: plain_value(cols[c][k]) for c in wanted}
        except LabelFileTooLarge:
            raise
        except Exception as e:  # noqa: BLE001 - pyarrow's own types (ArrowInvalid is a ValueError, without the name)
            raise ValueError(f"{self.name}: cannot be read as parquet ({e})") from None


class _Short(Exception):
    """A page header runs past the bytes read so far (read more, up to the column chunk's end)."""


class _Header:
    """Thrift compact protocol, just enough to read a Parquet PageHeader: its integer fields, nested structs as
    dicts, everything else skipped (with the same nesting limit as a sane reader)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def _byte(self) -> int:
        if self.i >= len(self.data):
            raise _Short
        self.i += 1
        return self.data[self.i - 1]

    def _varint(self) -> int:
        value = shift = 0
        while True:
            b = self._byte()
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise ValueError("a varint longer than 10 bytes")

    def _int(self) -> int:
        v = self._varint()
        return (v >> 1) ^ -(v & 1)  # zigzag

    def _skip(self, kind: int, depth: int) -> Any:
        if depth > 16:
            raise ValueError("nested too deeply")
        if kind in (1, 2):  # a bool inside a list (a struct field's bool is in its header)
            return self._byte() == 1
        if kind == 3:
            return self._byte()
        if kind in (4, 5, 6):
            return self._int()
        if kind == 7:
            self.i += 8
        elif kind == 8:
            n = self._varint()  # (not `self.i += self._varint()`: that adds to the position before the length)
            self.i += n
        elif kind in (9, 10):
            head = self._byte()
            n = self._varint() if head >> 4 == 15 else head >> 4
            for _ in range(n):
                self._skip(head & 0x0F, depth + 1)
        elif kind == 11:
            n = self._varint()
            types = self._byte() if n else 0
            for _ in range(n):
                self._skip(types >> 4, depth + 1)
                self._skip(types & 0x0F, depth + 1)
        elif kind == 12:
            return self.struct(depth + 1)
        else:
            raise ValueError(f"unknown thrift type {kind}")
        if self.i > len(self.data):
            raise _Short
        return None

    def struct(self, depth: int = 0) -> dict[int, Any]:
        out: dict[int, Any] = {}
        field = 0
        while True:
            head = self._byte()
            if head == 0:
                return out
            field = field + (head >> 4) if head >> 4 else self._int()
            kind = head & 0x0F
            out[field] = kind == 1 if kind in (1, 2) else self._skip(kind, depth)


def _page_header(stream: IO[bytes], at: int, room: int) -> tuple[dict[int, Any], int]:
    """The page header at byte `at` and its length; `room` is what is left of its column chunk."""
    want = min(room, 4096)
    while True:
        stream.seek(at)
        data = stream.read(want)
        header = _Header(data)
        try:
            return header.struct(), header.i
        except _Short:
            if want >= room or len(data) < want or want >= 16 * 2**20:  # pyarrow's own page header limit
                raise ValueError("its page header runs past its column chunk") from None
            want = min(room, want * 16)


def _check_pages(stream: IO[bytes], name: str, meta: Any, columns: set[str], bound: int) -> None:
    """Read every page header of the label columns before pyarrow reads a page: the uncompressed sizes that the
    headers claim (what pyarrow allocates and decompresses into) must add up to at most `bound`, and each page stays
    inside its column chunk, whatever the footer says."""
    size = stream.seek(0, io.SEEK_END)
    claimed = 0
    for r in range(meta.num_row_groups):
        rg = meta.row_group(r)
        for j in range(rg.num_columns):
            cc = rg.column(j)
            if cc.path_in_schema.split(".")[0] not in columns:
                continue
            start = cc.data_page_offset
            if cc.has_dictionary_page and 0 < (cc.dictionary_page_offset or 0) < start:
                start = cc.dictionary_page_offset
            end, values, at = start + cc.total_compressed_size, 0, start
            where = f"{name}: row group {r}, column {cc.path_in_schema!r}"
            if start < 0 or end > size or cc.num_values < 0:
                raise ValueError(f"{where}: its column chunk lies outside the file (a broken or hostile footer)")
            while at < end and values < cc.num_values:
                try:
                    header, length = _page_header(stream, at, end - at)
                except ValueError as e:
                    raise ValueError(f"{where}: page at byte {at}: {e}") from None
                unpacked, packed = header.get(2), header.get(3)
                if not isinstance(unpacked, int) or not isinstance(packed, int) or unpacked < 0 or packed < 0:
                    raise ValueError(f"{where}: page at byte {at}: no valid page sizes in its header")
                claimed += unpacked
                if claimed > bound:
                    raise LabelFileTooLarge(f"{where}: its page headers claim {_mib(claimed)} uncompressed; at "
                                            f"most {_mib(bound)} of label data are read")
                for field in (5, 8):  # a data page (v1, v2) counts its values, as the reader does
                    if isinstance(header.get(field), dict):
                        values += max(0, int(header[field].get(1) or 0))
                at += length + packed
            if at > size:
                raise ValueError(f"{where}: a page runs past the end of the file (a broken or hostile page header)")
    stream.seek(0)


@contextmanager
def open_table(source: str | Path | IO[bytes], name: str, max_rows: int | None, max_bytes: int | None
                ) -> Iterator[LabelTable]:
    """A label file as a `LabelTable`; read errors inside the `with` become ValueError naming the file."""
    rows_cap, bytes_cap = _limits(max_rows, max_bytes)
    fmt = file_format(name)
    stream = _open_binary(source, name, bytes_cap)
    try:
        yield LabelTable(stream, name, fmt, rows_cap, bytes_cap)
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except (OSError, csv.Error, ImportError) as e:
        raise ValueError(f"{name}: cannot be read as {fmt} ({e})") from None
    finally:
        stream.close()


def read_table(path: str | Path | IO[bytes], name: str | None = None, *, max_rows: int | None = None,
               max_bytes: int | None = None) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
    """The columns and the records of a label file, each record with where it is ("row 3", "line 7").

    CSV cells are read as text (the quote the export put before formula-like text taken off); rows are counted from
    1 after the header. `path` may be an open binary file, read from its start (then `name`, whose extension gives
    the format, is used in messages). Raises ValueError naming the file (LabelFileTooLarge over a limit).
    """
    with open_table(path, str(name or path), max_rows, max_bytes) as table:
        rows = list(table.rows)
        return list(table.columns), rows
