"""Showing dataset text safely: as plain text, never as Markdown or HTML, and shortened where it could be huge.

Streamlit renders Markdown (links, images, directives) in `st.markdown`, captions, alerts and in the labels of
buttons, checkboxes, toggles, expanders, download buttons, page links and radio / pills / segmented-control options.
Dataset text (titles, labels, clip ids, names typed by annotators) goes there only through `md_escape` or
`label_text`; long text is shortened for display (`short`) with the whole text one click away
(`show_text_field`).
"""

from __future__ import annotations

import re
from typing import Iterable

import pandas as pd
import streamlit as st

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping them all turns any string
# into literal text (no emphasis, links, HTML, LaTeX or Streamlit directives such as :red[...]).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&\"'=^])")
_SPACES = re.compile(r"\s+")
DISPLAY_CHARS = 400  # a text field longer than this is shortened on the page; the whole text is one click away
LABEL_CHARS = 80  # dataset text inside a widget label or an option
CELL_CHARS = 200  # text in a table cell
ELLIPSIS = "…"


def md_escape(text: str) -> str:
    """Escape a string for `st.markdown`/`st.error` so that it is shown literally."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def short(text: object, limit: int = DISPLAY_CHARS, *, one_line: bool = False) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis; `one_line` folds line breaks and
    runs of white space into single spaces (for labels and table cells)."""
    s = str(text)
    cut = False
    if one_line:  # fold a bounded prefix only (a 200 kB title is not scanned whole)
        head = s[: limit * 4 + 16]
        cut, s = len(s) > len(head), _SPACES.sub(" ", head).strip()
    if len(s) <= limit and not cut:
        return s
    return s[: max(0, limit - 1)].rstrip() + ELLIPSIS


def label_text(text: object, limit: int = LABEL_CHARS) -> str:
    """Dataset text for a widget label, an option shown with Markdown or a caption: one line, shortened, escaped."""
    return md_escape(short(text, limit, one_line=True))


def file_stem(text: object, default: str = "file", limit: int = 60) -> str:
    """A safe file-name part made of `text` (letters, digits, `.`, `_`, `-`; never a path), else `default`."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(text or ""))[:limit].strip("._-")
    return stem or default


def short_cells(df: pd.DataFrame, columns: Iterable[str] | None = None, limit: int = CELL_CHARS) -> pd.DataFrame:
    """`df` with the text of `columns` (default: every text column) shortened to one line of at most `limit`
    characters, for a table on a page (a huge cell would stall the browser's grid)."""
    cols = [c for c in (df.columns if columns is None else columns) if c in df.columns]
    long = [c for c in cols if df[c].map(lambda v: isinstance(v, str) and len(v) > limit).any()]
    if not long:
        return df
    out = df.copy()
    for c in long:
        out[c] = out[c].map(lambda v: short(v, limit, one_line=True) if isinstance(v, str) and len(v) > limit else v)
    return out


def show_text_field(label: str, value: object, limit: int = DISPLAY_CHARS) -> None:
    """A bold label (our own text) and a dataset value shown with st.text (no Markdown, no HTML); a value longer than
    `limit` shows its start, and the whole text is in an expander below it."""
    st.markdown(f"**{label}**")
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value) == "":
        st.caption("—")
        return
    text = str(value)
    st.text(short(text, limit))
    if len(text) > limit:
        with st.expander(f"Full {label.lower()} ({len(text):,} characters)"):
            st.text(text)
