"""Memory-mapped .npy/.npz reading from headers alone, aligned .npz writing, and NaN-gap helpers."""

from __future__ import annotations

import io
import math
import mmap
import os
import re
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mujo.fimad.errors import ArrayFileError

_LOCAL = struct.Struct("<4s22xHH")  # local file header: signature, then name and extra lengths at bytes 26..29
_CENTRAL = struct.Struct("<4s4xHH8xIIHHH8xI")  # central directory entry (46 bytes), the fields we need
_END = struct.Struct("<4sHHHHIIH")  # end of central directory record (22 bytes)
_ALIGN = 64  # npy data is 64-byte aligned inside its own file; we align the npy start too (see write_npz)
MMAP_MIN_BYTES = 1 << 20  # with mmap=None, files smaller than this are read rather than mapped
_PAD_EXTRA_ID = 0xD935  # the zip extra-field id Android's zipalign uses for padding; every reader skips it
# The header numpy itself writes; anything else goes through numpy's slower, general parser.
_HEADER_RE = re.compile(r"\{'descr': '([<>|=]?[a-zA-Z]\d*)', 'fortran_order': (True|False), "
                        r"'shape': \(([\d, ]*)\), \} *\n?")


@dataclass(frozen=True)
class NpyInfo:
    """What an .npy header says, plus where its data starts in the file that holds it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int | None  # absolute byte offset of the data; None inside a compressed npz member

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _parse_header(fp: BinaryIO, what: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """Read an .npy header at the current position, leaving fp at the data; never unpickles."""
    start = fp.tell()
    head = fp.read(12)
    if len(head) >= 10 and head[:6] == b"\x93NUMPY" and head[6] in (1, 2):
        text_at = 10 if head[6] == 1 else 12  # the header length is a uint16 (v1) or uint32 (v2) at byte 8
        n = int.from_bytes(head[8:text_at], "little")
        fp.seek(start + text_at)
        text = fp.read(n)
        m = _HEADER_RE.fullmatch(text.decode("latin1")) if len(text) == n else None
        if m:
            shape = tuple(int(s) for s in m.group(3).split(",") if s.strip())
            return _checked(shape, np.dtype(m.group(1)), m.group(2) == "True", what)
    fp.seek(start)
    try:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise ArrayFileError(f"{what}: unsupported .npy version {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fp)
    except ArrayFileError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as e:
        raise ArrayFileError(f"{what}: not a valid .npy header ({e})") from None
    return _checked(tuple(int(s) for s in shape), dtype, bool(fortran), what)


def _checked(shape: tuple[int, ...], dtype: np.dtype, fortran: bool, what: str):
    if dtype.hasobject:
        raise ArrayFileError(f"{what}: object dtype is not allowed (it would need pickle)")
    return shape, dtype, fortran


def _info(fp: BinaryIO, start: int, limit: int, what: str) -> NpyInfo:
    """Header of the .npy that starts at `start` and may use bytes up to `limit` of the file."""
    fp.seek(start)
    shape, dtype, fortran = _parse_header(fp, what)
    info = NpyInfo(shape, dtype, fortran, fp.tell())
    if info.offset + info.nbytes > limit:
        raise ArrayFileError(f"{what}: truncated: the header announces {info.nbytes} bytes of data, "
                             f"{max(0, limit - info.offset)} are there")
    return info


def npy_info(path: str | Path) -> NpyInfo:
    """Read an .npy header and check the file holds all the data it announces.

    Raises:
        ArrayFileError: bad magic/header, object dtype or a truncated file.
        OSError: the file cannot be opened.
    """
    with open(path, "rb") as fp:
        return _info(fp, 0, os.fstat(fp.fileno()).st_size, Path(path).name)


def _use_map(mode: bool | None, size: int) -> bool:
    return size > 0 and (mode is True or (mode is None and size >= MMAP_MIN_BYTES))


def _view(buf: mmap.mmap | bytes, info: NpyInfo, path: str | Path) -> np.ndarray:
    """A read-only array over `info`'s bytes of a mapped file (an np.memmap) or of the file's bytes in memory."""
    order = "F" if info.fortran_order else "C"
    if info.nbytes == 0:  # mmap cannot map zero bytes
        return np.empty(info.shape, info.dtype, order=order)
    if not isinstance(buf, mmap.mmap):
        return np.ndarray(info.shape, dtype=info.dtype, buffer=buf, offset=info.offset, order=order)
    # np.memmap() would map the file again per array; building the same object over one mapping is cheaper.
    arr = np.ndarray.__new__(np.memmap, info.shape, dtype=info.dtype, buffer=buf, offset=info.offset, order=order)
    arr._mmap, arr.filename, arr.offset, arr.mode = buf, str(path), info.offset, "r"
    return arr


def _map(fp: BinaryIO) -> mmap.mmap:
    return mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)


def open_npy(path: str | Path, *, mmap: bool | None = True) -> np.ndarray:
    """Open an .npy file read-only (never unpickles).

    Args:
        path: the file.
        mmap: True memory-maps it (an np.memmap); False reads it into memory; None maps only files of at least
            MMAP_MIN_BYTES (mapping a small file costs more in page faults and unmapping than reading it).
    Raises:
        ArrayFileError: the file is not a readable .npy (see `npy_info`).
    """
    name = Path(path).name
    with open(path, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        if _use_map(mmap, size):
            return _view(_map(fp), _info(fp, 0, size, name), path)
        data = fp.read()
    return _view(data, _info(io.BytesIO(data), 0, len(data), name), path)


@dataclass(frozen=True)
class NpzMember:
    """One array of an .npz: its header and, for stored (uncompressed) members, its absolute data offset."""

    name: str  # the key, without ".npy"
    info: NpyInfo
    compressed: bool


def _directory(fp: BinaryIO, size: int) -> list[tuple[str, int, int, int, int]] | None:
    """(name, flags, method, local header offset, compressed size) per member from the zip's central directory.

    None when the file needs zipfile's general code (zip64, a long comment, data before the zip ...).
    """
    fp.seek(max(0, size - 1024))
    tail = fp.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _END.size:
        return None
    _, disk, _, _, n, cd_size, cd_off, _ = _END.unpack_from(tail, at)
    end_pos = size - len(tail) + at
    if disk or n == 0xFFFF or cd_off + cd_size != end_pos or tail[max(0, at - 20): at][:4] == b"PK\x06\x07":
        return None
    fp.seek(cd_off)
    cd = fp.read(cd_size)
    out, p = [], 0
    for _ in range(n):
        if p + _CENTRAL.size > len(cd):
            return None
        sig, flags, method, csize, usize, n_name, n_extra, n_comment, offset = _CENTRAL.unpack_from(cd, p)
        if sig != b"PK\x01\x02" or 0xFFFFFFFF in (csize, usize, offset):
            return None
        raw = cd[p + _CENTRAL.size: p + _CENTRAL.size + n_name]
        out.append((raw.decode("utf-8" if flags & 0x800 else "cp437"), flags, method, offset, csize))
        p += _CENTRAL.size + n_name + n_extra + n_comment
    return out


def _members(fp: BinaryIO, size: int, path: Path) -> dict[str, NpzMember]:
    entries = _directory(fp, size)
    if entries is None:
        try:
            with zipfile.ZipFile(fp) as zf:
                entries = [(zi.filename, zi.flag_bits, zi.compress_type, zi.header_offset, zi.compress_size)
                           for zi in zf.infolist()]
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
            raise ArrayFileError(f"{path.name}: not a readable .npz/zip file ({e})") from None
    members: dict[str, NpzMember] = {}
    for name, flags, method, offset, csize in entries:
        key = name[:-4] if name.endswith(".npy") else name
        what = f"{path.name}[{key}]"
        if flags & 0x1:
            raise ArrayFileError(f"{what}: encrypted zip members are not supported")
        if method != zipfile.ZIP_STORED:
            members[key] = NpzMember(key, NpyInfo((), np.dtype("V"), False, None), True)  # header read on load
            continue
        fp.seek(offset)
        head = fp.read(_LOCAL.size)
        sig, n_name, n_extra = _LOCAL.unpack(head) if len(head) == _LOCAL.size else (b"", 0, 0)
        if sig != b"PK\x03\x04":
            raise ArrayFileError(f"{what}: bad zip local header")
        # The local extra field may differ from the central one, so its length is read here.
        start = offset + _LOCAL.size + n_name + n_extra
        members[key] = NpzMember(key, _info(fp, start, min(size, start + csize), what), False)
    return members


def npz_members(path: str | Path) -> dict[str, NpzMember]:
    """List the arrays of an .npz from the zip directory and each stored member's .npy header (no data read).

    Compressed members are listed with `compressed=True` and an empty header (reading it means decompressing).

    Raises:
        ArrayFileError: not a zip, encrypted, or a stored member with a bad or truncated .npy header.
    """
    with open(path, "rb") as fp:
        return _members(fp, os.fstat(fp.fileno()).st_size, Path(path))


def load_npz(path: str | Path, keys: tuple[str, ...] | None = None, *,
             mmap: bool | None = True) -> dict[str, np.ndarray]:
    """Read arrays of an .npz, read-only; stored members without copying, compressed ones decompressed.

    Args:
        path: the .npz file.
        keys: the arrays wanted (absent ones are left out of the result); None = all.
        mmap: True memory-maps the file once (stored members become np.memmap views); False reads it into
            memory; None maps only files of at least MMAP_MIN_BYTES.
    Returns:
        {key: array} for the keys present.
    Raises:
        ArrayFileError: the file or a wanted member is unreadable (never unpickles).
    """
    path = Path(path)
    with open(path, "rb") as fp:
        size = os.fstat(fp.fileno()).st_size
        if _use_map(mmap, size):
            members = _members(fp, size, path)
            buf: mmap.mmap | bytes = _map(fp)
        else:
            buf = fp.read()
            members = _members(io.BytesIO(buf), len(buf), path)
    wanted = [k for k in (keys if keys is not None else members) if k in members]
    out = {k: _view(buf, members[k].info, path) for k in wanted if not members[k].compressed}
    compressed = [k for k in wanted if members[k].compressed]
    if compressed:
        try:
            with np.load(io.BytesIO(buf) if isinstance(buf, bytes) else path, allow_pickle=False) as z:
                for k in compressed:
                    out[k] = z[k]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise ArrayFileError(f"{path.name}: cannot decompress {compressed} ({e})") from None
    return out


def write_npy(fp: BinaryIO, arr: np.ndarray) -> None:
    """Write one array in .npy format (never pickled)."""
    np.lib.format.write_array(fp, np.ascontiguousarray(arr), allow_pickle=False)


def write_npz(fp: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """Write an uncompressed .npz whose members start 64-byte aligned, so memory-mapped reads are aligned.

    `fp` must be a seekable file opened for binary writing, positioned at 0. The result is an ordinary zip that
    `np.load` reads; the alignment padding sits in an extra field that zip readers skip.
    """
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED) as zf:
        for key, arr in arrays.items():
            buf = io.BytesIO()
            write_npy(buf, arr)
            zi = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            data_at = fp.tell() + _LOCAL.size + len(zi.filename.encode()) + 6
            pad = (-data_at) % _ALIGN
            zi.extra = struct.pack("<HHH", _PAD_EXTRA_ID, 2 + pad, _ALIGN) + b"\0" * pad
            zf.writestr(zi, buf.getvalue())


# --- NaN gaps -------------------------------------------------------------------------------------------


def nan_runs(mask: np.ndarray) -> np.ndarray:
    """Runs of True in a 1-D bool mask, as an (K, 2) int array of [start, stop)."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    return np.flatnonzero(m[1:] != m[:-1]).reshape(-1, 2)


