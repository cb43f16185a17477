"""What the Embedding Space plots: which windows or clips, in which modality, their vectors, colours and selection.

Pure functions over an `EmbeddingStore` (anything with `.index`, `.modalities`, `.vectors(m)` and `.meta`), so the
page stays thin and tests can use a fake store. A view is one modality, or the joint space: every modality's
vectors of the same windows stacked, so that colouring by modality shows how well the modalities align.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from mujo.eval import projection

JOINT = "joint"  # all modalities together in the joint space
LEVELS = ("window", "clip")
NONE_LABEL = "(none)"
UNCURATED = "uncurated"
WINDOW_S = 2.0  # a window's length in seconds (100 samples at 50 Hz); curation ranges are matched at its middle
DEFAULT_MAX_POINTS = 20_000
COLOR_OPTIONS: dict[str, str] = {"label": "label", "chapter": "chapter", "modality": "modality", "split": "split",
                                 "video_id": "source video", "curation": "curation status"}


@dataclass(frozen=True)
class ViewSpec:
    """What to plot.

    Attributes:
        modality: a modality value ("imu", "pose", ...) or JOINT.
        level: "window" (one point per window) or "clip" (the mean of a clip's windows, renormalised).
        splits, labels: keep only these (empty: all).
        max_points: at most this many points in all (a seeded subsample of the windows or clips; in the joint
            space each kept item gives one point per modality).
        seed: seeds the subsample.
    """

    modality: str = JOINT
    level: str = "window"
    splits: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    max_points: int = DEFAULT_MAX_POINTS
    seed: int = 0


def default_space(modalities: Any) -> str:
    """The space the Embedding Space opens on: IMU when embedded (the sensor is what the model is for)."""
    mods = [str(m) for m in modalities]
    return "imu" if "imu" in mods else (JOINT if len(mods) > 1 else mods[0])


@dataclass
class PointSet:
    """The points of a view, before projection.

    Attributes:
        frame: one row per point: clip_id, t0_s, split, video_id, label, chapter, modality, n_windows, row (the
            store row of the window, or of the clip's first window).
        modalities: the modalities stacked, in frame order (one block of rows each).
        rows: the store rows read for one modality block (sorted by clip for the clip level).
        starts: clip level only: where each clip's windows begin in `rows` (for np.add.reduceat).
        n_available: windows (or clips) that match the filters, before subsampling.
        digest: identifies the subset (modalities, level, rows) for the projection cache.
    """

    frame: pd.DataFrame
    modalities: tuple[str, ...]
    rows: np.ndarray
    starts: np.ndarray | None
    n_available: int
    level: str
    digest: str = ""

    def __len__(self) -> int:
        return len(self.frame)


def as_text(values: pd.Series) -> pd.Series:
    """Strings with missing values (None, NaN, "") shown as NONE_LABEL."""
    out = values.astype("object").where(values.notna(), "")
    out = out.map(str)
    return out.where(out.str.strip() != "", NONE_LABEL)


def filter_rows(index: pd.DataFrame, splits: tuple[str, ...] = (), labels: tuple[str, ...] = ()) -> np.ndarray:
    """Store rows whose split and label are among those asked for (empty: any), in row order."""
    keep = np.ones(len(index), bool)
    if splits:
        keep &= as_text(index["split"]).isin(splits).to_numpy()
    if labels:
        keep &= as_text(index["label"]).isin(labels).to_numpy()
    return np.flatnonzero(keep)


def subsample(n: int, cap: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded random subset of at most `cap` of n items (all of them when n <= cap)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max(cap, 1), replace=False))


def build_points(store: Any, spec: ViewSpec) -> PointSet:
    """The points a view shows (subsampled), with their attributes; vectors come from `point_vectors`.

    Raises:
        ValueError: an unknown level or a modality the store lacks.
    """
    if spec.level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {spec.level!r}")
    mods = tuple(str(m) for m in store.modalities) if spec.modality == JOINT else (str(spec.modality),)
    missing = [m for m in mods if m not in {str(x) for x in store.modalities}]
    if missing:
        raise ValueError(f"the embedding store has no {', '.join(missing)} vectors")
    index: pd.DataFrame = store.index
    rows = filter_rows(index, spec.splits, spec.labels)
    cap = max(1, spec.max_points // len(mods))
    if spec.level == "window":
        n_available = len(rows)
        rows = rows[subsample(len(rows), cap, spec.seed)]
        starts = None
        first = rows
        n_windows = np.ones(len(rows), np.int64)
    else:
        clip_ids = index["clip_id"].to_numpy()[rows]
        uniq, inverse = np.unique(clip_ids, return_inverse=True)
        n_available = len(uniq)
        chosen = subsample(len(uniq), cap, spec.seed)
        remap = np.full(len(uniq), -1)
        remap[chosen] = np.arange(len(chosen))
        codes = remap[inverse.ravel()]
        keep = codes >= 0
        order = np.argsort(codes[keep], kind="stable")  # by clip, rows ascending within a clip
        rows = rows[keep][order]
        codes = codes[keep][order]
        starts = np.flatnonzero(np.r_[True, np.diff(codes) != 0]) if len(codes) else np.zeros(0, np.int64)
        first = rows[starts]
        n_windows = np.diff(np.r_[starts, len(rows)])
    cols = [c for c in ("clip_id", "t0_s", "split", "video_id", "label", "chapter") if c in index.columns]
    base = index.iloc[first][cols].reset_index(drop=True)
    for c in ("split", "video_id", "label"):
        base[c] = as_text(base[c]) if c in base.columns else NONE_LABEL
    base["chapter"] = base["chapter"].astype("object").where(base["chapter"].notna(), "").map(str) \
        if "chapter" in base.columns else ""
    base["n_windows"] = n_windows
    base["row"] = first
    frame = pd.concat([base.assign(modality=m) for m in mods], ignore_index=True)
    h = hashlib.sha256(f"{spec.level}|{','.join(mods)}|".encode())
    h.update(np.ascontiguousarray(rows, np.int64).tobytes())
    if starts is not None:
        h.update(np.ascontiguousarray(starts, np.int64).tobytes())
    return PointSet(frame=frame, modalities=mods, rows=rows, starts=starts, n_available=n_available,
                    level=spec.level, digest=h.hexdigest()[:20])


def point_vectors(store: Any, points: PointSet) -> np.ndarray:
    """(N, D) float32 unit-norm vectors of the points, modality blocks stacked in frame order."""
    blocks = []
    for m in points.modalities:
        v = np.asarray(store.vectors(m)[points.rows], dtype=np.float32)  # (R, D), rows sorted: a sequential read
        if points.starts is not None:
            counts = np.diff(np.r_[points.starts, len(points.rows)])[:, None]
            v = np.add.reduceat(v, points.starts, axis=0) / counts if len(v) else v  # (C, D) clip means
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        blocks.append(v)
    return np.concatenate(blocks) if blocks else np.zeros((0, 0), np.float32)


def key_parts(store: Any, points: PointSet, spec: ViewSpec) -> dict[str, Any]:
    """What identifies a view's points for the projection cache: the store (checkpoint and dataset, and when it
    was written, so re-embedding gives new projections), the space, the level and the subset."""
    meta = getattr(store, "meta", {}) or {}
    return {"checkpoint": meta.get("checkpoint_sha256") or meta.get("checkpoint_id", ""),
            "dataset": meta.get("dataset_id", ""), "store_created": meta.get("created", ""),
            "space": spec.modality, "level": points.level, "subset": points.digest, "n": len(points)}


def curation_status(frame: pd.DataFrame, labels: pd.DataFrame | None, level: str = "window") -> np.ndarray:
    """The curation label in force at each point, or UNCURATED.

    Args:
        frame: PointSet.frame (clip_id, t0_s).
        labels: `mujo.store.Store.current_labels(dataset)` (clip_id, t0_s, t1_s, label, id ...), or None.
        level: "window": the latest range covering the window's middle; "clip": the latest range over the whole
            clip (t0 0, open end), else "partly curated" when some range of the clip is labelled.
    Returns:
        (N,) object array of strings.
    """
    out = np.full(len(frame), UNCURATED, dtype=object)
    if labels is None or labels.empty or not len(frame):
        return out
    order = "id" if "id" in labels.columns else "created" if "created" in labels.columns else None
    lab = pd.DataFrame({
        "clip_id": labels["clip_id"].to_numpy(),
        "label": as_text(labels["label"]).to_numpy(object) if "label" in labels.columns else NONE_LABEL,
        "t0": labels["t0_s"].astype(float).to_numpy() if "t0_s" in labels.columns else 0.0,
        "t1": labels["t1_s"].astype(float).fillna(np.inf).to_numpy() if "t1_s" in labels.columns else np.inf,
        "rank": labels[order].rank(method="first").to_numpy() if order else np.arange(len(labels), dtype=float)})
    clip_ids = frame["clip_id"].to_numpy(object)
    if level == "clip":  # the latest whole-clip range, else "partly curated" when any range is labelled
        ids, labs = lab["clip_id"].to_numpy(object), lab["label"].to_numpy(object)
        whole = np.flatnonzero((lab["t0"].to_numpy() <= 0) & np.isinf(lab["t1"].to_numpy()))
        whole = whole[np.argsort(lab["rank"].to_numpy()[whole], kind="stable")]
        last = dict(zip(ids[whole], labs[whole]))  # a later range of a clip overrides an earlier one
        some = set(ids)
        return np.array([last[c] if c in last else "partly curated" if c in some else UNCURATED for c in clip_ids],
                        dtype=object)
    # window: the latest range that covers the window's middle (points joined to their clip's ranges)
    mids = frame["t0_s"].to_numpy(float) + WINDOW_S / 2 if "t0_s" in frame.columns else np.zeros(len(frame))
    pts = pd.DataFrame({"clip_id": clip_ids, "mid": mids, "point": np.arange(len(frame))})
    pts = pts[pts["clip_id"].isin(lab["clip_id"])]
    joined = pts.merge(lab, on="clip_id", how="inner")
    joined = joined[(joined["t0"] <= joined["mid"]) & (joined["mid"] < joined["t1"])]
    if len(joined):
        best = joined.sort_values(["point", "rank"], kind="stable").drop_duplicates("point", keep="last")
        out[best["point"].to_numpy()] = best["label"].to_numpy(object)
    return out


def color_values(frame: pd.DataFrame, by: str, *, chapter_norm: Mapping[str, str] | None = None,
                 curation: np.ndarray | None = None) -> np.ndarray:
    """The category of each point for colouring (strings).

    Args:
        frame: PointSet.frame.
        by: a key of COLOR_OPTIONS.
        chapter_norm: clip_id -> normalised chapter; colouring by chapter uses it when given (raw titles are
            nearly unique per clip, "Squats x10" and "squats!!" should share a colour).
        curation: curation_status(...) for by == "curation".
    """
    if by not in COLOR_OPTIONS:
        raise ValueError(f"colour by one of {', '.join(COLOR_OPTIONS)}, got {by!r}")
    if by == "curation":
        return curation if curation is not None else np.full(len(frame), UNCURATED, dtype=object)
    if by == "chapter":
        raw = frame["chapter"]
        if chapter_norm:
            raw = frame["clip_id"].map(chapter_norm).where(lambda s: s.notna(), raw)
        return as_text(raw).to_numpy(object)
    return as_text(frame[by]).to_numpy(object)


def selection_table(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The clips among the selected points: one row per clip, most selected windows first.

    Returns:
        DataFrame indexed by clip_id: chapter, label, split, windows (distinct windows selected, whatever the
        modality), points, t0_s (the earliest selected window, where Browse opens).
    """
    cols = ["chapter", "label", "split", "windows", "points", "t0_s"]
    if len(positions) == 0:
        return pd.DataFrame(columns=cols).rename_axis("clip_id")
    sel = frame.iloc[np.asarray(positions, np.int64)]
    g = sel.groupby("clip_id", sort=False)
    # a window (or clip) appears once per modality in the joint space: count each once
    windows = sel.drop_duplicates(["clip_id", "row"]).groupby("clip_id", sort=False)["n_windows"].sum()
    out = pd.DataFrame({"chapter": g["chapter"].first(), "label": g["label"].first(), "split": g["split"].first(),
                        "windows": windows, "points": g.size(), "t0_s": g["t0_s"].min()})
    return out.sort_values(["windows", "t0_s"], ascending=[False, True], kind="stable")[cols]


def warm_default_view(store: Any, progress: Any = None) -> np.ndarray:
    """Compute (and cache on disk) the projection of the view the Embedding Space opens on, so that its first
    visit is instant: e.g. right after `embed_dataset` in a background job.

    Returns:
        (N, 2) coordinates.
    """
    spec = ViewSpec(modality=default_space(store.modalities))
    points = build_points(store, spec)
    return projection.cached_projection(key_parts(store, points, spec), lambda: point_vectors(store, points), {},
                                        progress=progress)
