"""Memory-mapped .npy/.npz reading from checked headers alone (compressed members inflated within a bound), and
aligned .npz writing."""

from __future__ import annotations

import io
import lzma
import math
import mmap
import os
import re
import struct
import zipfile
import zlib
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
_MAX_HEADER = 1 << 16  # the most bytes of an .npy header read from a compressed stream (numpy writes < 10 kB)
DEFLATE_MAX_RATIO = 1032  # deflate's best compression ratio: no honest deflated member inflates more than this
_MAX_NDIM = 32  # numpy's own limit is 64; no FiMAD array has more than 3 axes
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
            return _checked(shape, _dtype(m.group(1), what), m.group(2) == "True", what)
    fp.seek(start)
    try:
        version = np.lib.format.read_magic(fp)
        if version not in ((1, 0), (2, 0)):
            raise ArrayFileError(f"{what}: unsupported .npy version {version}")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fp)
    except ArrayFileError:
        raise
    # numpy's parser tokenizes and literal_evals hostile text: it raises ValueError, SyntaxError, TypeError,
    # tokenize.TokenError, RecursionError ... depending on the bytes, so any exception means a bad header.
    except Exception as e:  # noqa: BLE001

        raise ArrayFileError(f"{what}: not a valid .npy header ({_short(e)})") from None
    return _checked(shape, dtype, fortran, what)


def _short(e: BaseException, limit: int = 200) -> str:
    """An exception's text, cut: messages may quote a hostile header at length."""
    text = str(e) or type(e).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def _dtype(descr: str, what: str) -> np.dtype:
    try:
        return np.dtype(descr)
    except (TypeError, ValueError) as e:
        raise ArrayFileError(f"{what}: the header names an unknown dtype {descr!r} ({_short(e)})") from None


