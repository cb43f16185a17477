"""Fine-tuning: sweeps of baseline / frozen / fine-tuned classifiers on real datasets, run in the background."""

import streamlit as st

from mujo.ui.finetune import finetune_page
from mujo.ui.sidebar import page_setup

page_setup("Fine-tuning")
st.title("Fine-tuning on real sensor data", anchor=False)
st.caption("A sweep trains a classifier (encoder + projection + two-layer head) per dataset, scenario, training "
           "fraction, repeat, NULL setting and inputs, and compares pre-trained encoders with the baseline.")
finetune_page()
