"""The window bank: every training window of a dataset as memory-mapped float32 arrays, normalised batches.

`build_bank(ds, spec)` gathers the frames of each modality once (with progress) into
`data_dir()/cache/banks/<key>/`, where the key hashes the dataset (its path, fimad.json, clips.csv, splits.json, the
file listings and the text/video features used) and the spec; the same dataset and spec reopen the cached bank.
`WindowBank.batch(rows)` returns torch tensors ready for the encoders.
"""

from __future__ import annotations

import copy
import fcntl
import json
import logging
import os
import shutil
import time
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from mujo import paths
from mujo.banks.build import write_bank
from mujo.banks.pose import normalize_pose
from mujo.banks.sources import bank_share, resolve_sources, source_key
from mujo.banks.spec import BankSpec, Sources
from mujo.fimad.dataset import FimadDataset
from mujo.modality import Modality
from mujo.procs import remove_orphans

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
BANK_VERSION = 1


class WindowBank:
    """A built window bank, opened read-only from its folder (see `build_bank`).

    Attributes:
        folder: where it lives.
        spec: the BankSpec it was built for.
        modalities: the modalities it holds (requested and present in the dataset).
        missing: {modality value: why} for requested modalities the dataset lacks.
        dims: {Modality: input size}: TEXT Dt, VIDEO Dv, POSE 17 * 3 and IMU S * C per sample.
        stats: normalisation stats of the train split: {"imu": {"mean", "std"} (S, C) lists, "video": (Dv,) lists}.
        dropped: {modality value: windows left out for NaN or missing data in it}; n_dropped: windows left out.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise FileNotFoundError(f"{meta_path}: not a window bank ({e})") from None
        if self.meta.get("version") != BANK_VERSION:
            raise ValueError(f"{self.folder}: bank version {self.meta.get('version')}, expected {BANK_VERSION}")
        self.spec = BankSpec.from_dict(self.meta["spec"])
        self.modalities = tuple(Modality(m) for m in self.meta["modalities"])
        self.missing: dict[str, str] = self.meta["missing"]
        self.stats: dict[str, Any] = self.meta["stats"]
        self.dropped: dict[str, int] = self.meta["dropped"]
        self.n_dropped = int(self.meta["n_dropped"])
        self.imu_sites: tuple[str, ...] = tuple(self.meta["imu_sites"])
        self.window = self.spec.window

        def load(name: str) -> np.ndarray:
            # plain ndarray views of the mapping: indexing np.memmap itself pays for the subclass on every call
            return np.asarray(np.load(self.folder / name, mmap_mode="r", allow_pickle=False))

        self._clip = load("window_clip.npy")  # (N,) row of the clip table
        self._start = load("window_start.npy")  # (N,) first sample in the clip
        self._offset = load("window_offset.npy")  # (N,) first frame in pose.npy / imu.npy
        self._arrays = {m: load(f"{m.value}.npy") for m in self.modalities}
        self._steps = np.arange(self.window)
        st = self.stats
        self._imu_norm = self._norm(st.get(Modality.IMU.value)) if Modality.IMU in self.modalities else None
        self._video_norm = self._norm(st.get(Modality.VIDEO.value)) if Modality.VIDEO in self.modalities else None
        self._shared_text: tuple[list[str], list[float]] | None = None  # see with_shared_text

    @staticmethod
    def _norm(entry: dict[str, Any] | None) -> tuple[np.ndarray, np.ndarray]:
        mean, std = np.asarray(entry["mean"], np.float32), np.asarray(entry["std"], np.float32)
        return mean, (1.0 / std).astype(np.float32)

    @classmethod
    def open(cls, folder: str | Path) -> WindowBank:
        """Reopen a bank from its folder (no rebuild)."""
        return cls(folder)

    def __len__(self) -> int:
        return len(self._clip)

    def __repr__(self) -> str:
        mods = ", ".join(m.value for m in self.modalities)
        return f"WindowBank({len(self)} windows, [{mods}], dropped={self.n_dropped}, folder='{self.folder}')"

    def __reduce__(self) -> tuple:
        # pickled (DataLoader workers, spawn) as its folder: the memory-mapped arrays are reopened, never copied
        if self._shared_text is None:
            return (WindowBank, (str(self.folder),))
        return (_reopen_shared, (str(self.folder), *self._shared_text))

    def with_shared_text(self, clip_ids: list[str] | set[str], vector: np.ndarray) -> WindowBank:
        """A view of this bank whose windows of `clip_ids` all take one text vector instead of their clip's.

        Pre-training with a NULL anchor uses it: every NULL clip's windows get the anchor text's features, so the
        text encoder learns one NULL point that they are all pulled towards. Such windows share a text like the
        windows of one clip do, so `shared_text_windows` marks them for the batches' mask (mujo.train.batches).
        Nothing on disk changes; the bank's own text array is not modified.

        Args:
            clip_ids: clips of `.clips` (others are ignored).
            vector: (Dt,) the shared text features, in the space of the bank's text features.
        Returns:
            A new WindowBank sharing this one's memory-mapped arrays.
        Raises:
            ValueError: the bank holds no text, or the vector's size differs from its text features'.
        """
        text = self._arrays.get(Modality.TEXT)
        if text is None:
            raise ValueError(f"{self.folder}: the bank holds no text features to replace")
        vector = np.asarray(vector, np.float32).ravel()
        if vector.shape != text.shape[1:]:
            raise ValueError(f"the shared text vector has {vector.size} values; the bank's text features have "
                             f"{text.shape[1]}")
        wanted = set(clip_ids)
        rows = np.flatnonzero(self.clips["clip_id"].isin(wanted).to_numpy())
        view = copy.copy(self)
        view._arrays = dict(self._arrays)
        view._arrays[Modality.TEXT] = np.array(text, np.float32)  # (n_clips, Dt), a small in-memory copy
        view._arrays[Modality.TEXT][rows] = vector
        view._shared_text = (self.clips["clip_id"].iloc[rows].tolist(), vector.tolist())
        view.__dict__.pop("shared_text_windows", None)
        return view

    @cached_property
    def shared_text_windows(self) -> np.ndarray | None:
        """(N,) bool: windows whose text was replaced by `with_shared_text` (None for a plain bank)."""
        if self._shared_text is None:
            return None
        shared = self.clips["clip_id"].isin(set(self._shared_text[0])).to_numpy()  # per clip
        return shared[self._clip]

    @property
    def dims(self) -> dict[Modality, int]:
        """{Modality: input size}: TEXT Dt, VIDEO Dv; POSE 51 and IMU S * C per sample (see `shapes`)."""
        return {m: int(np.prod(arr.shape[1:])) for m, arr in self._arrays.items()}

    @property
    def shapes(self) -> dict[Modality, tuple[int, ...]]:
        """Per-window shape of each modality in `batch` (without the batch axis)."""
        return {m: ((self.window, *arr.shape[1:]) if m in (Modality.POSE, Modality.IMU) else tuple(arr.shape[1:]))
                for m, arr in self._arrays.items()}

    @cached_property
    def clips(self) -> pd.DataFrame:
        """The bank's clip table (clip_id, split, video_id, label, chapter), one row per clip with windows."""
        return pd.DataFrame(json.loads((self.folder / "clips.json").read_text(encoding="utf-8")))

    @cached_property
    def index(self) -> pd.DataFrame:
        """One row per window: clip_id, start (sample), t0_s, split, video_id, label, chapter."""
        clips = self.clips.iloc[self._clip].reset_index(drop=True)
        out = pd.DataFrame({"clip_id": clips["clip_id"], "start": np.asarray(self._start, np.int64),
                            "t0_s": self._start / float(self.meta["fps"])})
        for col in ("split", "video_id", "label", "chapter"):
            out[col] = clips[col]
        return out

    def rows(self, split: str) -> np.ndarray:
        """Row numbers of the windows of a split ("train", "val", "test"; clips without one are "train")."""
        in_split = self.clips["split"].to_numpy() == split
        return np.flatnonzero(in_split[self._clip])

    def batch(self, rows: np.ndarray | list[int], modalities: list[Modality] | tuple | None = None
              ) -> dict[Modality, torch.Tensor]:
        """Normalised inputs of some windows.

        Args:
            rows: window row numbers (into `index`).
            modalities: which (default all of `.modalities`); ones the bank lacks are skipped.
        Returns:
            {Modality: float32 tensor}: TEXT (B, Dt); VIDEO (B, Dv) z-scored; POSE (B, T, 17, 3) centred and faced
            (`normalize_pose`); IMU (B, T, S, C) z-scored per channel, [acc xyz, gyro xyz] per site.
        """
        rows = np.asarray(rows, np.int64)
        wanted = self.modalities if modalities is None else [Modality(m) for m in modalities]
        out: dict[Modality, torch.Tensor] = {}
        frames = None
        for m in wanted:
            arr = self._arrays.get(m)
            if arr is None:
                continue
            if m in (Modality.POSE, Modality.IMU):
                if frames is None:
                    frames = (self._offset[rows][:, None] + self._steps).ravel()  # (B * T,)
                x = arr.take(frames, axis=0).reshape(len(rows), self.window, *arr.shape[1:])
                if m is Modality.IMU:
                    x -= self._imu_norm[0]
                    x *= self._imu_norm[1]
                else:
                    normalize_pose(x)
            elif m is Modality.TEXT:
                x = arr.take(self._clip[rows], axis=0)
            else:
                x = arr.take(rows, axis=0)
                x -= self._video_norm[0]
                x *= self._video_norm[1]
            out[m] = torch.from_numpy(x)
        return out

    def summary(self) -> str:
        """A few lines: windows per split, dropped windows per modality, missing modalities."""
        per_split = self.clips["split"].to_numpy()[self._clip]
        splits = ", ".join(f"{s}={n}" for s, n in zip(*np.unique(per_split, return_counts=True)))
        lines = [f"{len(self)} windows ({splits}) of {len(self.clips)} clips; modalities: "
                 + ", ".join(f"{m.value} {self.dims[m]}" for m in self.modalities)]
        if self.n_dropped:
            lines.append(f"dropped {self.n_dropped} windows (NaN or no data: "
                         + ", ".join(f"{k} {v}" for k, v in self.dropped.items() if v) + ")")
        lines += [f"no {m}: {why}" for m, why in self.missing.items()]
        if self.meta.get("problems"):
            lines.append(f"{len(self.meta['problems'])} clips with unreadable files left out")
        return "\n".join(lines)


