"""A FiMAD folder (e.g. the embedded demo) as a target dataset, so zero-shot and fine-tuning run on it.

One recording per clip: the IMU of the chosen sites (placement name = site name, [acc, gyro] per site), the pose
when the clip has one, and one label for every sample, from the clip's label:
- labels "truth": clips.csv's `label` column (the synthetic generator's ground truth): NULL_LABEL is NULL, any
  other value an activity; clips with an empty label are left out;
- labels "curated": the store's whole-clip labels in force (`Store.whole_clip_labels`, keyed by
  `dataset_key(root)`): "null" is NULL, "activity" is its activity name (else the clip's label column);
  "unsure", "bad", ranged-only and unlabelled clips are left out.
The activity classes are the distinct non-NULL labels of clips.csv (plus curated activity names), sorted, whatever
the clips kept; zero-shot prompts use the generator's display names (CANONICAL_DISPLAY) where it has one.
Subject = the clip's video. The fixed split "fimad" is the dataset's own train/val/test split: key "session", and
each recording's session is its clip's split ("train" where a clip has none). A dataset without test clips (the
demo) gets "val-halves" first: the train videos train, the val videos alternately validate and test (by video, so
fine-tuning has a test part). No random subject splits: a model pre-trained on this folder saw its train split, so
only the val/test clips are unseen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from mujo.banks.sources import _has_gyro
from mujo.datasets.base import (
    NULL_INDEX,
    DatasetError,
    DatasetInfo,
    FixedSplit,
    Recording,
    TargetDataset,
    natural_key,
    readable,
)
from mujo.fimad.dataset import ClipError, FimadDataset, FimadError
from mujo.fimad.layout import CLIPS, MANIFEST, NULL_LABEL
from mujo.store import dataset_key, open_store
from mujo.synth.text_vocab import CANONICAL_DISPLAY

if TYPE_CHECKING:
    from mujo.store import Store

LABEL_SOURCES = ("truth", "curated")
SPLIT_NAME = "fimad"
HALVES = "val-halves"


class FimadTarget(TargetDataset):
    """A FiMAD folder read as a target dataset (see the module docstring for labels and splits).

    Args:
        root: the FiMAD folder (or its fimad.json).
        sites: IMU sites offered as placements, in this order (default: all of the dataset's).
        gyro: offer the gyroscope too (default: when the dataset has it).
        labels: "truth" (clips.csv's label column) or "curated" (the store's curation).
        store: the store that holds the curation (default: the project's); only read with labels "curated".
        key: the store's key of the dataset (default: `dataset_key(root)`, what the curation page uses).
    Raises:
        DatasetError: not a FiMAD folder, unknown sites or label source, gyro asked of a dataset without it, no
            label column for "truth", or no clip left with a label.
    """

    def __init__(self, root: str | Path, *, sites: Sequence[str] | None = None, gyro: bool | None = None,
                 labels: str = "truth", store: Store | str | Path | None = None, key: str | None = None) -> None:
        root = Path(root)
        if root.name == MANIFEST and root.is_file():
            root = root.parent
        super().__init__(root)
        if labels not in LABEL_SOURCES:
            raise DatasetError(f"labels must be one of {', '.join(LABEL_SOURCES)}, got {labels!r}")
        try:
            self.fimad = FimadDataset(self.root)
        except FimadError as e:
            raise DatasetError(str(e)) from e
        self.labels = labels
        self.sites = tuple(sites) if sites is not None else tuple(self.fimad.imu_sites)
        unknown = [s for s in self.sites if s not in self.fimad.imu_sites]
        if unknown or not self.sites or len(set(self.sites)) != len(self.sites):
            raise DatasetError(f"{self.root}: IMU sites must be distinct sites of the dataset "
                               f"({', '.join(self.fimad.imu_sites)}); got {list(self.sites)}")
        has_gyro = _has_gyro(self.fimad)  # any clip's IMU file has gyro (headers only)
        if gyro and not has_gyro:
            raise DatasetError(f"{self.root} has no gyroscope data; open it with gyro=False")
        self.gyro = has_gyro if gyro is None else bool(gyro)
        self.excluded: dict[str, str] = {}  # clip -> why it is not a recording
        names = self._clip_names(store, key)  # clip -> activity name, or None for NULL
        clips = self.fimad.clips
        self.ids = [c for c in clips.index if c in names]
        classes = sorted({n for n in names.values() if n is not None} | set(self._truth_activities()))
        if not self.ids:
            raise DatasetError(f"{self.root}: no clip has a usable {labels} label"
                               + (" (label clips on the curation page first)" if labels == "curated" else ""))
        self._label = {c: (NULL_INDEX if names[c] is None else classes.index(names[c])) for c in self.ids}
        split = clips["split"].fillna("").astype(str) if "split" in clips else None
        video = clips["video_id"].fillna("").astype(str) if "video_id" in clips else None
        self._session = {c: (split.at[c] if split is not None else "") or "train" for c in self.ids}
        self._subject = {c: (video.at[c] if video is not None else "") or c for c in self.ids}
        self.info = DatasetInfo(
            name=self.fimad.manifest.name + ("-curated" if labels == "curated" else ""), classes=tuple(classes),
            placements={s: s for s in self.sites}, channels=("acc", "gyro") if self.gyro else ("acc",),
            rate=float(self.fimad.fps), has_null=any(v == NULL_INDEX for v in self._label.values()),
            has_pose=bool(clips.loc[self.ids, "has_pose"].any()),
            fixed_splits=self._splits(), random_splits=False, prompts=_prompts(classes))
        # labels kept outside the folder's files (the store) must reach the window cache's fingerprint
        self.label_stamp = "" if labels == "truth" else hashlib.sha1(
            repr(sorted(self._label.items())).encode()).hexdigest()

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", labels={self.labels!r}, excluded={len(self.excluded)})"

    def subject_of(self, i: int) -> str:
        return self._subject[self.ids[i]]

    def session_of(self, i: int) -> str:
        return self._session[self.ids[i]]

    def _splits(self) -> tuple[FixedSplit, ...]:
        """"fimad" (the dataset's own parts); without test clips, first "val-halves" (by video: the val videos
        alternately validate and test), so that fine-tuning, which needs a test part, runs by default."""
        own = FixedSplit(SPLIT_NAME, "session", ("train",), ("val",), ("test",))
        if "test" in self._session.values():
            return (own,)
        videos = {p: sorted({self._subject[c] for c in self.ids if self._session[c] == p}, key=natural_key)
                  for p in ("train", "val")}
        val = tuple(videos["val"])
        return FixedSplit(HALVES, "subject", tuple(videos["train"]), val[0::2], val[1::2]), own

    def _truth_activities(self) -> list[str]:
        if "label" not in self.fimad.clips:
            return []
        values = self.fimad.clips["label"].fillna("").astype(str).str.strip()
        return sorted({v for v in values if v and v != NULL_LABEL})

    def _clip_names(self, store: Store | str | Path | None, key: str | None) -> dict[str, str | None]:
        """clip -> activity name (None: NULL) of the clips that become recordings; `excluded` gets the others."""
        clips = self.fimad.clips
        if self.labels == "truth" and "label" not in clips:
            raise DatasetError(f"{self.root / CLIPS} has no label column; open it with labels='curated' "
                               "(the store's curation)")
        truth = (clips["label"].fillna("").astype(str).str.strip() if "label" in clips
                 else pd.Series("", index=clips.index))
        if self.labels == "curated":
            curated = open_store(store).whole_clip_labels(key or dataset_key(self.root))
        out: dict[str, str | None] = {}
        for cid in clips.index:
            if not clips.at[cid, "has_imu"]:
                self.excluded[cid] = "no IMU file"
                continue
            label = truth.at[cid]
            if self.labels == "truth":
                if not label:
                    self.excluded[cid] = "no label"
                else:
                    out[cid] = None if label == NULL_LABEL else label
                continue
            kind, activity = curated.get(cid, ("unlabelled", None))
            if kind == "null":
                out[cid] = None
            elif kind == "activity" and (activity or (label and label != NULL_LABEL)):
                out[cid] = activity or label
            else:
                self.excluded[cid] = ("curated activity without a name" if kind == "activity" else
                                      f"curated {kind}" if kind != "unlabelled" else "unlabelled")
        return out

    def _read(self, i: int) -> Recording:
        cid = self.ids[i]
        try:
            imu = self.fimad.imu(cid, mmap=None)
            pose = self.fimad.pose(cid, mmap=None) if self.info.has_pose else None
        except ClipError as e:
            raise DatasetError(str(e)) from e
        if imu is None:
            raise DatasetError(f"{self.fimad.file_path(cid, 'imu')}: missing (the IMU file of clip {cid})")
        acc, gyro = imu
        if self.gyro and gyro is None:
            raise DatasetError(f"{self.fimad.file_path(cid, 'imu')}: no gyro array (other clips have one; open the "
                               "dataset with gyro=False)")
        n = len(acc) if pose is None else min(len(acc), len(pose))  # pose and IMU share the clip's frames
        index = [self.fimad.imu_sites.index(s) for s in self.sites]
        streams = {s: [acc[:n, k]] + ([gyro[:n, k]] if self.gyro else []) for s, k in zip(self.sites, index)}
        return Recording(id=cid, subject=self._subject[cid], rate=float(self.fimad.fps),
                         imu={s: np.concatenate(a, axis=1).astype(np.float32) for s, a in streams.items()},
                         labels=np.full(n, self._label[cid], np.int64),
                         pose=None if pose is None else np.asarray(pose[:n], np.float32),
                         session=self._session[cid])


class FimadCuratedTarget(FimadTarget):
    """A FiMAD folder labelled by the store's curation (`fimad-curated:/path`)."""

    def __init__(self, root: str | Path, **kw) -> None:
        kw.setdefault("labels", "curated")
        super().__init__(root, **kw)


def _prompts(classes: Sequence[str]) -> dict[str, str]:
    """class -> the generator's display name ("push_up" -> "push up") where it has one, else its name made readable."""
    return {c: CANONICAL_DISPLAY.get(c) or readable(c) for c in classes}
