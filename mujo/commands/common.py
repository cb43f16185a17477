"""Shared pieces of the `mujo` commands: exit codes and a tqdm progress bar fed by progress callbacks."""

from __future__ import annotations

from typing import Callable

EXIT_OK, EXIT_UNUSABLE, EXIT_USAGE = 0, 1, 2


class Bar:
    """A tqdm progress bar fed by the library's (fraction, message) progress callbacks."""

    def __init__(self, desc: str):
        from tqdm import tqdm

        self._bar = tqdm(total=1000, desc=desc, unit="‰", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}")

    def __call__(self, fraction: float, message: str) -> None:
        self._bar.n = int(round(1000 * min(max(fraction, 0.0), 1.0)))
        self._bar.set_postfix_str(message, refresh=True)

    def close(self) -> None:
        self._bar.close()


def with_bar(desc: str, fn: Callable[[Bar], object]) -> object:
    """Run fn(bar) with a progress bar that is closed however fn ends."""
    bar = Bar(desc)
    try:
        return fn(bar)
    finally:
        bar.close()


