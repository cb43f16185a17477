"""Browse: search and filter the clips, and play one with its video, 3D pose and IMU on one clock."""

import streamlit as st

from mujo.ui.browse import browse
from mujo.ui.report import dataset_report, report_note
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Browse")
st.title("Browse clips", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
state = dataset_report(ref, len(ds.clips))
report_note(state)
browse(ref, ds, state.report)
