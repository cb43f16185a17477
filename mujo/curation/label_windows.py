"""Curation labels laid onto a FiMAD dataset: per window (by overlap) and into clips.csv's `label` column."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mujo.curation.label_export import annotator_labels, clip_labels, label_history
from mujo.fimad.errors import ReadOnlyError  # noqa: F401  (callers catch it from here)
from mujo.fimad.label_column import write_label_column
from mujo.fimad.layout import CLIPS, NULL_LABEL
from mujo.fimad.windows import WindowIndex

WINDOW_COLUMNS = ["dataset", "clip_id", "window", "start_s", "end_s", "label", "activity", "coverage", "event_id"]
MIN_COVER = 0.5  # a window takes a range's label only when that range covers at least this fraction of it
_TIE_S = 1e-9  # overlaps closer than this are a tie (times come from float arithmetic)


def window_labels(labels: pd.DataFrame, index: WindowIndex, fps: float, *, dataset: str = "",
                  min_cover: float = MIN_COVER, all_windows: bool = False) -> pd.DataFrame:
    """The curation label of each window.

    The rule: window [start_s, end_s) takes the label of the labelled range (of its clip, among the labels in force)
    that overlaps it the most, and only when that overlap is at least `min_cover` (half) of the window's length;
    equal overlaps go to the latest event (highest event id). A range with an open end (t1_s missing) runs to the
    clip's end. Overlaps of different ranges never add up: two ranges covering 40 % each leave the window unlabelled.

    Args:
        labels: the labels in force (`Store.current_labels` or `label_export.clip_labels`): clip_id, t0_s, t1_s, label,
            activity and id or event_id.
        index: the windows (`FimadDataset.windows(size, hop, trim)`).
        fps: samples per second of the dataset (window starts are in samples).
        dataset: the value of the `dataset` column.
        all_windows: keep unlabelled windows too, with label "" (default: only labelled windows are listed).
    Returns:
        WINDOW_COLUMNS, in index order; `window` counts the clip's windows from 0, `coverage` is the chosen range's
        share of the window.
    """
    n = len(index)
    counts = np.bincount(index.codes, minlength=len(index.clip_list)) if n else np.zeros(len(index.clip_list), int)
    first = np.cumsum(counts) - counts  # windows of one clip are contiguous in a WindowIndex
    start_s = index.starts / float(fps)
    end_s = (index.starts + index.size) / float(fps)
    label = np.full(n, "", dtype=object)
    activity = np.full(n, None, dtype=object)
    coverage = np.zeros(n)
    event = np.full(n, None, dtype=object)
    ids = labels["event_id"] if "event_id" in labels.columns else labels.get("id", pd.Series(range(len(labels))))
    lab = pd.DataFrame({"clip_id": labels["clip_id"].astype(str).to_numpy(),
                        "t0": pd.to_numeric(labels["t0_s"]).astype(float).to_numpy(),
                        "t1": pd.to_numeric(labels["t1_s"]).astype(float).fillna(np.inf).to_numpy(),
                        "label": labels["label"].to_numpy(object), "activity": labels["activity"].to_numpy(object),
                        "id": pd.to_numeric(ids).to_numpy()})
    position = {c: i for i, c in enumerate(index.clip_list)}
    for clip_id, g in lab.groupby("clip_id", sort=False):
        c = position.get(clip_id)
        if c is None or counts[c] == 0:
            continue
        rows = np.arange(first[c], first[c] + counts[c])
        g = g.sort_values("id", ascending=False)  # argmax takes the first maximum: the latest event wins ties
        a, b = start_s[rows, None], end_s[rows, None]  # (W, 1)
        over = np.clip(np.minimum(b, g["t1"].to_numpy()) - np.maximum(a, g["t0"].to_numpy()), 0, None)  # (W, R)
        over = np.round(over / _TIE_S) * _TIE_S
        best = over.argmax(axis=1)
        share = over[np.arange(len(rows)), best] / (b[:, 0] - a[:, 0])
        ok = share >= min_cover - 1e-9
        pick = best[ok]
        label[rows[ok]] = g["label"].to_numpy(object)[pick]
        activity[rows[ok]] = g["activity"].to_numpy(object)[pick]
        coverage[rows[ok]] = share[ok]
        event[rows[ok]] = g["id"].to_numpy()[pick].astype(int)
    within = np.arange(n) - first[index.codes] if n else np.zeros(0, int)
    out = pd.DataFrame({"dataset": dataset, "clip_id": index.clip_ids, "window": within, "start_s": start_s,
                        "end_s": end_s, "label": label, "activity": activity, "coverage": coverage.round(6),
                        "event_id": event}, columns=WINDOW_COLUMNS)
    out["activity"] = out["activity"].astype(object).where(out["activity"].notna(), None)
    return out if all_windows else out[out["label"] != ""].reset_index(drop=True)


# what `export_table` gives: labels in force per clip or window, the event log, each annotator's own labels
EXPORTS = ("clip", "window", "history", "annotator")
OVERLAP_RULE = ("a window takes the label of the labelled range that overlaps it the most, only when that range "
                "covers at least half the window; equal overlaps go to the latest label")


def export_table(store: Any, dataset: str, per: str = "clip", *, ds: Any = None, window: int = 100, hop: int = 50,
                 trim: float = 0.15, all_windows: bool = False) -> pd.DataFrame:
    """The labels to export: in force per clip (one row per labelled range), per window (OVERLAP_RULE; needs the
    FiMAD dataset `ds` for its windows), the whole event history with before/after, or one label per annotator and
    range (each annotator's own latest label: agreement statistics such as Cohen's kappa).

    Raises:
        ValueError: an unknown `per`, or "window" without `ds`.
    """
    if per not in EXPORTS:
        raise ValueError(f"export per {per!r}: choose {', '.join(EXPORTS)}")
    if per == "history":
        return label_history(store, dataset)
    if per == "annotator":
        return annotator_labels(store, dataset)
    df = clip_labels(store, dataset)
    if per == "clip":
        return df
    if ds is None:
        raise ValueError("a per-window export needs the dataset's folder (its windows)")
    return window_labels(df, ds.windows(window, hop, trim), ds.fps, dataset=dataset, all_windows=all_windows)


# --- clips.csv ------------------------------------------------------------------------------------------
@dataclass
class WriteClipsReport:
    """What `write_clip_labels` did; each list holds clip ids (changed: (clip_id, old, new))."""

    path: Path
    written: bool = False
    backup: Path | None = None
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # activity without a name: the existing label stays
    not_written: list[str] = field(default_factory=list)  # unsure / bad: clips.csv has no such label
    ranged: list[str] = field(default_factory=list)  # labels of part of a clip
    unknown: list[str] = field(default_factory=list)  # not in clips.csv

    def summary(self) -> str:
        parts = [f"{len(self.changed)} labels changed", f"{len(self.unchanged)} already as labelled"]
        for what, ids in (("activity without a name (label kept)", self.kept),
                          ("unsure/bad (not written)", self.not_written),
                          ("time-range labels (skipped; only whole-clip labels go into clips.csv)", self.ranged),
                          ("clips not in clips.csv", self.unknown)):
            if ids:
                parts.append(f"{len(ids)} {what}: {', '.join(sorted(set(ids))[:10])}"
                             + (" ..." if len(set(ids)) > 10 else ""))
        where = f"{self.path} written" + (f" (previous version in {self.backup})" if self.backup else "")
        return (where if self.written else f"{self.path} left as it was") + "; " + "; ".join(parts)


def _targets(labels: pd.DataFrame, report: WriteClipsReport) -> dict[str, str | None]:
    """clip_id -> the clips.csv label for its whole-clip label (None: keep the existing one)."""
    out: dict[str, str | None] = {}
    for r in labels.itertuples(index=False):
        t1 = r.t1_s
        if float(r.t0_s) != 0 or not (t1 is None or (isinstance(t1, float) and np.isnan(t1))):
            report.ranged.append(r.clip_id)
        elif r.label == "null":
            out[r.clip_id] = NULL_LABEL
        elif r.label == "activity" and isinstance(r.activity, str) and r.activity.strip():
            out[r.clip_id] = r.activity.strip()
        elif r.label == "activity":
            out[r.clip_id] = None
            report.kept.append(r.clip_id)
        else:
            report.not_written.append(r.clip_id)
    return out


def write_clip_labels(labels: pd.DataFrame, root: str | Path, *, backup: bool = False) -> WriteClipsReport:
    """Write whole-clip curation labels into the `label` column of a FiMAD folder's clips.csv.

    null -> NULL_LABEL (null_class); activity -> its activity name (no name: the existing label stays);
    unsure and bad are not written; labels of part of a clip (t0_s > 0 or a t1_s) are skipped. All are reported.
    The file is written by `mujo.fimad.label_column.write_label_column`: unchanged rows keep their exact bytes, a
    missing `label` column is appended, and nothing is written when no label changes.

    Args:
        labels: the labels in force (`label_export.clip_labels` or `Store.current_labels`).
        root: the dataset folder.
        backup: copy the previous clips.csv to clips.csv.bak first.
    Raises:
        ReadOnlyError: the folder or clips.csv is not writable. FileNotFoundError: no clips.csv.
        ValueError: clips.csv is not UTF-8 or has no clip_id column.
    """
    report = WriteClipsReport(Path(root) / CLIPS)
    done = write_label_column(root, _targets(labels, report), backup=backup)
    report.written, report.backup, report.unknown = done.written, done.backup, done.unknown
    report.changed, report.unchanged = done.changed, done.unchanged
    return report
