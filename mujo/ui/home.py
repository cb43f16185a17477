"""The Home page's body (`home_page`) and its parts: building the demo dataset, the dataset and model panels, the
folder setting."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mujo import jobs, paths, settings
from mujo.access import Action, PermissionDenied, User
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.fimad.layout import CLIPS, MANIFEST
from mujo.fimad.validate import ValidationReport
from mujo.ui import dataset as uds
from mujo.ui.access import current_user
from mujo.ui.model_panel import model_panel
from mujo.ui.nav import BROWSE_PAGE
from mujo.ui.report import age_text, dataset_report, report_note
from mujo.ui.sidebar import DATA_CHOICE, choose_session_folder, current_folder, dataset_sidebar, refused_data_param
from mujo.ui.state import QP_PROBLEMS, StateKeys
from mujo.ui.text import label_text, md_escape, short_cells, show_text_field


def demo_build_panel() -> bool:
    """Start (once) and follow the first-start pipeline: demo dataset, features, demo model; True once the dataset
    can be browsed (its clips are published while they are written; videos, the model and the rest may follow).

    The pipeline runs in its own process (`mujo demo`), so it goes on when the tab is closed, and every session
    follows the same run.
    """
    status = uds.demo_status()
    if status.state == jobs.DONE:
        return True
    if status.state == jobs.ABSENT:
        status = uds.start_demo()
    browsable = uds.demo_dataset_browsable()
    if uds.demo_dataset_ready():
        st.info("The demo dataset is ready; the demo model is being pre-trained on it in the background "
                "(a few minutes, once).", icon=":material/model_training:")
    elif browsable:
        st.info("First start: the demo dataset's clips are written and can be browsed already; their videos appear "
                "as they are rendered, then the demo model is pre-trained, in the background.",
                icon=":material/construction:")
    else:
        st.info("First start: building the embedded synthetic FiMAD dataset (video, 3D pose, virtual IMU, chapter "
                "text) and pre-training the demo model on it, in the background. Its clips can be browsed in "
                "under a minute; the whole build takes a few minutes and happens once.",
                icon=":material/construction:")
    if status.state == jobs.FAILED:
        st.error("The first-start build failed:", icon=":material/error:")
        st.code(status.error or "no error message", language=None)
        st.caption("Work finished so far is kept. Resume the build, or open another FiMAD folder on the right.")
        if st.button("Resume the build", key=StateKeys.DEMO_RESUME):
            uds.start_demo()
            st.rerun()
        return browsable
    _follow_demo_build(browsable)
    return browsable


@st.fragment(run_every=1.0)
def _follow_demo_build(browsable: bool) -> None:
    status = uds.demo_status()
    if status.state not in (jobs.RUNNING, jobs.QUEUED) or uds.demo_dataset_browsable() != browsable:
        st.rerun()  # the whole page: show the dataset (its first clips are there), or the failure
    st.progress(min(max(status.fraction, 0.0), 1.0), text=f"First-start build: {status.fraction:.0%}")
    st.caption(md_escape(status.message))


def dataset_panel(ds: FimadDataset) -> None:
    """Name, folder, description and headline numbers of the open dataset."""
    o = uds.overview(ds)
    st.subheader("Dataset", anchor=False)
    show_text_field("Name", ds.manifest.name)
    st.markdown("**Folder**")
    st.text(str(ds.root))  # text, not st.code: Home's first paint loads no syntax highlighter (1.5 MB of script)
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
    # As text, not a table: Home's first paint then needs no data-grid code in the browser (Home <= 2 s).
    st.markdown("\n".join(f"- {md_escape(r.severity)} · {md_escape(r.kind)}: {int(r.count):,}"
                          for r in kinds.itertuples()))
    with st.expander(f"All {len(serious):,} errors and warnings", key=StateKeys.HOME_ALL_PROBLEMS,
                     on_change="rerun") as box:
        if box.open:  # drawn only while open
            st.dataframe(short_cells(serious), hide_index=True, width="stretch", height=300)


DATASET_PICK = "home.dataset_pick"  # selectbox: a dataset under the data roots
SERVER_DEFAULT = "home.server_default"  # button (admins): this session's dataset becomes the server's default
SERVER_RESET = "home.server_reset"  # button (admins): the server's default back to $MUJO_DATA or the demo


def _feedback(level: str, message: str) -> None:
    st.session_state[StateKeys.DATASET_FEEDBACK] = (level, message)


def _open_folder() -> None:
    # Runs as a button callback, before the page script, so the page below already shows the new dataset.
    key = DATASET_PICK if settings.data_roots() else StateKeys.DATASET_INPUT
    folder, problem = uds.choice_problem(str(st.session_state.get(key) or ""), current_user())
    if problem:
        _feedback("error", problem)
        return
    choose_session_folder(folder)
    _feedback("success", f"Opened {folder} in this browser session (its link carries it; others keep theirs).")


def _use_default() -> None:
    choose_session_folder(None)
    st.session_state[StateKeys.DATASET_INPUT] = str(settings.dataset_dir())
    _feedback("success", f"Back to the server's default dataset {settings.dataset_dir()}.")


def _set_server_default(folder: str | None) -> None:
    try:
        settings.choose_dataset_dir(folder, actor=current_user())
    except PermissionDenied as e:
        _feedback("error", str(e))
        return
    choose_session_folder(None)  # this session now follows the default it set
    _feedback("success", f"The server's default dataset is now {settings.dataset_dir()} (for every session that "
                         "has not chosen its own).")


def _chooser(current: Path, user: User) -> None:
    roots = settings.data_roots()
    if roots:
        options = [str(p) for p in uds.datasets_under_roots(roots)]
        if not options:
            st.info("No FiMAD dataset under the configured data roots.", icon=":material/folder_off:")
            return
        if st.session_state.get(DATASET_PICK) not in options:
            st.session_state[DATASET_PICK] = str(current) if str(current) in options else options[0]
        st.selectbox("Dataset", options, key=DATASET_PICK, format_func=lambda p: label_text(_under_root(p, roots)),
                     help=f"The FiMAD folders under the data roots ({settings.DATA_ROOTS_ENV}).")
    elif uds.may_type_paths(user):
        if not st.session_state.get(StateKeys.DATASET_INPUT):
            st.session_state[StateKeys.DATASET_INPUT] = str(current)
        st.text_input("FiMAD folder", key=StateKeys.DATASET_INPUT,
                      help=f"A folder with {MANIFEST} and {CLIPS}; opened in this browser session only.")
    else:
        st.caption("The administrator chooses the dataset on this server (no data roots are configured).")
        return
    st.button("Open", key="home.open", on_click=_open_folder, type="primary", icon=":material/folder_open:",
              width="stretch", help="Opens it in this browser session; the page's link carries it (?data=).")


def _under_root(folder: str, roots: list[Path]) -> str:
    for r in roots:
        if Path(folder).is_relative_to(r):
            return f"{r.name}/{Path(folder).relative_to(r)}"
    return folder


def _server_default_controls(current: Path) -> None:
    """An admin's explicit control over the server's default dataset (settings.json)."""
    default = settings.dataset_dir()
    st.markdown("**Server default**")
    st.caption(md_escape(f"Sessions without a choice of their own open {default}. Settings file: "
                         f"{settings.settings_path()}"))
    c1, c2 = st.columns(2)
    c1.button("Make this the server default", key=SERVER_DEFAULT, on_click=_set_server_default, args=(str(current),),
              disabled=current.resolve() == default.resolve(), width="stretch", icon=":material/dns:")
    c2.button("Reset the server default", key=SERVER_RESET, on_click=_set_server_default, args=(None,),
              width="stretch", help=md_escape(f"Back to {paths.default_dataset_dir()} ($MUJO_DATA or the demo)."))


def folder_setting(current: Path) -> None:
    """Which dataset this session opens (a dataset under the data roots, or a typed folder on a local install),
    back to the server's default, and for admins the server's default itself."""
    user = current_user()
    st.subheader("Dataset folder", anchor=False)
    _chooser(current, user)
    if st.session_state.get(DATA_CHOICE):
        st.button("Use the server's default", key="home.use_default", on_click=_use_default, width="stretch",
                  help=md_escape(f"The default is {settings.dataset_dir()}"))
    feedback = st.session_state.get(StateKeys.DATASET_FEEDBACK)
    st.session_state[StateKeys.DATASET_FEEDBACK] = None  # shown once, right after the click
    if feedback:
        level, message = feedback
        (st.error if level == "error" else st.success)(md_escape(message))
    if user.can(Action.CHOOSE_SERVER_DATASET):
        _server_default_controls(current)


def home_page() -> None:
    """Home below its title: the first-start build, the open dataset and its validation; the model and the folder
    setting beside them."""
    refused = refused_data_param()
    if refused:
        st.warning(md_escape(refused), icon=":material/block:")
    folder = current_folder()
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
        state = dataset_report(ref, len(ds.clips))
        if state.report is None:
            st.subheader("Validation", anchor=False)
            report_note(state)
        else:
            report_note(state)
            validation_panel(state.report)
            if state.current and state.cached is not None:
                st.caption(f"Checked {age_text(state.cached.age_s)}.")
