"""Every window of a dataset through every encoder of a checkpoint, into a folder of float16 memory-mapped arrays.

A store folder (`data_dir()/embeddings/<checkpoint-id>__<dataset-id>/` by default) holds:
- `<modality>.npy`: (N, D) float16, unit-norm rows (re-normalised after the cast), row i = window i of the index.
  Text is per clip in the data; it is stored per window anyway (every window of a clip holds the clip's text
  embedding), so every modality indexes the same rows. `EmbeddingStore.clip_rows` gives one row per clip.
- `index.parquet`: clip_id, start (sample), t0_s, split, video_id, label, chapter, one row per window.
- `meta.json`: checkpoint id (SHA-256 of its model.safetensors) and path, dataset id and path, window-bank key,
  modalities, dims, created; written last, so a folder with meta.json is complete.
The folder is written under a temporary name and moved into place.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from mujo import paths
from mujo.banks.bank import BankSpec, build_bank
from mujo.checkpoint import WEIGHTS, CheckpointError, compatibility, read_checkpoint_config
from mujo.eval.queries import renormalise
from mujo.eval.vector_index import VectorIndex
from mujo.features.cache import file_sha256
from mujo.fimad.dataset import FimadDataset
from mujo.modality import Modality
from mujo.models.checkpoint_io import load_checkpoint
from mujo.procs import remove_orphans

STORE_VERSION = 1
INDEX_COLUMNS = ("clip_id", "start", "t0_s", "split", "video_id", "label", "chapter")
Progress = Callable[[float, str], None]


class EmbeddingStore:
    """A folder written by `embed_dataset`, opened read-only (vectors memory-mapped).

    Attributes:
        folder: where it lives; meta: meta.json; modalities: the embedded modalities; dims: {Modality: D}.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        path = self.folder / "meta.json"
        try:
            self.meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise FileNotFoundError(f"{self.folder} is not an embedding store (meta.json: {e}); "
                                    "make one with `mujo embed CHECKPOINT DATASET`") from None
        if self.meta.get("version") != STORE_VERSION:
            raise ValueError(f"{path}: embedding store version {self.meta.get('version')!r}, this MuJo reads "
                             f"{STORE_VERSION}; run `mujo embed` again")
        self.modalities = tuple(Modality(m) for m in self.meta["modalities"])
        self.dims = {Modality(m): int(d) for m, d in self.meta["dims"].items()}
        self._indexes: dict[Modality, VectorIndex] = {}

    @classmethod
    def open(cls, folder: str | Path) -> EmbeddingStore:
        """Open a store folder."""
        return cls(folder)

    def __len__(self) -> int:
        return int(self.meta["n_windows"])

    def __repr__(self) -> str:
        mods = ", ".join(f"{m.value} {self.dims[m]}" for m in self.modalities)
        return f"EmbeddingStore({len(self)} windows, [{mods}], folder='{self.folder}')"

    @cached_property
    def index(self) -> pd.DataFrame:
        """One row per window: clip_id, start, t0_s, split, video_id, label, chapter."""
        return pd.read_parquet(self.folder / "index.parquet")

    def vectors(self, modality: Modality | str) -> np.ndarray:
        """(N, D) float16 unit-norm embeddings of one modality, memory-mapped."""
        m = Modality(modality)
        if m not in self.modalities:
            have = ", ".join(x.value for x in self.modalities)
            raise KeyError(f"the store has no {m.value} embeddings (it has {have})")
        return np.load(self.folder / f"{m.value}.npy", mmap_mode="r", allow_pickle=False)

    def rows(self, split: str | None = None) -> np.ndarray:
        """Row numbers of a split's windows (all rows for None)."""
        if split is None:
            return np.arange(len(self))
        return np.flatnonzero(self.index["split"].to_numpy() == split)

    def clip_rows(self, rows: np.ndarray | None = None) -> np.ndarray:
        """The first row of each clip among `rows` (default all): one text target per clip."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, np.int64)
        _, first = np.unique(self.index["clip_id"].to_numpy()[rows], return_index=True)
        return np.sort(rows[first])

    def search_index(self, modality: Modality | str) -> VectorIndex:
        """The (cached) VectorIndex of one modality, for `mujo.eval.search.search`."""
        m = Modality(modality)
        if m not in self._indexes:
            # The largest row norm bounds the float16 filter's error; stores from embed_dataset record it.
            self._indexes[m] = VectorIndex(self.vectors(m), max_norm=(self.meta.get("max_norm") or {}).get(m.value))
        return self._indexes[m]


def embeddings_dir() -> Path:
    """Where stores go by default: `data_dir()/embeddings/`."""
    return paths.data_dir() / "embeddings"


def checkpoint_id(checkpoint_dir: str | Path) -> tuple[str, str]:
    """(short id, full SHA-256) of a checkpoint's model.safetensors."""
    digest = file_sha256(Path(checkpoint_dir) / WEIGHTS)
    return digest[:16], digest


