"""What every page shares: page setup (with the login gate), the session's dataset (`?data=`), the current-dataset
guard and the sidebar summary.

A visitor's dataset choice belongs to their browser session and its URL: `?data=FOLDER` opens that dataset in this
session only (checked like a choice on Home: inside the data roots when they are configured), and every page puts
the session's choice back into its URL, so a copied link opens the same view. Without a choice a session opens the
server's default (`mujo.settings.dataset_dir()`), which only an admin changes.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mujo import settings
from mujo.access import User
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.fimad.layout import MANIFEST
from mujo.store import Store
from mujo.ui import dataset as uds
from mujo.ui.access import login_gate
from mujo.ui.nav import home_link
from mujo.ui.state import StateKeys, init_state
from mujo.ui.text import LABEL_CHARS, md_escape, short

QP_DATA = "data"  # URL parameter: the session's dataset folder
DATA_CHOICE = "data.choice"  # session state: the folder this session chose (resolved), or None for the default
DATA_REFUSED = "data.refused"  # session state: why the last ?data= was refused (shown once)


def page_setup(title: str) -> None:
    """Page title, wide layout (the player wants the room), the session-state defaults, the login gate (with an
    access file: the login form until logged in) and the session's dataset from the URL."""
    st.set_page_config(page_title=f"{title} · MuJo Studio" if title != "Home" else "MuJo Studio",
                       page_icon=":material/directions_run:", layout="wide")
    init_state()
    user = login_gate()
    sync_data_param(user)
    if title != "Curation":
        release_curation_lease()


def release_curation_lease() -> None:
    """Give back the clip this session leased on the Curation page (it left that page), so that other annotators'
    queues offer it again at once instead of when the lease expires."""
    held = st.session_state.get(StateKeys.CUR_LEASE)
    session = st.session_state.get(StateKeys.CUR_SESSION)
    if held and session:
        Store().release_leases(held[0], str(session))
        st.session_state[StateKeys.CUR_LEASE] = None


def sync_data_param(user: User) -> None:
    """Adopt a new `?data=` for this session (when this user may open it), or write the session's choice into the
    URL (page links and the sidebar's page list drop it)."""
    asked = st.query_params.get(QP_DATA)
    chosen = st.session_state.get(DATA_CHOICE)
    if asked is not None and asked != chosen:
        folder, problem = uds.choice_problem(asked, user)
        if problem:
            st.session_state[DATA_REFUSED] = problem
            if chosen:
                st.query_params[QP_DATA] = chosen
            else:
                del st.query_params[QP_DATA]
            return
        choose_session_folder(folder)
    elif asked is None and chosen:
        st.query_params[QP_DATA] = chosen


def choose_session_folder(folder: Path | None) -> None:
    """This session's dataset (None: the server's default); other sessions are not affected."""
    st.session_state[DATA_CHOICE] = str(folder) if folder is not None else None
    if folder is not None:
        st.query_params[QP_DATA] = str(folder)
    elif QP_DATA in st.query_params:
        del st.query_params[QP_DATA]


def current_folder() -> Path:
    """The dataset folder this session opens: its own choice (Home or `?data=`), else the server's default
    (settings.json, else $MUJO_DATA, else the demo)."""
    chosen = st.session_state.get(DATA_CHOICE)
    return Path(chosen) if chosen else settings.dataset_dir()


def refused_data_param() -> str | None:
    """Why the last `?data=` of this session was refused (once), or None."""
    return st.session_state.pop(DATA_REFUSED, None)


def require_dataset() -> tuple[uds.DatasetRef, FimadDataset]:
    """The open dataset, or an explanation with a link to Home and `st.stop()` (guard for pages other than Home)."""
    folder = current_folder()
    refused = refused_data_param()
    if refused:
        st.warning(md_escape(refused), icon=":material/block:")
    if settings.is_default_demo(folder) and not (folder / MANIFEST).exists():
        st.info("The embedded demo dataset has not been built yet. Home builds it (a few minutes, once).",
                icon=":material/hourglass_empty:")
        home_link()
        st.stop()
    ref = uds.DatasetRef.of(folder)
    try:
        ds = uds.open_dataset(ref)
    except FimadError as e:
        st.error(md_escape(f"Cannot open the dataset at {folder}: {e}"), icon=":material/error:")
        home_link("Choose another dataset on Home")
        st.stop()
    return ref, ds


def dataset_sidebar(ds: FimadDataset) -> None:
    """A short summary of the open dataset in the sidebar."""
    with st.sidebar:
        st.caption("Dataset")
        st.text(short(ds.manifest.name, LABEL_CHARS, one_line=True))  # Home shows the whole name
        st.caption(f"{len(ds.clips):,} clips · {ds.fps:g} Hz · {len(ds.imu_sites)} IMU sites")
        st.caption(md_escape(str(ds.root)))
