"""Read a FiMAD v1 dataset: manifest, clip table, memory-mapped per-clip arrays, precomputed features."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mujo.fimad.arrays import DEFLATE_MAX_RATIO, load_npz, open_npy
from mujo.fimad.checks import check_dataset
from mujo.fimad.clips import NUMERIC_COLUMNS, check_lengths, inflate_budget, read_clips  # noqa: F401  (re-exported)
from mujo.fimad.errors import ArrayFileError, ClipError, FimadError
from mujo.fimad.gaps import fill_short_gaps, has_missing, inf_to_nan
from mujo.fimad.layout import (
    CLIPS,
    FEATURES_DIR,
    FORMAT,
    MANIFEST,
    MODALITY_FILES,
    NPZ,
    SKELETON,
    SPLITS,
    TEXT_FEATURES_DIR,
    VERSION,
    is_safe_clip_id,
)
from mujo.fimad.report import Problem, ValidationReport
from mujo.fimad.skeleton import IMU_SITES, N_JOINTS, site_indices
from mujo.fimad.windows import ClipCache, WindowIndex, build_index


@dataclass(frozen=True)
class Manifest:
    """The contents of fimad.json (unknown keys kept in `extra`)."""

    name: str
    version: int
    fps: float
    skeleton: str = SKELETON
    imu_sites: tuple[str, ...] = IMU_SITES
    description: str = ""
    features: dict[str, Any] = field(default_factory=dict)
    text_features: dict[str, Any] = field(default_factory=dict)
    synthetic: bool = False
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: object, path: str | Path) -> Manifest:
        """Check a parsed fimad.json; raise FimadError naming `path` and the bad key."""
        if not isinstance(d, dict):
            raise FimadError(path, "must hold a JSON object")
        if d.get("format") != FORMAT:
            raise FimadError(path, f'"format" must be "{FORMAT}", got {d.get("format")!r}')
        if type(d.get("version")) is not int or d["version"] != VERSION:
            raise FimadError(path, f'"version" {d.get("version")!r} is not supported (this reader reads {VERSION})')
        fps = d.get("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
            raise FimadError(path, f'"fps" must be a number > 0, got {fps!r}')
        skeleton = d.get("skeleton") or SKELETON
        if skeleton != SKELETON:
            raise FimadError(path, f'"skeleton" {skeleton!r} is not supported (expected "{SKELETON}")')
        sites = d.get("imu_sites", list(IMU_SITES))
        try:
            if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
                raise ValueError(f"must be a list of names, got {sites!r}")
            site_indices(sites)
        except ValueError as e:
            raise FimadError(path, f'"imu_sites": {e}') from None
        known = {f.name for f in cls.__dataclass_fields__.values()} | {"format"}
        for key, typ in (("features", dict), ("text_features", dict), ("description", str), ("source", str),
                         ("name", str), ("synthetic", bool)):
            if d.get(key) is not None and not isinstance(d[key], typ):
                raise FimadError(path, f'"{key}" must be a {typ.__name__}, got {type(d[key]).__name__}')
        return cls(name=d.get("name") or Path(path).parent.name, version=VERSION, fps=float(fps), skeleton=skeleton,
                   imu_sites=tuple(sites), description=d.get("description") or "",
                   features=d.get("features") or {}, text_features=d.get("text_features") or {},
                   synthetic=bool(d.get("synthetic", False)), source=d.get("source") or "",
                   extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The fimad.json object (extra keys last)."""
        fps = int(self.fps) if float(self.fps).is_integer() else self.fps
        return {"format": FORMAT, "version": self.version, "name": self.name, "description": self.description,
                "fps": fps, "skeleton": self.skeleton, "imu_sites": list(self.imu_sites),
                "features": self.features, "text_features": self.text_features, "synthetic": self.synthetic,
                "source": self.source, **self.extra}


