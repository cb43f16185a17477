"""The Embedding Space page's parts: view controls, the cached UMAP, the WebGL scatter and the selection panel."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from mujo import jobs
from mujo.eval import embedding_view as ev
from mujo.eval import projection
from mujo.fimad.dataset import FimadDataset
from mujo.store import open_store
from mujo.ui import background, embed_plot
from mujo.ui.model import store_stamp
from mujo.ui.nav import CURATION_PAGE
from mujo.ui.state import StateKeys, absolute_browse_url, browse_link
from mujo.ui.text import label_text, md_escape, short, short_cells

MAX_POINT_CHOICES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
SPACE_NAMES = {ev.JOINT: "Joint (all modalities)", "imu": "IMU", "pose": "Pose", "text": "Text",
               "video": "Video"}
LEVEL_NAMES = {"window": "Windows", "clip": "Clips (mean of windows)"}
QUICK_WAIT_S = 1.0  # a projection job done within this is drawn in the same run (tests, a warm cache)


def _options(index: pd.DataFrame, column: str) -> list[str]:
    if column not in index.columns:
        return []
    return sorted(ev.as_text(index[column]).unique().tolist())


def _keep_valid(key: StateKeys, options: list[Any]) -> None:
    """Drop choices kept in the session that this store does not offer (another dataset or model)."""
    value = st.session_state.get(key)
    if isinstance(value, list):
        kept = [v for v in value if v in options]
        if kept != value:
            st.session_state[key] = kept
    elif value not in options:
        st.session_state[key] = options[0] if options else None


def controls(store: Any) -> tuple[ev.ViewSpec, str, dict[str, Any]]:
    """Draw the view controls; return (view, colour-by key, projection parameters)."""
    mods = [str(m) for m in store.modalities]
    spaces = ([ev.JOINT] if len(mods) > 1 else []) + mods
    if st.session_state.get(StateKeys.EMB_SPACE) is None:
        st.session_state[StateKeys.EMB_SPACE] = ev.default_space(mods)
    _keep_valid(StateKeys.EMB_SPACE, spaces)
    splits, labels = _options(store.index, "split"), _options(store.index, "label")
    _keep_valid(StateKeys.EMB_SPLITS, splits)
    _keep_valid(StateKeys.EMB_LABELS, labels)
    c = st.columns([1.6, 1.4, 1.2, 1.2, 1.6, 1.1], vertical_alignment="bottom")
    c[0].selectbox("Space", spaces, key=StateKeys.EMB_SPACE, format_func=lambda m: SPACE_NAMES.get(m, m),
                   help="One modality's embeddings, or every modality's embeddings of the same windows together in "
                        "the joint space (colour by modality to see how well they align).")
    c[1].segmented_control("Points", list(LEVEL_NAMES), key=StateKeys.EMB_LEVEL,
                           format_func=lambda v: LEVEL_NAMES[v].split(" (")[0],
                           help="A point per 2-second window, or per clip (the mean of its windows, renormalised).")
    c[2].selectbox("Colour by", list(ev.COLOR_OPTIONS), key=StateKeys.EMB_COLOR,
                   format_func=lambda k: ev.COLOR_OPTIONS[k].capitalize())
    c[3].multiselect("Split", splits, key=StateKeys.EMB_SPLITS, placeholder="all")
    c[4].multiselect("Label", labels, key=StateKeys.EMB_LABELS, placeholder="all")
    c[5].selectbox("Max points", MAX_POINT_CHOICES, key=StateKeys.EMB_MAX_POINTS, format_func=lambda n: f"{n:,}",
                   help="A seeded random subset when more windows or clips match.")
    with st.expander("UMAP settings"):
        u = st.columns(3)
        u[0].slider("Neighbours", 5, 100, key=StateKeys.EMB_NEIGHBORS,
                    help="UMAP's n_neighbors: larger values favour global structure.")
        u[1].slider("Minimum distance", 0.0, 0.99, step=0.01, key=StateKeys.EMB_MIN_DIST,
                    help="UMAP's min_dist: how tightly points may pack.")
        u[2].number_input("Seed", 0, 10_000, step=1, key=StateKeys.EMB_SEED,
                          help="Seeds the subsample and UMAP: the same settings give the same picture.")
        st.caption(f"Cosine metric. Up to {projection.FIT_MAX:,} points are laid out by UMAP on an exact neighbour "
                   "graph; more points are placed by their nearest laid-out points. Projections are kept on disk, "
                   "so a view computed once reopens at once.")
    level = st.session_state.get(StateKeys.EMB_LEVEL) or "window"
    seed = int(st.session_state[StateKeys.EMB_SEED])
    spec = ev.ViewSpec(modality=st.session_state[StateKeys.EMB_SPACE], level=level,
                       splits=tuple(st.session_state[StateKeys.EMB_SPLITS]),
                       labels=tuple(st.session_state[StateKeys.EMB_LABELS]),
                       max_points=int(st.session_state[StateKeys.EMB_MAX_POINTS]), seed=seed)
    params = {"n_neighbors": int(st.session_state[StateKeys.EMB_NEIGHBORS]),
              "min_dist": float(st.session_state[StateKeys.EMB_MIN_DIST]), "seed": seed}
    return spec, st.session_state[StateKeys.EMB_COLOR], params


@st.cache_data(max_entries=16, show_spinner=False)
def _points(folder: str, stamp: float, spec: ev.ViewSpec, _store: Any) -> ev.PointSet:
    return ev.build_points(_store, spec)


def _curation(ds: FimadDataset) -> pd.DataFrame | None:
    """Current curation labels of the dataset (by its folder, else its name), None when there is no store."""
    try:
        db = open_store()
        if not db.path.exists():
            return None
        for name in dict.fromkeys((str(ds.root), ds.manifest.name)):
            labels = db.current_labels(name)
            if len(labels):
                return labels
    except Exception:  # noqa: BLE001 - curation status is optional: a broken store must not break the page
        return None
    return None


def _project_argv(store: Any, spec: ev.ViewSpec, params: dict[str, Any]) -> list[str]:
    """`mujo project` for this view: it builds the same points and caches their projection where `lookup` finds it."""
    return ["project", str(store.folder), "--view", json.dumps(dataclasses.asdict(spec)),
            "--params", json.dumps(params), "--quiet"]


def projection_or_progress(store: Any, points: ev.PointSet, spec: ev.ViewSpec, key: dict[str, Any],
                           params: dict[str, Any]) -> tuple[np.ndarray | None, bool]:
    """(coordinates, from the cache) of a view; (None, False) while its UMAP job (`mujo project`, in its own
    process) computes them, with the job's progress on the page (which reruns when they are ready) or its error."""
    coords = projection.lookup(key, params)
    if coords is not None:
        return coords, True
    pkey = projection.projection_key(key, params)
    job = jobs.latest("umap", pkey)
    if job is not None and job.state in (jobs.FAILED, jobs.CANCELLED):
        what = "was cancelled" if job.state == jobs.CANCELLED else f"failed: {job.error}"
        st.error(md_escape(f"Computing the UMAP projection {what}"), icon=":material/error:")
        if st.button("Try again", key="emb.retry", icon=":material/refresh:"):
            background.submit("umap", _project_argv(store, spec, params), key_inputs=pkey)
            st.rerun()  # without the old error
        return None, False
    if job is None or job.state == jobs.DONE:  # never asked for, or its result was removed from the cache
        job = background.submit("umap", _project_argv(store, spec, params), key_inputs=pkey)
    job = background.wait(job, QUICK_WAIT_S)
    if job.state == jobs.DONE:
        return projection.lookup(key, params), False
    if not job.active:
        st.rerun()  # failed or cancelled meanwhile: say so
    background.follow(job.id, f"Computing UMAP for {len(points):,} points",
                      "The projection runs as a job of its own (see Jobs): it goes on while you change other "
                      "settings or leave the page, and is kept on disk, so this view opens at once next time. Each "
                      "job also compiles part of UMAP's kernels (20-40 s; the rest is cached once per machine).")
    return None, False


