"""aiosqlite with short statements in-line on the event loop, and everything else in one hand-off.

SQLAlchemy's aiosqlite adapter awaits aiosqlite for each step of a statement: open a cursor,
execute, fetch the rows, close the cursor — four trips to aiosqlite's thread and back to the
event loop. A hand-off costs more than the short statements of the hot paths themselves, so the
cursor here runs a statement on the loop thread itself, on the same ``sqlite3`` connection, when
that is known to be short and never waits:

- **short**: a ``SELECT``, ``INSERT``, ``UPDATE`` or ``DELETE`` (``REPLACE``, ``WITH``) whose
  query plan (``EXPLAIN QUERY PLAN``, asked once per SQL text and remembered) looks rows up by
  key or index only — no ``SCAN`` of a table or index, no virtual table (FTS5: a search, or its
  index being written), no many-row ``executemany``. A ``SELECT`` run in-line also has a budget
  of virtual-machine steps (``set_progress_handler``): an index range that turns out wide is
  interrupted (harmless for a read) and run on the thread, and its SQL is never tried in-line again.
- **never waits**: in-line statements run with ``busy_timeout`` 0. If another connection (the
  worker process, a CLI) holds the write lock, the statement fails at once with ``SQLITE_BUSY``
  before changing anything and is sent to aiosqlite's thread, which waits with the configured
  busy timeout while the loop goes on.

Everything else — scans, searches, PRAGMAs, DDL, savepoints, ``COMMIT`` of a write (it may
checkpoint the WAL) — is one hand-off: one function doing cursor, execute, fetch and close on
aiosqlite's thread (``aiosqlite.Connection._execute``, what aiosqlite's own methods use). A
rollback, and a commit with nothing written, run in-line. So a write unit of work is one hand-off
(its commit) plus one per statement that scans. Only one thread touches the connection at a time:
the connection is checked out by one task, which awaits every hand-off before its next statement
(and in-line runs only while the adapter's execute mutex is free), so the ``sqlite3`` connection
is opened with ``check_same_thread=False``. ``create_engine`` (``node.store.db``) passes
``module=dbapi()`` for SQLite URLs. The decision and its figures: docs/performance.md,
"Thread hand-offs".
"""

from __future__ import annotations

import collections
import re
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Done = tuple[Any, int, int | None, list[Any] | None]  # description, rowcount, lastrowid, rows

_SHORT_KINDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")
_MANY_INLINE = 16  # an executemany of more rows than this is a batch: the thread
_PROGRESS_EVERY = 1000  # virtual-machine steps between two calls of the budget check
_BUDGET = 10  # calls: 10,000 steps (0.8 ms here, fetching rows) before a SELECT goes to the thread
# A scan of the statement's own VALUES rows (SQLite 3.40 / newer wording), not of a table:
_OWN_ROWS = re.compile(r"SCAN (CONSTANT ROW|\d+ CONSTANT ROWS|\d+-ROW VALUES CLAUSE)$")
_DDL = ("CREATE", "DROP ", "ALTER ")  # the schema changes: verdicts are asked again
_REMEMBERED = 4096  # SQL texts whose verdict is kept (text() with literals must not grow it)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Done:
    """One statement: cursor, execute, fetch, close."""
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


def _run_patient(conn: sqlite3.Connection, patience: int | None, operation: str,
                 parameters: Any, many: bool) -> Done:
    """On aiosqlite's thread: the busy timeout back first if in-line statements had set it to 0."""
    if patience is not None:
        conn.execute(f"PRAGMA busy_timeout={patience:d}")
    return _run(conn, operation, parameters, many)


def _commit(conn: sqlite3.Connection, patience: int | None) -> bool:
    """On aiosqlite's thread: commit. In WAL mode a commit takes no new lock, so it never waits
    and in-line statements' busy timeout of 0 stays; should it meet a lock all the same (another
    journal mode), the busy timeout comes back and the commit is tried again. True: it came back."""
    try:
        conn.commit()
        return False
    except sqlite3.OperationalError as error:
        if patience is None or not _is_busy(error):
            raise
    conn.execute(f"PRAGMA busy_timeout={patience:d}")
    conn.commit()
    return True


async def _ran() -> None:
    """Nothing: SQLAlchemy's ``AsyncConnection.execute`` refuses a statement that awaited
    nothing (``AwaitRequired``); awaiting this returns at once, without a trip through the loop."""


