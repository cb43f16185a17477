"""The app's pages for `st.navigation`, and links to Home (a function page: `st.page_link` needs its `st.Page`)."""

from __future__ import annotations

import streamlit as st

PAGE_FILES = (  # (file, title, icon), in the sidebar's order after Home
    ("pages/1_Browse.py", "Browse", ":material/video_library:"),
    ("pages/2_Embedding_Space.py", "Embedding Space", ":material/scatter_plot:"),
    ("pages/3_Retrieval.py", "Retrieval", ":material/manage_search:"),
    ("pages/4_Fine_tuning.py", "Fine-tuning", ":material/model_training:"),
    ("pages/5_Zero_shot.py", "Zero-shot", ":material/text_fields:"),
    ("pages/6_Curation.py", "Curation", ":material/label:"),
)


def home_page() -> st.Page:
    """Home as `st.navigation` registers it (a page is known by its URL path, so each call names the same page)."""
    from mujo.ui.home import home  # noqa: PLC0415  (home imports the sidebar, which links here)

    return st.Page(home, title="Home", icon=":material/home:", default=True)


def pages() -> list[st.Page]:
    """Every page of the app, Home first."""
    return [home_page(), *(st.Page(f, title=t, icon=i) for f, t, i in PAGE_FILES)]


def home_link(label: str = "Go to Home") -> None:
    """A link to Home."""
    st.page_link(home_page(), label=label, icon=":material/home:")