def embedding_page(ds: FimadDataset, store: Any) -> None:
    """The whole page below the title: controls, scatter, selection."""
    spec, color_by, params = controls(store)
    try:
        points = _points(str(store.folder), store_stamp(store.folder), spec, store)
    except ValueError as e:
        st.error(md_escape(str(e)), icon=":material/error:")
        return
    if len(points) == 0:
        st.warning("No window matches the split and label filters.", icon=":material/filter_alt_off:")
        return
    key = ev.key_parts(store, points, spec)
    coords, cached = projection_or_progress(store, points, spec, key, params)
    if coords is None:
        return
    frame = points.frame
    norm = ds.clips["chapter_norm"].to_dict() if "chapter_norm" in ds.clips.columns else None
    curation = ev.curation_status(frame, _curation(ds), points.level) if color_by == "curation" else None
    groups = ev.color_values(frame, color_by, chapter_norm=norm, curation=curation)
    scatter = embed_plot.scatter_figure(
        coords, groups, frame["chapter"].to_numpy(), frame["t0_s"].to_numpy() if points.level == "window" else None,
        legend_title=ev.COLOR_OPTIONS[color_by], revision=projection.projection_key(key, params))
    event = st.plotly_chart(scatter.figure, key=StateKeys.EMB_CHART, on_select="rerun",
                            selection_mode=("lasso", "box"), width="stretch",
                            config={"displaylogo": False, "scrollZoom": True,
                                    "modeBarButtonsToRemove": ["toImage", "autoScale2d"]})
    _status_line(points, spec, params, key, cached)
    selection_panel(frame, embed_plot.selected_positions(selection_points(event), scatter.trace_positions))


