"""Writing a window bank: per-clip frames into memory-mapped arrays, NaN checks per window, train-split stats."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Callable

import numpy as np
from numpy.lib.format import open_memmap

from mujo.banks.spec import Sources
from mujo.features.video import video_features
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.errors import ClipError
from mujo.fimad.skeleton import N_JOINTS
from mujo.modality import Modality

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
STD_FLOOR = 1e-6  # a channel with a smaller spread (constant) is scaled by 1


class _Moments:
    """Weighted running sums for a mean and standard deviation per channel (float64)."""

    def __init__(self, width: int):
        self.n = 0.0
        self.s = np.zeros(width)
        self.ss = np.zeros(width)

    def add(self, x: np.ndarray, w: np.ndarray | None = None) -> None:
        x = x.reshape(len(x), -1).astype(np.float64)
        w = np.ones(len(x)) if w is None else w.astype(np.float64)
        self.n += float(w.sum())
        self.s += w @ x
        self.ss += w @ (x * x)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.s / max(self.n, 1.0)
        std = np.sqrt(np.maximum(self.ss / max(self.n, 1.0) - mean * mean, 0.0))
        return mean, np.where(std < STD_FLOOR, 1.0, std)


def _span_bad(frame_bad: np.ndarray, rel_starts: np.ndarray, window: int) -> np.ndarray:
    """(n,) True for the windows [s, s + window) holding any bad frame (a cumulative count of bad frames)."""
    cs = np.concatenate(([0], np.cumsum(frame_bad, dtype=np.int64)))
    return cs[rel_starts + window] > cs[rel_starts]


def _frames(arr: np.ndarray | None, a: int, b: int, shape: tuple[int, ...]) -> np.ndarray:
    """Samples [a, b) of a clip array, NaN where the array is missing or shorter than announced."""
    out = np.full((b - a, *shape), np.nan, np.float32)
    if arr is not None and len(arr) > a:
        got = np.asarray(arr[a:b], np.float32)
        out[: len(got)] = got.reshape(len(got), *shape)
    return out


def _imu_frames(ds: FimadDataset, cid: str, a: int, b: int, src: Sources) -> np.ndarray:
    imu = ds.imu(cid, mmap=None) if ds.clips.at[cid, "has_imu"] else None
    s = len(src.site_index)
    parts = []
    for ch in src.channels:
        arr = None if imu is None else (imu[0] if ch == "acc" else imu[1])
        parts.append(_frames(None if arr is None else arr[:, src.site_index], a, b, (s, 3)))
    return np.concatenate(parts, axis=2)  # (n, S, 3 * groups): [acc xyz, gyro xyz] per site


def write_bank(ds: FimadDataset, src: Sources, out: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the arrays of a bank into the folder `out` and return its meta (stats, counts, dims).

    Layout: `pose.npy` (F, 17, 3) and `imu.npy` (F, S, C) hold the frames each clip's windows span, one clip after
    another; window i covers frames [offset[i], offset[i] + window). `video.npy` (N, Dv) holds window means of the
    frame features, `text.npy` (n_clips, Dt) one vector per clip. Only windows valid in every modality are kept.
    """
    index = ds.windows(src.window, src.hop, src.trim)
    counts = np.bincount(index.codes, minlength=len(index.clip_list))
    clips = [c for c, n in zip(index.clip_list, counts) if n]
    bounds = np.concatenate(([0], np.cumsum(counts)))
    spans: dict[str, tuple[int, int]] = {}
    for k, c in enumerate(index.clip_list):
        if counts[k]:
            st = index.starts[bounds[k]: bounds[k + 1]]
            spans[c] = (int(st[0]), int(st[-1]) + src.window)
    n_frames = sum(b - a for a, b in spans.values())
    has = set(src.modalities)
    s, c = len(src.site_index), 3 * len(src.channels)
    pose = open_memmap(out / "pose.npy", "w+", np.float32, (n_frames, N_JOINTS, 3)) if Modality.POSE in has else None
    imu = open_memmap(out / "imu.npy", "w+", np.float32, (n_frames, s, c)) if Modality.IMU in has else None
    # video means of every candidate window; the kept ones are copied into video.npy at the end
    video = (open_memmap(out / "video_all.tmp.npy", "w+", np.float32, (len(index), src.video_dim))
             if Modality.VIDEO in has else None)
    text_rows = src.text.rows_of(clips) if src.text is not None else None

    keep = np.zeros(len(index), bool)
    offsets = np.zeros(len(index), np.int64)
    dropped = {m.value: 0 for m in src.modalities}
    problems: dict[str, str] = {}
    imu_stats = {k: _Moments(s * c) for k in ("train", "all")}
    video_stats = {k: _Moments(src.video_dim) for k in ("train", "all")}
    splits = ds.clips["split"].fillna("").astype(str).replace("", "train")
    pos = {cid: k for k, cid in enumerate(index.clip_list)}
    base = 0
    for ci, cid in enumerate(clips):
        k = pos[cid]
        rows = np.arange(bounds[k], bounds[k + 1])
        a, b = spans[cid]
        rel = index.starts[rows] - a
        offsets[rows] = base + rel
        bad = np.zeros(len(rows), bool)
        try:
            if pose is not None:
                x = _frames(ds.pose(cid, mmap=None) if ds.clips.at[cid, "has_pose"] else None, a, b, (N_JOINTS, 3))
                pose[base: base + len(x)] = x
                m = _span_bad(np.isnan(x).reshape(len(x), -1).any(1), rel, src.window)
                dropped[Modality.POSE.value] += int(m.sum())
                bad |= m
            if imu is not None:
                y = _imu_frames(ds, cid, a, b, src)
                imu[base: base + len(y)] = y
                m = _span_bad(np.isnan(y).reshape(len(y), -1).any(1), rel, src.window)
                dropped[Modality.IMU.value] += int(m.sum())
                bad |= m
            if video is not None:
                feats = video_features(ds, cid, src.video_feature) if src.video_feature else None
                v = _frames(feats, a, b, (src.video_dim,))
                frame_bad = ~np.isfinite(v).all(1)
                m = _span_bad(frame_bad, rel, src.window)
                cs = np.concatenate((np.zeros((1, src.video_dim)), np.cumsum(np.where(frame_bad[:, None], 0, v), 0)))
                video[rows] = ((cs[rel + src.window] - cs[rel]) / src.window).astype(np.float32)  # window means
                dropped[Modality.VIDEO.value] += int(m.sum())
                bad |= m
        except ClipError as e:  # one broken file: its clip's windows go, the bank is still built
            problems[cid] = str(e)
            log.warning("window bank: clip %s left out: %s", cid, e)
            bad[:] = True
        if text_rows is not None:
            if not np.isfinite(src.text.vectors[text_rows[ci]]).all():
                dropped[Modality.TEXT.value] += len(rows)
                bad[:] = True
        keep[rows] = ~bad
        good = ~bad
        if good.any():
            groups = ("all", "train") if splits.at[cid] == "train" else ("all",)
            if imu is not None:
                w = np.zeros(b - a + 1)  # frames weighted by how many kept windows cover them
                np.add.at(w, rel[good], 1.0)
                np.add.at(w, rel[good] + src.window, -1.0)
                w = np.cumsum(w)[:-1]
                used = w > 0  # frames outside kept windows may be NaN (and 0 * NaN is NaN)
                frames = np.asarray(imu[base: base + b - a])[used]
                for g in groups:
                    imu_stats[g].add(frames, w[used])
            if video is not None:
                for g in groups:
                    video_stats[g].add(video[rows[good]])
        base += b - a
        if progress and (ci % 16 == 0 or ci == len(clips) - 1):
            progress((ci + 1) / len(clips), f"window bank: {ci + 1}/{len(clips)} clips")

    for arr in (pose, imu):
        if arr is not None:
            arr.flush()
    kept = np.flatnonzero(keep)
    bank_code = np.full(len(index.clip_list), -1, np.int64)  # index clip code -> row of the bank's clip table
    bank_code[[pos[cid] for cid in clips]] = np.arange(len(clips))
    clip_code = bank_code[index.codes[kept]]
    np.save(out / "window_clip.npy", clip_code.astype(np.int32), allow_pickle=False)
    np.save(out / "window_start.npy", index.starts[kept], allow_pickle=False)
    np.save(out / "window_offset.npy", offsets[kept], allow_pickle=False)
    if video is not None:
        np.save(out / "video.npy", np.asarray(video[kept]), allow_pickle=False)
        del video
        (out / "video_all.tmp.npy").unlink()
    if src.text is not None:
        np.save(out / "text.npy", src.text.vectors[text_rows].astype(np.float32), allow_pickle=False)
    _write_clips(ds, clips, out)

    clip_is_train = splits.loc[clips].eq("train").to_numpy() if clips else np.zeros(0, bool)
    stats_split = "train" if clip_is_train[clip_code].any() else "all"
    stats: dict[str, Any] = {"split": stats_split}
    if imu is not None:
        mean, std = imu_stats[stats_split].result()
        stats[Modality.IMU.value] = {"mean": mean.reshape(s, c).tolist(), "std": std.reshape(s, c).tolist()}
    if Modality.VIDEO in has:
        mean, std = video_stats[stats_split].result()
        stats[Modality.VIDEO.value] = {"mean": mean.tolist(), "std": std.tolist()}
    if stats_split != "train":
        log.warning("window bank: no training windows; normalisation stats come from all windows")
    return {"n_windows": int(len(kept)), "n_candidates": int(len(index)), "n_frames": int(n_frames),
            "dropped": dropped, "n_dropped": int(len(index) - len(kept)), "problems": problems, "stats": stats}


def _write_clips(ds: FimadDataset, clips: list[str], out: Path) -> None:
    """The bank's clip table (JSON, all text): what `.index` shows per window."""
    table = ds.clips.loc[clips]

    def col(name: str) -> list[str]:
        return table[name].fillna("").astype(str).tolist() if name in table.columns else [""] * len(clips)

    split = [s or "train" for s in col("split")]  # a clip without a split trains
    obj = {"clip_id": clips, "split": split, "video_id": col("video_id"), "label": col("label"),
           "chapter": col("chapter")}
    (out / "clips.json").write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
