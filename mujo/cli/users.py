"""Arguments of `mujo users add | remove | list | hash`: the access file ($MUJO_AUTH) of a lab server."""

from __future__ import annotations

import argparse

_FILE_HELP = "the access file (default: $MUJO_AUTH)"


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo users ...`."""
    top = sub.add_parser("users", help="who may log in to the app, and with which role (the access file)",
                         description="Edit the access file that $MUJO_AUTH names (docs/lab-server.md). Passwords are "
                                     "stored as bcrypt hashes; the file is written atomically, readable by its owner "
                                     "only.")
    cmds = top.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    a = cmds.add_parser("add", help="add a user (or --replace one's role and password)",
                        description="Add a user. The password is asked for twice on a terminal, or read as the first "
                                    "line of standard input (printf '%s\\n' \"$PW\" | mujo users add ...).")
    a.add_argument("name", metavar="NAME", help="login name: lower-case letters, digits, '.', '_' or '-'")
    a.add_argument("--role", required=True, choices=["viewer", "annotator", "admin"],
                   help="viewer: browse and look; annotator: + labelling; admin: + server default dataset, "
                        "pre-training, sweeps, label import, clips.csv")
    a.add_argument("--display-name", default="", help="name shown in the app (default: the login name)")
    a.add_argument("--replace", action="store_true", help="change an existing user's role and password")
    a.add_argument("--file", default=None, help=_FILE_HELP)
    a.set_defaults(handler="mujo.commands.users:cmd_add")
    r = cmds.add_parser("remove", help="remove a user")
    r.add_argument("name", metavar="NAME")
    r.add_argument("--file", default=None, help=_FILE_HELP)
    r.set_defaults(handler="mujo.commands.users:cmd_remove")
    ls = cmds.add_parser("list", help="users and roles (checks the file)")
    ls.add_argument("--file", default=None, help=_FILE_HELP)
    ls.set_defaults(handler="mujo.commands.users:cmd_list")
    h = cmds.add_parser("hash", help="print the bcrypt hash of a password (for editing the file by hand)")
    h.set_defaults(handler="mujo.commands.users:cmd_hash")