def _has_gyro(ds: Any) -> bool:
    """Whether the dataset's IMU files hold gyroscope data (the first clip with IMU decides)."""
    for cid in ds.clips.index[ds.clips["has_imu"]]:
        try:
            return ds.imu(cid)[1] is not None
        except Exception:  # noqa: BLE001 - a broken clip file: look at the next one
            continue
    return False


def _bank_spec(config: Any, extra: dict[str, Any], ds: Any) -> Any:
    """The window bank spec to embed with: the checkpoint's own (its training bank, reused from the cache, when it
    is the same dataset), restricted to the checkpoint's modalities for another dataset."""
    spec_d = dict(extra.get("bank_spec") or {"modalities": [m.value for m in config.modalities]})
    # What the encoders take comes from the model config, whatever the spec says.
    spec_d |= {"imu_sites": list(config.imu_sites), "imu_channels": list(config.imu_channels), "window": config.window}
    same_dataset = str(extra.get("dataset", "")) == str(ds.root)
    if not same_dataset:
        spec_d["modalities"] = [m.value for m in config.modalities]
    if Modality.IMU in config.modalities:
        # Sites the dataset lacks, or gyro it lacks, are refused below with the checkpoint's message.
        if not set(config.imu_sites) <= set(ds.imu_sites) or ("gyro" in config.imu_channels and not _has_gyro(ds)):
            spec_d["modalities"] = [m for m in spec_d["modalities"] if Modality(m) is not Modality.IMU]
    return BankSpec.from_dict(spec_d)


def _early_expect(config: Any, ds: Any) -> dict[str, Any]:
    """What the dataset offers the IMU encoder, checkable before the bank is built."""
    if Modality.IMU not in config.modalities or not ds.clips["has_imu"].any():
        return {}
    sites = config.imu_sites if set(config.imu_sites) <= set(ds.imu_sites) else ds.imu_sites
    channels = config.imu_channels if "gyro" not in config.imu_channels or _has_gyro(ds) else ("acc",)
    return {"imu_sites": list(sites), "imu_channels": list(channels)}


def _bank_expect(bank: Any, modalities: list[Modality]) -> dict[str, Any]:
    expect: dict[str, Any] = {"modalities": [m.value for m in modalities], "window": bank.spec.window}
    if Modality.IMU in modalities:
        expect |= {"imu_sites": list(bank.imu_sites), "imu_channels": list(bank.spec.imu_channels)}
    if Modality.TEXT in modalities:
        expect["text_dim"] = bank.dims[Modality.TEXT]
    if Modality.VIDEO in modalities:
        expect["video_dim"] = bank.dims[Modality.VIDEO]
    if Modality.POSE in modalities:
        expect["pose_joints"] = bank.shapes[Modality.POSE][1]
    return expect


def _lock_path(folder: Path) -> Path:
    """A lock file per store folder, kept under embeddings_dir() (not beside a folder the user named)."""
    locks = embeddings_dir() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    return locks / (hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:20] + ".lock")


def _up_to_date(folder: Path, ckpt_sha: str, bank_key: str) -> bool:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (meta.get("version") == STORE_VERSION and meta.get("checkpoint_sha256") == ckpt_sha
            and meta.get("bank_key") == bank_key)


