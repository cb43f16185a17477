"""Jobs: every long task of the server (first-start build, pre-training, UMAP, zero-shot, sweeps), queued or running,
and the recent ones; Cancel for whoever may start that kind of job."""

import streamlit as st

from mujo.ui.jobs_panel import jobs_panel
from mujo.ui.sidebar import page_setup

page_setup("Jobs")
st.title("Background jobs", anchor=False)
st.caption("Each job is a `mujo` command in its own process: it goes on when its tab closes or the server restarts.")
jobs_panel()