def _reopen_shared(folder: str, clip_ids: list[str], vector: list[float]) -> WindowBank:
    """Unpickle a `with_shared_text` view: the bank reopened, the same clips given the same vector."""
    return WindowBank(folder).with_shared_text(clip_ids, np.asarray(vector, np.float32))


def banks_dir() -> Path:
    """Where banks are cached: `data_dir()/cache/banks/`."""
    return paths.data_dir() / "cache" / "banks"


def build_bank(ds: FimadDataset | str | Path, spec: BankSpec | None = None, *, progress: Progress | None = None,
               root: str | Path | None = None) -> WindowBank:
    """The window bank of a dataset for a spec: reopened from the cache when unchanged, else built (with progress).

    Text and video features are computed first where needed (`mujo.features`). A requested modality the dataset
    lacks entirely is left out of the bank and named in `.missing`; windows with NaN (or no data) in a requested
    modality are left out and counted in `.dropped`.

    Args:
        ds: the dataset (or its folder).
        spec: what to hold (default BankSpec()).
        progress: called with (fraction, message).
        root: the cache folder (default `banks_dir()`).
    Returns:
        The bank.
    Raises:
        ValueError: IMU sites the dataset does not have (named), gyro asked of a dataset without gyro, or a bad spec.
    """
    if not isinstance(ds, FimadDataset):
        ds = FimadDataset(ds)
    spec = spec or BankSpec()
    src = resolve_sources(ds, spec, progress)
    key = source_key(ds, spec, src, BANK_VERSION)
    folder = Path(root) if root is not None else banks_dir()
    target = folder / key
    if (target / "meta.json").is_file():
        if progress:
            progress(1.0, "window bank: cached")
        return WindowBank.open(target)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes asking for the same bank: one builds, one waits
        if not (target / "meta.json").is_file():
            _build(ds, spec, src, key, target, progress)
    return WindowBank.open(target)


def _build(ds: FimadDataset, spec: BankSpec, src: Sources, key: str, target: Path, progress: Progress | None) -> None:
    remove_orphans(target.parent, f".{key}.tmp-*")  # a killed build's arrays (a bank may be gigabytes)
    tmp = target.with_name(f".{key}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    lo = bank_share(src)
    sub = (lambda f, msg: progress(lo + (1 - lo) * f, msg)) if progress else None
    t0 = time.monotonic()
    try:
        info = write_bank(ds, src, tmp, sub)
        meta = {"version": BANK_VERSION, "key": key, "spec": spec.to_dict(), "dataset": str(ds.root),
                "dataset_name": ds.manifest.name, "fps": ds.fps, "modalities": [m.value for m in src.modalities],
                "missing": src.missing, "imu_sites": [ds.imu_sites[i] for i in src.site_index],
                "imu_channels": list(src.channels), "text": src.text and {
                    "name": src.text.name, "field": src.text.field, "n_missing": src.text.n_missing},
                "video_feature": src.video_feature, "build_s": round(time.monotonic() - t0, 2), **info}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)  # a half-written folder from a killed build
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("window bank %s built in %.1f s", target, time.monotonic() - t0)
