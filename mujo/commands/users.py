"""`mujo users add | remove | list | hash`: the access file of a lab server (mujo.access)."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from mujo import access
from mujo.commands.common import EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE


def _file(args: argparse.Namespace) -> Path:
    path = Path(args.file).expanduser() if args.file else access.access_path()
    if path is None:
        raise LookupError(f"no access file: give --file or set ${access.AUTH_ENV}")
    return path


def read_password(confirm: bool = True) -> str:
    """The password: asked for (twice) on a terminal, else the first line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _fail(name: str, e: BaseException, code: int = EXIT_UNUSABLE) -> int:
    print(f"mujo users {name}: {e}", file=sys.stderr)
    return code


def cmd_add(args: argparse.Namespace) -> int:
    try:
        path = _file(args)
        access.check_username(args.name)
        done = access.add_user(path, args.name, args.role, read_password(), display_name=args.display_name,
                               replace=args.replace)
    except LookupError as e:
        return _fail("add", e, EXIT_USAGE)
    except (ValueError, OSError) as e:  # AccessFileError is a ValueError
        return _fail("add", e)
    print(f"{args.name} ({args.role}) is in {done.path}")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace) -> int:
    try:
        done = access.remove_user(_file(args), args.name)
    except LookupError as e:
        return _fail("remove", e, EXIT_USAGE)
    except (ValueError, OSError) as e:
        return _fail("remove", e)
    print(f"{args.name} removed from {done.path}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    try:
        af = access.read_access_file(_file(args))
    except LookupError as e:
        return _fail("list", e, EXIT_USAGE)
    except ValueError as e:
        return _fail("list", e)
    for name, acc in sorted(af.accounts.items()):
        shown = f" ({acc.user.display_name})" if acc.user.display_name else ""
        print(f"{name}\t{acc.user.role.label}{shown}")
    return EXIT_OK


def cmd_hash(args: argparse.Namespace) -> int:
    try:
        print(access.hash_password(read_password()))
    except ValueError as e:
        return _fail("hash", e)
    return EXIT_OK
