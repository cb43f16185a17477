"""Where derived features live (the dataset folder when writable, else the project cache) and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from mujo import paths
from mujo.fimad.arrays import write_npy, write_npz
from mujo.fimad.writer import durable_replace

if TYPE_CHECKING:
    from mujo.fimad.dataset import FimadDataset


def dataset_key(ds: FimadDataset) -> str:
    """A folder name for a dataset's cache: its name plus a hash of its resolved path (two copies stay apart)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", ds.manifest.name).strip("-")[:40] or "dataset"
    return f"{name}-{hashlib.sha256(str(ds.root.resolve()).encode()).hexdigest()[:12]}"


def cache_dir(ds: FimadDataset) -> Path:
    """The project-cache folder of a dataset: `data_dir()/cache/<dataset key>/` (not created)."""
    return paths.data_dir() / "cache" / dataset_key(ds)


def _usable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def output_dir(ds: FimadDataset, *parts: str) -> Path:
    """The folder to write `<dataset>/<parts...>` into: in the dataset when writable, else in the project cache.

    The folder is created. A read-only dataset (a shared copy, a mounted release) gets the same layout under
    `cache_dir(ds)`, so readers look in both places with `find_dir`.
    """
    inside = ds.root.joinpath(*parts)
    if _usable(inside):
        return inside
    outside = cache_dir(ds).joinpath(*parts)
    outside.mkdir(parents=True, exist_ok=True)
    return outside


def candidate_dirs(ds: FimadDataset, *parts: str) -> list[Path]:
    """Where `<parts...>` of a dataset may have been written: the dataset folder first, then the project cache."""
    return [ds.root.joinpath(*parts), cache_dir(ds).joinpath(*parts)]


def _atomic(path: Path, write: Any, mode: str = "wb") -> Path:
    """Write through a temporary file in the same folder, fsync it and rename it, so readers never see half a file
    and a power loss leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if "b" not in mode else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename: a power loss never leaves an empty file under `path`
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a server running as another user reads these
        durable_replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_npy(path: Path, arr: np.ndarray) -> Path:
    """Save one array as .npy atomically (never pickled)."""
    return _atomic(path, lambda f: write_npy(f, arr))


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Save arrays as an uncompressed, aligned .npz atomically (object arrays are refused by `write_npy`)."""
    return _atomic(path, lambda f: write_npz(f, arrays))


def save_json(path: Path, obj: Any) -> Path:
    """Save JSON atomically."""
    return _atomic(path, lambda f: json.dump(obj, f, indent=1, ensure_ascii=False), mode="w")


def load_json(path: Path) -> Any | None:
    """Parsed JSON, or None when the file is absent or unreadable (a cache miss, never an error)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes ("" when it is absent)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        return ""
    return h.hexdigest()


def text_sha256(parts: Iterable[str]) -> str:
    """SHA-256 of a sequence of strings (separated unambiguously)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def listing_stamp(folder: Path, suffix: str) -> str:
    """A hash of the names, sizes and modification times of a folder's `*suffix` files ("" when absent)."""
    try:
        with os.scandir(folder) as it:
            entries = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it
                             if e.name.endswith(suffix) and e.is_file())
    except (FileNotFoundError, NotADirectoryError):
        return ""
    return text_sha256(f"{n}:{s}:{m}" for n, s, m in entries)