def _is_busy(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _is_interrupt(error: sqlite3.Error) -> bool:
    return getattr(error, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_INTERRUPT


def _names(name: str, sql: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", sql, re.IGNORECASE) is not None


def _plan_is_short(conn: sqlite3.Connection, operation: str, parameters: Any) -> bool:
    """Whether ``operation`` only looks rows up by key or index (asked of SQLite, not run)."""
    head = operation.lstrip()[:8].upper()
    if not head.startswith(_SHORT_KINDS):
        return False
    try:
        virtual = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")]
        if any(_names(name, operation) for name in virtual):
            return False
        # A trigger writing an FTS5 table (the search index) makes the write one too, and so
        # does a trigger writing a table that has such a trigger (``batched_writes``).
        triggers = conn.execute(
            "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        writing = set(virtual)
        while True:
            more = {table for table, trigger in triggers if table not in writing
                    and any(_names(name, trigger) for name in writing)}
            if not more:
                break
            writing |= more
        if any(_names(table, operation) for table in writing - set(virtual)):
            return False
        plan = conn.execute(f"EXPLAIN QUERY PLAN {operation}",
                            () if parameters is None else parameters).fetchall()
    except sqlite3.Error:
        return False
    for row in plan:
        detail: str = row[3]
        if "VIRTUAL TABLE" in detail or (
                detail.startswith("SCAN ") and not _OWN_ROWS.match(detail)):
            return False
    return True


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
        return self._go(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return self._go(operation, seq_of_parameters, many=True)

    def _go(self, operation: Any, parameters: Any, *, many: bool) -> Any:
        adapt = cast(OneHandOffConnection, self._adapt_connection)
        try:
            done = adapt.inline(operation, parameters, many)
            if done is None:
                done = await_(self._send(operation, parameters, many=many))
            else:
                await_(_ran())  # AsyncConnection.execute requires one await (never suspends)
        except Exception as error:
            adapt._handle_exception(error)
        self._cursor = _Finished(done)  # type: ignore[assignment]
        if done[3] is not None:
            self._rows = collections.deque(done[3])
        return self

    async def _send(self, operation: Any, parameters: Any, *, many: bool) -> Done:
        adapt = cast(OneHandOffConnection, self._adapt_connection)
        async with adapt._execute_mutex:
            connection = self._connection
            done: Done = await connection._execute(
                _run_patient, connection._conn, adapt.restore_patience(), operation, parameters,
                many)
        return done


class OneHandOffConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, with the in-line path and its busy-timeout bookkeeping."""

    __slots__ = ("_impatient", "_patience")
    _cursor_cls = OneHandOffCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._patience: int | None = None  # the configured busy timeout, once read
        self._impatient = False  # whether busy_timeout is 0 now (set by the in-line path)

    @property
    def _short(self) -> dict[str, bool]:
        verdicts: dict[str, bool] = self.dbapi.short
        return verdicts

    def _raw(self) -> sqlite3.Connection | None:
        """The sqlite3 connection, when nothing else is using it."""
        if self._execute_mutex.locked():
            return None
        raw: sqlite3.Connection | None = self._connection._connection
        return raw

    def restore_patience(self) -> int | None:
        """The busy timeout to set again on the thread before a statement there, if any."""
        if not self._impatient:
            return None
        self._impatient = False
        return self._patience

    def _be_impatient(self, conn: sqlite3.Connection) -> None:
        if self._impatient:
            return
        if self._patience is None:
            self._patience = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute("PRAGMA busy_timeout=0")
        self._impatient = True

    def inline(self, operation: str, parameters: Any, many: bool) -> Done | None:
        """Run a short statement here and now; None: it goes to aiosqlite's thread."""
        if many and len(parameters) > _MANY_INLINE:
            return None
        conn = self._raw()
        if conn is None:
            return None
        verdicts = self._short
        short = verdicts.get(operation)
        if short is None:
            if operation.lstrip()[:6].upper() in _DDL:
                verdicts.clear()  # a new trigger, index or table can change any verdict
                return None
            if len(verdicts) >= _REMEMBERED:
                verdicts.clear()
            short = verdicts[operation] = _plan_is_short(
                conn, operation, (parameters[0] if parameters else None) if many else parameters)
        if not short:
            return None
        reading = operation.lstrip()[:6].upper() == "SELECT"
        if not reading and conn.isolation_level is None and not conn.in_transaction:
            return None  # autocommit: this write would commit (and may checkpoint) here
        self._be_impatient(conn)
        if reading:
            steps = [0]

            def budget() -> int:
                steps[0] += 1
                return steps[0] > _BUDGET

            conn.set_progress_handler(budget, _PROGRESS_EVERY)
        try:
            return _run(conn, operation, parameters, many)
        except sqlite3.Error as error:
            if _is_busy(error):
                return None  # nothing was done: the thread waits for the lock instead
            if reading and _is_interrupt(error):
                verdicts[operation] = False  # a wide range: on the thread from now on
                return None
            raise
        finally:
            if reading:
                conn.set_progress_handler(None, 0)

    def rollback(self) -> None:
        conn = self._raw()
        if conn is None:
            super().rollback()  # closed, or busy (it never is: rollback follows an await)
            return
        try:
            conn.rollback()  # cheap in WAL mode: the transaction's pages are dropped
        except Exception as error:
            self._handle_exception(error)

    def commit(self) -> None:
        if not self._connection._connection:
            return  # closed (as SQLAlchemy's adapter does)
        conn = self._raw()
        if conn is not None and not conn.in_transaction:
            return  # nothing written: nothing to commit
        patience = self._patience if self._impatient else None
        try:
            if await_(self._connection._execute(_commit, self._connection._conn, patience)):
                self._impatient = False
        except Exception as error:
            self._handle_exception(error)


class OneHandOffDbapi(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self.short: dict[str, bool] = {}  # SQL text -> may run in-line (the same file's schema)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        kw["check_same_thread"] = False  # in-line statements use it from the loop's thread
        adapted = super().connect(*arg, **kw)
        return OneHandOffConnection(self, adapted._connection)


def dbapi() -> OneHandOffDbapi:
    return OneHandOffDbapi(__import__("aiosqlite"), __import__("sqlite3"))
