"""The FiMAD v1 layout: file and folder names, the NULL label and the clip-id rule (the one place they are spelled)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["FORMAT", "VERSION", "SKELETON", "MANIFEST", "CLIPS", "SPLITS", "DATASET_FILES", "POSE_DIR", "IMU_DIR",
           "VIDEO_DIR", "FEATURES_DIR", "TEXT_FEATURES_DIR", "NPY", "NPZ", "MP4", "BACKUP_SUFFIX", "MODALITY_FILES",
           "NULL_LABEL", "is_safe_clip_id"]

FORMAT = "fimad"  # fimad.json "format"
VERSION = 1  # fimad.json "version" this reader reads and the writer writes
SKELETON = "h36m17"  # the only pose skeleton of v1

MANIFEST = "fimad.json"  # the dataset's description (name, fps, IMU sites, features)
CLIPS = "clips.csv"  # one row per clip: clip_id, n_frames, chapter, split, label, ...
SPLITS = "splits.json"  # optional {"train": [clip_id, ...], ...}; overrides clips.csv's split column
DATASET_FILES = (MANIFEST, CLIPS, SPLITS)  # the files (beside the per-clip folders) that define a dataset

POSE_DIR, IMU_DIR, VIDEO_DIR = "pose", "imu", "video"  # per-clip files: <dir>/<clip_id><suffix>
FEATURES_DIR = "features"  # precomputed per-frame video features: features/<name>/<clip_id>.npy
TEXT_FEATURES_DIR = "text_features"  # precomputed text embeddings: text_features/<name>.npz
NPY, NPZ, MP4 = ".npy", ".npz", ".mp4"
BACKUP_SUFFIX = ".bak"  # clips.csv.bak: the previous clips.csv kept when labels are written
# Where each per-clip modality lives: folder and file suffix.
MODALITY_FILES: dict[str, tuple[str, str]] = {"pose": (POSE_DIR, NPY), "imu": (IMU_DIR, NPZ), "video": (VIDEO_DIR, MP4)}

# clips.csv `label` of a chapter that is no exercise (the NULL class). Not "null": pandas reads that as missing.
NULL_LABEL = "null_class"

_SAFE_ASCII = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ID_BYTES = 200  # leaves room for a suffix under the usual 255-byte file-name limit


def is_safe_clip_id(s: object) -> bool:
    """True for a non-empty id made only of letters (any script, with their combining marks), decimal digits,
    '-' and '_', at most 200 UTF-8 bytes.

    Such an id can be used as a file name: it cannot hold a path separator, '.', '..', NUL or a drive.
    """
    if not isinstance(s, str) or not s or len(s.encode("utf-8", "surrogatepass")) > _MAX_ID_BYTES:
        return False
    if s.isascii():
        return _SAFE_ASCII.fullmatch(s) is not None
    return all(c in "-_" or c.isdecimal() or unicodedata.category(c)[0] in "LM" for c in s)
