"""Counting the SQL statements a piece of work sends to a node's database (issue 13's budgets).

``counted(ctx)`` listens to the engine's ``before_cursor_execute``: every statement the driver
runs (``BEGIN``/``COMMIT`` are not statements here; SQLite's are implicit, PostgreSQL's go
through the connection, not a cursor). The statements are kept, so a failing budget shows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite.core
import pytest
from sqlalchemy import event

from node.services.context import NodeContext
from node.store import _memo
from node.store.db import Database


class Statements(list[str]):
    """The statements sent, first line of each; and the commits (``commits``)."""

    commits = 0

    def within(self, budget: int) -> bool:
        return len(self) <= budget

    def __str__(self) -> str:
        return f"{len(self)} statements:\n" + "\n".join(f"  {s}" for s in self)


@contextmanager
def counted(ctx: NodeContext) -> Iterator[Statements]:
    with counted_engine(ctx.db) as sent:
        yield sent


@contextmanager
def counted_engine(db: Database) -> Iterator[Statements]:
    """The statements and commits of ``db``'s engine, and of its in-line paths
    (``Database.first(..., seen=True)``, ``Database.write_inline``), which show theirs to it."""
    sent = Statements()

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split())[:160])

    def commit(_conn: Any) -> None:
        sent.commits += 1

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", hook)
    event.listen(engine, "commit", commit)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", hook)
        event.remove(engine, "commit", commit)


@pytest.fixture
def held_long(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows held in memory stay held for the whole test (not timed: a slow machine must not
    make a budget test fail because two seconds passed between warming up and measuring)."""
    monkeypatch.setattr(_memo, "HOLD_SECONDS", 3600.0)


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The functions sent to aiosqlite's thread (SQLite), each with its statement if it has one."""
    sent: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counting(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        statement = next((a for a in args if isinstance(a, str)), "")
        sent.append(" ".join(f"{getattr(fn, '__name__', fn)} {statement}".split())[:160])
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counting)
    yield sent
