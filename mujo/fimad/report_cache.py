"""The validation report of a dataset, kept on disk and refreshed incrementally.

Checking every clip's files of a FiMAD-size dataset (9,800 clips) takes tens of seconds, too long for a page. The
report is therefore stored as JSON under `$MUJO_HOME/cache/validation/`, one file per dataset folder, with each
clip's problems and the signature they were found for: the clip's row values that the checks read (n_frames, which
files it has) and the size and modification time (ns) of each of its files. A refresh re-checks only the clips whose
signature changed and the dataset-wide checks (cheap), so a page shows the last report at once (`load_report`, with
its age) while a background job brings it up to date (`refresh_report`, `mujo validate --cached`).

A cache file that cannot be read, or was written for other settings (a different manifest, check_video or
max_gap_s), is ignored: the refresh then checks every clip. Writes are atomic (temp file, fsync, rename).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mujo import paths
from mujo.fimad.checks import clip_checker, clip_problems, coverage_of, dataset_problems, video_check
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.errors import FimadError
from mujo.fimad.layout import MANIFEST
from mujo.fimad.report import Problem, ValidationReport

__all__ = ["CachedReport", "cache_path", "load_report", "refresh_report"]

CACHE_VERSION = 1
_MODALITIES = ("pose", "imu", "video")


@dataclass
class CachedReport:
    """A validation report read from (or just written to) the cache.

    Attributes:
        report: the report.
        checked_at: unix time the report was completed.
        rechecked: clips whose files were checked again by the refresh that wrote it (0 when read from disk).
        reused: clips whose cached problems were kept by that refresh.
    """

    report: ValidationReport
    checked_at: float
    rechecked: int = 0
    reused: int = 0

    @property
    def age_s(self) -> float:
        return max(0.0, time.time() - self.checked_at)


def cache_path(root: str | Path) -> Path:
    """Where the report of the dataset at `root` is cached (named by a digest of the resolved folder)."""
    key = hashlib.sha256(str(Path(root).expanduser().resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return paths.data_dir() / "cache" / "validation" / f"{key}.json"


def _settings_key(root: Path, check_video: str, max_gap_s: float | None) -> str:
    """What every clip's result depends on beyond its own files: the manifest (fps, sites, gap) and the settings."""
    try:
        manifest = (root / MANIFEST).read_bytes()
    except OSError:
        manifest = b""
    h = hashlib.sha256(manifest)
    h.update(json.dumps([CACHE_VERSION, check_video, max_gap_s]).encode())
    return h.hexdigest()


def _file_sig(path: Path) -> list[int]:
    try:
        st = path.stat()
    except OSError:
        return [-1, -1]
    return [int(st.st_size), int(st.st_mtime_ns)]


def _clip_sig(ds: FimadDataset, cid: str, n_frames: float, has: dict[str, bool]) -> list[Any]:
    sig: list[Any] = [None if math.isnan(n_frames) else float(n_frames)]
    for m in _MODALITIES:
        sig.append(bool(has[m]))
        if has[m]:
            sig += _file_sig(ds.file_path(cid, m))
    return sig


def _problem(d: dict[str, Any]) -> Problem:
    return Problem(d.get("clip_id"), str(d.get("file", "")), str(d.get("kind", "")), str(d.get("severity", "info")),
                   str(d.get("message", "")))


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION or not isinstance(raw.get("clips"), dict):
        return None
    return raw


def load_report(root: str | Path) -> CachedReport | None:
    """The last report cached for the dataset at `root`, whatever its age; None when there is none (or unreadable).

    Reads one JSON file: no clip file is opened, so a page can call it on every run.
    """
    raw = _read_cache(cache_path(root))
    if raw is None:
        return None
    try:
        problems = [_problem(p) for p in raw.get("table_problems", [])]
        for entry in raw["clips"].values():
            problems += [_problem(p) for p in entry["problems"]]
        problems += [_problem(p) for p in raw.get("dataset_problems", [])]
        report = ValidationReport(Path(raw["root"]), bool(raw["usable"]), int(raw["n_clips"]), problems,
                                  {str(k): int(v) for k, v in raw.get("coverage", {}).items()})
        return CachedReport(report, float(raw["checked_at"]))
    except (KeyError, TypeError, ValueError):
        return None


def _write_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def refresh_report(root: str | Path, progress: Callable[[float, str], None] | None = None, *,
                   check_video: str | bool = "header", max_gap_s: float | None = None) -> CachedReport:
    """Bring the cached report of the dataset at `root` up to date and return it.

    Only clips whose signature changed since the cached report are checked again; table-level and dataset-wide
    problems are always recomputed. A folder that cannot be opened gives an unusable report (cached too).
    """
    root = Path(root).expanduser().resolve()
    check_video = video_check(check_video)
    path = cache_path(root)
    try:
        ds = FimadDataset(root)
    except FimadError as e:
        report = ValidationReport(root, False, 0, [Problem(None, e.path.name, "dataset", "error", e.reason)])
        payload = {"version": CACHE_VERSION, "root": str(root), "usable": False, "n_clips": 0, "coverage": {},
                   "checked_at": time.time(), "settings": "", "clips": {},
                   "table_problems": [asdict(p) for p in report.problems]}
        _write_atomic(path, payload)
        return CachedReport(report, payload["checked_at"])
    settings = _settings_key(root, check_video, max_gap_s)
    old = _read_cache(path)
    old_clips: dict[str, Any] = old["clips"] if old is not None and old.get("settings") == settings else {}
    check = clip_checker(ds, check_video, max_gap_s)
    clips = ds.clips
    coverage, partial = coverage_of(clips)
    ids = clips.index.to_numpy()
    n_frames = clips["n_frames"].to_numpy("float64", na_value=np.nan)
    has_cols = {m: clips[f"has_{m}"].to_numpy() for m in _MODALITIES}
    entries: dict[str, Any] = {}
    rechecked = reused = 0
    step = max(1, len(ids) // 100)
    for i, cid in enumerate(ids):
        if progress is not None and i % step == 0:
            progress(i / max(1, len(ids)), f"checking clip {i + 1}/{len(ids)} ({rechecked} changed)")
        has = {m: bool(h[i]) for m, h in has_cols.items()}
        sig = _clip_sig(ds, cid, n_frames[i], has) + [[m for m in partial if not has[m]]]
        cached = old_clips.get(cid)
        if isinstance(cached, dict) and cached.get("sig") == sig and isinstance(cached.get("problems"), list):
            entries[cid] = cached
            reused += 1
            continue
        found = clip_problems(check, cid, n_frames[i], has, partial)
        entries[cid] = {"sig": sig, "problems": [asdict(p) for p in found]}
        rechecked += 1
    table = list(ds.load_problems)
    table.append(Problem(None, "", "coverage", "info",
                         ", ".join(f"{m}: {n}/{len(clips)} clips" for m, n in coverage.items())))
    whole = dataset_problems(ds)
    checked_at = time.time()
    payload = {"version": CACHE_VERSION, "root": str(root), "usable": len(clips) > 0, "n_clips": len(clips),
               "coverage": coverage, "checked_at": checked_at, "settings": settings, "clips": entries,
               "table_problems": [asdict(p) for p in table], "dataset_problems": [asdict(p) for p in whole]}
    _write_atomic(path, payload)
    if progress is not None:
        progress(1.0, f"checked {rechecked} changed clip(s), kept {reused}")
    problems = list(table)
    for entry in entries.values():
        problems += [_problem(p) for p in entry["problems"]]
    problems += whole
    return CachedReport(ValidationReport(root, len(clips) > 0, len(clips), problems, coverage), checked_at,
                        rechecked, reused)
