"""Access and roles in the library: the access file, `mujo users`, `require`, the guarded actions, the data roots and
the store's backup."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from mujo import access, actions, jobs, settings
from mujo.access import AccessFileError, Action, PermissionDenied, Role, User
from mujo.cli import main
from mujo.store import Store
from mujo.store.backup import backup_store

VIEWER, ANNOTATOR, ADMIN = (User("vera", Role.VIEWER), User("anna", Role.ANNOTATOR), User("adam", Role.ADMIN))
PW = "correct horse battery"


def test_add_user_writes_a_bcrypt_hash_atomically_with_a_secret_beside(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    af = access.add_user(path, "anna", "annotator", PW, display_name="Anna A.")
    text = path.read_text()
    assert PW not in text and "$2b$" in text
    assert af.user("ANNA") == User("anna", Role.ANNOTATOR, "Anna A.")  # the form lower-cases what is typed
    assert access.password_matches(PW, af.accounts["anna"].password_hash)
    assert not access.password_matches("wrong password", af.accounts["anna"].password_hash)
    from streamlit_authenticator.utilities import Hasher  # noqa: PLC0415  (the login form's own check)

    assert Hasher.check_pw(PW, af.accounts["anna"].password_hash)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = tmp_path / "users.yaml.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600 and af.cookie_key == secret.read_text().strip()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.yaml", "users.yaml.secret"]  # no temporary left
    with pytest.raises(ValueError, match="exists"):
        access.add_user(path, "anna", "admin", PW)
    af = access.add_user(path, "anna", "admin", PW + "!", replace=True)
    assert af.user("anna").role == Role.ADMIN and af.cookie_key == secret.read_text().strip()  # the key is kept
    access.add_user(path, "vera", "viewer", PW)
    assert set(access.remove_user(path, "anna").accounts) == {"vera"}
    with pytest.raises(ValueError, match="only user"):
        access.remove_user(path, "vera")


def test_a_cookie_key_in_the_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    h = access.hash_password(PW)
    path.write_text(f"cookie:\n  key: a-long-enough-signing-key\n  expiry_days: 0\nusers:\n  adam:\n    role: admin\n"
                    f"    password: '{h}'\n")
    af = access.read_access_file(path)
    assert af.cookie_key == "a-long-enough-signing-key" and af.cookie_expiry_days == 0
    assert not (tmp_path / "users.yaml.secret").exists()


@pytest.mark.parametrize(("content", "says"), [
    ("users: [", "not valid YAML"),
    ("- a\n- b\n", "not a mapping"),
    ("users: {}\n", "no users"),
    ("users:\n  adam:\n    role: boss\n    password: x\n", "unknown role"),
    ("users:\n  adam:\n    role: admin\n    password: hunter2hunter2\n", "bcrypt hash"),
    ("users:\n  Adam Smith:\n    role: admin\n    password: x\n", "invalid user name"),
    ("users:\n  adam: admin\n", "expected a mapping"),
    ("cookie:\n  key: short\nusers:\n  adam:\n    role: admin\n    password: '{h}'\n", "cookie.key"),
    ("cookie:\n  expiry_days: soon\nusers:\n  adam:\n    role: admin\n    password: '{h}'\n", "expiry_days"),
    ("userz:\n  adam: {}\n", "unknown top-level"),
])
def test_a_malformed_access_file_is_an_error_naming_it(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(content.replace("{h}", access.hash_password(PW)))
    with pytest.raises(AccessFileError, match=says) as e:
        access.read_access_file(path)
    assert str(path) in str(e.value)
    with pytest.raises(AccessFileError):  # and `mujo users add` does not rewrite a broken file
        access.add_user(path, "eve", "viewer", PW)


def test_a_missing_access_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(AccessFileError, match=str(tmp_path / "nope.yaml")):
        access.read_access_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize("bad", ["short", " leading space", "x" * 73, "é" * 37])
def test_weak_or_unhashable_passwords_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        access.hash_password(bad)


def test_mujo_users_add_reads_the_password_from_stdin(tmp_path: Path) -> None:
    path = tmp_path / "lab" / "users.yaml"
    run = [sys.executable, "-m", "mujo.cli", "users"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("MUJO_AUTH", None)
    out = subprocess.run([*run, "add", "anna", "--role", "annotator", "--file", str(path)], input=PW + "\n",
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert access.read_access_file(path).user("anna").role == Role.ANNOTATOR
    out = subprocess.run([*run, "list"], capture_output=True, text=True, env={**env, "MUJO_AUTH": str(path)},
                         timeout=60)
    assert out.returncode == 0 and out.stdout.split() == ["anna", "annotator"]
    out = subprocess.run([*run, "add", "eve", "--role", "viewer", "--file", str(path)], input="short\n",
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 1 and "at least" in out.stderr


def test_require_and_the_three_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUJO_AUTH", raising=False)
    for action in Action:
        assert ADMIN.can(action)
    assert VIEWER.can(Action.VIEW) and not VIEWER.can(Action.LABEL)
    assert ANNOTATOR.can(Action.LABEL) and not ANNOTATOR.can(Action.PRETRAIN)
    with pytest.raises(PermissionDenied, match="vera \\(viewer\\) may not label; that needs the annotator role"):
        access.require(VIEWER, Action.LABEL)
    assert access.require(None, Action.PRETRAIN).role == Role.ADMIN  # no access file: the local admin
    monkeypatch.setenv("MUJO_AUTH", "/nonexistent/users.yaml")
    with pytest.raises(PermissionDenied):  # with one, nobody named is nobody
        access.require(None, Action.LABEL)


def test_the_guarded_actions_refuse_before_the_library_runs(tmp_path: Path, monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(actions.jobs, "start", lambda *a, **k: calls.append("job"))
    monkeypatch.setattr(actions.sweep, "create_sweep", lambda *a, **k: calls.append("sweep"))
    monkeypatch.setattr(actions.sweep, "start_sweep_job", lambda *a, **k: calls.append("sweep"))
    monkeypatch.setattr(actions.sweep, "cancel_sweep", lambda *a, **k: calls.append("sweep"))
    monkeypatch.setattr(actions, "import_bytes", lambda *a, **k: calls.append("import"))
    monkeypatch.setattr(actions, "write_clip_labels", lambda *a, **k: calls.append("clips"))
    monkeypatch.setattr(actions.models_registry, "choose_model_dir", lambda *a, **k: calls.append("model"))
    store = Store(tmp_path / "s.sqlite")
    attempts = [
        (lambda u: actions.start_pretrain(u, "pretrain-x", ["pretrain"]), Role.ADMIN),
        (lambda u: actions.create_sweep(u, None), Role.ADMIN),
        (lambda u: actions.start_sweep(u, 1), Role.ADMIN),
        (lambda u: actions.cancel_sweep(u, 1), Role.ADMIN),
        (lambda u: actions.import_labels(u, store, "k", "a.csv", b""), Role.ADMIN),
        (lambda u: actions.write_clips_csv(u, None, tmp_path), Role.ADMIN),
        (lambda u: actions.choose_model(u, None), Role.ADMIN),
        (lambda u: actions.label_store(u, store), Role.ANNOTATOR),
    ]
    for attempt, needs in attempts:
        for user in (VIEWER, ANNOTATOR, ADMIN):
            if user.role >= needs:
                attempt(user)
            else:
                with pytest.raises(PermissionDenied):
                    attempt(user)
    assert calls == ["job", "sweep", "sweep", "sweep", "import", "clips", "model"]  # the admin's calls only
    assert actions.label_store(ANNOTATOR, store) is store


def test_only_an_admin_changes_the_servers_default_dataset(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    for user in (VIEWER, ANNOTATOR):
        with pytest.raises(PermissionDenied):
            settings.choose_dataset_dir(tmp_path, actor=user)
    assert not settings.settings_path().exists()
    settings.choose_dataset_dir(tmp_path, actor=ADMIN)
    assert settings.dataset_dir() == tmp_path.resolve()


def test_within_roots_resolves_links_and_dots_first(tmp_path: Path, monkeypatch) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "ds").mkdir(parents=True)
    (outside / "secret").mkdir(parents=True)
    (root / "escape").symlink_to(outside)  # a link inside the root to a folder outside it
    (root / "inner").symlink_to(root / "a")  # a link that stays inside
    monkeypatch.setenv(settings.DATA_ROOTS_ENV, f"{root}{os.pathsep}{tmp_path / 'second'}")
    assert settings.data_roots() == [root.resolve(), (tmp_path / "second").resolve()]
    assert settings.within_roots(root / "a" / "ds") == (root / "a" / "ds").resolve()
    assert settings.within_roots(str(root)) == root.resolve()
    assert settings.within_roots(root / "inner" / "ds") == (root / "a" / "ds").resolve()
    for escape in (root / "escape" / "secret", root / "escape", f"{root}/a/../../outside/secret", f"{root}/..",
                   "/etc", "a/ds", "", f"{root}/a/\0"):
        assert settings.within_roots(escape) is None, escape
    monkeypatch.delenv(settings.DATA_ROOTS_ENV)
    assert settings.data_roots() == [] and settings.within_roots(root) is None


def test_store_backup_copies_a_consistent_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "mujo.sqlite")
    store.add_label_event("ds", "clip1", "null", annotator="anna")
    out = backup_store(f"{tmp_path / 'backups'}/", store)
    assert out.parent == tmp_path / "backups" and out.name.startswith("mujo-") and out.suffix == ".sqlite"
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary file left, no -wal
    with closing(sqlite3.connect(out)) as conn:  # one self-contained file (opening it as a Store makes it WAL)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert Store(out).label_events("ds", "clip1")["label"].tolist() == ["null"]
    with pytest.raises(ValueError, match="the store itself"):
        backup_store(store.path, store)
    with pytest.raises(FileNotFoundError):
        backup_store(tmp_path / "x.sqlite", tmp_path / "none.sqlite")
    assert main(["store", "backup", str(tmp_path / "copy.sqlite"), "--store", str(store.path)]) == 0
    assert Store(tmp_path / "copy.sqlite").label_events("ds", "clip1")["annotator"].tolist() == ["anna"]


def test_jobs_started_through_the_guarded_actions_belong_to_the_actor(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MUJO_HOME", str(tmp_path / "home"))
    status = actions.start_pretrain(ADMIN, "pretrain-owned", ["jobs", "sleep", "0"])
    assert status.state in (jobs.RUNNING, jobs.DONE), status
    assert [j.owner for j in jobs.list_jobs()] == [ADMIN.name]
