"""MuJo Studio: the app's entry point (`streamlit run app.py`) and its Home page.

Home shows which dataset and model are loaded, their size and problems, and where to change the dataset. On a
fresh machine it builds the embedded demo dataset first. The other pages live in pages/, one thin file each.
"""

import streamlit as st

from mujo import settings
from mujo.data.fimad import FimadError
from mujo.ui import dataset as uds
from mujo.ui import home as parts
from mujo.ui.sidebar import dataset_sidebar, page_setup
from mujo.ui.text import md_escape


def home() -> None:
    """The Home page."""
    page_setup("Home")
    st.title("MuJo Studio", anchor=False)
    st.caption("Inspect FiMAD-style multimodal fitness data (video, 3D pose, virtual IMU, chapter text), explore a "
               "joint embedding model trained on it, and test it on real sensor data by fine-tuning and zero-shot.")
    folder = settings.dataset_dir()
    ready = True
    if settings.is_default_demo(folder):  # first start: build the demo dataset and model in the background
        ready = parts.demo_build_panel()
    main, side = st.columns([2, 1], gap="large")
    with side:
        parts.model_panel()
        st.divider()
        parts.folder_setting(folder)
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
        parts.dataset_panel(ds)
        st.divider()
        parts.validation_panel(uds.validation_report(ref.root, ref.stamp))


PAGES = [
    st.Page(home, title="Home", icon=":material/home:", default=True),
    st.Page("pages/1_Browse.py", title="Browse", icon=":material/video_library:"),
    st.Page("pages/2_Embedding_Space.py", title="Embedding Space", icon=":material/scatter_plot:"),
    st.Page("pages/3_Retrieval.py", title="Retrieval", icon=":material/manage_search:"),
    st.Page("pages/4_Fine_tuning.py", title="Fine-tuning", icon=":material/model_training:"),
    st.Page("pages/5_Zero_shot.py", title="Zero-shot", icon=":material/text_fields:"),
    st.Page("pages/6_Curation.py", title="Curation", icon=":material/label:"),
]

st.navigation(PAGES).run()
