"""Who may do what: the three roles of a lab server and the actions each may take.

Without an access file (`$MUJO_AUTH` unset) MuJo Studio is one person's tool on localhost: everyone is the local
admin and nothing asks for a login. With one, every page asks for a login first (mujo.ui.access) and the library
checks the logged-in user's role before each guarded action (`require`), so a role that may not do something is
refused even when a page forgets to hide the control.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from enum import IntEnum, StrEnum

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


def require(user: User, action: Action | str) -> None:
    """Raise PermissionDenied unless `user` may take `action`."""
    if not user.can(action):
        raise PermissionDenied(user, action)


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
