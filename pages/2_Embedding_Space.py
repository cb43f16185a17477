"""Embedding Space: a UMAP of the loaded model's window or clip embeddings, coloured, with lasso selection."""

import streamlit as st

from mujo.ui.embedding import embedding_page
from mujo.ui.model import model_sidebar, require_checkpoint, require_store
from mujo.ui.sidebar import dataset_sidebar, page_setup, require_dataset

page_setup("Embedding Space")
st.title("Embedding space", anchor=False)
ref, ds = require_dataset()
dataset_sidebar(ds)
info = require_checkpoint()
store = require_store(ref, info)
model_sidebar(info, store)
embedding_page(ds, store)
