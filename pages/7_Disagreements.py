"""Disagreements: Cohen's kappa per annotator pair, the clips whose annotators disagree (with history), settling them,
and the per-annotator export."""

import streamlit as st

from mujo.ui.disagreements import disagreements_page
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Disagreements")
st.title("Disagreements", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
disagreements_page(ref, ds)
