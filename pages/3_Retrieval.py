"""Retrieval: free-text and query-by-example search over the embedded windows, and the R@k matrix of the model."""

import streamlit as st

from mujo.ui.model import model_sidebar, require_checkpoint, require_store
from mujo.ui.retrieval import retrieval_page
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Retrieval")
st.title("Retrieval", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
info = require_checkpoint()
store = require_store(ref, info)
model_sidebar(info, store)
retrieval_page(ref, ds, info, store)
