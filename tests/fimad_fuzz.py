"""Seeded mutations of a small valid FiMAD dataset and checkpoint, and one run of every reader over the result.

Used by tests/test_fuzz_fimad.py (a fixed seed list) and benchmarks/bench_fuzz.py (thousands of seeds). A case is
a pure function of its seed: `mutate(random.Random(seed), root, ckpt)` changes one file of a fresh copy of the
template and says which clip (if any) it broke for certain; `exercise(root, ckpt)` runs validation and every
reader the pages and training use (the video readers of tests/mp4_fuzz.py included), and returns what escaped
(anything outside the fimad error family and CheckpointError) together with the validation report, the traced peak
(numpy and Python objects) and the peak resident memory (what PyAV, FFmpeg and zlib allocate too).
"""

from __future__ import annotations

import io
import json
import random
import shutil
import struct
import tempfile
import time
import tracemalloc
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from fimad_factory import make_fimad
from mp4_fuzz import mutate_mp4, read_video_everywhere

from mujo import models_registry
from mujo.checkpoint import CONFIG, FORMAT, WEIGHTS, CheckpointError, read_checkpoint_config
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.errors import FimadBaseError
from mujo.fimad.layout import is_safe_clip_id
from mujo.fimad.report import ValidationReport
from mujo.fimad.validate import validate_dataset
from mujo.fimad.windows import read_windows

SITES = ("RHip", "LWrist")
LENGTHS = (60, 80, 60, 70)
FEATURE = "demo"  # features/demo/<clip>.npy and text_features/demo.npz
LONG_TEXT = "Squats " * 30_000  # 210 kB: kept whole, never quadratic
HOSTILE_CELLS = ("-5", "1e30", "abc", "3.5", "", "inf", "nan", "99999999999", "0x10", " 7 ", "1_000", "٣",
                 "=cmd|' /C calc'!A0", "<script>alert(1)</script>", "\x00", "9" * 400, LONG_TEXT)
BAD_DTYPES = ("<q9", "|O", "S0", "V0", "<U0", "?", "<f99", "[('a', '<f4')]", "<c16", "|b1", "<i8", ">f8", "<f2")
BAD_SHAPES = ("(-1, 17, 3)", "(99999999999999, 17, 3)", "()", "(0, 17, 3)", "(60, 17)", "(60, 17, 3, 1)",
              "(" + "1, " * 40 + ")", "('a',)", "(1.5,)", "(2**64,)", "[60, 17, 3]")


@dataclass
class Mutation:
    """What one case changed."""

    file: str  # relative to the dataset root ("ckpt/..." for the checkpoint)
    what: str
    clip_id: str | None = None  # the clip whose file was changed
    must_fail: bool = False  # the change certainly breaks that clip (or the whole file): validation must say so


@dataclass
class Outcome:
    """What running every reader over a mutated dataset gave."""

    report: ValidationReport
    escaped: list[str] = field(default_factory=list)  # "reader: ExceptionType: message"
    clip_errors: dict[str, str] = field(default_factory=dict)  # clip -> a reader's ClipError
    peak_bytes: int = 0  # tracemalloc's peak: Python and numpy allocations
    peak_rss_bytes: int = 0  # the resident memory's peak above its start (0 where /proc cannot tell)
    seconds: float = 0.0  # the whole case
    slowest_video_s: float = 0.0  # the slowest video reader on one file
    checkpoint_error: str | None = None  # the CheckpointError that refused the checkpoint, if one did


# --- the template --------------------------------------------------------------------------------------


