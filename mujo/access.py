"""Who may do what: the three roles of a lab server and the actions each may take.

Without an access file (`$MUJO_AUTH` unset) MuJo Studio is one person's tool on localhost: everyone is the local
admin and nothing asks for a login. With one, every page asks for a login first (mujo.ui.access) and the library
checks the logged-in user's role before each guarded action (`require`), so a role that may not do something is
refused even when a page forgets to hide the control.
"""

from __future__ import annotations

import getpass
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from pathlib import Path

import bcrypt
import yaml

AUTH_ENV = "MUJO_AUTH"


class Role(IntEnum):
    """The roles, each allowed everything the one below it is."""

    VIEWER = 1  # browse, embedding space, retrieval, zero-shot, results
    ANNOTATOR = 2  # a viewer who labels clips
    ADMIN = 3  # an annotator who changes the server's default dataset, starts pre-training and sweeps, imports
    # labels and writes clips.csv

    @classmethod
    def parse(cls, value: object) -> Role:
        """A role from its name ("viewer", "annotator", "admin"; any case)."""
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {value!r}; use one of {', '.join(r.name.lower() for r in cls)}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    """What the library guards."""

    VIEW = "view"
    LABEL = "label"
    RUN_LIGHT_JOB = "run_light_job"  # embeddings, UMAP projections, zero-shot runs: what viewing needs
    CHOOSE_SERVER_DATASET = "choose_server_dataset"
    PRETRAIN = "pretrain"
    SWEEP = "sweep"
    IMPORT_LABELS = "import_labels"
    WRITE_CLIPS_CSV = "write_clips_csv"


MIN_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.RUN_LIGHT_JOB: Role.VIEWER,
    Action.LABEL: Role.ANNOTATOR,
    Action.CHOOSE_SERVER_DATASET: Role.ADMIN,
    Action.PRETRAIN: Role.ADMIN,
    Action.SWEEP: Role.ADMIN,
    Action.IMPORT_LABELS: Role.ADMIN,
    Action.WRITE_CLIPS_CSV: Role.ADMIN,
}


@dataclass(frozen=True)
class User:
    """A logged-in user (or the local user when no access file is configured)."""

    name: str
    role: Role
    display_name: str = ""

    def can(self, action: Action | str) -> bool:
        return self.role >= MIN_ROLE[Action(action)]


class PermissionDenied(PermissionError):
    """A user tried an action their role does not allow."""

    def __init__(self, user: User, action: Action | str):
        self.user, self.action = user, Action(action)
        need = MIN_ROLE[self.action].label
        super().__init__(f"{user.name or 'this user'} ({user.role.label}) may not {self.action.value.replace('_', ' ')}"
                         f"; that needs the {need} role")


ANONYMOUS = User(name="", role=Role.VIEWER)  # who acts when nobody is named on a server with logins


def require(user: User | None, action: Action | str) -> User:
    """Raise PermissionDenied unless `user` may take `action`; returns the user who acts.

    `None` names nobody: the local admin of an install without an access file, and on a server with logins an
    anonymous visitor, refused anything beyond viewing (a caller that forgot to pass the user fails closed).
    """
    if user is None:
        user = ANONYMOUS if auth_configured() else local_user()
    if not user.can(action):
        raise PermissionDenied(user, action)
    return user


def auth_configured() -> bool:
    """Whether an access file is configured ($MUJO_AUTH set and non-empty)."""
    return bool(os.environ.get(AUTH_ENV, "").strip())


