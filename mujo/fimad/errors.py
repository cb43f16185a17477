"""Errors raised by the FiMAD reader, and the clip-id rule that keeps every id usable as a file name."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

__all__ = ["FimadError", "ClipError", "is_safe_clip_id"]

_SAFE_ASCII = re.compile(r"[A-Za-z0-9_-]+")
_MAX_ID_BYTES = 200  # leaves room for a suffix under the usual 255-byte file-name limit


class FimadError(Exception):
    """The dataset as a whole is unusable (missing/invalid fimad.json or clips.csv, wrong format or version)."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


class ClipError(Exception):
    """One clip's file is missing, unreadable or malformed; the rest of the dataset stays usable."""

    def __init__(self, clip_id: str, path: str | Path | None, reason: str):
        self.clip_id, self.path, self.reason = clip_id, Path(path) if path is not None else None, reason
        super().__init__(f"clip {clip_id!r} ({path if path is not None else 'no file opened'}): {reason}")


def is_safe_clip_id(s: object) -> bool:
    """True for a non-empty id made only of letters (any script, with their combining marks), decimal digits,
    '-' and '_', at most 200 UTF-8 bytes.

    Such an id can be used as a file name: it cannot hold a path separator, '.', '..', NUL or a drive.
    """
    if not isinstance(s, str) or not s or len(s.encode("utf-8", "surrogatepass")) > _MAX_ID_BYTES:
        return False
    if s.isascii():
        return _SAFE_ASCII.fullmatch(s) is not None
    return all(c in "-_" or c.isdecimal() or unicodedata.category(c)[0] in "LM" for c in s)
