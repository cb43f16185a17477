"""MuJo Studio home: which dataset and model are loaded, their size and problems, and where to change the dataset."""

import streamlit as st

from mujo import settings
from mujo.data.fimad import FimadError
from mujo.ui import dataset as uds
from mujo.ui import home
from mujo.ui.sidebar import dataset_sidebar, page_setup
from mujo.ui.text import md_escape

page_setup("Home")
st.title("MuJo Studio", anchor=False)
st.caption("Inspect FiMAD-style multimodal fitness data (video, 3D pose, virtual IMU, chapter text) and, "
           "in later versions, train and test a joint embedding model on it.")

folder = settings.dataset_dir()
ready = True
if settings.is_default_demo(folder) and not (folder / "fimad.json").exists():
    ready = home.build_demo_with_progress()

main, side = st.columns([2, 1], gap="large")
with side:
    home.model_panel()
    st.divider()
    home.folder_setting(folder)
with main:
    ds = None
    if ready:
        try:
            ds = uds.open_dataset(uds.DatasetRef.of(folder))
        except FimadError as e:
            problem = uds.folder_problem(folder) or str(e)
            st.error(md_escape(f"Cannot open the dataset: {problem}"), icon=":material/error:")
            st.caption("Choose another folder on the right; the rest of the app keeps working.")
    if ds is not None:
        dataset_sidebar(ds)
        home.dataset_panel(ds)
        st.divider()
        ref = uds.DatasetRef.of(folder)
        home.validation_panel(uds.validation_report(ref.root, ref.stamp))