def write_template(folder: Path) -> tuple[Path, Path]:
    """A valid dataset (pose, stored and compressed IMU, video, features, text features, splits) and checkpoint."""
    root = make_fimad(folder / "data", n_clips=len(LENGTHS), n_frames=list(LENGTHS), imu_sites=SITES,
                      with_video=True, splits={"train": ["clip000", "clip001"], "val": ["clip002", "clip003"]})
    rng = np.random.default_rng(1)
    acc, gyro = (rng.normal(size=(LENGTHS[1], len(SITES), 3)).astype(np.float32) for _ in range(2))
    np.savez_compressed(root / "imu" / "clip001.npz", acc=acc, gyro=gyro)
    (root / "features" / FEATURE).mkdir(parents=True)
    for i, n in enumerate(LENGTHS):
        np.save(root / "features" / FEATURE / f"clip{i:03d}.npy", rng.normal(size=(n, 8)).astype(np.float32))
    (root / "text_features").mkdir()
    ids = np.array([f"clip{i:03d}" for i in range(len(LENGTHS))])
    np.savez(root / "text_features" / f"{FEATURE}.npz", clip_id=ids,
             chapter=rng.normal(size=(len(ids), 8)).astype(np.float32))
    manifest = json.loads((root / "fimad.json").read_text(encoding="utf-8"))
    manifest["features"] = {FEATURE: {"dim": 8, "fps": 50}}
    manifest["text_features"] = {FEATURE: {"dim": 8, "fields": ["chapter"]}}
    (root / "fimad.json").write_text(json.dumps(manifest), encoding="utf-8")
    ckpt = folder / "ckpt"
    ckpt.mkdir()
    header = {"__metadata__": {"format": "pt"}, "encoders.imu.w": {"dtype": "F32", "shape": [4, 3],
                                                                   "data_offsets": [0, 48]}}
    _write_safetensors(ckpt / WEIGHTS, header, bytes(48))
    config = {"format": FORMAT, "format_version": 1, "model": {"model_type": "mujo"},
              "extra": {"preset": "tiny", "summary": {"epochs": 3, "best_loss": 0.5}}}
    (ckpt / CONFIG).write_text(json.dumps(config), encoding="utf-8")
    return root, ckpt


def _write_safetensors(path: Path, header: object, data: bytes) -> None:
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def fresh_copy(template: Path, dest: Path) -> tuple[Path, Path]:
    """A copy of the template folder (data/ and ckpt/) at dest."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(template, dest)
    return dest / "data", dest / "ckpt"


# --- the mutations -------------------------------------------------------------------------------------


def _npy_bytes(header: str, data: bytes, version: int = 1) -> bytes:
    text = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (-(pre + len(text) + 1)) % 64
    text += b" " * pad + b"\n"
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def _header(rng: random.Random, shape: tuple[int, ...]) -> tuple[str, bool]:
    """A mutated header dict text, and whether it is certainly unreadable as a float array of that shape."""
    descr, fortran, shape_text = "<f4", "False", str(shape)
    pick = rng.randrange(4)
    if pick == 0:
        descr = rng.choice(BAD_DTYPES)
    elif pick == 1:
        shape_text = rng.choice(BAD_SHAPES)
    elif pick == 2:
        fortran = rng.choice(("True", "1", "'yes'", "None"))
    else:
        descr, shape_text = rng.choice(BAD_DTYPES), rng.choice(BAD_SHAPES)
    certain = descr in ("<q9", "|O", "S0", "V0", "<U0", "?", "<f99") or shape_text in BAD_SHAPES[:2] + BAD_SHAPES[7:]
    return f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}", certain


def _mutate_bytes(rng: random.Random, path: Path) -> tuple[str, bool]:
    data = bytearray(path.read_bytes())
    op = rng.choice(("flip", "truncate", "zero", "append", "insert", "empty", "head"))
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif op == "truncate":
        del data[rng.randrange(len(data)):]
    elif op == "zero":
        a = rng.randrange(len(data))
        data[a: a + rng.randint(1, 256)] = bytes(len(data[a: a + rng.randint(1, 256)]))
    elif op == "append":
        data += rng.randbytes(rng.randint(1, 4096))
    elif op == "insert":
        a = rng.randrange(len(data))
        data[a:a] = rng.randbytes(rng.randint(1, 64))
    elif op == "empty":
        data = bytearray()
    else:  # garbage over the magic / signature / first box
        data[:16] = rng.randbytes(16)
    path.write_bytes(bytes(data))
    return op, op in ("truncate", "empty")


def _mutate_npy(rng: random.Random, path: Path, shape: tuple[int, ...]) -> tuple[str, bool]:
    """Header, values or bytes of an .npy; returns (description, certainly unreadable)."""
    kind = rng.choice(("header", "header", "values", "bytes", "version", "length"))
    arr = np.load(path)
    if kind == "header":
        text, certain = _header(rng, shape)
        path.write_bytes(_npy_bytes(text, arr.tobytes()))
        return f"header {text}", certain
    if kind == "values":
        a = rng.randrange(len(arr))
        arr[a: a + rng.randint(1, 40)] = rng.choice((np.inf, -np.inf, np.nan))
        np.save(path, arr)
        return "inf/NaN run", False
    if kind == "version":
        data = bytearray(path.read_bytes())
        data[6] = rng.choice((0, 3, 255))
        path.write_bytes(bytes(data))
        return f"version byte {data[6]}", True
    if kind == "length":
        data = bytearray(path.read_bytes())
        data[8:10] = struct.pack("<H", rng.choice((0, 1, 65535, len(data))))
        path.write_bytes(bytes(data))
        return "header length field", True
    op, certain = _mutate_bytes(rng, path)
    return f"bytes {op}", certain


def _stored_npz(path: Path, members: dict[str, bytes]) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, raw in members.items():
            zf.writestr(name, raw)
    path.write_bytes(buf.getvalue())


def _patch_directory(rng: random.Random, path: Path) -> str:
    """Overwrite one field (sizes, offset, method, flags) of a central directory entry with a hostile value."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    if at < 0:
        return "no central directory"
    field_at, name = rng.choice(((20, "compressed size"), (24, "uncompressed size"), (42, "offset"),
                                 (10, "method"), (8, "flags")))
    width = 2 if field_at in (8, 10) else 4
    value = rng.choice((0, 1, 2**(8 * width - 1), 2**(8 * width) - 1, rng.randrange(2**(8 * width))))
    data[at + field_at: at + field_at + width] = value.to_bytes(width, "little")
    path.write_bytes(bytes(data))
    return f"directory {name} = {value}"


