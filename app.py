"""MuJo Studio: the app's entry point (`streamlit run app.py`).

It only declares the pages (`mujo.ui.nav`); Home (pages/0_Home.py, the default page at "/") shows which dataset and
model are loaded and, on a fresh machine, builds the embedded demo dataset first. Every page is one thin file in
pages/. With an access file ($MUJO_AUTH) every page first asks for a login (`page_setup`); the page list stays
hidden until then.
"""

import streamlit as st

from mujo.ui import heap
from mujo.ui.access import logged_in
from mujo.ui.nav import pages

try:
    st.navigation(pages(), position="sidebar" if logged_in() else "hidden").run()
finally:
    heap.settle()  # after a page's first run: its libraries leave the garbage collector's passes
