"""Validate a FiMAD dataset, open or by its folder: every problem of its table and of each clip's files."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mujo.fimad.checks import check_dataset, video_check
from mujo.fimad.dataset import FimadDataset
from mujo.fimad.errors import FimadError
from mujo.fimad.report import SEVERITIES, Problem, ValidationReport

__all__ = ["SEVERITIES", "Problem", "ValidationReport", "validate_dataset"]


def validate_dataset(dataset: FimadDataset | str | Path, progress: Callable[[float, str], None] | None = None, *,
                     check_video: str | bool = "header", max_gap_s: float | None = None) -> ValidationReport:
    """Check a dataset: table problems, then each clip's files (headers, shapes, n_frames, NaN gaps).

    Args:
        dataset: an open dataset or its folder (a folder that cannot be opened gives an unusable report).
        progress: called as progress(fraction, message) while clips are checked.
        check_video: "none", "header" (the file starts like an MP4; fast) or "open" (PyAV opens it; slower);
            True means "header", False "none".
        max_gap_s: longest NaN gap reading fills (default: the dataset's setting).
    Returns:
        The report; `report.usable` is False only when the dataset cannot be opened or lists no clip.
    """
    check_video = video_check(check_video)
    if not isinstance(dataset, FimadDataset):
        try:
            dataset = FimadDataset(dataset)
        except FimadError as e:
            return ValidationReport(Path(dataset), False, 0, [Problem(None, e.path.name, "dataset", "error", e.reason)])
    return check_dataset(dataset, progress, check_video=check_video, max_gap_s=max_gap_s)
