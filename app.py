"""MuJo Studio: the app's entry point (`streamlit run app.py`).

It only declares the pages (`mujo.ui.nav`); Home (pages/0_Home.py, the default page at "/") shows which dataset and
model are loaded and, on a fresh machine, builds the embedded demo dataset first. Every page is one thin file in
pages/.
"""

import streamlit as st

from mujo.ui.nav import pages

st.navigation(pages()).run()
