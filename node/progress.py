"""A progress bar on the terminal for long commands (``kennisknoop import``), with ``rich``.

    with progress(total=len(rows), description="initiatives") as advance:
        for row in rows:
            ...
            advance()        # or advance(n)

The bar is drawn on standard error, and only when standard error is a terminal: in a pipe, a
log file, cron or the tests it draws nothing and ``advance`` does nothing, so the command's
own output stays clean. Use cases (``node.services``) never import this: they take an
``advance`` callable, and the command line passes the one yielded here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Advance = Callable[..., None]  # advance(n: int = 1)


def _quiet(n: int = 1) -> None:
    """Nothing to draw."""


@contextmanager
def progress(total: int | None, description: str, *, stream: TextIO | None = None
             ) -> Iterator[Advance]:
    """A bar for ``total`` steps (None: unknown, a spinner and a count); yields ``advance(n=1)``.

    ``stream``: where to draw (default standard error); nothing is drawn unless it is a TTY.
    """
    out = stream if stream is not None else sys.stderr
    if not out.isatty():
        yield _quiet
        return
    from rich.console import Console  # only when a bar is drawn: rich takes a while to import
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   MofNCompleteColumn(), TimeRemainingColumn(),
                   console=Console(file=out), transient=False)
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance
