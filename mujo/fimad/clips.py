"""Parse a FiMAD clips.csv (all text, checked numeric columns, safe unique ids) and apply splits.json to it."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from mujo.fimad.errors import FimadError
from mujo.fimad.layout import CLIPS, MANIFEST, MODALITY_FILES, SPLITS, is_safe_clip_id
from mujo.fimad.report import Problem

__all__ = ["NUMERIC_COLUMNS", "MAX_N_FRAMES", "FRAMES_WITHOUT_STAT", "read_clips", "check_lengths", "inflate_budget"]

# clips.csv columns read as numbers (everything else stays text): name -> (integer?, required?).
NUMERIC_COLUMNS: dict[str, tuple[bool, bool]] = {
    "n_frames": (True, True), "chapter_index": (True, False), "start_s": (False, False), "end_s": (False, False)}
_NAN_WORDS = frozenset({"nan", "na", "n/a", "null", "none"})
MAX_N_FRAMES = 2**31 - 1  # above this an n_frames is not a sane sample count (12 years at 50 Hz)
# n_frames up to this many samples (22 min at 50 Hz: 1,300 windows) is taken without looking at file sizes
FRAMES_WITHOUT_STAT = 1 << 16
_MIN_ITEMSIZE = 2  # float16: the smallest float a pose or IMU sample can be stored as
_MAX_ITEMSIZE = 8  # float64


def _read_csv_text(path: Path) -> pd.DataFrame:
    """clips.csv as all-text columns ("007", "NaN", "null" stay text), BOM and CRLF accepted."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # rows longer than the header lose data
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig",
                               index_col=False)
    except FileNotFoundError:
        raise FimadError(path, f"not found (a FiMAD dataset folder holds {MANIFEST} and {CLIPS})") from None
    except UnicodeDecodeError as e:
        raise FimadError(path, f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    except pd.errors.EmptyDataError:
        raise FimadError(path, "empty: needs a header row with at least clip_id and n_frames") from None
    except pd.errors.ParserWarning as e:
        raise FimadError(path, f"some rows have more fields than the header ({e})") from None
    except (pd.errors.ParserError, ValueError, OSError) as e:
        raise FimadError(path, f"not a readable CSV file ({e})") from None


def _numeric(df: pd.DataFrame, col: str, integer: bool, required: bool, problems: list[Problem]) -> pd.Series:
    raw = df[col].str.strip()
    num = pd.to_numeric(raw, errors="coerce").astype("float64")
    ok = num.notna() & np.isfinite(num)
    if integer:
        ok &= (num == np.floor(num)) & (num >= 0) & (num <= MAX_N_FRAMES)
    bad = ~ok
    if not required:  # an empty optional number is just unknown
        bad &= ~(raw.eq("") | raw.str.lower().isin(_NAN_WORDS))
    what = f"an integer from 0 to {MAX_N_FRAMES}" if integer else "a number"
    consequence = "; the clip cannot be windowed" if required else ""
    for clip_id, value in zip(df.index[bad], raw[bad]):
        problems.append(Problem(clip_id, CLIPS, "bad_value", "error" if required else "warning",
                                f"{col} {_cut(value)!r} is not {what}{consequence}"))
    num = num.where(ok)
    return num.astype("Int64") if integer else num


def _apply_splits(df: pd.DataFrame, splits: object, path: Path, problems: list[Problem]) -> None:
    if not isinstance(splits, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in splits.items()):
        raise FimadError(path, 'must be an object {"train": [clip_id, ...], "val": [...], ...}')
    seen: dict[str, str] = {}
    for name, ids in splits.items():
        for clip_id in ids:
            if not isinstance(clip_id, str):
                problems.append(Problem(None, SPLITS, "bad_value", "warning",
                                        f"{name!r} lists {_cut(repr(clip_id))}, not a clip id; ignored"))
            elif clip_id in seen:
                problems.append(Problem(clip_id, SPLITS, "split_conflict", "warning",
                                        f"listed in both {seen[clip_id]!r} and {name!r}; {seen[clip_id]!r} kept"))
            elif clip_id not in df.index:
                problems.append(Problem(clip_id, SPLITS,
                                        "unknown_split_id", "warning", f"{name!r} lists a clip id not in {CLIPS}"))
            else:
                seen[clip_id] = name
    if seen:
        df.loc[list(seen), "split"] = list(seen.values())


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def read_clips(path: Path, splits: object, splits_path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """The clip table indexed by clip_id, plus the problems found in it (bad/duplicate ids, bad numbers)."""
    df = _read_csv_text(path)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in ("clip_id", "n_frames") if c not in df.columns]
    if missing:
        raise FimadError(path, f"missing required column(s) {', '.join(missing)}; found {', '.join(df.columns)}")
    problems: list[Problem] = []
    ids = df["clip_id"].str.strip()
    safe = ids.map(is_safe_clip_id).astype(bool)
    for row in np.flatnonzero(~safe.to_numpy()):
        problems.append(Problem(ids.iloc[row], CLIPS, "unsafe_id", "error",
                                f"row {row + 1}: clip id {_cut(repr(ids.iloc[row]), 80)} rejected (only letters, "
                                "digits, '-' and '_' are allowed); its files are never opened"))
    dup = ids.duplicated() & safe
    first_row = {cid: i + 1 for i, cid in reversed(list(enumerate(ids)))} if dup.any() else {}
    for row in np.flatnonzero(dup.to_numpy()):
        cid = ids.iloc[row]
        problems.append(Problem(cid, CLIPS, "duplicate_id", "warning",
                                f"row {row + 1} repeats the clip id of row {first_row[cid]}; the later row is ignored"))
    df = df.assign(clip_id=ids)[safe & ~dup].set_index("clip_id")
    for col, (integer, required) in NUMERIC_COLUMNS.items():
        if col in df.columns:
            df[col] = _numeric(df, col, integer, required, problems)
    df["split"] = df["split"].str.strip() if "split" in df.columns else ""
    if splits is not None:
        _apply_splits(df, splits, splits_path, problems)
    return df, problems


def inflate_budget(n_frames: object, width: int) -> int | None:
    """The bytes a compressed (T, width, 3) member of a clip of n_frames samples may inflate to (None: unknown).

    Twice the float64 size plus 1 MiB, so an n_frames that is a little off still reads (validation reports it).
    """
    if n_frames is None or pd.isna(n_frames):
        return None
    return 2 * int(n_frames) * width * 3 * _MAX_ITEMSIZE + (1 << 20)


def check_lengths(df: pd.DataFrame, root: Path, n_sites: int, deflate_ratio: int, problems: list[Problem]) -> None:
    """Blank (and report) each n_frames that is more than the clip's files could hold; never allocates by it.

    A clip with no file keeps no length (validation reports it). Lengths up to FRAMES_WITHOUT_STAT samples are
    taken as they are (no stat: the usual dataset pays nothing); longer ones are checked against the sizes of the
    clip's files: a pose sample takes at least 17 x 3 float16 values, an IMU sample at least n_sites x 3 of them
    inflated at most `deflate_ratio` times, a video at least one byte per sample.

    Args:
        df: the clip table (n_frames an Int64 column; has_pose, has_imu, has_video), changed in place.
        root: the dataset folder.
    """
    n = df["n_frames"].to_numpy("float64", na_value=np.nan)
    has = {m: df[f"has_{m}"].to_numpy(bool) for m in ("pose", "imu", "video")}
    blank = np.zeros(len(df), bool)
    blank[~(has["pose"] | has["imu"] | has["video"]) & ~np.isnan(n)] = True
    per_sample = {"pose": 17 * 3 * _MIN_ITEMSIZE, "imu": max(1, n_sites) * 3 * _MIN_ITEMSIZE / deflate_ratio,
                  "video": 1}
    for i in np.flatnonzero((n > FRAMES_WITHOUT_STAT) & ~blank):
        clip_id = df.index[i]
        sizes = {m: _size(root / MODALITY_FILES[m][0] / f"{clip_id}{MODALITY_FILES[m][1]}")
                 for m in ("pose", "imu", "video") if has[m][i]}
        cap = max(int(b // per_sample[m]) for m, b in sizes.items())
        if n[i] > cap:
            held = ", ".join(f"{m} {b:,} bytes" for m, b in sizes.items())
            problems.append(Problem(clip_id, CLIPS, "bad_value", "error",
                                    f"n_frames {int(n[i]):,} is more than its files could hold ({held}: at most "
                                    f"{cap:,} samples); the clip cannot be windowed"))
            blank[i] = True
    if blank.any():
        df.iloc[np.flatnonzero(blank), df.columns.get_loc("n_frames")] = pd.NA


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed since the listing
        return 0