def frame_nan_mask(x: np.ndarray) -> np.ndarray:
    """(T,) True where any value of a sample (a frame) is NaN."""
    return np.isnan(np.asarray(x).reshape(len(x), -1)).any(axis=1)


def has_nan(x: np.ndarray) -> bool:
    """Whether an array holds any NaN (on a plain view: ufuncs on np.memmap pay for subclass wrapping)."""
    return bool(np.isnan(np.asarray(x)).any())


def fill_short_gaps(x: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate NaN runs of at most `max_gap` samples along axis 0, per channel.

    Short runs at either end hold the nearest valid value; longer runs stay NaN (callers report them).

    Args:
        x: (T, ...) float array; not modified.
        max_gap: the longest run (in samples) that is filled.
    Returns:
        A float32 copy with short gaps filled.
    """
    out = np.array(x, dtype=np.float32, order="C")
    flat = out.reshape(len(out), -1)  # (T, C) view
    nan = np.isnan(flat)
    t = np.arange(len(flat))
    for c in np.flatnonzero(nan.any(axis=0)):
        m = nan[:, c]
        if m.all():
            continue
        col = flat[:, c]
        col[m] = np.interp(t[m], t[~m], col[~m])
        for a, b in nan_runs(m):
            if b - a > max_gap:
                col[a:b] = np.nan
    return out
