"""The Browse page's parts: the URL parameters, filter widgets and the clip table with row selection."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import streamlit as st

from mujo.fimad.dataset import FimadDataset
from mujo.fimad.query import (
    ClipFilter,
    coverage_options,
    facet_values,
    filter_clips,
    parse_coverage,
    search_haystack,
)
from mujo.fimad.report import ValidationReport
from mujo.ui import dataset as uds
from mujo.ui.clip_view import clip_view
from mujo.ui.report import issue_index
from mujo.ui.state import QP_CLIP, QP_PROBLEMS, QP_TIME, StateKeys, start_player, write_clip_param
from mujo.ui.text import LABEL_CHARS, short, short_cells

TEXT_COLUMNS = ["chapter", "label", "split", "caption", "video_id"]
TABLE_COLUMNS = ["chapter", "label", "split", "duration_s", "has_video", "has_pose", "has_imu", "issues", "caption",
                 "video_id", "chapter_index"]


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
        st.session_state[StateKeys.TABLE_PAGE] = None  # the table opens on the page that shows the linked clip
    elif not url_clip and st.session_state.get(StateKeys.SELECTED_CLIP):
        qp[QP_CLIP] = st.session_state[StateKeys.SELECTED_CLIP]


def select_clip(clip_id: str | None, t: float = 0.0, *, write_url: bool = True) -> None:
    """Make `clip_id` the shown clip, starting at `t` seconds (a new start token makes the player honour t)."""
    st.session_state[StateKeys.SELECTED_CLIP] = clip_id
    start_player(t)
    if write_url:
        write_clip_param(clip_id)
        if QP_TIME in st.query_params:
            del st.query_params[QP_TIME]


# --- filters ------------------------------------------------------------------------------------------------


def _option(value: object) -> str:
    """A facet value as a short one-line option (the value itself is what the filter uses)."""
    return short(value, LABEL_CHARS, one_line=True)


def filter_controls(clips: pd.DataFrame, facets: dict[str, list[str]] | None = None) -> ClipFilter:
    """Draw the search box and filters; return what they ask for. `facets`: the distinct values of split, label and
    video_id (computed here when not given)."""
    facets = facets or {c: facet_values(clips, c) for c in ("split", "label", "video_id")}
    options = {StateKeys.SPLITS: facets["split"], StateKeys.LABELS: facets["label"],
               StateKeys.VIDEO_IDS: facets["video_id"]}
    for key, opts in options.items():
        # Choices kept from another dataset (or a narrower one) that this dataset lacks would be invalid values.
        kept = [v for v in st.session_state.get(key) or [] if v in opts]
        if kept != list(st.session_state.get(key) or []):
            st.session_state[key] = kept
    c_search, c_split, c_label, c_video, c_cov = st.columns([2.4, 1, 1.3, 1.3, 1.5], vertical_alignment="bottom")
    c_search.text_input("Search chapter, caption and description", key=StateKeys.SEARCH,
                        placeholder="e.g. jump squat left — every word must match", persist_state="session")
    c_split.multiselect("Split", options[StateKeys.SPLITS], key=StateKeys.SPLITS, placeholder="all",
                        persist_state="session", format_func=_option)
    c_label.multiselect("Label", options[StateKeys.LABELS], key=StateKeys.LABELS, placeholder="all",
                        persist_state="session", disabled="label" not in clips.columns, format_func=_option,
                        help=None if "label" in clips.columns else "This dataset has no label column.")
    c_video.multiselect("Source video", options[StateKeys.VIDEO_IDS], key=StateKeys.VIDEO_IDS,
                        placeholder="all", persist_state="session", format_func=_option)
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


def table_frame(view: pd.DataFrame, issues: pd.Series) -> pd.DataFrame:
    """The columns the table shows (those the dataset has), plus the per-clip issue count."""
    out = view.copy()
    out["issues"] = issues.reindex(out.index).fillna(0).astype("int64")
    return out[[c for c in TABLE_COLUMNS if c in out.columns]]


# --- the table ----------------------------------------------------------------------------------------------


PAGE_SIZES = (50, 100, 200, 500)


def _digest(ids: pd.Index) -> str:
    return hashlib.sha1("\n".join(map(str, ids)).encode("utf-8")).hexdigest()


def current_page(view: pd.DataFrame) -> tuple[int, int, int]:
    """(page, pages, size) of the table for the filtered clips `view`: the page the user chose, back to the selected
    clip's page (or the first) when the filters changed, and never beyond the last page."""
    size = st.session_state.get(StateKeys.TABLE_PAGE_SIZE)
    if size not in PAGE_SIZES:
        size = st.session_state[StateKeys.TABLE_PAGE_SIZE] = PAGE_SIZES[1]
    pages = max(1, math.ceil(len(view) / size))
    page = st.session_state.get(StateKeys.TABLE_PAGE)
    digest = _digest(view.index)
    if digest != st.session_state.get(StateKeys.TABLE_VIEW_DIGEST) or not isinstance(page, int):
        st.session_state[StateKeys.TABLE_VIEW_DIGEST] = digest
        selected = st.session_state.get(StateKeys.SELECTED_CLIP)
        page = int(view.index.get_loc(selected)) // size + 1 if selected in view.index else 1
    page = min(max(1, page), pages)
    st.session_state[StateKeys.TABLE_PAGE] = page
    return page, pages, size


