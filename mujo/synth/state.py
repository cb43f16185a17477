"""Where a generation keeps its state in the dataset folder (light: the app's Home reads it on every run)."""

from __future__ import annotations

from pathlib import Path

STATE_DIR = ".synth"  # per-video completion records, for resuming
BUILDING = "building"  # in STATE_DIR while a generation runs


def generation_pending(root: str | Path) -> bool:
    """Whether a generation into `root` has started and not finished (clips may still be added, videos rendered)."""
    return (Path(root) / STATE_DIR / BUILDING).exists()
