"""Curation: a queue of clips, most NULL-like first, labelled with one key each; bulk labels and progress."""

import streamlit as st

from mujo.ui.curation import curation_page
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Curation")
st.title("Curation", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
curation_page(ref, ds)