def selection_points(event: Any) -> list[dict[str, Any]] | None:
    """`event.selection.points` of st.plotly_chart, also when the event is a plain dict (e.g. from a test)."""
    def part(obj: Any, name: str) -> Any:
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)

    selection = part(event, "selection") if event is not None else None
    return part(selection, "points") if selection is not None else None


def _status_line(points: ev.PointSet, spec: ev.ViewSpec, params: dict[str, Any], key: dict[str, Any],
                 cached: bool) -> None:
    unit = "windows" if points.level == "window" else "clips"
    shown = len(points) // len(points.modalities)
    sub = f"{shown:,} of {points.n_available:,} {unit}" if shown < points.n_available else f"all {shown:,} {unit}"
    mods = f" × {len(points.modalities)} modalities = {len(points):,} points" if len(points.modalities) > 1 else ""
    info = projection.cache_info(key, params) or {}
    how = (f"projection from the cache (computed in {info.get('seconds', 0):.0f} s)" if cached and info
           else f"projection computed in {info.get('seconds', 0):.0f} s and cached" if info else "")
    st.caption(f"{sub}{mods} · UMAP, {params['n_neighbors']} neighbours, min. distance {params['min_dist']:g}, "
               f"seed {params['seed']} · {how} · lasso or box-select points to list their clips")


def selection_panel(frame: pd.DataFrame, positions: np.ndarray) -> None:
    """The clips of the selected points, with links that open them in Browse."""
    st.subheader("Selected clips", anchor=False)
    if len(positions) == 0:
        st.caption("Nothing selected. Use the lasso or box tool of the plot's toolbar (lasso is the default drag) "
                   "to select points; double-click the plot to clear the selection.")
        return
    table = ev.selection_table(frame, positions)
    st.caption(f"{len(positions):,} points selected, from {len(table):,} clips (most selected windows first).")
    page_url = getattr(st.context, "url", None)
    shown = table.reset_index()
    shown["open"] = [absolute_browse_url(c, t, page_url) for c, t in zip(shown["clip_id"], shown["t0_s"])]
    st.dataframe(
        short_cells(shown, ["clip_id", "chapter", "label", "split"]), hide_index=True, width="stretch",
        height=min(400, 38 + 35 * len(shown)),
        column_order=["clip_id", "chapter", "label", "split", "windows", "t0_s", "open"],
        column_config={"clip_id": st.column_config.TextColumn("clip"),
                       "chapter": st.column_config.TextColumn("chapter", width="large"),
                       "windows": st.column_config.NumberColumn("selected windows", format="%d"),
                       "t0_s": st.column_config.NumberColumn("first at", format="%.1f s"),
                       "open": st.column_config.LinkColumn("Browse", display_text="open ↗")})
    ids = table.index.tolist()
    if st.session_state.get(StateKeys.EMB_OPEN_CLIP) not in ids:
        st.session_state[StateKeys.EMB_OPEN_CLIP] = ids[0]
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    c1.selectbox("Open a selected clip in Browse", ids, key=StateKeys.EMB_OPEN_CLIP,
                 format_func=lambda c: f"{c} · {short(table.at[c, 'chapter'], 70, one_line=True)}")
    clip = st.session_state[StateKeys.EMB_OPEN_CLIP]
    with c2:
        browse_link(clip, float(table.at[clip, "t0_s"]), label=f"Open {label_text(clip)} in Browse")
    if st.button(f"Label these {len(ids)} clips in Curation", key=StateKeys.EMB_TO_CURATION, icon=":material/label:"):
        st.session_state[StateKeys.CUR_SELECTION] = ids  # the Curation page offers to label them at once
        st.switch_page(CURATION_PAGE)
