"""Home: which dataset and model are loaded, their size and problems, and where to change them; on a fresh machine
it builds the embedded demo dataset (and the demo model) first."""

import streamlit as st

from mujo.ui.home import home_page
from mujo.ui.sidebar import page_setup

page_setup("Home")
st.title("MuJo Studio", anchor=False)
st.caption("Inspect FiMAD-style multimodal fitness data (video, 3D pose, virtual IMU, chapter text), explore a "
           "joint embedding model trained on it, and test it on real sensor data by fine-tuning and zero-shot.")
home_page()
