"""Seeded mutations of an H.264 mp4 and one run of every server-side reader that opens a video.

Used by tests/fimad_fuzz.py (the "video" file kind), tests/test_fuzz_fimad.py and benchmarks/bench_fuzz.py. The
mutations know the ISO BMFF box layout: bytes flipped inside `moov` or inside `mdat`, a truncation inside either,
a box whose size field lies (0, 1 with no 64-bit size after it, under its header, past the file's end, 2^32-1), a
sample table whose entry count lies, a sample entry whose width and height are huge, boxes swapped, a zero-length
file and garbage. The readers are the ones a page, the CLI or a training run calls: `video_info` (probing),
`read_frames` (decoding to RGB), `flow.describe_video` and the video-feature worker `_compute_clip` (decoding to
luma and the mujo_flow descriptor). Each may raise only VideoError (a FimadBaseError naming the file).
"""

from __future__ import annotations

import random
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from mujo.features import flow
from mujo.features.video import _compute_clip
from mujo.fimad.errors import FimadBaseError
from mujo.fimad.video import read_frames, video_info

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex"}
TABLES = (b"stts", b"stss", b"stsc", b"stsz", b"stco", b"co64", b"ctts", b"elst")  # version/flags, then a count
HOSTILE_SIZES = (0, 1, 7, 8, 2**31 - 1, 2**32 - 1)
HOSTILE_COUNTS = (0, 1, 2**16, 2**28, 2**31 - 1, 2**32 - 1)
MAX_SECONDS = 10.0  # the most one reader may take on one of these files (the template decodes in ~10 ms)


@dataclass
class Box:
    """One ISO BMFF box: its type, where its header starts, its declared size and its depth."""

    kind: bytes
    start: int
    size: int
    depth: int


def boxes(data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[Box]:
    """The boxes of an mp4, depth-first (containers opened, the stsd sample entry and its children too)."""
    end = len(data) if end is None else end
    out, i = [], start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i: i + 8])
        if size < 8 or i + size > end:
            break
        out.append(Box(kind, i, size, depth))
        if kind in CONTAINERS:
            out += boxes(data, i + 8, i + size, depth + 1)
        elif kind == b"stsd":  # version/flags, entry count, then sample entries
            out += boxes(data, i + 16, i + size, depth + 1)
        elif kind in (b"avc1", b"hvc1", b"mp4v"):  # a visual sample entry: 78 bytes before its children
            out += boxes(data, i + 86, i + size, depth + 1)
        i += size
    return out


def _find(found: list[Box], kind: bytes) -> Box | None:
    return next((b for b in found if b.kind == kind), None)