def local_user() -> User:
    """The one person of an unconfigured install: the OS user, with every right."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return User(name=name, role=Role.ADMIN)


# --- the access file ($MUJO_AUTH): who may log in, with which role ----------------------------------------------
# users.yaml (docs/lab-server.md):
#   cookie:                     # optional
#     name: mujo_studio_auth    # the re-login cookie's name
#     expiry_days: 7            # 0: no re-login cookie, every new tab logs in
#     key: ...                  # the cookie's signing key; absent: a secret generated once in users.yaml.secret
#   users:
#     alice:                    # the login name (lower case: the login form lower-cases what is typed)
#       name: Alice Example     # optional display name
#       role: annotator         # viewer | annotator | admin
#       password: $2b$12$...    # a bcrypt hash (`mujo users add`), never the password itself
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
BCRYPT_RE = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
DEFAULT_COOKIE = "mujo_studio_auth"
DEFAULT_EXPIRY_DAYS = 7.0
MIN_PASSWORD = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads at most 72 bytes; longer ones are refused rather than cut
SECRET_SUFFIX = ".secret"


class AccessFileError(ValueError):
    """The access file is missing, unreadable or malformed; the message names the file. Nobody gets in."""


@dataclass(frozen=True)
class Account:
    """One entry of the access file."""

    user: User
    password_hash: str


@dataclass(frozen=True)
class AccessFile:
    """The parsed access file."""

    path: Path
    accounts: dict[str, Account]
    cookie_name: str
    cookie_key: str
    cookie_expiry_days: float

    def user(self, name: str | None) -> User | None:
        """The user with this login name, or None."""
        acc = self.accounts.get(str(name or "").strip().lower())
        return acc.user if acc else None


def access_path() -> Path | None:
    """The configured access file ($MUJO_AUTH), or None when MuJo Studio runs without logins."""
    env = os.environ.get(AUTH_ENV, "").strip()
    return Path(env).expanduser().resolve() if env else None


def check_username(name: str) -> str:
    """The login name if it is valid (lower-case letters, digits, '.', '_', '-'; up to 64), else ValueError."""
    if not USERNAME_RE.match(name or ""):
        raise ValueError(f"invalid user name {name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    """The password if it may be hashed, else ValueError (the login form strips spaces around what is typed)."""
    if password != password.strip():
        raise ValueError("the password may not start or end with a space")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"the password may have at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)")
    return password


def hash_password(password: str) -> str:
    """A bcrypt hash of the password (the format streamlit-authenticator's Hasher writes and checks)."""
    return bcrypt.hashpw(check_password(password).encode(), bcrypt.gensalt()).decode()


def password_matches(password: str, password_hash: str) -> bool:
    """Whether the password matches a bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:
        return False


def _secret(path: Path) -> str:
    """The cookie key kept beside the access file (`users.yaml.secret`), made once (mode 0600) when absent."""
    secret = path.with_name(path.name + SECRET_SUFFIX)
    try:
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as e:
        raise AccessFileError(f"{path}: no cookie key in the file, and {secret} cannot be created: {e}") from None
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
    try:
        key = secret.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise AccessFileError(f"{path}: cannot read the cookie key {secret}: {e}") from None
    if len(key) < 16:
        raise AccessFileError(f"{path}: the cookie key in {secret} is shorter than 16 characters")
    return key


def _parse(path: Path, doc: object) -> AccessFile:
    def bad(what: str) -> AccessFileError:
        return AccessFileError(f"{path}: {what}")

    if not isinstance(doc, dict):
        raise bad("not a mapping with 'users:' (see docs/lab-server.md)")
    unknown = set(doc) - {"users", "cookie"}
    if unknown:
        raise bad(f"unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}")
    cookie = doc.get("cookie") or {}
    if not isinstance(cookie, dict):
        raise bad("'cookie' must be a mapping (name, expiry_days, key)")
    users = doc.get("users")
    if not isinstance(users, dict) or not users:
        raise bad("no users: add one with `mujo users add NAME --role admin`")
    accounts: dict[str, Account] = {}
    for name, entry in users.items():
        try:
            check_username(str(name))
        except ValueError as e:
            raise bad(str(e)) from None
        if not isinstance(entry, dict):
            raise bad(f"user {name!r}: expected a mapping with role and password")
        try:
            role = Role.parse(entry.get("role"))
        except ValueError as e:
            raise bad(f"user {name!r}: {e}") from None
        pw = entry.get("password")
        if not isinstance(pw, str) or not BCRYPT_RE.match(pw):
            raise bad(f"user {name!r}: 'password' must be a bcrypt hash (`mujo users add` writes one), never the "
                      "password itself")
        display = entry.get("name")
        accounts[str(name)] = Account(User(str(name), role, str(display) if display else ""), pw)
    key = cookie.get("key")
    if key is not None and (not isinstance(key, str) or len(key) < 16):
        raise bad("'cookie.key' must be a text of at least 16 characters")
    try:
        days = float(cookie.get("expiry_days", DEFAULT_EXPIRY_DAYS))
    except (TypeError, ValueError):
        raise bad("'cookie.expiry_days' must be a number") from None
    if not 0 <= days <= 365:
        raise bad("'cookie.expiry_days' must be between 0 and 365")
    name = str(cookie.get("name") or DEFAULT_COOKIE)
    return AccessFile(path, accounts, name, key or _secret(path), days)


_CACHE: dict[Path, tuple[tuple[int, int], AccessFile]] = {}


def read_access_file(path: str | Path | None = None) -> AccessFile:
    """Read and check the access file (default: $MUJO_AUTH), re-read when it changes.

    Raises:
        AccessFileError: the file is missing, unreadable or malformed (the message names it).
    """
    path = Path(path).expanduser().resolve() if path else access_path()
    if path is None:
        raise AccessFileError(f"${AUTH_ENV} is not set")
    try:
        info = path.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        cached = _CACHE.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise AccessFileError(f"{path}: cannot read the access file: {e.strerror or e}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise AccessFileError(f"{path}: not valid YAML: {e}") from None
    access = _parse(path, doc)
    _CACHE[path] = (stamp, access)
    return access


def _load_doc(path: Path) -> dict:
    if not path.exists():
        return {"users": {}}
    read_access_file(path)  # refuse to rewrite a file that is already broken
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _write_doc(path: Path, doc: dict) -> None:
    """Write the access file atomically (temporary file in the same folder + rename), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# MuJo Studio access file (docs/lab-server.md); edit users with `mujo users`.\n")
            yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_user(path: str | Path, name: str, role: Role | str, password: str, *, display_name: str = "",
             replace: bool = False) -> AccessFile:
    """Add a user to the access file (created when absent), the password stored as a bcrypt hash.

    Args:
        replace: change an existing user's role and password; without it an existing name is an error.

    Returns:
        The access file as written.
    """
    path = Path(path).expanduser().resolve()
    check_username(name)
    role = role if isinstance(role, Role) else Role.parse(role)
    doc = _load_doc(path)
    users = doc.setdefault("users", {})
    if name in users and not replace:
        raise ValueError(f"{path}: user {name!r} exists (--replace changes the role and password)")
    entry = {"role": role.label, "password": hash_password(password)}
    if display_name:
        entry = {"name": display_name, **entry}
    users[name] = entry
    _write_doc(path, doc)
    return read_access_file(path)


def remove_user(path: str | Path, name: str) -> AccessFile:
    """Remove a user (never the last one: a file without users lets nobody in); returns the file as written."""
    path = Path(path).expanduser().resolve()
    doc = _load_doc(path)
    if name not in (doc.get("users") or {}):
        raise ValueError(f"{path}: no user {name!r}")
    if len(doc["users"]) == 1:
        raise ValueError(f"{path}: {name!r} is the only user; an access file without users lets nobody in")
    del doc["users"][name]
    _write_doc(path, doc)
    return read_access_file(path)
