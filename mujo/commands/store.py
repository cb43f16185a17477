"""`mujo store backup`: a consistent copy of the store while the app runs (mujo.store.backup)."""

from __future__ import annotations

import argparse
import sqlite3
import sys

from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE
from mujo.store.backup import backup_store


def cmd_backup(args: argparse.Namespace) -> int:
    try:
        out = backup_store(args.dest, args.store)
    except (OSError, ValueError, sqlite3.Error) as e:
        print(f"mujo store backup: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(out)
    return EXIT_OK
