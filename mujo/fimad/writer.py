"""Write a FiMAD v1 dataset: per-clip arrays as they are produced, then clips.csv, splits.json, fimad.json."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from mujo.fimad.arrays import npy_info, write_npy, write_npz
from mujo.fimad.dataset import Manifest
from mujo.fimad.errors import ArrayFileError, WriteError
from mujo.fimad.layout import CLIPS, MANIFEST, MODALITY_FILES, SPLITS, VERSION, is_safe_clip_id
from mujo.fimad.skeleton import IMU_SITES, N_JOINTS, site_indices

# Column order of clips.csv: the format page's columns first, then any others in first-seen order.
KNOWN_COLUMNS = ("clip_id", "n_frames", "video_id", "chapter_index", "chapter", "chapter_norm", "caption",
                 "description", "start_s", "end_s", "split", "label", "subject")
_TMP_SUFFIX = ".tmp"
_TMP_RE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp")  # what atomic_write names its temp files
STALE_TEMP_S = 600  # a temp file this old was left by a crashed writer


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write a file through a hidden temp file in the same folder and os.replace it into place.

    Readers never see a half-written file, and a crash leaves only a `.<name>.<random>.tmp` that the next
    writer removes.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{_TMP_SUFFIX}")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        durable_replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def durable_replace(tmp: Path | str, path: Path | str) -> None:
    """os.replace a written and fsynced temp file into place, then fsync the folder so that the rename survives a
    power loss too (about 1 ms a file on ext4).

    The caller fsyncs the temp file before this: without that, a power loss after the rename can leave a
    zero-length file under the final name (delayed allocation), which no reader could tell from a real one.
    """
    os.replace(tmp, path)
    try:
        fd = os.open(Path(path).parent, os.O_RDONLY)
    except OSError:  # a platform whose folders cannot be opened (Windows): the rename is as durable as it gets
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder; the file's own data is already on disk
        pass
    finally:
        os.close(fd)


def _float32(arr: Any, what: str, clip_id: str) -> np.ndarray:
    a = np.asarray(arr)
    if not np.issubdtype(a.dtype, np.floating):
        raise WriteError(f"clip {clip_id!r}: {what} must be a float array, got dtype {a.dtype}")
    if len(a) == 0:
        raise WriteError(f"clip {clip_id!r}: {what} has no samples")
    return a.astype(np.float32, copy=False)


def _cell(value: Any, column: str, clip_id: str) -> str:
    """One clips.csv cell as text (None and NaN become empty)."""
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    text = str(value)
    if "\0" in text:
        raise WriteError(f"clip {clip_id!r}: column {column!r} contains a NUL character")
    return text


class FimadWriter:
    """Writes one FiMAD dataset folder; per-clip files may be written in any order and resumed after a crash.

    Args:
        root: the dataset folder (created if needed).
        name, fps, imu_sites, description, synthetic, source, features, text_features: the fimad.json fields.
    """

    def __init__(self, root: str | Path, *, name: str, fps: float, imu_sites: tuple[str, ...] | list[str] = IMU_SITES,
                 description: str = "", synthetic: bool = False, source: str = "",
                 features: dict[str, Any] | None = None, text_features: dict[str, Any] | None = None):
        if not isinstance(name, str) or not name.strip():
            raise ValueError("dataset name must be a non-empty string")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise ValueError(f"fps must be a number > 0, got {fps!r}")
        site_indices(list(imu_sites))  # raises ValueError for unknown/duplicate/empty
        self.root = Path(root)
        self.manifest = Manifest(name=name, version=VERSION, fps=float(fps), imu_sites=tuple(imu_sites),
                                 description=description, features=dict(features or {}),
                                 text_features=dict(text_features or {}), synthetic=bool(synthetic), source=source)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lengths: dict[str, int] = {}  # clip -> T of the arrays written in this session

    def _remove_stale_temps(self) -> None:
        # Several writers may fill one folder from parallel processes, so only temps old enough to be left
        # by a crash are removed, never one that a running writer is about to rename.
        cutoff = time.time() - STALE_TEMP_S
        for folder in [self.root] + [self.root / d for d, _ in MODALITY_FILES.values()]:
            for p in folder.glob(f".*{_TMP_SUFFIX}") if folder.is_dir() else []:
                try:
                    if _TMP_RE.fullmatch(p.name) and p.stat().st_mtime < cutoff:
                        p.unlink()
                except OSError:
                    pass  # gone already

    def _path(self, clip_id: str, modality: str) -> Path:
        if not is_safe_clip_id(clip_id):
            raise WriteError(f"unsafe clip id {clip_id!r}: only letters, digits, '-' and '_' are allowed")
        folder, ext = MODALITY_FILES[modality]
        (self.root / folder).mkdir(exist_ok=True)
        return self.root / folder / f"{clip_id}{ext}"

    def _note_length(self, clip_id: str, n: int, what: str) -> None:
        if self._lengths.setdefault(clip_id, n) != n:
            raise WriteError(f"clip {clip_id!r}: {what} has {n} samples but another modality has "
                             f"{self._lengths[clip_id]}")

    def write_pose(self, clip_id: str, pose: np.ndarray) -> Path:
        """Write pose/<clip_id>.npy, (T, 17, 3) stored as float32.

        Raises:
            WriteError (a ValueError): unsafe id, wrong shape, non-float dtype, no samples, or a length unlike
                the clip's IMU.
        """
        path = self._path(clip_id, "pose")
        arr = _float32(pose, "pose", clip_id)
        if arr.ndim != 3 or arr.shape[1:] != (N_JOINTS, 3):
            raise WriteError(f"clip {clip_id!r}: pose must have shape (T, {N_JOINTS}, 3), got {arr.shape}")
        self._note_length(clip_id, len(arr), "pose")
        atomic_write(path, lambda f: write_npy(f, arr))
        return path

    def write_imu(self, clip_id: str, acc: np.ndarray, gyro: np.ndarray | None) -> Path:
        """Write imu/<clip_id>.npz (uncompressed, 64-byte aligned, so readers can memory-map it).

        Args:
            acc, gyro: (T, S, 3) float with S = len(imu_sites); gyro None for an accelerometer-only recording.
        Raises:
            WriteError (a ValueError): unsafe id, wrong shapes or dtypes, acc/gyro mismatch, or a length unlike
                the clip's pose.
        """
        path = self._path(clip_id, "imu")
        arrays = {"acc": _float32(acc, "acc", clip_id)}
        if gyro is not None:
            arrays["gyro"] = _float32(gyro, "gyro", clip_id)
        want = (len(self.manifest.imu_sites), 3)
        for k, a in arrays.items():
            if a.ndim != 3 or a.shape[1:] != want:
                raise WriteError(f"clip {clip_id!r}: {k} must have shape (T, {want[0]}, 3), got {a.shape}")
        if gyro is not None and arrays["gyro"].shape != arrays["acc"].shape:
            raise WriteError(f"clip {clip_id!r}: gyro shape {arrays['gyro'].shape} != acc shape {arrays['acc'].shape}")
        self._note_length(clip_id, len(arrays["acc"]), "imu")
        atomic_write(path, lambda f: write_npz(f, arrays))
        return path

    def video_path(self, clip_id: str) -> Path:
        """Where the clip's mp4 goes (video/ is created); the caller writes it atomically."""
        return self._path(clip_id, "video")

    def existing_clips(self) -> dict[str, set[str]]:
        """Clip ids whose pose/imu/video file is already complete on disk (for resuming), per modality.

        Complete means: an .npy whose header and size agree, an .npz whose zip directory reads, an .mp4 that
        starts with an ftyp box.
        """
        out: dict[str, set[str]] = {}
        for modality, (folder, ext) in MODALITY_FILES.items():
            done: set[str] = set()
            d = self.root / folder
            for p in (d.glob(f"*{ext}") if d.is_dir() else []):
                clip_id = p.name[: -len(ext)]
                if is_safe_clip_id(clip_id) and _complete(p, modality):
                    done.add(clip_id)
            out[modality] = done
        return out

    def finish(self, rows: list[dict[str, Any]], splits: dict[str, list[str]] | None = None) -> Path:
        """Write clips.csv, splits.json (or remove a stale one when `splits` is None) and fimad.json, each atomically.

        Temp files that a crashed writer left (older than STALE_TEMP_S) are removed first.

        Args:
            rows: one dict per clip with at least clip_id and n_frames; any other keys become columns.
            splits: {"train": [clip_id, ...], "val": [...], ...}; ids must be rows' clip ids.
        Returns:
            The dataset folder. Calling finish again rewrites the three files.
        Raises:
            WriteError (a ValueError): unsafe/duplicate/missing clip ids, bad n_frames, or n_frames unlike the
                written arrays.
        """
        text = self._clips_csv(rows)
        self._remove_stale_temps()
        ids = {str(r["clip_id"]) for r in rows}
        if splits is not None:
            seen: dict[str, str] = {}
            for name, members in splits.items():
                for cid in members:
                    if cid not in ids:
                        raise WriteError(f"splits[{name!r}] names clip {cid!r}, which is not in rows")
                    if cid in seen:
                        raise WriteError(f"clip {cid!r} is in both splits {seen[cid]!r} and {name!r}")
                    seen[cid] = name
        atomic_write(self.root / CLIPS, lambda f: f.write(text.encode("utf-8")))
        if splits is not None:
            body = json.dumps({k: list(v) for k, v in splits.items()}, ensure_ascii=False, indent=1) + "\n"
            atomic_write(self.root / SPLITS, lambda f: f.write(body.encode("utf-8")))
        else:
            (self.root / SPLITS).unlink(missing_ok=True)  # it would override the split column
        manifest = json.dumps(self.manifest.to_dict(), ensure_ascii=False, indent=2) + "\n"
        atomic_write(self.root / MANIFEST, lambda f: f.write(manifest.encode("utf-8")))
        return self.root

    def _clips_csv(self, rows: list[dict[str, Any]]) -> str:
        columns = [c for c in KNOWN_COLUMNS if any(c in r for r in rows)] if rows else ["clip_id", "n_frames"]
        for c in ("clip_id", "n_frames"):
            if c not in columns:
                columns.insert(0 if c == "clip_id" else 1, c)
        for r in rows:
            columns += [c for c in r if c not in columns]
        buf = io.StringIO()
        w = csv.writer(buf)  # RFC 4180: CRLF records, quotes doubled, fields with , " or newlines quoted
        w.writerow(columns)
        seen: set[str] = set()
        for i, r in enumerate(rows):
            cid = r.get("clip_id")
            if not is_safe_clip_id(cid):
                raise WriteError(f"row {i}: unsafe clip id {cid!r}: only letters, digits, '-' and '_' are allowed")
            if cid in seen:
                raise WriteError(f"row {i}: duplicate clip id {cid!r}")
            seen.add(cid)
            n = r.get("n_frames")
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
                raise WriteError(f"clip {cid!r}: n_frames must be an integer >= 0, got {n!r}")
            if cid in self._lengths and self._lengths[cid] != n:
                raise WriteError(f"clip {cid!r}: n_frames={n} but its arrays have {self._lengths[cid]} samples")
            w.writerow([_cell(r.get(c), c, cid) for c in columns])
        return buf.getvalue()


def _complete(path: Path, modality: str) -> bool:
    try:
        if modality == "pose":
            npy_info(path)
        elif modality == "imu":
            with zipfile.ZipFile(path) as zf:
                return "acc.npy" in zf.namelist()
        else:
            with open(path, "rb") as f:
                return f.read(8)[4:8] == b"ftyp"
    except (ArrayFileError, OSError, zipfile.BadZipFile):
        return False
    return True
