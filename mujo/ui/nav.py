"""The app's pages for `st.navigation` (every page a file, Home the default at "/"), and links to Home.

`st.page_link` and `st.switch_page` name a page by its file, which must be one `st.navigation` knows: the page files
are spelled here, once.
"""

from __future__ import annotations

import streamlit as st

HOME_PAGE = "pages/0_Home.py"
BROWSE_PAGE = "pages/1_Browse.py"
EMBEDDING_PAGE = "pages/2_Embedding_Space.py"
RETRIEVAL_PAGE = "pages/3_Retrieval.py"
FINETUNE_PAGE = "pages/4_Fine_tuning.py"
ZEROSHOT_PAGE = "pages/5_Zero_shot.py"
CURATION_PAGE = "pages/6_Curation.py"
DISAGREEMENTS_PAGE = "pages/7_Disagreements.py"
JOBS_PAGE = "pages/8_Jobs.py"

PAGE_FILES = (  # (file, title, icon), in the sidebar's order after Home
    (BROWSE_PAGE, "Browse", ":material/video_library:"),
    (EMBEDDING_PAGE, "Embedding Space", ":material/scatter_plot:"),
    (RETRIEVAL_PAGE, "Retrieval", ":material/manage_search:"),
    (FINETUNE_PAGE, "Fine-tuning", ":material/model_training:"),
    (ZEROSHOT_PAGE, "Zero-shot", ":material/text_fields:"),
    (CURATION_PAGE, "Curation", ":material/label:"),
    (DISAGREEMENTS_PAGE, "Disagreements", ":material/rule:"),
    (JOBS_PAGE, "Jobs", ":material/pending_actions:"),
)
HOME_ICON = ":material/home:"


def pages() -> list[st.Page]:
    """Every page of the app, Home first (the default page, at "/")."""
    home = st.Page(HOME_PAGE, title="Home", icon=HOME_ICON, default=True)
    return [home, *(st.Page(f, title=t, icon=i) for f, t, i in PAGE_FILES)]


def home_link(label: str = "Go to Home") -> None:
    """A link to Home."""
    st.page_link(HOME_PAGE, label=label, icon=HOME_ICON)