def _mutate_npz(rng: random.Random, path: Path, shape: tuple[int, ...], compressed: bool) -> tuple[str, bool]:
    kind = rng.choice(("member_header", "bomb", "directory", "values", "bytes", "no_acc", "gyro_shape"))
    with np.load(path) as z:
        arrays = {k: np.array(z[k]) for k in z.files}
    if kind == "member_header":
        text, certain = _header(rng, shape)
        raw = _npy_bytes(text, arrays["acc"].tobytes())
        gyro = _npy_bytes(_header_of(arrays["gyro"]), arrays["gyro"].tobytes())
        _stored_npz(path, {"acc.npy": raw, "gyro.npy": gyro})
        return f"acc header {text}", certain
    if kind == "bomb":
        n = rng.choice((200_000, 2_000_000))  # 4.8 / 48 MB of zeros in a few kB
        zeros = np.zeros((n, len(SITES), 3), np.float32)
        np.savez_compressed(path, acc=zeros, gyro=zeros)
        return f"compressed bomb of {n} samples", True
    if kind == "directory":
        return _patch_directory(rng, path), False
    if kind == "values":
        a = rng.randrange(len(arrays["acc"]))
        arrays["acc"][a: a + rng.randint(1, 30)] = rng.choice((np.inf, -np.inf, np.nan))
        (np.savez_compressed if compressed else np.savez)(path, **arrays)
        return "inf/NaN run in acc", False
    if kind == "no_acc":
        np.savez(path, gyro=arrays["gyro"])
        return "no acc member", True
    if kind == "gyro_shape":
        np.savez(path, acc=arrays["acc"], gyro=arrays["gyro"][:, :1])
        return "gyro of another shape", True
    op, certain = _mutate_bytes(rng, path)
    return f"bytes {op}", certain


def _header_of(arr: np.ndarray) -> str:
    return f"{{'descr': '{arr.dtype.str}', 'fortran_order': False, 'shape': {arr.shape}, }}"


def _mutate_csv(rng: random.Random, root: Path) -> Mutation:
    import csv  # noqa: PLC0415

    path = root / "clips.csv"
    if rng.random() < 0.25:
        op, _ = _mutate_bytes(rng, path)
        return Mutation("clips.csv", f"bytes {op}")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    r = rng.randrange(1, len(rows))
    clip_id = rows[r][0]
    col = rng.choice(("n_frames", "n_frames", "clip_id", "chapter", "start_s", "chapter_index", "split", "video_id"))
    value = rng.choice(HOSTILE_CELLS)
    rows[r][rows[0].index(col)] = value
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    certain = col == "n_frames" and value not in (" 7 ", "٣", "0x10", "1_000")  # readings that may parse
    if col == "clip_id":
        new_id = value.strip()
        return Mutation("clips.csv", f"clip_id = {value[:30]!r}", new_id or None, not is_safe_clip_id(new_id))
    return Mutation("clips.csv", f"{col} = {value[:30]!r}", clip_id, certain)