def page_controls(n_rows: int, page: int, pages: int, size: int) -> None:
    """Under the table: which rows it shows, the page number and the page size (the server sends one page)."""
    first, last = (page - 1) * size + 1, min(page * size, n_rows)
    c_rows, c_page, c_size = st.columns([4, 1, 1], vertical_alignment="bottom")
    c_rows.caption(f"rows {first:,}–{last:,} of {n_rows:,}" if n_rows else "no clip matches")
    c_page.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=StateKeys.TABLE_PAGE,
                        disabled=pages == 1)
    c_size.selectbox("Rows per page", PAGE_SIZES, key=StateKeys.TABLE_PAGE_SIZE)


def clip_table(view: pd.DataFrame, issues: pd.Series) -> None:
    """Draw one page of the clip table; a click on a row selects that clip (and writes it to the URL).

    Only the rows of the current page go to the browser (FiMAD has ~9,800 clips): the filters run on the server.
    """
    page, pages, size = current_page(view)
    rows_of_page = view.iloc[(page - 1) * size: page * size]
    # Long titles and captions are shortened in the table (a 200 kB cell stalls the grid); the clip view beside
    # shows the whole text.
    shown = short_cells(table_frame(rows_of_page, issues), TEXT_COLUMNS)
    # When the rows change (search, filters, page), point the table's selection at the selected clip's new row; the
    # table's selection is positional and would otherwise highlight whatever clip moved into the old row.
    digest = _digest(shown.index)
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
    if len(view) > PAGE_SIZES[0]:
        page_controls(len(view), page, pages, size)


@st.cache_resource(show_spinner=False, max_entries=4)
def _haystack(root: str, stamp: uds.Stamp) -> pd.Series | None:
    """The search text of the dataset's clips, built once per dataset version (shared, read-only)."""
    return search_haystack(uds.open_dataset(uds.DatasetRef(root, stamp)).clips)


@st.cache_resource(show_spinner=False, max_entries=4)
def _facets(root: str, stamp: uds.Stamp) -> dict[str, list[str]]:
    clips = uds.open_dataset(uds.DatasetRef(root, stamp)).clips
    return {c: facet_values(clips, c) for c in ("split", "label", "video_id")}


def browse(ref: uds.DatasetRef, ds: FimadDataset, report: ValidationReport | None) -> None:
    """The whole Browse page below its title; `report` is the last validation report (mujo.ui.report), whose
    per-clip counts come from the same cached version."""
    sync_from_url()
    issues, problem_ids = issue_index(ref)
    flt = filter_controls(ds.clips, _facets(ref.root, ref.stamp))
    view = filter_clips(ds.clips, flt, problem_ids, haystack=_haystack(ref.root, ref.stamp))
    st.caption(f"{len(view):,} of {len(ds.clips):,} clips · select a row to open the clip")
    clip_table(view, issues)
    selected = st.session_state.get(StateKeys.SELECTED_CLIP)
    if selected:
        clip_view(ref, ds, selected, report)
    else:
        st.info("Select a clip in the table to play its video, 3D pose and IMU in sync.", icon=":material/touch_app:")


__all__ = ["browse", "clip_table", "filter_controls", "select_clip", "sync_from_url"]