def _load_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8-sig") as f:
            if os.fstat(f.fileno()).st_size > _MAX_JSON_BYTES:
                raise FimadError(path, f"larger than {_MAX_JSON_BYTES >> 20} MiB: not a FiMAD manifest or split list")
            return json.load(f)
    except FileNotFoundError:
        raise FimadError(path, f"not found (a FiMAD dataset folder holds {MANIFEST} and {CLIPS})") from None
    except UnicodeDecodeError as e:
        raise FimadError(path, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise FimadError(path, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise FimadError(path, "invalid JSON: nested too deeply") from None
    except (IsADirectoryError, NotADirectoryError):
        raise FimadError(path, "not a file") from None
    except OSError as e:
        raise FimadError(path, f"cannot be read ({e.strerror or e})") from None


_MAX_JSON_BYTES = 256 << 20  # fimad.json and splits.json: a split list of millions of ids stays far below


def _list_stems(folder: Path, suffix: str) -> set[str]:
    """Names (without suffix) of the files in `folder` ending in `suffix`: one directory listing, no stats."""
    try:
        with os.scandir(folder) as it:
            return {e.name[: -len(suffix)] for e in it if e.name.endswith(suffix) and e.is_file()}
    except OSError:  # absent, not a folder, or unreadable: no files of that modality
        return set()


class FimadDataset:
    """A FiMAD v1 dataset folder, opened lazily: only fimad.json, clips.csv, splits.json and three listings.

    Args:
        root: the dataset folder.
        max_gap_s: NaN gaps up to this long are interpolated by `pose`/`imu`; longer ones stay NaN.
        cache_clips: how many clips' arrays `read_windows` keeps open (each open memmap holds a file descriptor).
    Raises:
        FimadError: the dataset as a whole cannot be used; the message names the file and the problem.
    """

    def __init__(self, root: str | Path, *, max_gap_s: float = 0.5, cache_clips: int = 128):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FimadError(self.root, "not a folder")
        self.manifest = Manifest.from_dict(_load_json(self.root / MANIFEST), self.root / MANIFEST)
        self.max_gap_s = float(max_gap_s)
        self._present = {m: _list_stems(self.root / d, ext) for m, (d, ext) in MODALITY_FILES.items()}
        self._dirs = {m: (os.path.join(self.root, d, ""), ext) for m, (d, ext) in MODALITY_FILES.items()}
        splits_path = self.root / SPLITS
        splits = _load_json(splits_path) if splits_path.exists() else None
        self.clips, self.load_problems = read_clips(self.root / CLIPS, splits, splits_path)
        self._ids = set(self.clips.index)
        ids = self.clips.index.tolist()
        for m in MODALITY_FILES:  # set lookups: Index.isin on arrow strings is ~100x slower
            self.clips[f"has_{m}"] = np.fromiter((c in self._present[m] for c in ids), bool, len(ids))
        check_lengths(self.clips, self.root, len(self.imu_sites), DEFLATE_MAX_RATIO, self.load_problems)
        self.clips["duration_s"] = self.clips["n_frames"].astype("float64") / self.fps
        self.cache = ClipCache(cache_clips)

    def __getstate__(self) -> dict[str, Any]:
        # Open memory maps cannot be pickled (DataLoader workers receive the dataset pickled): drop the cache.
        state = self.__dict__.copy()
        state["cache"] = self.cache.max_items
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.cache = ClipCache(state["cache"])

    # --- the table ---------------------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        return self.manifest.fps

    @property
    def imu_sites(self) -> tuple[str, ...]:
        return self.manifest.imu_sites

    @property
    def max_gap_frames(self) -> int:
        """The longest NaN run (samples) that reading fills in."""
        return int(math.floor(self.max_gap_s * self.fps + 1e-9))

    def __len__(self) -> int:
        return len(self.clips)

    def __repr__(self) -> str:
        have = ", ".join(f"{m}={int(self.clips[f'has_{m}'].sum())}" for m in MODALITY_FILES)
        return (f"FimadDataset({self.manifest.name!r}, root='{self.root}', clips={len(self)}, fps={self.fps:g}, "
                f"imu_sites={len(self.imu_sites)}, {have})")

    def file_path(self, clip_id: str, modality: str) -> Path:
        """Where `modality` ("pose", "imu", "video") of a clip lives, whether or not the file exists.

        Raises:
            ClipError: the id is unsafe (nothing is touched) or not in clips.csv.
        """
        if not is_safe_clip_id(clip_id):
            raise ClipError(str(clip_id), None, "unsafe clip id (only letters, digits, '-' and '_'); never opened")
        if clip_id not in self._ids:
            raise ClipError(clip_id, self.root / CLIPS, f"no such clip in {CLIPS}")
        folder, ext = MODALITY_FILES[modality]
        # A safe id has no separator or dot, so the path stays lexically inside <root>/<folder>. We do not
        # resolve symlinks: a pose/ folder linked to another disk is a legitimate layout.
        return self.root / folder / f"{clip_id}{ext}"

    def listed(self, modality: str) -> set[str]:
        """Names (without suffix) of the files the folder of `modality` held when the dataset was opened."""
        return set(self._present[modality])

    def _existing(self, clip_id: str, modality: str) -> Path | None:
        path = self.file_path(clip_id, modality)
        return path if clip_id in self._present[modality] else None

    def _existing_str(self, clip_id: str, modality: str) -> str | None:
        # The hot path of window reads: the same checks as file_path, without building Path objects.
        if not is_safe_clip_id(clip_id) or clip_id not in self._ids:
            self.file_path(clip_id, modality)  # raises the ClipError
        folder, ext = self._dirs[modality]
        return folder + clip_id + ext if clip_id in self._present[modality] else None

    # --- per-clip arrays ---------------------------------------------------------------------------------
    def _finish(self, clip_id: str, path: str, arr: np.ndarray, shape: tuple, what: str,
                interpolate: bool) -> np.ndarray:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("T" if s is None else str(s) for s in shape) + ")"
            raise ClipError(clip_id, path, f"{what} has shape {arr.shape}, expected {want}")
        if not np.issubdtype(arr.dtype, np.floating):
            raise ClipError(clip_id, path, f"{what} has dtype {arr.dtype}, expected float32")
        if arr.dtype != np.float32:  # also non-native byte order; a copy, no longer memory-mapped
            arr = arr.astype(np.float32)
        if has_missing(arr):  # NaN or ±inf; an infinite value is a missing sample, never data
            arr = fill_short_gaps(arr, self.max_gap_frames) if interpolate else inf_to_nan(arr)
        arr.flags.writeable = False  # copies too: arrays may be shared through the window cache
        return arr

    def pose(self, clip_id: str, *, interpolate: bool = True, mmap: bool | None = True) -> np.ndarray | None:
        """The clip's pose, (T, 17, 3) float32 metres, read-only; memory-mapped unless it had NaN to fill.

        Args:
            clip_id: a clip of `.clips`.
            interpolate: fill NaN gaps up to `max_gap_s` (longer gaps stay NaN).
            mmap: True maps the file; False reads it; None maps only large files (what window reads use).
        Returns:
            The array, or None when the clip has no pose file.
        Raises:
            ClipError: unsafe/unknown id, unreadable file or wrong shape/dtype.
        """
        path = self._existing_str(clip_id, "pose")
        if path is None:
            return None
        try:
            arr = open_npy(path, mmap=mmap)
        except (ArrayFileError, OSError) as e:
            raise ClipError(clip_id, path, str(e)) from None
        return self._finish(clip_id, path, arr, (None, N_JOINTS, 3), "pose", interpolate)

    def imu(self, clip_id: str, *, interpolate: bool = True,
            mmap: bool | None = True) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The clip's IMU, (acc, gyro), each (T, S, 3) float32 with S = len(imu_sites); gyro None if absent.

        Stored (uncompressed) npz members are memory-mapped (one mapping per file; `mmap` as in `pose`);
        compressed ones are read into memory.

        Returns:
            (acc, gyro), or None when the clip has no IMU file.
        Raises:
            ClipError: unsafe/unknown id, unreadable file, no "acc", or wrong shapes/dtypes.
        """
        path = self._existing_str(clip_id, "imu")
        if path is None:
            return None
        budget = inflate_budget(self.clips.at[clip_id, "n_frames"], len(self.imu_sites))
        try:
            arrays = load_npz(path, ("acc", "gyro"), mmap=mmap, max_bytes=budget)
        except (ArrayFileError, OSError) as e:
            raise ClipError(clip_id, path, str(e)) from None
        if "acc" not in arrays:
            raise ClipError(clip_id, path, 'no "acc" array in the npz')
        shape = (None, len(self.imu_sites), 3)
        acc = self._finish(clip_id, path, arrays["acc"], shape, "acc", interpolate)
        gyro = arrays.get("gyro")
        if gyro is not None:
            gyro = self._finish(clip_id, path, gyro, acc.shape, "gyro", interpolate)
        return acc, gyro

    def video_path(self, clip_id: str) -> Path | None:
        """The clip's mp4, or None when it has none (raises ClipError for an unsafe/unknown id)."""
        return self._existing(clip_id, "video")

    def features(self, name: str, clip_id: str) -> np.ndarray | None:
        """Precomputed per-frame video features `features/<name>/<clip_id>.npy`: (F, D), memory-mapped.

        Returns:
            The array, or None when the clip has no such file.
        Raises:
            ValueError: an unsafe feature name. ClipError: unsafe/unknown clip, unreadable or not a float (F, D).
        """
        if not is_safe_clip_id(name):
            raise ValueError(f"unsafe feature name {name!r}")
        path = self.root / FEATURES_DIR / name / self.file_path(clip_id, "pose").name
        if not path.is_file():
            return None
        try:
            arr = open_npy(path)
        except (ArrayFileError, OSError) as e:
            raise ClipError(clip_id, path, str(e)) from None
        if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.floating):
            raise ClipError(clip_id, path, f"features must be a float (F, D) array, got {arr.dtype} {arr.shape}")
        return inf_to_nan(arr) if has_missing(arr) else arr  # ±inf is a missing value, like NaN

    def text_features(self, name: str) -> tuple[list[str], dict[str, np.ndarray]]:
        """Precomputed text embeddings `text_features/<name>.npz`: (clip ids, {field: (N, D) array}).

        Raises:
            FimadError: missing file, no str "clip_id" array, or a field whose rows do not match the ids.
        """
        if not is_safe_clip_id(name):
            raise ValueError(f"unsafe text-feature name {name!r}")
        path = self.root / TEXT_FEATURES_DIR / f"{name}{NPZ}"
        if not path.is_file():
            raise FimadError(path, "not found")
        try:
            arrays = load_npz(path, mmap=False)  # never unpickles; compressed members inflate within a bound
        except (ArrayFileError, OSError) as e:
            raise FimadError(path, str(e)) from None
        ids = arrays.pop("clip_id", None)
        if ids is None or ids.ndim != 1 or ids.dtype.kind != "U":
            raise FimadError(path, 'needs a 1-D str array "clip_id"')
        for k, v in arrays.items():
            if v.ndim != 2 or len(v) != len(ids) or not np.issubdtype(v.dtype, np.floating):
                raise FimadError(path, f"field {k!r} is {v.dtype} {v.shape}, expected float ({len(ids)}, D)")
        return ids.tolist(), arrays

    # --- windows and validation --------------------------------------------------------------------------
    def windows(self, size: int = 100, hop: int = 50, trim: float = 0.15, clip_ids: list[str] | None = None,
                modality: str | None = None) -> WindowIndex:
        """Index of fixed-size windows over the clips (from n_frames alone; no file is opened).

        Args:
            size, hop, trim: window length and hop in samples; fraction cut from each end of a clip.
            clip_ids: restrict to these clips (default: all).
            modality: "pose", "imu"/"acc"/"gyro" or "video" keeps only clips that have that file.
        """
        clips = self.clips if clip_ids is None else self.clips.loc[list(clip_ids)]
        if modality is not None:
            kind = "imu" if modality in ("acc", "gyro") else modality
            if kind not in MODALITY_FILES:
                raise ValueError(f"unknown modality {modality!r}")
            clips = clips[clips[f"has_{kind}"]]
        clips = clips[clips["n_frames"].notna()]
        return build_index(clips.index.tolist(), clips["n_frames"].to_numpy("int64"), size, hop, trim)

    def validate(self, progress: Callable[[float, str], None] | None = None, **kw: Any) -> ValidationReport:
        """Check every clip's files (headers and a NaN scan); see `mujo.fimad.validate.validate_dataset`."""
        return check_dataset(self, progress, **kw)


__all__ = ["FimadDataset", "FimadError", "ClipError", "Manifest", "Problem", "is_safe_clip_id", "FORMAT", "VERSION",
           "SKELETON", "MODALITY_FILES"]
