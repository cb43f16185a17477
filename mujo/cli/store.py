"""Arguments of `mujo store backup`: a consistent copy of the SQLite store while the app runs."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add `mujo store ...`."""
    top = sub.add_parser("store", help="the SQLite store of labels, runs and results: backups")
    cmds = top.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    b = cmds.add_parser("backup", help="copy the store with SQLite's online backup (safe while the app runs)",
                        description="Copy the store with SQLite's online backup API: consistent while annotators "
                                    "write, checked, and renamed into place. DEST is a file, or a folder for a "
                                    "time-stamped mujo-YYYYmmdd-HHMMSS.sqlite.")
    b.add_argument("dest", metavar="DEST", help="file or folder to write the copy to")
    b.add_argument("--store", default=None, help="SQLite store (default: the project's, $MUJO_HOME/mujo.sqlite)")
    b.set_defaults(handler="mujo.commands.store:cmd_backup")
