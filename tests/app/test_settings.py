"""Persisted app settings: the dataset folder, and how it combines with $MUJO_DATA."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mujo import paths, settings


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MUJO_DATA", raising=False)
    return tmp_path / "home"


def test_defaults_without_a_file(home: Path) -> None:
    assert settings.load_settings() == settings.Settings()
    assert settings.dataset_dir() == paths.demo_dataset_dir()
    assert settings.is_default_demo(settings.dataset_dir())


def test_choice_is_saved_atomically_and_read_back(home: Path, tmp_path: Path) -> None:
    chosen = settings.choose_dataset_dir(tmp_path / "ds")
    assert settings.settings_path() == home / "settings.json"
    assert json.loads(settings.settings_path().read_text()) == {"dataset_dir": str((tmp_path / "ds").resolve()),
                                                                 "chosen_over": None}
    assert settings.load_settings() == chosen
    assert settings.dataset_dir() == (tmp_path / "ds").resolve()
    assert [p.name for p in home.iterdir()] == ["settings.json"]  # no temporary file left behind
    settings.choose_dataset_dir(None)
    assert settings.dataset_dir() == paths.demo_dataset_dir()


def test_env_is_the_default_and_the_choice_overrides_it(home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_DATA", str(tmp_path / "env"))
    assert settings.dataset_dir() == (tmp_path / "env").resolve()
    settings.choose_dataset_dir(tmp_path / "mine")
    assert settings.dataset_dir() == (tmp_path / "mine").resolve()
    # MUJO_DATA changed since the choice: the newer instruction wins
    monkeypatch.setenv("MUJO_DATA", str(tmp_path / "env2"))
    assert settings.dataset_dir() == (tmp_path / "env2").resolve()


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"dataset_dir": 5}'])
def test_corrupt_file_falls_back_to_defaults(home: Path, content: str) -> None:
    home.mkdir(parents=True)
    (home / "settings.json").write_text(content)
    assert settings.dataset_dir() == paths.demo_dataset_dir()
