"""Zero-shot: classify a target dataset's windows by their similarity to prompted class names, no training."""

import streamlit as st

from mujo.ui.sidebar import page_setup
from mujo.ui.zeroshot import zeroshot_page

page_setup("Zero-shot")
st.title("Zero-shot activity recognition", anchor=False)
st.caption("Each class is embedded from prompts (templates × class phrase) with the text encoder; each window goes "
           "to the class whose embedding is most similar (cosine). NULL, when kept, is the mean of the classes (as in "
           "the paper) or, for a checkpoint pre-trained with NULL chapters, the NULL it learned.")
zeroshot_page()