def _deep(n: int) -> str:
    return "[" * n + "]" * n


def _mutate_json(rng: random.Random, path: Path, keys: tuple[str, ...]) -> str:
    values = (None, -1, 0, 1e308, "50", "x" * 1000, [], {}, [1, "a"], {"a": {"b": [None]}}, True, 2**70,
              ["RHip", "RHip"], ["Nose"], {"../x": {"fps": "abc"}}, {FEATURE: {"fps": "abc"}}, {FEATURE: {"fps": 0}},
              {FEATURE: []}, ["clip000", 5, None], {"train": "clip000"}, {"train": [["clip000"]]})
    op = rng.random()
    if op < 0.15:
        path.write_text(_deep(rng.choice((100, 100_000))), encoding="utf-8")
        return "deeply nested JSON"
    if op < 0.3:
        o, _ = _mutate_bytes(rng, path)
        return f"bytes {o}"
    doc = json.loads(path.read_text(encoding="utf-8"))
    key = rng.choice(keys)
    value = rng.choice(values)
    if isinstance(doc, dict):
        doc[key] = value
    path.write_text(json.dumps(doc), encoding="utf-8")
    return f"{key} = {json.dumps(value)[:40]}"


def _mutate_checkpoint(rng: random.Random, ckpt: Path) -> tuple[str, bool]:
    if rng.random() < 0.5:
        entry = rng.choice((5, "x", None, [1, 2], {"dtype": "F32", "shape": "x", "data_offsets": [0, 48]},
                            {"dtype": "F32", "shape": [-4, 3], "data_offsets": [0, 48]},
                            {"dtype": 7, "shape": [4, 3], "data_offsets": [0, 48]},
                            {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 10**12]},
                            {"dtype": "F32", "shape": [10**9, 10**9], "data_offsets": [0, 48]},
                            {"dtype": "F32", "shape": [4, 3.5], "data_offsets": [0, 48]}))
        header: object = {"__metadata__": {}, "encoders.imu.w": entry}
        if rng.random() < 0.2:
            header = rng.choice(([1, 2], "x", json.loads(_deep(50))))
        _write_safetensors(ckpt / WEIGHTS, header, bytes(48))
        if rng.random() < 0.2:
            data = bytearray((ckpt / WEIGHTS).read_bytes())
            data[:8] = struct.pack("<Q", rng.choice((0, 2**63, 10**6, len(data) + 1)))
            (ckpt / WEIGHTS).write_bytes(bytes(data))
        return f"safetensors entry {json.dumps(entry)[:60]}", True
    model = rng.choice(({"model_type": "mujo", "embed_dim": "x"}, {"model_type": "mujo", "modalities": 5},
                        {"model_type": "mujo", "imu_sites": [1, 2]}, {"model_type": 5}, {"model_type": ["mujo"]},
                        {"model_type": "mujo", "window": None}, [], "mujo"))
    extra = rng.choice(({"summary": {"best_loss": "x", "epochs": [1]}}, {"summary": [1, 2]}, [], "x",
                        {"settings": "x", "preset": 5}, {"train": {"method": {}}}))
    config = {"format": FORMAT, "format_version": rng.choice((1, 1, "1", None, 99)), "model": model, "extra": extra}
    (ckpt / CONFIG).write_text(json.dumps(config), encoding="utf-8")
    return f"config model {json.dumps(model)[:60]}, extra {json.dumps(extra)[:40]}", False


