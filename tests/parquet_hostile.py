"""Hostile Parquet label files whose footer is within the import's bounds but whose page headers are not: for the
label import's tests and benchmarks/bench_label_import.py. The files are made by pyarrow and then patched in place
(thrift compact varints re-encoded at the same width), so every other byte is what a real writer wrote."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def _varint(n: int, width: int = 0) -> bytes:
    """n as a thrift compact varint, padded with continuation bytes to `width` (readers accept the padding)."""
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if n or len(out) + 1 < width:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data: bytes | bytearray, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def footer_lies(path: Path, unpacked: int, claim: int = 1000) -> Path:
    """A Parquet label file whose `note` column really decompresses to `unpacked` bytes (one zstd page of 'x'),
    while its footer says that the column holds `claim` bytes uncompressed: only the page header tells the truth."""
    table = pa.table({"clip_id": ["c0"], "label": ["null"], "note": ["x" * unpacked]})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=False, write_statistics=False)
    data = bytearray(buf.getvalue())
    real = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(0).column(2).total_uncompressed_size
    footer_len = int.from_bytes(data[-8:-4], "little")
    footer = len(data) - 8 - footer_len
    old = b"\x16" + _varint(2 * real)  # ColumnMetaData field 6 (i64 total_uncompressed_size), zigzag
    at = data.find(old, footer)
    assert at > 0 and data.find(old, at + 1) < 0, "the footer field to patch is not unique"
    data[at:at + len(old)] = b"\x16" + _varint(2 * claim, len(old) - 1)
    path.write_bytes(bytes(data))
    return path


def header_claims(path: Path, claim: int = 2**31 - 1, codec: str = "snappy") -> Path:
    """A small valid-looking Parquet label file whose first data page header claims `claim` bytes uncompressed (what
    a reader allocates before it decompresses); the footer's sizes are the real ones. The page's CRC field, written
    and then dropped, makes room for the longer varint."""
    table = pa.table({"clip_id": [f"c{i}" for i in range(50)], "label": ["null"] * 50})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression=codec, use_dictionary=False, write_page_checksum=True)
    data = bytearray(buf.getvalue())
    start = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(0).column(0).data_page_offset
    i = start
    fields = []
    for _ in range(4):  # type, uncompressed size, compressed size, crc: each a field header 0x15 and a varint
        assert data[i] == 0x15, f"unexpected page header byte {data[i]:#x}"
        value, i = _read_varint(data, i + 1)
        fields.append(value)
    assert data[i] == 0x1C  # field 5 (the data page header struct), one after the crc
    head = b"\x15" + _varint(fields[0]) + b"\x15" + _varint(2 * claim) + b"\x15"
    head += _varint(fields[2], i - start - len(head))  # the compressed size, padded to fill the crc's room
    assert len(head) == i - start
    data[start:i] = head
    data[i] = 0x2C  # field 5 is now two after field 3
    path.write_bytes(bytes(data))
    return path
