"""Where MuJo Studio keeps its data: the project data folder, the default dataset, the store."""

from __future__ import annotations

import os
from pathlib import Path

DEMO_DATASET_NAME = "fimad-demo"


def project_root() -> Path:
    """The checkout that holds the `mujo` package (where `app.py` lives)."""
    return Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The project's data folder: `$MUJO_HOME` if set, else `<checkout>/data`."""
    env = os.environ.get("MUJO_HOME")
    return Path(env).expanduser().resolve() if env else project_root() / "data"


def demo_dataset_dir() -> Path:
    """Where the embedded synthetic FiMAD is built when absent."""
    return data_dir() / DEMO_DATASET_NAME


def default_dataset_dir() -> Path:
    """The dataset the app opens by default: `$MUJO_DATA` if set, else the embedded demo dataset."""
    env = os.environ.get("MUJO_DATA")
    return Path(env).expanduser().resolve() if env else demo_dataset_dir()


def store_path() -> Path:
    """The SQLite store of labels, runs and results."""
    return data_dir() / "mujo.sqlite"
