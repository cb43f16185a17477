"""What a window bank is built from: checks of the spec against the dataset, features on first use, the cache key."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Callable

import numpy as np

from mujo.banks.spec import BankSpec, Sources
from mujo.features import flow
from mujo.features.cache import file_sha256, listing_stamp
from mujo.features.text import text_features
from mujo.features.video import MUJO_FLOW, ensure_video_features, flow_dir, precomputed_video_features
from mujo.fimad.arrays import ArrayFileError, npy_info, npz_members
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.layout import DATASET_FILES, FEATURES_DIR, IMU_DIR, NPY, NPZ, POSE_DIR
from mujo.modality import Modality

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
_TEXT_SHARE, _VIDEO_SHARE = 0.05, 0.75  # of the progress bar, while features are computed


def _has_gyro(ds: FimadDataset) -> bool:
    """Whether any clip's IMU file holds gyro (headers only; stops at the first that does)."""
    for cid in ds.clips.index[ds.clips["has_imu"]]:
        try:
            if "gyro" in npz_members(ds.file_path(cid, "imu")):
                return True
        except (ArrayFileError, OSError):
            continue
    return False


def _sub(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    return (lambda f, msg: progress(lo + (hi - lo) * min(max(f, 0.0), 1.0), msg)) if progress else None


def _video_dim(ds: FimadDataset, name: str) -> int:
    """The feature size of a video feature (0 when no clip has a file)."""
    if name == MUJO_FLOW:
        folder = flow_dir(ds)
        return flow.DIM if folder is not None and any(folder.glob("*.npy")) else 0
    for path in sorted((ds.root / FEATURES_DIR / name).glob(f"*{NPY}")):
        try:
            return int(npy_info(path).shape[1])
        except (ArrayFileError, OSError, IndexError):
            continue
    return 0


def resolve_sources(ds: FimadDataset, spec: BankSpec, progress: Progress | None = None) -> Sources:
    """Check the spec against the dataset and compute the text/video features it needs (cached).

    Raises:
        ValueError: requested IMU sites missing from the dataset (named), or gyro requested but absent.
    """
    clips = ds.clips
    src = Sources(modalities=(), missing={}, window=spec.window, hop=spec.hop, trim=spec.trim)
    present = []
    for m in spec.modalities:
        if m is Modality.POSE:
            if clips["has_pose"].any():
                present.append(m)
            else:
                src.missing[m.value] = "no clip has a pose file"
        elif m is Modality.IMU:
            sites = spec.imu_sites or ds.imu_sites
            absent = [s for s in sites if s not in ds.imu_sites]
            if absent:
                raise ValueError(f"dataset {ds.root} has no IMU site {', '.join(absent)} "
                                 f"(its sites: {', '.join(ds.imu_sites)})")
            if not clips["has_imu"].any():
                src.missing[m.value] = "no clip has an IMU file"
                continue
            if "gyro" in spec.imu_channels and not _has_gyro(ds):
                raise ValueError(f"dataset {ds.root} has no gyroscope data; ask for imu_channels=('acc',)")
            src.site_index = [ds.imu_sites.index(s) for s in sites]
            src.channels = spec.imu_channels
            present.append(m)
        elif m is Modality.TEXT:
            try:
                src.text = text_features(ds, spec.text_field, progress=_sub(progress, 0.0, _TEXT_SHARE))
                present.append(m)
            except ValueError as e:
                src.missing[m.value] = str(e)
        elif m is Modality.VIDEO:
            # mujo_flow features computed before (from videos since removed, or from frames rendered in memory:
            # mujo.demo.videos) count as well
            if not (spec.video_feature or precomputed_video_features(ds) or clips["has_video"].any()
                    or flow_dir(ds) is not None):
                src.missing[m.value] = "no clip has a video and the dataset lists no precomputed video features"
                continue
            name = ensure_video_features(ds, name=spec.video_feature,
                                         progress=_sub(progress, _TEXT_SHARE, _VIDEO_SHARE))
            dim = _video_dim(ds, name)
            if dim == 0:
                src.missing[m.value] = f"no clip has {name} video features (videos unreadable?)"
                continue
            src.video_feature, src.video_dim = name, dim
            present.append(m)
    src.modalities = tuple(present)
    for m, why in src.missing.items():
        log.warning("window bank of %s: no %s (%s)", ds.root, m, why)
    return src


def bank_share(src: Sources) -> float:
    """Where the bank's own progress starts, after the features."""
    return _VIDEO_SHARE if src.video_feature else (_TEXT_SHARE if src.text is not None else 0.0)


def source_key(ds: FimadDataset, spec: BankSpec, src: Sources, version: int) -> str:
    """The cache key: a hash of the dataset's files and listings, the features used, the spec and the version."""
    root = ds.root
    parts: dict[str, object] = {
        "version": version, "root": str(root.resolve()), "spec": spec.to_dict(), "max_gap_s": ds.max_gap_s,
        "files": [file_sha256(root / n) for n in DATASET_FILES],
        "modalities": [m.value for m in src.modalities], "sites": src.site_index, "channels": list(src.channels)}
    if Modality.POSE in src.modalities:
        parts["pose"] = listing_stamp(root / POSE_DIR, NPY)
    if Modality.IMU in src.modalities:
        parts["imu"] = listing_stamp(root / IMU_DIR, NPZ)
    if src.text is not None:
        vec = np.ascontiguousarray(src.text.vectors)
        parts["text"] = [src.text.name, src.text.field, hashlib.sha256(vec.tobytes()).hexdigest()]
    if src.video_feature:
        folder = flow_dir(ds) if src.video_feature == MUJO_FLOW else root / FEATURES_DIR / src.video_feature
        parts["video"] = [src.video_feature, listing_stamp(folder, ".npy") if folder else ""]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", ds.manifest.name).strip("-")[:40] or "dataset"
    return f"{name}-{digest}"
