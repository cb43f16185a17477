"""Clip search and filtering over a FiMAD clip table (pure pandas: no streamlit, no file access)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Text columns that the free-text search looks in; any of them may be absent from a dataset.
SEARCH_COLUMNS: tuple[str, ...] = ("chapter", "chapter_norm", "caption", "description")

# Modality coverage flags of FimadDataset.clips, by the name the UI shows.
COVERAGE_COLUMNS: dict[str, str] = {"video": "has_video", "pose": "has_pose", "IMU": "has_imu"}


@dataclass(frozen=True)
class ClipFilter:
    """What the Browse page asks for; every empty field means "no restriction".

    Attributes:
        text: free-text search; words separated by whitespace, all of which must occur (case-insensitive substring)
            somewhere in SEARCH_COLUMNS.
        splits: keep clips whose split is one of these.
        labels: keep clips whose label is one of these.
        video_ids: keep clips cut from one of these source videos.
        only_problems: keep only clips that the validation report names.
        coverage: (modality, wanted) pairs, modality a key of COVERAGE_COLUMNS, wanted True (must have it) or
            False (must lack it); contradictory pairs simply match nothing.
    """

    text: str = ""
    splits: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    video_ids: tuple[str, ...] = ()
    only_problems: bool = False
    coverage: tuple[tuple[str, bool], ...] = ()


def search_words(text: str) -> list[str]:
    """The case-folded words of a search string (empty list: match everything)."""
    return [w.casefold() for w in text.split()]


def search_haystack(clips: pd.DataFrame, columns: Iterable[str] = SEARCH_COLUMNS) -> pd.Series | None:
    """The case-folded text that `search_mask` looks in, one string per row (None when no text column exists).

    Building it is most of a search's cost on a large table: a page computes it once per dataset and passes it on.
    "\n" joins the columns; it cannot occur inside a word (split() removes whitespace), so a word never matches across
    two columns.
    """
    present = [c for c in columns if c in clips.columns]
    if not present:
        return None
    hay = clips[present[0]].fillna("").astype(str)
    for col in present[1:]:
        hay = hay + "\n" + clips[col].fillna("").astype(str)
    return hay.str.casefold().astype(object)


def search_mask(clips: pd.DataFrame, text: str, columns: Iterable[str] = SEARCH_COLUMNS, *,
                haystack: pd.Series | None = None) -> pd.Series:
    """Rows whose text columns contain every word of `text` (case-insensitive, literal substring, not a regex).

    A word may match in any of the columns, and different words may match in different columns. Missing columns
    and missing values count as empty text.

    Args:
        clips: the clip table (any index).
        text: the search string.
        columns: the columns to search in.
        haystack: `search_haystack(clips, columns)` computed before (same rows, same order), to save its cost.

    Returns:
        A boolean Series aligned with `clips.index`.
    """
    words = search_words(text)
    if not words:
        return pd.Series(True, index=clips.index)
    hay = search_haystack(clips, columns) if haystack is None else haystack
    if hay is None:
        return pd.Series(False, index=clips.index)
    mask = np.ones(len(hay), dtype=bool)
    values = hay.to_numpy()
    for word in words:
        mask &= np.fromiter((word in h for h in values), dtype=bool, count=len(values))
    return pd.Series(mask, index=clips.index)


def _isin(clips: pd.DataFrame, column: str, values: Collection[str]) -> pd.Series:
    if column not in clips.columns:
        # A filter on a column the dataset lacks matches nothing rather than silently everything.
        return pd.Series(False, index=clips.index)
    return clips[column].astype("string").isin([str(v) for v in values]).fillna(False).astype(bool)


def filter_clips(clips: pd.DataFrame, flt: ClipFilter, problem_ids: Collection[str] | None = None, *,
                 haystack: pd.Series | None = None) -> pd.DataFrame:
    """The clips that pass a ClipFilter, in their original order.

    Args:
        clips: FimadDataset.clips (indexed by clip_id, with has_video/has_pose/has_imu).
        flt: the filter.
        problem_ids: clip ids named by the validation report; needed only when `flt.only_problems`.
        haystack: `search_haystack(clips)`, computed once per table (optional: saves most of a search's time).

    Returns:
        The filtered rows of `clips` (a view-safe copy).
    """
    mask = search_mask(clips, flt.text, haystack=haystack)
    if flt.splits:
        mask &= _isin(clips, "split", flt.splits)
    if flt.labels:
        mask &= _isin(clips, "label", flt.labels)
    if flt.video_ids:
        mask &= _isin(clips, "video_id", flt.video_ids)
    if flt.only_problems:
        ids = set(problem_ids or ())
        mask &= pd.Series(clips.index.astype(str).isin(ids), index=clips.index)
    for name, wanted in flt.coverage:
        col = COVERAGE_COLUMNS.get(name, name)
        if col not in clips.columns:
            raise KeyError(f"unknown modality {name!r} in coverage filter; expected one of {list(COVERAGE_COLUMNS)}")
        mask &= clips[col].fillna(False).astype(bool) == bool(wanted)
    return clips.loc[mask.to_numpy()].copy()


def facet_values(clips: pd.DataFrame, column: str) -> list[str]:
    """Sorted distinct non-empty values of a column as text (empty list when the column is absent)."""
    if column not in clips.columns:
        return []
    values = clips[column].dropna().astype(str)
    return sorted(v for v in values.unique() if v.strip())


def coverage_options() -> list[str]:
    """The labels of the modality-coverage filter, e.g. "with video", "without IMU"."""
    return [f"{kind} {name}" for name in COVERAGE_COLUMNS for kind in ("with", "without")]


def parse_coverage(options: Iterable[str]) -> tuple[tuple[str, bool], ...]:
    """Turn coverage labels from `coverage_options()` into ClipFilter.coverage pairs.

    Raises:
        ValueError: for a label that coverage_options() does not make.
    """
    out: list[tuple[str, bool]] = []
    for opt in options:
        kind, _, name = opt.partition(" ")
        if kind not in ("with", "without") or name not in COVERAGE_COLUMNS:
            raise ValueError(f"unknown coverage option {opt!r}; expected one of {coverage_options()}")
        out.append((name, kind == "with"))
    return tuple(out)
