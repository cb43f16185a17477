"""Memory-mapped .npy/.npz reading from headers alone, aligned .npz writing, and NaN-gap helpers."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then file-name and extra-field lengths at bytes 26..29
_ALIGN = 64  # npy data is 64-byte aligned inside its own file; we align the npy start too (see write_npz)
_PAD_EXTRA_ID = 0xD935  # the zip extra-field id Android's zipalign uses for padding; every reader skips it


class ArrayFileError(ValueError):
    """A .npy/.npz file that cannot be read: bad header, truncated, object dtype, compressed and so on."""


@dataclass(frozen=True)
class NpyInfo:
    """What an .npy header says, plus where its data starts in the file that holds it."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int | None  # absolute byte offset of the data; None inside a compressed npz member

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _read_header(fp: BinaryIO, what: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ArrayFileError(f"{what}: unsupported .npy version {version}")
    except ArrayFileError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise ArrayFileError(f"{what}: not a valid .npy header ({e})") from None
    if dtype.hasobject:
        raise ArrayFileError(f"{what}: object dtype is not allowed (it would need pickle)")
    return tuple(int(s) for s in shape), dtype, bool(fortran)


def npy_info(path: str | Path) -> NpyInfo:
    """Read an .npy header and check the file holds all the data it announces.

    Args:
        path: the .npy file.
    Returns:
        The header's shape, dtype and order, and the data offset.
    Raises:
        ArrayFileError: bad magic/header, object dtype or a truncated file.
        OSError: the file cannot be opened.
    """
    with open(path, "rb") as fp:
        shape, dtype, fortran = _read_header(fp, Path(path).name)
        info = NpyInfo(shape, dtype, fortran, fp.tell())
        size = os.fstat(fp.fileno()).st_size
    if size < info.offset + info.nbytes:
        raise ArrayFileError(f"{Path(path).name}: truncated: header announces {info.nbytes} bytes of data, "
                             f"the file has {size - info.offset}")
    return info


def _memmap(path: str | Path, info: NpyInfo) -> np.ndarray:
    if info.nbytes == 0:  # mmap cannot map zero bytes
        return np.empty(info.shape, info.dtype)
    return np.memmap(path, dtype=info.dtype, mode="r", offset=info.offset, shape=info.shape,
                     order="F" if info.fortran_order else "C")


def open_npy(path: str | Path, *, mmap: bool = True) -> np.ndarray:
    """Open an .npy file read-only, memory-mapped unless `mmap` is False (never unpickles).

    Raises:
        ArrayFileError: the file is not a readable .npy (see `npy_info`).
    """
    info = npy_info(path)
    arr = _memmap(path, info)
    return arr if mmap else np.array(arr)


@dataclass(frozen=True)
class NpzMember:
    """One array of an .npz: its header and, for stored (uncompressed) members, its absolute data offset."""

    name: str  # the key, without ".npy"
    info: NpyInfo
    compressed: bool


def npz_members(path: str | Path) -> dict[str, NpzMember]:
    """List the arrays of an .npz from the zip directory and each member's .npy header (no data is read).

    Raises:
        ArrayFileError: not a zip, encrypted, a member with a bad or truncated .npy header.
    """
    path = Path(path)
    members: dict[str, NpzMember] = {}
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as raw:
            for zi in zf.infolist():
                key = zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename
                what = f"{path.name}[{key}]"
                if zi.flag_bits & 0x1:
                    raise ArrayFileError(f"{what}: encrypted zip members are not supported")
                if zi.compress_type == zipfile.ZIP_STORED:
                    members[key] = NpzMember(key, _stored_member_info(raw, zi, what), False)
                else:
                    with zf.open(zi) as fp:
                        shape, dtype, fortran = _read_header(fp, what)
                    members[key] = NpzMember(key, NpyInfo(shape, dtype, fortran, None), True)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as e:
        raise ArrayFileError(f"{path.name}: not a readable .npz/zip file ({e})") from None
    return members


def _stored_member_info(raw: BinaryIO, zi: zipfile.ZipInfo, what: str) -> NpyInfo:
    # The directory's extra field may differ from the local one, so read the local header's lengths.
    raw.seek(zi.header_offset)
    head = raw.read(_LOCAL_HEADER.size)
    sig, n_name, n_extra = _LOCAL_HEADER.unpack(head) if len(head) == _LOCAL_HEADER.size else (b"", 0, 0)
    if sig != b"PK\x03\x04":
        raise ArrayFileError(f"{what}: bad zip local header")
    start = zi.header_offset + _LOCAL_HEADER.size + n_name + n_extra
    raw.seek(start)
    shape, dtype, fortran = _read_header(raw, what)
    info = NpyInfo(shape, dtype, fortran, raw.tell())
    if info.offset - start + info.nbytes > zi.file_size:
        raise ArrayFileError(f"{what}: truncated member")
    return info


def load_npz(path: str | Path, keys: tuple[str, ...] | None = None, *, mmap: bool = True) -> dict[str, np.ndarray]:
    """Read arrays of an .npz: stored members memory-mapped, compressed ones decompressed (never unpickles).

    Args:
        path: the .npz file.
        keys: the arrays wanted (absent ones are left out of the result); None = all.
        mmap: memory-map stored members (False reads them into memory).
    Returns:
        {key: array} for the keys present.
    Raises:
        ArrayFileError: the file or a wanted member is unreadable.
    """
    members = npz_members(path)
    wanted = [k for k in (keys if keys is not None else members) if k in members]
    out: dict[str, np.ndarray] = {}
    compressed = [k for k in wanted if members[k].compressed]
    for k in wanted:
        if not members[k].compressed:
            arr = _memmap(path, members[k].info)
            out[k] = arr if mmap else np.array(arr)
    if compressed:
        try:
            with np.load(path, allow_pickle=False) as z:
                for k in compressed:
                    out[k] = z[k]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
            raise ArrayFileError(f"{Path(path).name}: cannot decompress {compressed} ({e})") from None
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
            data_at = fp.tell() + _LOCAL_HEADER.size + len(zi.filename.encode()) + 6
            pad = (-data_at) % _ALIGN
            zi.extra = struct.pack("<HHH", _PAD_EXTRA_ID, 2 + pad, _ALIGN) + b"\0" * pad
            zf.writestr(zi, buf.getvalue())


# --- NaN gaps -------------------------------------------------------------------------------------------


def nan_runs(mask: np.ndarray) -> np.ndarray:
    """Runs of True in a 1-D bool mask, as an (K, 2) int array of [start, stop)."""
    m = np.concatenate(([False], np.asarray(mask, bool), [False]))
    edges = np.flatnonzero(m[1:] != m[:-1])
    return edges.reshape(-1, 2)


def frame_nan_mask(x: np.ndarray) -> np.ndarray:
    """(T,) True where any value of a sample (a frame) is NaN."""
    return np.isnan(x.reshape(len(x), -1)).any(axis=1)


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