def mutate(rng: random.Random, root: Path, ckpt: Path) -> Mutation:
    """Change one file of a fresh copy of the template (see module docstring)."""
    i = rng.randrange(len(LENGTHS))
    cid = f"clip{i:03d}"
    kind = rng.choice(("pose", "pose", "imu", "imu", "video", "clips", "clips", "manifest", "splits", "features",
                       "text_features", "checkpoint"))
    if kind == "pose":
        what, certain = _mutate_npy(rng, root / "pose" / f"{cid}.npy", (LENGTHS[i], 17, 3))
        return Mutation(f"pose/{cid}.npy", what, cid, certain)
    if kind == "imu":
        what, certain = _mutate_npz(rng, root / "imu" / f"{cid}.npz", (LENGTHS[i], len(SITES), 3), cid == "clip001")
        return Mutation(f"imu/{cid}.npz", what, cid, certain)
    if kind == "video":
        what, certain = mutate_mp4(rng, root / "video" / f"{cid}.mp4")
        return Mutation(f"video/{cid}.mp4", what, cid, certain)
    if kind == "clips":
        return _mutate_csv(rng, root)
    if kind == "manifest":
        what = _mutate_json(rng, root / "fimad.json", ("fps", "imu_sites", "features", "text_features", "version",
                                                       "name", "skeleton", "description", "format"))
        return Mutation("fimad.json", what)
    if kind == "splits":
        return Mutation("splits.json", _mutate_json(rng, root / "splits.json", ("train", "val", "test")))
    if kind == "features":
        what, certain = _mutate_npy(rng, root / "features" / FEATURE / f"{cid}.npy", (LENGTHS[i], 8))
        return Mutation(f"features/{FEATURE}/{cid}.npy", what, cid, certain)
    if kind == "text_features":
        op, _ = _mutate_bytes(rng, root / "text_features" / f"{FEATURE}.npz")
        return Mutation(f"text_features/{FEATURE}.npz", f"bytes {op}", None, op in ("truncate", "empty"))
    what, certain = _mutate_checkpoint(rng, ckpt)
    return Mutation(f"ckpt/{what}", what, None, certain)


# --- running every reader ------------------------------------------------------------------------------


def _call(out: Outcome, where: str, fn: Callable[[], object], allowed: tuple[type[BaseException], ...]) -> object:
    try:
        return fn()
    except allowed as e:
        return e
    except Exception as e:  # noqa: BLE001  (what the fuzzing looks for: anything else escaped)
        out.escaped.append(f"{where}: {type(e).__name__}: {str(e)[:300]}")
        return None


def _exercise(root: Path, ckpt: Path, check_video: str, flow_clips: set[str] | None) -> Outcome:
    from mujo.features.text import precomputed_text_features  # noqa: PLC0415
    from mujo.features.video import precomputed_video_features, video_features  # noqa: PLC0415

    holder = Outcome(report=ValidationReport(root, False, 0))
    ds = _call(holder, "open", lambda: FimadDataset(root), (FimadBaseError,))
    # the CLI validates a folder; pages validate the dataset they opened: one of the two per case
    target = ds if isinstance(ds, FimadDataset) else root
    report = _call(holder, "validate", lambda: validate_dataset(target, check_video=check_video), ())
    if isinstance(report, ValidationReport):
        holder.report = report
    if isinstance(ds, FimadDataset):
        fam = (FimadBaseError,)
        features = _call(holder, "precomputed_video_features", lambda: precomputed_video_features(ds), fam) or []
        for cid in ds.clips.index:
            for name, fn in (("pose", lambda c=cid: ds.pose(c)), ("imu", lambda c=cid: ds.imu(c)),
                             ("video_path", lambda c=cid: ds.video_path(c))):
                got = _call(holder, f"{name}({cid})", fn, fam)
                if isinstance(got, FimadBaseError):
                    holder.clip_errors[cid] = str(got)
            for name in features if isinstance(features, list) else []:
                _call(holder, f"video_features({cid}, {name})", lambda c=cid, n=name: video_features(ds, c, n), fam)
        _read_videos(holder, ds, flow_clips)
        _call(holder, "precomputed_text_features", lambda: precomputed_text_features(ds, "chapter"), fam)
        for name in list(ds.manifest.text_features):
            if is_safe_clip_id(name):
                _call(holder, f"text_features({name})", lambda n=name: ds.text_features(n), fam)
        _call(holder, "windows", lambda: _read_all_windows(ds), fam)
    got = _call(holder, "read_checkpoint", lambda: models_registry.read_checkpoint(ckpt), (CheckpointError,))
    if isinstance(got, CheckpointError):
        holder.checkpoint_error = str(got)
    _call(holder, "read_checkpoint_config", lambda: read_checkpoint_config(ckpt), (CheckpointError,))
    return holder


