"""Streamlit widgets, state keys and components: the only package that imports streamlit."""

from typing import Any

# Helpers other pages use to link to a clip, importable as `from mujo.ui import browse_link` without importing
# streamlit until they are used.
_LAZY = {"browse_link": "mujo.ui.state", "browse_url": "mujo.ui.state", "absolute_browse_url": "mujo.ui.state"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mujo.ui' has no attribute {name!r}")