def _checked(shape: object, dtype: np.dtype, fortran: object, what: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    """The header's fields, refused where reading them could unpickle or where the shape is not a size."""
    if dtype.hasobject:
        raise ArrayFileError(f"{what}: object dtype is not allowed (it would need pickle)")
    if not dtype.itemsize:  # e.g. "S0": a huge shape of zero bytes passes every size check, then a copy explodes
        raise ArrayFileError(f"{what}: dtype {_short(dtype.str, 60)} has elements of zero bytes")
    if (not isinstance(shape, tuple) or len(shape) > _MAX_NDIM
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
        raise ArrayFileError(f"{what}: the header's shape {_short(repr(shape), 60)} is not a tuple of sizes >= 0")
    return shape, dtype, bool(fortran)


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
    zip_name: str = ""  # the member's name in the zip
    stored_bytes: int = 0  # its size in the file (compressed size)
    declared_bytes: int = 0  # its uncompressed size as the zip directory declares it


# (name, flags, method, local header offset, compressed size, uncompressed size) of one zip member
_Entry = tuple[str, int, int, int, int, int]


def _directory(fp: BinaryIO, size: int) -> list[_Entry] | None:
    """The members listed by the zip's central directory.

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
        out.append((raw.decode("utf-8" if flags & 0x800 else "cp437", "replace"), flags, method, offset, csize, usize))
        p += _CENTRAL.size + n_name + n_extra + n_comment
    return out


def _members(fp: BinaryIO, size: int, path: Path) -> dict[str, NpzMember]:
    entries = _directory(fp, size)
    if entries is None:
        try:
            with zipfile.ZipFile(fp) as zf:
                entries = [(zi.filename, zi.flag_bits, zi.compress_type, zi.header_offset, zi.compress_size,
                            zi.file_size) for zi in zf.infolist()]
        # zipfile's directory parser: NotImplementedError for an unknown "version needed", RuntimeError, ...
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, struct.error,
                NotImplementedError, RuntimeError) as e:
            raise ArrayFileError(f"{path.name}: not a readable .npz/zip file ({_short(e)})") from None
    members: dict[str, NpzMember] = {}
    for name, flags, method, offset, csize, usize in entries:
        key = name[:-4] if name.endswith(".npy") else name
        what = f"{path.name}[{_short(key, 80)}]"
        if flags & 0x1:
            raise ArrayFileError(f"{what}: encrypted zip members are not supported")
        if method != zipfile.ZIP_STORED:  # header read on load: reading it means decompressing
            members[key] = NpzMember(key, NpyInfo((), np.dtype("V"), False, None), True, name, csize, usize)
            continue
        if not 0 <= offset < size:  # zipfile's general reader can compute any offset from a broken directory
            raise ArrayFileError(f"{what}: the zip directory points outside the file (offset {offset})")
        fp.seek(offset)
        head = fp.read(_LOCAL.size)
        sig, n_name, n_extra = _LOCAL.unpack(head) if len(head) == _LOCAL.size else (b"", 0, 0)
        if sig != b"PK\x03\x04":
            raise ArrayFileError(f"{what}: bad zip local header")
        # The local extra field may differ from the central one, so its length is read here.
        start = offset + _LOCAL.size + n_name + n_extra
        members[key] = NpzMember(key, _info(fp, start, min(size, start + csize), what), False, name, csize, usize)
    return members


def npz_members(path: str | Path) -> dict[str, NpzMember]:
    """List the arrays of an .npz from the zip directory and each stored member's .npy header (no data read).

    Compressed members are listed with `compressed=True` and an empty header (reading it means decompressing).

    Raises:
        ArrayFileError: not a zip, encrypted, or a stored member with a bad or truncated .npy header.
    """
    with open(path, "rb") as fp:
        return _members(fp, os.fstat(fp.fileno()).st_size, Path(path))


def inflate_limit(member: NpzMember) -> int:
    """The most bytes a compressed member may inflate to without a reason from elsewhere (deflate's best ratio)."""
    return member.stored_bytes * DEFLATE_MAX_RATIO + _MAX_HEADER


def _inflate(zf: zipfile.ZipFile, member: NpzMember, limit: int, what: str) -> np.ndarray:
    """Decompress one member into exactly the array its header announces, never more than `limit` bytes."""
    if member.declared_bytes > limit:
        raise ArrayFileError(f"{what}: the zip directory declares {member.declared_bytes:,} bytes uncompressed, "
                             f"more than the {limit:,} that its {member.stored_bytes:,} compressed bytes and the "
                             "clip justify")
    # zipfile's reader stops at the declared size and checks the CRC, so nothing beyond it is produced.
    with zf.open(member.zip_name) as f:
        head = f.read(min(member.declared_bytes, _MAX_HEADER))
        bio = io.BytesIO(head)
        shape, dtype, fortran = _parse_header(bio, what)
        at = bio.tell()
        info = NpyInfo(shape, dtype, fortran, None)
        if at + info.nbytes > member.declared_bytes:
            raise ArrayFileError(f"{what}: the header announces {info.nbytes:,} bytes of data, the zip directory "
                                 f"declares {max(0, member.declared_bytes - at):,}")
        out = np.empty(info.nbytes, np.uint8)
        got = head[at: at + info.nbytes]
        out[: len(got)] = np.frombuffer(got, np.uint8)
        pos = len(got)
        while pos < info.nbytes:
            chunk = f.read(min(1 << 20, info.nbytes - pos))
            if not chunk:
                raise ArrayFileError(f"{what}: truncated: {pos:,} of {info.nbytes:,} bytes could be decompressed")
            out[pos: pos + len(chunk)] = np.frombuffer(chunk, np.uint8)
            pos += len(chunk)
    arr = np.ndarray(shape, dtype=dtype, buffer=out, order="F" if fortran else "C")
    arr.flags.writeable = False
    return arr


def load_npz(path: str | Path, keys: tuple[str, ...] | None = None, *, mmap: bool | None = True,
             max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Read arrays of an .npz, read-only; stored members without copying, compressed ones decompressed.

    Args:
        path: the .npz file.
        keys: the arrays wanted (absent ones are left out of the result); None = all.
        mmap: True memory-maps the file once (stored members become np.memmap views); False reads it into
            memory; None maps only files of at least MMAP_MIN_BYTES.
        max_bytes: the most bytes one compressed member may inflate to (e.g. what the clip's length justifies);
            default `inflate_limit` (deflate's best ratio times its compressed size). Checked against the zip
            directory and the member's .npy header before anything is allocated.
    Returns:
        {key: array} for the keys present.
    Raises:
        ArrayFileError: the file or a wanted member is unreadable or larger than allowed (never unpickles).
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
            with zipfile.ZipFile(io.BytesIO(buf) if isinstance(buf, bytes) else path) as zf:
                for k in compressed:
                    m = members[k]
                    limit = inflate_limit(m) if max_bytes is None else int(max_bytes) + _MAX_HEADER
                    out[k] = _inflate(zf, m, limit, f"{path.name}[{_short(k, 80)}]")
        except ArrayFileError:
            raise
        # zipfile and its decompressors raise these for corrupt streams, bad CRCs and unsupported methods
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
                NotImplementedError, RuntimeError, struct.error, lzma.LZMAError) as e:
            raise ArrayFileError(f"{path.name}: cannot decompress {compressed} ({_short(e)})") from None
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