def _read_videos(holder: Outcome, ds: FimadDataset, flow_clips: set[str] | None) -> None:
    """Every video reader on every clip's mp4: probing and RGB decoding, and the mujo_flow descriptor and its worker
    on the clips of `flow_clips` (None: all)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-flow-") as scratch:
        for cid, n in zip(ds.clips.index, ds.clips["n_frames"]):
            path = _call(holder, f"video_path({cid})", lambda c=cid: ds.video_path(c), (FimadBaseError,))
            if not isinstance(path, Path):
                continue
            frames = int(n) if isinstance(n, (int, float, np.number)) and np.isfinite(n) and 0 < n < 10**6 else 60
            fps = float(ds.fps) if isinstance(ds.fps, (int, float)) and 0 < ds.fps < 10**4 else 50.0
            escaped, _, slowest = read_video_everywhere(path, frames, fps, Path(scratch),
                                                        flow_too=flow_clips is None or cid in flow_clips)
            holder.escaped += [f"{cid}: {e}" for e in escaped]
            holder.slowest_video_s = max(holder.slowest_video_s, slowest)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> int | None:
    """Reset this process's peak resident memory (VmHWM) to its current one and return that (KiB); None where Linux
    does not allow it (then no peak is measured)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return _rss_kib("VmRSS")
    except OSError:
        return None


def _read_all_windows(ds: FimadDataset) -> None:
    """Every window of every readable clip, clip by clip (a broken clip raises ClipError and is skipped)."""
    index = ds.windows(size=20, hop=10, trim=0.1)
    for modality in ("pose", "acc", "gyro"):
        for code in range(len(index.clip_list)):
            rows = np.flatnonzero(index.codes == code)
            if len(rows):
                try:
                    read_windows(ds, index, rows, modality)
                except FimadBaseError:
                    pass


def exercise(root: Path, ckpt: Path, *, check_video: str = "header", flow_clips: set[str] | None = None) -> Outcome:
    """Validate, open and read everything under tracemalloc, and measure the peak resident memory; see `Outcome`.

    `flow_clips`: the clips whose video the mujo_flow readers decode too (None: all; `flow_clips_of(mutation)`
    keeps a case fast: the mutated video only)."""
    start_rss = reset_peak_rss()
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        out = _exercise(root, ckpt, check_video, flow_clips)
        out.peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out.seconds = time.perf_counter() - t0
    out.peak_rss_bytes = peak_rss_since(start_rss)
    return out


def peak_rss_since(start_kib: int | None) -> int:
    """The peak resident memory above `start_kib` (from `reset_peak_rss`) in bytes; 0 where it cannot be told."""
    return 0 if start_kib is None else max(0, _rss_kib("VmHWM") - start_kib) * 1024


def flow_clips_of(mutation: Mutation) -> set[str]:
    """The clips whose video the mujo_flow readers decode in a case: the mutated video's, else none."""
    return {mutation.clip_id} if mutation.file.startswith("video/") and mutation.clip_id else set()


def memory_bound(root: Path, ckpt: Path) -> int:
    """The most the readers may allocate for a case: 16 times the bytes on disk, plus 64 MiB for the libraries."""
    on_disk = sum(p.stat().st_size for folder in (root, ckpt) for p in folder.rglob("*") if p.is_file())
    return 16 * on_disk + (64 << 20)


def rss_bound(root: Path, ckpt: Path) -> int:
    """The most a case's resident memory may grow: the traced bound, plus 64 MiB for what tracemalloc does not see
    (FFmpeg's buffers and decoders, OpenCV, zlib) and tracemalloc's own bookkeeping."""
    return memory_bound(root, ckpt) + (64 << 20)


def problems_of(out: Outcome, mutation: Mutation) -> list[str]:
    """What is wrong with a case's outcome (empty when it passed): escapes, unnamed clips, broken consistency."""
    bad = list(out.escaped)
    report = out.report
    if mutation.must_fail:
        named = {p.clip_id for p in report.problems if p.severity == "error"}
        files = {p.file for p in report.problems}
        if mutation.file.startswith("ckpt/"):
            if out.checkpoint_error is None:
                bad.append(f"the checkpoint was broken ({mutation.what}) but read_checkpoint accepted it")
        elif mutation.clip_id is not None and report.usable and mutation.clip_id not in named:
            bad.append(f"{mutation.clip_id} was broken ({mutation.what}) but validation names no error for it")
        elif mutation.clip_id is None and not any(p.file == mutation.file for p in report.problems):
            bad.append(f"{mutation.file} was broken ({mutation.what}) but validation names no problem with it")
        elif not report.usable and not files:
            bad.append(f"unusable dataset with no problem named ({mutation.what})")
    errors = report.clips_with_problems("error")
    for cid, err in out.clip_errors.items():
        if report.usable and cid not in errors:
            bad.append(f"reading {cid} failed ({err[:120]}) but validation names no error for it")
    return bad