def mutate_mp4(rng: random.Random, path: Path) -> tuple[str, bool]:
    """Change one mp4 in place; returns (what was done, whether it certainly is no longer an mp4)."""
    data = bytearray(path.read_bytes())
    found = boxes(bytes(data))
    op = rng.choice(("moov_flip", "mdat_flip", "moov_truncate", "mdat_truncate", "box_size", "box_size",
                     "table_count", "dims", "swap", "zero_length", "garbage", "garbage_ftyp"))
    moov, mdat = _find(found, b"moov"), _find(found, b"mdat")
    if op in ("moov_flip", "mdat_flip") and (box := moov if op == "moov_flip" else mdat):
        n = rng.randint(1, 8)
        for _ in range(n):
            data[rng.randrange(box.start + 8, box.start + box.size)] = rng.randrange(256)
        path.write_bytes(bytes(data))
        return f"{op}: {n} bytes", False
    if op in ("moov_truncate", "mdat_truncate") and (box := moov if op == "moov_truncate" else mdat):
        at = rng.randrange(box.start, box.start + box.size)
        path.write_bytes(bytes(data[:at]))
        return f"{op} at byte {at} of {len(data)}", False
    if op == "box_size" and found:
        box = rng.choice(found)
        size = rng.choice(HOSTILE_SIZES + (box.size - 1, box.size + 1, len(data) + 1))
        data[box.start: box.start + 4] = struct.pack(">I", size & 0xFFFFFFFF)
        path.write_bytes(bytes(data))
        return f"{box.kind.decode('latin1')} size = {size}", False
    if op == "table_count" and (tables := [b for b in found if b.kind in TABLES]):
        box = rng.choice(tables)
        count = rng.choice(HOSTILE_COUNTS)
        at = box.start + (16 if box.kind == b"stsz" else 12)  # stsz: sample size, then the count
        data[at: at + 4] = struct.pack(">I", count)
        path.write_bytes(bytes(data))
        return f"{box.kind.decode('latin1')} entry count = {count}", False
    if op == "dims" and (entry := _find(found, b"avc1")):
        w, h = rng.choice(((65535, 65535), (0, 0), (1, 1), (16384, 16384), (64, 65535)))
        data[entry.start + 32: entry.start + 36] = struct.pack(">HH", w, h)
        tkhd = _find(found, b"tkhd")
        if tkhd is not None:  # version 0: width and height, 16.16 fixed point, end the box
            end = tkhd.start + tkhd.size
            data[end - 8: end] = struct.pack(">II", (w << 16) & 0xFFFFFFFF, (h << 16) & 0xFFFFFFFF)
        path.write_bytes(bytes(data))
        return f"sample entry and track {w}x{h}", False
    if op == "swap" and moov and mdat:
        a, b = sorted((moov, mdat), key=lambda x: x.start)
        swapped = (data[: a.start] + data[b.start: b.start + b.size] + data[a.start + a.size: b.start]
                   + data[a.start: a.start + a.size] + data[b.start + b.size:])
        path.write_bytes(bytes(swapped))  # the chunk offsets in moov now point at the wrong bytes
        return "moov and mdat swapped", False
    if op == "zero_length":
        path.write_bytes(b"")
        return "zero-length file", True
    if op == "garbage_ftyp":  # a valid ftyp box, then noise
        ftyp = found[0] if found and found[0].kind == b"ftyp" else None
        head = bytes(data[: ftyp.size]) if ftyp else b""
        path.write_bytes(head + rng.randbytes(rng.randint(0, 4096)))
        return "ftyp then garbage", False
    path.write_bytes(rng.randbytes(rng.choice((7, 100, len(data)))))
    return "garbage", True


def read_video_everywhere(path: Path, n_frames: int, fps: float, scratch: Path, *, flow_too: bool = True
                          ) -> tuple[list[str], list[str], float]:
    """Run every reader that opens a video on `path` (the two mujo_flow ones, ~30 ms each, only if `flow_too`).

    Returns:
        (what escaped: "reader: Type: message"; the readers' VideoError messages; the slowest reader's seconds).
    """
    escaped, refused, slowest = [], [], 0.0

    def frames() -> int:
        return sum(1 for _ in read_frames(path, every=1))

    def worker() -> None:
        _, error = _compute_clip(str(path), str(scratch / f"{path.stem}.npy"), n_frames, fps)
        if error is not None:  # the worker reports, never raises: its report must name the file
            if str(path) not in error:
                escaped.append(f"_compute_clip: error without the file's name: {error[:200]}")
            refused.append(error)

    readers = [("video_info", lambda: video_info(path)), ("read_frames", frames)]
    if flow_too:
        readers += [("describe_video", lambda: flow.describe_video(path)), ("_compute_clip", worker)]
    for name, fn in readers:
        t0 = time.perf_counter()
        try:
            fn()
        except FimadBaseError as e:
            if str(path) not in str(e):
                escaped.append(f"{name}: {type(e).__name__} without the file's name: {str(e)[:200]}")
            refused.append(f"{name}: {e}")
        except Exception as e:  # noqa: BLE001  (what the fuzzing looks for: anything else escaped)
            escaped.append(f"{name}: {type(e).__name__}: {str(e)[:300]}")
        slowest = max(slowest, time.perf_counter() - t0)
    return escaped, refused, slowest
