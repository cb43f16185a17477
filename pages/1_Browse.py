"""Browse: search and filter the clips, and play one with its video, 3D pose and IMU on one clock."""

import streamlit as st

from mujo.ui import dataset as uds
from mujo.ui.browse import browse
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Browse")
st.title("Browse clips", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
browse(ref, ds, uds.validation_report(ref.root, ref.stamp))
