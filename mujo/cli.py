"""The `mujo` command: every module in `mujo.commands` with a `register(subparsers)` adds its sub-commands."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from typing import Sequence

import mujo.commands


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mujo", description="MuJo Studio: FiMAD datasets, joint embeddings, HAR.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(mujo.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"mujo.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