def embed_dataset(checkpoint_dir: str | Path, dataset_root: str | Path, *, out: str | Path | None = None,
                  batch_size: int = 1024, progress: Progress | None = None) -> EmbeddingStore:
    """Embed every window of a dataset with every encoder the checkpoint and the data both have.

    Reuses the store when it is up to date (same checkpoint weights, same window bank: dataset files, features and
    spec unchanged). The bank is built with the checkpoint's bank spec; inputs are normalised with the
    checkpoint's training stats.

    Args:
        checkpoint_dir: a checkpoint folder (model.safetensors + config.json).
        dataset_root: a FiMAD dataset folder.
        out: the store folder (default `embeddings_dir()/<checkpoint-id>__<dataset-id>`).
        batch_size: windows per forward pass.
        progress: called with (fraction, message).
    Returns:
        The opened store.
    Raises:
        mujo.checkpoint.CheckpointError: not a checkpoint, or it does not fit the data (the message says what).
        mujo.fimad.dataset.FimadError: the dataset is unusable.
    """
    say = progress or (lambda f, m: None)
    ckpt = Path(checkpoint_dir)
    config, extra = read_checkpoint_config(ckpt)
    ds = FimadDataset(dataset_root)
    early = _early_expect(config, ds)
    if early and compatibility(config, early):
        load_checkpoint(ckpt, expect=early)  # raises CheckpointError with the checkpoint module's message
    bank = build_bank(ds, _bank_spec(config, extra, ds), progress=lambda f, m: say(0.2 * f, m))
    modalities = [m for m in config.modalities if m in bank.modalities]
    if not modalities:
        has = ", ".join(m.value for m in bank.modalities) or "nothing usable"
        raise CheckpointError(f"checkpoint {ckpt} has encoders for {', '.join(m.value for m in config.modalities)}; "
                              f"dataset {ds.root} has none of them (it has {has})")
    short, sha = checkpoint_id(ckpt)
    bank_key = str(bank.meta["key"])
    dataset_id = bank_key  # "<dataset name>-<hash of its files, features and the bank spec>"
    folder = Path(out) if out is not None else embeddings_dir() / f"{short}__{dataset_id}"
    if _up_to_date(folder, sha, bank_key):
        say(1.0, "embeddings: up to date")
        return EmbeddingStore.open(folder)
    model, extra = load_checkpoint(ckpt, expect=_bank_expect(bank, modalities))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(folder), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes embedding the same pair: one writes, one waits and reuses
        if not _up_to_date(folder, sha, bank_key):
            meta = {"version": STORE_VERSION, "checkpoint": str(ckpt.resolve()), "checkpoint_id": short,
                    "checkpoint_sha256": sha, "dataset": str(ds.root), "dataset_name": ds.manifest.name,
                    "dataset_id": dataset_id, "bank_key": bank_key, "bank_spec": bank.spec.to_dict(),
                    "text_storage": "per window (the clip's text embedding repeated for each of its windows)"}
            _write_store(folder, model, bank, modalities, extra.get("stats"), meta, batch_size,
                         lambda f, m: say(0.2 + 0.8 * f, m))
    say(1.0, f"embeddings: {folder}")
    return EmbeddingStore.open(folder)


def _write_store(folder: Path, model: torch.nn.Module, bank: Any, modalities: list[Modality],
                 stats: dict[str, Any] | None, meta: dict[str, Any], batch_size: int, say: Progress) -> None:
    for left in (f".{folder.name}.tmp-*", f".{folder.name}.old-*"):  # what a killed writer left behind
        remove_orphans(folder.parent, left)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.monotonic()
    try:
        index = bank.index
        index[list(INDEX_COLUMNS)].to_parquet(tmp / "index.parquet", index=False)
        n, dims, norms = len(index), {}, {}
        clip_codes, first_rows = _clip_layout(index["clip_id"].to_numpy())
        work = [(m, len(first_rows) if m is Modality.TEXT else n) for m in modalities]
        total, done = max(1, sum(w for _, w in work)), 0
        model.eval()
        for m, _ in work:
            dims[m.value] = model.config.embed_dim
            arr = np.lib.format.open_memmap(tmp / f"{m.value}.npy", mode="w+", dtype=np.float16,
                                            shape=(n, model.config.embed_dim))
            rows = first_rows if m is Modality.TEXT else np.arange(n)
            emb = np.empty((len(first_rows), model.config.embed_dim), np.float16) if m is Modality.TEXT else arr
            for lo in range(0, len(rows), batch_size):
                batch = renormalise(bank.batch(rows[lo:lo + batch_size], [m]), bank.stats, stats)
                with torch.no_grad():
                    h = _unit_float16(model.encode(m, batch[m]).numpy())
                emb[lo:lo + len(h)] = h
                top = float(np.linalg.norm(h.astype(np.float32), axis=1).max())
                norms[m.value] = max(norms.get(m.value, 0.0), top)
                done += len(batch[m])
                say(done / total, f"embedding {m.value}: {min(lo + batch_size, len(rows))}/{len(rows)}")
            if m is Modality.TEXT:  # every window of a clip gets its clip's text embedding
                for lo in range(0, n, 65536):
                    arr[lo:lo + 65536] = emb[clip_codes[lo:lo + 65536]]
            arr.flush()
            del arr
        meta |= {"modalities": [m.value for m in modalities], "dims": dims, "n_windows": n, "max_norm": norms,
                 "embed_dim": model.config.embed_dim, "dtype": "float16", "seconds": round(time.monotonic() - t0, 2),
                 "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        if folder.exists():  # an outdated store: move it aside first, so the new one appears in one rename
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)  # after the new store is in place (a kill here leaves an orphan)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _clip_layout(clip_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code of each window's clip, first row of each clip) — codes index the first-row list."""
    _, first, codes = np.unique(clip_ids, return_index=True, return_inverse=True)
    return codes.ravel(), first.astype(np.int64)


def _unit_float16(x: np.ndarray) -> np.ndarray:
    """Rows cast to float16 and re-normalised there, so stored rows have unit norm to float16 precision."""
    h = x.astype(np.float16).astype(np.float32)
    h /= np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
    return h.astype(np.float16)
