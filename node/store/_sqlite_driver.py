"""aiosqlite with one thread hand-off per statement instead of four.

SQLAlchemy's aiosqlite adapter awaits aiosqlite for each step of a statement: open a cursor,
execute, fetch the rows, close the cursor — four trips to aiosqlite's thread and back to the
event loop. The cursor here sends one function that does all four on that thread
(``aiosqlite.Connection._execute``, what aiosqlite's own methods use) and keeps the
description, row count, last row id and rows it returns. Nothing else changes: the same
connection, thread, transaction and statements; server-side cursors keep SQLAlchemy's.
``create_engine`` (``node.store.db``) passes ``module=dbapi()`` for SQLite URLs.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Done = tuple[Any, int, int | None, list[Any] | None]  # description, rowcount, lastrowid, rows


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Done:
    """One statement on aiosqlite's thread: cursor, execute, fetch, close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class _Finished:
    """What a finished statement left: the attributes SQLAlchemy reads from a cursor."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, done: Done | None = None) -> None:
        found: Done = done or (None, -1, None, None)
        self.description: Any = found[0]
        self.rowcount: int = found[1]
        self.lastrowid: int | None = found[2]
        self.arraysize = 1

    def close(self) -> None:
        return None


class OneHandOffCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False  # nothing left open on the other thread

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = _Finished()  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._send(operation, parameters, many=False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        try:
            return await_(self._send(operation, seq_of_parameters, many=True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _send(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        async with self._adapt_connection._execute_mutex:
            connection = self._connection
            done: Done = await connection._execute(
                _run, connection._conn, operation, parameters, many)
        self._cursor = _Finished(done)  # type: ignore[assignment]
        if done[3] is not None:
            self._rows = collections.deque(done[3])
        return self


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHandOffCursor


class OneHandOffDbapi(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneHandOffConnection(self, adapted._connection)


def dbapi() -> OneHandOffDbapi:
    return OneHandOffDbapi(__import__("aiosqlite"), __import__("sqlite3"))
