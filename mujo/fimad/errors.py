"""The errors the FiMAD format raises: one family under FimadBaseError.

A bad argument (an unknown modality name, a window size below 1) stays a plain ValueError, as in the standard
library; a file or a dataset that does not follow the format raises one of these. Classes that were ValueErrors
(or a PermissionError) before the family existed still are, so `except ValueError` callers keep working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FimadBaseError", "FimadError", "ClipError", "ArrayFileError", "VideoError", "WriteError", "ReadOnlyError"]


class FimadBaseError(Exception):
    """Base of every error about FiMAD files; catch it to handle any of them."""


class FimadError(FimadBaseError):
    """The dataset as a whole is unusable (missing/invalid fimad.json or clips.csv, wrong format or version)."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


class ClipError(FimadBaseError):
    """One clip's file is missing, unreadable or malformed; the rest of the dataset stays usable."""

    def __init__(self, clip_id: str, path: str | Path | None, reason: str):
        self.clip_id, self.path, self.reason = clip_id, Path(path) if path is not None else None, reason
        super().__init__(f"clip {clip_id!r} ({path if path is not None else 'no file opened'}): {reason}")


class ArrayFileError(FimadBaseError, ValueError):
    """A .npy/.npz file that cannot be read: bad header, truncated, object dtype, encrypted and so on."""


class VideoError(FimadBaseError, ValueError):
    """A video file that cannot be read, or frames that cannot be written; the message names the file."""


class WriteError(FimadBaseError, ValueError):
    """Data that cannot be written as FiMAD (unsafe or duplicate clip id, wrong shape, lengths that disagree)."""


class ReadOnlyError(FimadBaseError, PermissionError):
    """The dataset folder or its clips.csv cannot be written."""
