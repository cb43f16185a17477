"""Showing dataset text safely: as plain text, never as Markdown or HTML."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all turns any string
# into literal text (no emphasis, links, HTML, LaTeX or Streamlit directives such as :red[...]).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=^])")


def md_escape(text: str) -> str:
    """Escape a string for `st.markdown`/`st.error` so that it is shown literally."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def show_text_field(label: str, value: object) -> None:
    """A bold label (our own text) and a dataset value shown with st.text (no Markdown, no HTML)."""
    st.markdown(f"**{label}**")
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value) == "":
        st.caption("—")
    else:
        st.text(str(value))
