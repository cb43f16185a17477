"""What every page shares: page setup, the current-dataset guard and the sidebar summary."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from mujo import settings
from mujo.fimad.dataset import FimadDataset, FimadError
from mujo.fimad.layout import MANIFEST
from mujo.ui import dataset as uds
from mujo.ui.nav import home_link
from mujo.ui.state import init_state
from mujo.ui.text import LABEL_CHARS, md_escape, short


def page_setup(title: str) -> None:
    """Page title, wide layout (the player wants the room) and the session-state defaults."""
    st.set_page_config(page_title=f"{title} · MuJo Studio" if title != "Home" else "MuJo Studio",
                       page_icon=":material/directions_run:", layout="wide")
    init_state()


def current_folder() -> Path:
    """The dataset folder the app opens now (settings, else $MUJO_DATA, else the demo)."""
    return settings.dataset_dir()


def require_dataset() -> tuple[uds.DatasetRef, FimadDataset]:
    """The open dataset, or an explanation with a link to Home and `st.stop()` (guard for pages other than Home)."""
    folder = current_folder()
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
