"""Persisted app settings (the dataset folder the app opens), kept as JSON in `mujo.paths.data_dir()`."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from mujo import paths
from mujo.access import Action, User, require

SETTINGS_FILE = "settings.json"
DATA_ROOTS_ENV = "MUJO_DATA_ROOTS"  # folders (os.pathsep-separated) whose datasets visitors may open


@dataclass(frozen=True)
class Settings:
    """What the user chose in the app.

    Attributes:
        dataset_dir: the FiMAD folder chosen in the app, or None to use the default (`$MUJO_DATA` or the demo).
        chosen_over: the value of `$MUJO_DATA` when the folder was chosen (None when unset). The choice overrides
            that default only; when `$MUJO_DATA` later points elsewhere, the newer environment wins.
        model_dir: the checkpoint folder chosen in the app, or None for the demo model (see mujo.models_registry).
    """

    dataset_dir: str | None = None
    chosen_over: str | None = None
    model_dir: str | None = None


def settings_path() -> Path:
    """Where the settings live: `<data_dir>/settings.json`."""
    return paths.data_dir() / SETTINGS_FILE


def _env_data() -> str | None:
    env = os.environ.get("MUJO_DATA")
    return str(Path(env).expanduser().resolve()) if env else None


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; a missing or unreadable file gives the defaults (the app must start regardless).

    Args:
        path: the JSON file (default: settings_path()).

    Returns:
        The settings; unknown keys are ignored.
    """
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    ds = raw.get("dataset_dir")
    over = raw.get("chosen_over")
    model = raw.get("model_dir")
    return Settings(
        dataset_dir=ds if isinstance(ds, str) and ds else None,
        chosen_over=over if isinstance(over, str) and over else None,
        model_dir=model if isinstance(model, str) and model else None,
    )


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (temporary file + rename) and return the file written."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            doc = asdict(settings)
            if doc.get("model_dir") is None:  # written only once a model is chosen: the file stays minimal
                doc.pop("model_dir", None)
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def choose_dataset_dir(folder: str | Path | None, path: Path | None = None, *, actor: User | None = None) -> Settings:
    """Persist the server's default dataset folder (None: back to `$MUJO_DATA` or the demo) for every session that
    has not chosen its own, and return the new settings.

    Args:
        actor: who changes it; only an admin may (`None`: the local admin of an install without logins).

    Raises:
        mujo.access.PermissionDenied: the actor is not an admin.
    """
    require(actor, Action.CHOOSE_SERVER_DATASET)
    model = load_settings(path).model_dir  # the model choice is kept
    if folder is None:
        settings = Settings(model_dir=model)
    else:
        settings = Settings(dataset_dir=str(Path(folder).expanduser().resolve()), chosen_over=_env_data(),
                            model_dir=model)
    save_settings(settings, path)
    return settings


def dataset_dir(settings: Settings | None = None) -> Path:
    """The dataset folder the app opens: the user's choice if it still applies, else `mujo.paths.default_dataset_dir()`.

    Args:
        settings: the settings to use (default: load_settings()).
    """
    settings = settings if settings is not None else load_settings()
    if settings.dataset_dir and settings.chosen_over == _env_data():
        return Path(settings.dataset_dir)
    return paths.default_dataset_dir()


def is_default_demo(folder: Path) -> bool:
    """Whether `folder` is the embedded demo dataset's location (the only folder the app builds itself)."""
    return Path(folder).resolve() == paths.demo_dataset_dir().resolve()


def data_roots() -> list[Path]:
    """The configured data roots (`$MUJO_DATA_ROOTS`, os.pathsep-separated), resolved; [] when unset (a local
    install: any folder may be opened)."""
    env = os.environ.get(DATA_ROOTS_ENV, "")
    return [Path(os.path.realpath(Path(p).expanduser())) for p in env.split(os.pathsep) if p.strip()]


def within_roots(folder: str | Path, roots: list[Path] | None = None) -> Path | None:
    """`folder` with symlinks and `..` resolved, if that lies inside one of the data roots; else None.

    Only absolute paths are accepted. Nothing is said about why a path is refused (whether it exists, or what it
    is): a visitor learns nothing about the server's files outside the roots.
    """
    roots = data_roots() if roots is None else roots
    text = str(folder).strip()
    if not text or "\0" in text:
        return None
    path = Path(text).expanduser()
    if not path.is_absolute():
        return None
    try:
        real = Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None
    return real if any(real == r or real.is_relative_to(r) for r in roots) else None
