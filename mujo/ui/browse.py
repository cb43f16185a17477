"""The Browse page's parts: filter widgets, the clip table with row selection, and the clip view."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import streamlit as st

from mujo.data.fimad import ClipError, FimadDataset, is_safe_clip_id
from mujo.data.query import ClipFilter, coverage_options, facet_values, filter_clips, parse_coverage
from mujo.data.validate import ValidationReport
from mujo.data.windows import window_starts
from mujo.ui import dataset as uds
from mujo.ui.player import MAX_VIDEO_BYTES, PlayerData, imu_channels, render_player
from mujo.ui.state import IMU_COMPONENTS, QP_CLIP, QP_PROBLEMS, QP_TIME, StateKeys, absolute_browse_url
from mujo.ui.text import md_escape, show_text_field

WINDOW_SIZE, WINDOW_HOP, WINDOW_TRIM = 100, 50, 0.15  # the format's defaults (fimad-format.md, "Windows")
TABLE_COLUMNS = ["chapter", "label", "split", "duration_s", "has_video", "has_pose", "has_imu", "issues", "caption",
                 "video_id", "chapter_index"]
PREFERRED_SITES = ("RWrist", "LWrist", "RFoot")
MAX_SITES = 6


# --- URL <-> state ----------------------------------------------------------------------------------------


def _parse_time(text: str | None) -> float:
    try:
        t = float(text) if text is not None else 0.0
    except ValueError:
        return 0.0
    return t if math.isfinite(t) and t > 0 else 0.0


def sync_from_url() -> None:
    """Apply ?clip=, ?t= and ?problems= to session state (call before the widgets are drawn).

    The URL wins when it names another clip than the state (a link was followed); when it names none, the
    clip selected earlier in this session is written back to it so the address bar can be shared.
    """
    qp = st.query_params
    if QP_PROBLEMS in qp:
        # A one-shot instruction (Home links here with it): turn the filter on, then drop it from the URL so the
        # user can switch the filter off again.
        st.session_state[StateKeys.ONLY_PROBLEMS] = qp.get(QP_PROBLEMS) not in ("0", "false", "")
        del qp[QP_PROBLEMS]
    url_clip = qp.get(QP_CLIP)
    if url_clip and url_clip != st.session_state.get(StateKeys.SELECTED_CLIP):
        select_clip(url_clip, _parse_time(qp.get(QP_TIME)), write_url=False)
    elif not url_clip and st.session_state.get(StateKeys.SELECTED_CLIP):
        qp[QP_CLIP] = st.session_state[StateKeys.SELECTED_CLIP]


def select_clip(clip_id: str | None, t: float = 0.0, *, write_url: bool = True) -> None:
    """Make `clip_id` the shown clip, starting at `t` seconds (a new start token makes the player honour t)."""
    st.session_state[StateKeys.SELECTED_CLIP] = clip_id
    st.session_state[StateKeys.START_TIME] = t
    st.session_state[StateKeys.START_TOKEN] = int(st.session_state.get(StateKeys.START_TOKEN, 0)) + 1
    if write_url:
        if clip_id:
            st.query_params[QP_CLIP] = clip_id
        elif QP_CLIP in st.query_params:
            del st.query_params[QP_CLIP]
        if QP_TIME in st.query_params:
            del st.query_params[QP_TIME]


# --- filters ------------------------------------------------------------------------------------------------


def filter_controls(clips: pd.DataFrame) -> ClipFilter:
    """Draw the search box and filters; return what they ask for."""
    c_search, c_split, c_label, c_video, c_cov = st.columns([2.4, 1, 1.3, 1.3, 1.5], vertical_alignment="bottom")
    c_search.text_input("Search chapter, caption and description", key=StateKeys.SEARCH,
                        placeholder="e.g. jump squat left — every word must match", persist_state="session")
    c_split.multiselect("Split", facet_values(clips, "split"), key=StateKeys.SPLITS, placeholder="all",
                        persist_state="session")
    c_label.multiselect("Label", facet_values(clips, "label"), key=StateKeys.LABELS, placeholder="all",
                        persist_state="session", disabled="label" not in clips.columns,
                        help=None if "label" in clips.columns else "This dataset has no label column.")
    c_video.multiselect("Source video", facet_values(clips, "video_id"), key=StateKeys.VIDEO_IDS,
                        placeholder="all", persist_state="session")
    c_cov.multiselect("Modality coverage", coverage_options(), key=StateKeys.COVERAGE, placeholder="any",
                      persist_state="session")
    st.toggle("Only clips with problems (errors or warnings of the validation report)", key=StateKeys.ONLY_PROBLEMS)
    return ClipFilter(
        text=st.session_state[StateKeys.SEARCH] or "",
        splits=tuple(st.session_state[StateKeys.SPLITS]),
        labels=tuple(st.session_state[StateKeys.LABELS]),
        video_ids=tuple(st.session_state[StateKeys.VIDEO_IDS]),
        only_problems=bool(st.session_state[StateKeys.ONLY_PROBLEMS]),
        coverage=parse_coverage(st.session_state[StateKeys.COVERAGE]),
    )


def issue_counts(report: ValidationReport | None) -> pd.Series:
    """Errors and warnings per clip id."""
    if report is None or not report.problems:
        return pd.Series(dtype="int64")
    df = report.to_frame()
    df = df[df["severity"].isin(uds.PROBLEM_SEVERITIES) & df["clip_id"].notna()]
    return df.groupby("clip_id").size()


def table_frame(view: pd.DataFrame, issues: pd.Series) -> pd.DataFrame:
    """The columns the table shows (those the dataset has), plus the per-clip issue count."""
    out = view.copy()
    out["issues"] = issues.reindex(out.index).fillna(0).astype("int64")
    return out[[c for c in TABLE_COLUMNS if c in out.columns]]


# --- the table ----------------------------------------------------------------------------------------------


def clip_table(view: pd.DataFrame, issues: pd.Series) -> None:
    """Draw the clip table; a click on a row selects that clip (and writes it to the URL)."""
    shown = table_frame(view, issues)
    # When the rows change (search, filters), point the table's selection at the selected clip's new row; the
    # table's selection is positional and would otherwise highlight whatever clip moved into the old row.
    digest = hashlib.sha1("\n".join(map(str, shown.index)).encode("utf-8")).hexdigest()
    selected = st.session_state.get(StateKeys.SELECTED_CLIP)
    # (The table's own state is also gone after a visit to another page: then too.)
    if digest != st.session_state.get(StateKeys.TABLE_DIGEST) or StateKeys.TABLE not in st.session_state:
        rows = [int(shown.index.get_loc(selected))] if selected in shown.index else []
        st.session_state[StateKeys.TABLE] = {"selection": {"rows": rows, "columns": [], "cells": []}}
        st.session_state[StateKeys.TABLE_DIGEST] = digest
    event = st.dataframe(
        shown,
        key=StateKeys.TABLE,
        on_select="rerun",
        selection_mode="single-row",
        height="auto",  # up to ten rows, fewer when the filters leave fewer
        placeholder="",
        column_config={
            # Pixel widths that fit the flags and issue count at a 1400 px window; caption takes the rest.
            "_index": st.column_config.TextColumn("clip", width=150),
            "chapter": st.column_config.TextColumn("chapter", width=270),
            "label": st.column_config.TextColumn("label", width=95),
            "split": st.column_config.TextColumn("split", width=60),
            "duration_s": st.column_config.NumberColumn("duration", format="%.1f s", width=75),
            "has_video": st.column_config.CheckboxColumn("video", width=55),
            "has_pose": st.column_config.CheckboxColumn("pose", width=55),
            "has_imu": st.column_config.CheckboxColumn("IMU", width=55),
            "issues": st.column_config.NumberColumn("issues", help="errors + warnings in the validation report",
                                                    width=60),
            "caption": st.column_config.TextColumn("caption", width="large"),
            "video_id": st.column_config.TextColumn("source video", width="small"),
            "chapter_index": st.column_config.NumberColumn("#", help="chapter index in its video", width="small"),
        },
    )
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(shown):
        clicked = str(shown.index[rows[0]])
        if clicked != selected:
            select_clip(clicked)


# --- the clip view ------------------------------------------------------------------------------------------


def _imu_controls(sites: tuple[str, ...]) -> tuple[str, list[str], list[str]]:
    current = st.session_state.get(StateKeys.IMU_SITES)
    if not current or any(s not in sites for s in current):
        default = [s for s in PREFERRED_SITES if s in sites][:2] or list(sites[:2])
        st.session_state[StateKeys.IMU_SITES] = default
    c_q, c_sites, c_comp = st.columns([1.6, 2.6, 1.5], vertical_alignment="bottom")
    c_q.segmented_control("IMU signal", ["acc", "gyro"], key=StateKeys.IMU_QUANTITY, required=True,
                          help="acc: accelerometer (m/s², gravity included); gyro: gyroscope (rad/s)")
    c_sites.multiselect("IMU sites", list(sites), key=StateKeys.IMU_SITES, max_selections=MAX_SITES)
    c_comp.pills("Components", list(IMU_COMPONENTS), selection_mode="multi", key=StateKeys.IMU_COMPONENTS)
    return (st.session_state[StateKeys.IMU_QUANTITY] or "acc", list(st.session_state[StateKeys.IMU_SITES]),
            list(st.session_state[StateKeys.IMU_COMPONENTS] or []))


def clip_error(err: ClipError, modality: str) -> str:
    """The sentence shown for a broken file: which clip, which file, what is wrong."""
    return f"Cannot show the {modality} of clip {err.clip_id}: {err.path} — {err.reason}"


def player_data(ref: uds.DatasetRef, ds: FimadDataset, clip_id: str, quantity: str, sites: list[str],
                components: list[str]) -> tuple[PlayerData, list[str]]:
    """Load what the clip has into PlayerData; broken files become notes plus error messages (never raise)."""
    row = ds.clips.loc[clip_id]
    n_frames = int(row["n_frames"]) if pd.notna(row["n_frames"]) else 0
    errors: list[str] = []
    data = PlayerData(clip_id=clip_id, fps=ds.fps, n_frames=n_frames, title=str(row.get("chapter", "") or ""),
                      start_time=float(st.session_state.get(StateKeys.START_TIME) or 0.0),
                      start_token=f"{clip_id}:{st.session_state.get(StateKeys.START_TOKEN, 0)}",
                      imu_quantity=quantity, window_size=WINDOW_SIZE)
    try:
        data.pose = uds.load_pose(ref.root, ref.stamp, clip_id, uds.file_mtime(ds, clip_id, "pose"))
        if data.pose is None:
            data.notes["pose"] = "No pose for this clip."
    except ClipError as e:
        errors.append(clip_error(e, "pose"))
        data.notes["pose"] = f"Pose file broken: {e.path}\n{e.reason}"
    try:
        imu = uds.load_imu(ref.root, ref.stamp, clip_id, uds.file_mtime(ds, clip_id, "imu"))
        if imu is None:
            data.notes["imu"] = "No IMU for this clip."
        else:
            arr = imu[0] if quantity == "acc" else imu[1]
            if arr is None:
                data.notes["imu"] = "This clip's IMU file has no gyroscope data (accelerometer only)."
            elif not sites or not components:
                data.notes["imu"] = "Pick at least one IMU site and one component above."
            else:
                data.imu = imu_channels(arr, ds.imu_sites, sites, components)
                data.imu_components = tuple(components)
    except ClipError as e:
        errors.append(clip_error(e, "IMU"))
        data.notes["imu"] = f"IMU file broken: {e.path}\n{e.reason}"
    try:
        video = uds.load_video(ref.root, ref.stamp, clip_id, MAX_VIDEO_BYTES)
        if video is None:
            data.notes["video"] = "No video for this clip: the clock below drives the skeleton and the IMU traces."
        else:
            data.video, data.video_name = video
    except ClipError as e:
        errors.append(clip_error(e, "video"))
        data.notes["video"] = f"Video file broken: {e.path}\n{e.reason}"
    # Timeline length: the longest of what is there (n_frames in clips.csv can disagree with the files).
    lengths = [n_frames] + [len(a) for a in ([data.pose] if data.pose is not None else [])]
    lengths += [len(next(iter(data.imu.values())))] if data.imu else []
    data.n_frames = max(lengths)
    data.window_starts = tuple(int(s) for s in window_starts(n_frames, WINDOW_SIZE, WINDOW_HOP, WINDOW_TRIM))
    return data, errors


def clip_details(ds: FimadDataset, clip_id: str, report: ValidationReport | None) -> None:
    """The text panel beside the player: chapter, caption, description and the other columns, as plain text."""
    row = ds.clips.loc[clip_id]
    st.markdown("**Clip**")
    st.code(clip_id, language=None)
    for col, label in (("chapter", "Chapter"), ("chapter_norm", "Normalised chapter"), ("caption", "Caption"),
                       ("description", "Description")):
        if col in row.index:
            show_text_field(label, row[col])
    st.markdown("**Link to this clip**")
    st.code(absolute_browse_url(clip_id, None, _page_url()), language=None, wrap_lines=True)
    skip = {"chapter", "chapter_norm", "caption", "description", "has_pose", "has_imu", "has_video"}
    meta = {k: v for k, v in row.items() if k not in skip}
    with st.expander("All columns", expanded=False):
        st.dataframe(pd.DataFrame({"value": [("" if _isna(v) else str(v)) for v in meta.values()]},
                                  index=pd.Index(list(meta.keys()), name="column")), width="stretch")
    if report is not None:
        probs = [p for p in report.problems if p.clip_id == clip_id]
        if probs:
            st.markdown(f"**Validation: {len(probs)} finding(s)**")
            for p in probs:
                st.text(f"[{p.severity}] {p.file}: {p.message}")


def _page_url() -> str | None:
    try:
        return st.context.url
    except Exception:  # noqa: BLE001  (no browser context, e.g. in AppTest)
        return None


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def clip_view(ref: uds.DatasetRef, ds: FimadDataset, clip_id: str, report: ValidationReport | None) -> None:
    """The selected clip: IMU controls, the synchronised player, and its text beside it."""
    if not is_safe_clip_id(clip_id) or clip_id not in ds.clips.index:
        st.warning(md_escape(f"There is no clip {clip_id!r} in this dataset; pick one in the table."))
        return
    left, right = st.columns([3.3, 1], gap="medium")
    with right:
        clip_details(ds, clip_id, report)
    with left:
        quantity, sites, components = _imu_controls(ds.imu_sites)
        data, errors = player_data(ref, ds, clip_id, quantity, sites, components)
        for msg in errors:
            st.error(md_escape(msg), icon=":material/broken_image:")
        render_player(data)


def default_problem_ids(report: ValidationReport | None) -> set[str]:
    """Clips with errors or warnings (empty without a report)."""
    return uds.problem_clips(report) if report is not None else set()


def browse(ref: uds.DatasetRef, ds: FimadDataset, report: ValidationReport | None) -> None:
    """The whole Browse page below its title."""
    sync_from_url()
    flt = filter_controls(ds.clips)
    view = filter_clips(ds.clips, flt, default_problem_ids(report))
    st.caption(f"{len(view):,} of {len(ds.clips):,} clips · select a row to open the clip")
    clip_table(view, issue_counts(report))
    selected = st.session_state.get(StateKeys.SELECTED_CLIP)
    if selected:
        clip_view(ref, ds, selected, report)
    else:
        st.info("Select a clip in the table to play its video, 3D pose and IMU in sync.", icon=":material/touch_app:")


__all__ = ["browse", "clip_view", "clip_table", "filter_controls", "player_data", "select_clip", "sync_from_url"]
