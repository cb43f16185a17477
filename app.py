"""MuJo Studio: the app's entry point (`streamlit run app.py`) and its Home page.

Home shows which dataset and model are loaded, their size and problems, and where to change the dataset. On a
fresh machine it builds the embedded demo dataset first. Home's body is `mujo.ui.home.home`; the other pages live
in pages/, one thin file each.
"""

import streamlit as st

from mujo.ui.nav import pages

st.navigation(pages()).run()
