"""The Home page's body (`home_page`) and its parts: building the demo dataset, the dataset and model panels, the
folder setting."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mujo import jobs, paths, settings
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.fimad.layout import CLIPS, MANIFEST
from mujo.fimad.validate import ValidationReport
from mujo.ui import dataset as uds
from mujo.ui.model_panel import model_panel
from mujo.ui.nav import BROWSE_PAGE
from mujo.ui.sidebar import dataset_sidebar
from mujo.ui.state import QP_PROBLEMS, StateKeys
from mujo.ui.text import md_escape, short_cells, show_text_field


def demo_build_panel() -> bool:
    """Start (once) and follow the first-start pipeline: demo dataset, features, demo model; True once the dataset
    is ready (the model may still be training).

    The pipeline runs in its own process (`mujo demo`), so it goes on when the tab is closed, and every session
    follows the same run.
    """
    status = uds.demo_status()
    if status.state == jobs.DONE:
        return True
    if status.state == jobs.ABSENT:
        status = uds.start_demo()
    dataset_ready = uds.demo_dataset_ready()
    if dataset_ready:
        st.info("The demo dataset is ready; the demo model is being pre-trained on it in the background "
                "(a few minutes, once).", icon=":material/model_training:")
    else:
        st.info("First start: building the embedded synthetic FiMAD dataset (video, 3D pose, virtual IMU, chapter "
                "text) and pre-training the demo model on it, in the background. This takes a few minutes and "
                "happens once.", icon=":material/construction:")
    if status.state == jobs.FAILED:
        st.error("The first-start build failed:", icon=":material/error:")
        st.code(status.error or "no error message", language=None)
        st.caption("Work finished so far is kept. Resume the build, or open another FiMAD folder on the right.")
        if st.button("Resume the build", key=StateKeys.DEMO_RESUME):
            uds.start_demo()
            st.rerun()
        return dataset_ready
    _follow_demo_build()
    return dataset_ready


@st.fragment(run_every=1.0)
def _follow_demo_build() -> None:
    status = uds.demo_status()
    if status.state != jobs.RUNNING:
        st.rerun()  # the whole page: show the dataset, or the failure
    st.progress(min(max(status.fraction, 0.0), 1.0), text=f"First-start build: {status.fraction:.0%}")
    st.caption(md_escape(status.message))


def dataset_panel(ds: FimadDataset) -> None:
    """Name, folder, description and headline numbers of the open dataset."""
    o = uds.overview(ds)
    st.subheader("Dataset", anchor=False)
    show_text_field("Name", ds.manifest.name)
    st.markdown("**Folder**")
    st.code(str(ds.root), language=None)
    if ds.manifest.description:
        show_text_field("Description", ds.manifest.description)
    n = max(1, o["clips"])
    c = st.columns(3)
    c[0].metric("Clips", f"{o['clips']:,}")
    c[1].metric("Hours", f"{o['hours']:.2f}")
    c[2].metric("Source videos", f"{o['source_videos']:,}", help=f"distinct video_id values in {CLIPS}")
    c = st.columns(3)
    c[0].metric("With video", f"{o['video'] / n:.0%}", help=f"{o['video']:,} of {o['clips']:,} clips have an mp4")
    c[1].metric("With 3D pose", f"{o['pose'] / n:.0%}", help=f"{o['pose']:,} of {o['clips']:,} clips")
    c[2].metric("With IMU", f"{o['imu'] / n:.0%}", help=f"{o['imu']:,} of {o['clips']:,} clips")
    st.caption(f"{ds.fps:g} Hz pose and IMU · {len(ds.imu_sites)} IMU sites · "
               + ("synthetic" if ds.manifest.synthetic else "recorded") + " data")
    if "split" in ds.clips.columns:
        counts = ds.clips["split"].replace("", "(none)").value_counts()
        st.caption("Splits: " + md_escape(", ".join(f"{k} {v:,}" for k, v in counts.items())))


def validation_panel(report: ValidationReport) -> None:
    """Validation summary: counts per severity, the kinds of problems, and a link to Browse filtered to them."""
    st.subheader("Validation", anchor=False)
    sev = report.severity_counts()
    n_clips = len(uds.problem_clips(report))
    c = st.columns(4)
    c[0].metric("Errors", sev["error"])
    c[1].metric("Warnings", sev["warning"])
    c[2].metric("Notes", sev["info"], help="coverage and interpolated short gaps; not problems")
    c[3].metric("Clips with problems", n_clips)
    if not report.usable:
        st.error("The dataset is not usable: it lists no clip.", icon=":material/error:")
    df = report.to_frame()
    serious = df[df["severity"].isin(uds.PROBLEM_SEVERITIES)]
    if serious.empty:
        st.success("No errors or warnings.", icon=":material/check_circle:")
        return
    if n_clips:
        label = f"Browse the {n_clips:,} clips with problems" if n_clips > 1 else "Browse the clip with problems"
        st.page_link(BROWSE_PAGE, label=label, icon=":material/filter_alt:", query_params={QP_PROBLEMS: "1"})
    kinds = (serious.groupby(["severity", "kind"]).size().rename("count").reset_index()
             .sort_values(["severity", "count"], ascending=[True, False]))
    st.dataframe(kinds, hide_index=True, width="content")
    with st.expander(f"All {len(serious):,} errors and warnings"):
        st.dataframe(short_cells(serious), hide_index=True, width="stretch", height=300)


def _open_folder() -> None:
    # Runs as a button callback, before the page script, so the page below already shows the new dataset.
    text = str(st.session_state.get(StateKeys.DATASET_INPUT) or "").strip()
    problem = uds.folder_problem(text)
    if problem:
        st.session_state[StateKeys.DATASET_FEEDBACK] = ("error", problem)
        return
    chosen = settings.choose_dataset_dir(text)
    st.session_state[StateKeys.DATASET_FEEDBACK] = ("success", f"Opened {chosen.dataset_dir}.")


def _use_default() -> None:
    settings.choose_dataset_dir(None)
    st.session_state[StateKeys.DATASET_INPUT] = str(settings.dataset_dir())
    st.session_state[StateKeys.DATASET_FEEDBACK] = ("success", f"Back to the default dataset {settings.dataset_dir()}.")


def folder_setting(current: Path) -> None:
    """Text input + "Open" to point the app at another FiMAD folder, with validation feedback."""
    st.subheader("Dataset folder", anchor=False)
    if not st.session_state.get(StateKeys.DATASET_INPUT):
        st.session_state[StateKeys.DATASET_INPUT] = str(current)
    st.text_input("FiMAD folder", key=StateKeys.DATASET_INPUT,
                  help=f"A folder with {MANIFEST} and {CLIPS}. The environment variable MUJO_DATA sets the default; "
                       "a folder opened here overrides it and is remembered in settings.json.")
    c1, c2 = st.columns(2)
    c1.button("Open", key="home.open", on_click=_open_folder, type="primary", icon=":material/folder_open:",
              width="stretch")
    c2.button("Use default", key="home.use_default", on_click=_use_default, width="stretch",
              help=md_escape(f"The default is {paths.default_dataset_dir()}"))
    feedback = st.session_state.get(StateKeys.DATASET_FEEDBACK)
    st.session_state[StateKeys.DATASET_FEEDBACK] = None  # shown once, right after the click
    if feedback:
        level, message = feedback
        (st.error if level == "error" else st.success)(md_escape(message))
    st.caption(md_escape(f"Settings file: {settings.settings_path()}"))


def home_page() -> None:
    """Home below its title: the first-start build, the open dataset and its validation; the model and the folder
    setting beside them."""
    folder = settings.dataset_dir()
    ready = True
    if settings.is_default_demo(folder):  # first start: build the demo dataset and model in the background
        ready = demo_build_panel()
    main, side = st.columns([2, 1], gap="large")
    with side:
        model_panel()
        st.divider()
        folder_setting(folder)
    with main:
        if not ready:
            return
        ref = uds.DatasetRef.of(folder)
        try:
            ds = uds.open_dataset(ref)
        except FimadError as e:
            problem = uds.folder_problem(folder) or str(e)
            st.error(md_escape(f"Cannot open the dataset: {problem}"), icon=":material/error:")
            st.caption("Choose another folder on the right; the rest of the app keeps working.")
            return
        dataset_sidebar(ds)
        dataset_panel(ds)
        st.divider()
        validation_panel(uds.validation_report(ref.root, ref.stamp))
