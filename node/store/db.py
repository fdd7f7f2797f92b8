"""Engine and sessions for SQLite (WAL, ``synchronous=NORMAL``) and PostgreSQL, one code path.

``create_engine(url)`` returns an ``AsyncEngine``; SQLite files get WAL journaling, a busy
timeout and foreign keys on every connection. ``Database`` bundles the engine with a session
factory and is created per app (never at import time), so several nodes live in one process.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.sql.expression import Select

from node.store import _sqlite_driver, contexts

# A prebuilt SELECT of one row by key (``Database.first``).
ByKey = Select[Any, *tuple[Any, ...]]
R = TypeVar("R")

# Of the writes run in-line (``Database.write_inline``), every this many goes through the engine
# instead, whose COMMIT on aiosqlite's thread checkpoints the WAL once it is long (SQLite's
# autocheckpoint, 1,000 pages): the in-line connection never checkpoints, so the WAL grows by
# at most this many in-line transactions past that point.
CHECKPOINT_EVERY = 64

# At most this many rows read with ``Database.first(..., memo=True)`` are kept per database
# (all dropped when it is reached): a stamp row is a few hundred bytes.
MEMO_ROWS = 20_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def normalise_url(url: str) -> str:
    """Pick the async driver for plain ``sqlite:///`` and ``postgresql://`` URLs."""
    parsed = make_url(url)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" and driver != "aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and driver != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class JsonText(str):
    """A JSON column's value already written as ``json_text`` writes it (``json_text_of``):
    stored as it is."""

    __slots__ = ()


def json_text_of(body: bytes) -> JsonText:
    """What ``json_text`` writes for the value whose ``orjson`` serialisation ``body`` is, as
    the caller knows (``protocol.jsonlimits.load_json_body``'s ``canonical``): without
    serialising the value again."""
    return JsonText(contexts.pack(body.decode()))


def json_text(value: Any) -> str:
    """JSON columns are written as the bytes ``orjson`` serves (compact, UTF-8), so a stored
    signed document can be served as it is stored (``objects.served``); what ``orjson`` refuses
    (an integer beyond 64 bits) is written compactly by ``json``. Known ``@context`` values are
    stored by number (``node.store.contexts``). A ``JsonText`` is written as it is."""
    if type(value) is JsonText:
        return value
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return contexts.pack(text)


def json_value(text: str | bytes) -> Any:
    if isinstance(text, bytes) and text.startswith(b" "):
        text = text.decode()
    if isinstance(text, str):
        text = contexts.unpack(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer beyond 64 bits
        return json.loads(text)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url`` with our connection settings."""
    url = normalise_url(url)
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", json_value)
    if is_sqlite(url):
        kwargs.setdefault("module", _sqlite_driver.dbapi())  # short statements in-line
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return _create_async_engine(url, **kwargs)


_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


# Workers of this process waiting for work, per event loop and database URL (``Database.waiting``).
_WAITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, set[asyncio.Event]]] = (
    weakref.WeakKeyDictionary())
_WAKE = "kennisknoop_wake"


def wake_after_commit(session: AsyncSession) -> None:
    """Work due now was queued in ``session``'s transaction (a delivery, an inbox row, a job):
    the workers of this process on the same database are woken once it commits, instead of at
    their next poll. Only ``Database.transaction`` acts on it; a rollback wakes nobody."""
    session.info[_WAKE] = True


_OPEN: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "kennisknoop_open_sqlite_transactions", default=frozenset())


def _write_lock(url: str) -> asyncio.Lock:
    locks = _WRITE_LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(url, asyncio.Lock())


@dataclass
class Database:
    """An engine and its session factory for one node."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    _inline: _InlineReader | None = field(default=None, init=False, repr=False)
    _writer: _InlineWriter | None = field(default=None, init=False, repr=False)

    @cached_property
    def url_key(self) -> str:
        """The engine's URL as text: the key of this database's write lock and workers
        (rendered once: ``str`` of a SQLAlchemy URL quotes every part each time)."""
        return str(self.engine.url)

    async def first(self, statement: ByKey, params: dict[str, Any], *, seen: bool = False,
                    memo: bool = False) -> tuple[Any, ...] | None:
        """The first row of a short read by key, as the driver gives it (no type processing of
        the row: compare or pass on text and numbers only; ``params`` are bound by their types,
        so a datetime is compared as the column stores it).

        ``memo``: on a SQLite file, the row is kept and given again without running the
        statement for as long as nothing is committed to the database — by any connection of
        any process: ``PRAGMA data_version`` of the in-line connection says so, one statement
        cheaper than most reads by key. For small rows read over and over (the stamps of
        ``node.services.rendered``); elsewhere the statement runs every time.

        On a SQLite file it runs in-line on the event loop, on a connection of its own with no
        busy wait (a WAL reader takes no lock; where one is busy anyway — a checkpoint that
        truncates, a recovery — it falls back to the engine): a by-key read costs tens of
        microseconds, and a hand-off to aiosqlite's thread and back costs more than that
        (docs/performance.md, "Rendered bytes held"). Never for a scan, never for a write.
        Elsewhere (PostgreSQL, an in-memory SQLite) on a Core connection of the engine.

        ``seen``: the statement run in-line is shown to the engine's ``before_cursor_execute``
        listeners, as the engine's own are (the tests' statement counts); the reads by key of
        the GET paths are not.
        """
        if self._inline is None and self.is_sqlite:
            self._inline = _InlineReader.open(self.engine)
        if self._inline is not None and self._inline.usable:
            try:
                return self._inline.first(statement, params, seen=seen, memo=memo)
            except sqlite3.OperationalError:
                pass
        async with self.engine.connect() as conn:
            row = (await conn.execute(statement, params)).first()
        return tuple(row) if row is not None else None

    @classmethod
    def connect(cls, url: str) -> Database:
        engine = create_engine(url)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        On SQLite, write transactions of one process take turns (an asyncio lock shared by every
        ``Database`` on the same file in this event loop). SQLite has one writer at a time
        anyway; without the lock, a transaction that read first and then writes while another
        commits fails at once with "database is locked" (its snapshot is stale, so the busy
        timeout cannot help). Transactions must not nest.
        """
        if not self.is_sqlite:
            async with self.sessions() as session, session.begin():
                yield session
            self._woken_by(session)
            return
        url = self.url_key
        if url in _OPEN.get():
            # Waiting for our own lock would hang forever: fail loudly instead.
            raise RuntimeError("nested write transaction on the same SQLite database")
        token = _OPEN.set(_OPEN.get() | {url})
        try:
            async with _write_lock(url), self.sessions() as session, session.begin():
                yield session
        finally:
            _OPEN.reset(token)
        self._woken_by(session)

    async def write_inline(self, work: Callable[[sqlite3.Connection], R]) -> tuple[R] | None:
        """``(work(conn),)`` run in one write transaction on the event loop, on a plain
        ``sqlite3`` connection of its own; None when it was not run, and the caller writes
        through ``transaction`` instead.

        For a short write on a hot path (the inbox's accept): a session, SQLAlchemy's statement
        work and the hand-off of the ``COMMIT`` to aiosqlite's thread cost several times the
        write itself (docs/performance.md, "Inbox accept in-line"). Not run (None): on
        PostgreSQL or an in-memory SQLite; when another connection holds the write lock (the
        in-line ``BEGIN IMMEDIATE`` does not wait: the engine's transaction waits on its thread
        with the busy timeout); and every ``CHECKPOINT_EVERY``-th time, so that the engine's
        ``COMMIT`` checkpoints the WAL (the in-line connection never does, so that a commit never
        writes the database file on the loop). It takes this process's write lock, as
        ``transaction`` does. ``work`` must not await, must write only short statements (by key
        or index) and must call ``seen`` for each, so that statement counts see them (the
        engine's ``commit`` listeners see the commit). When
        ``work`` raises, the transaction is rolled back and the error raised.
        """
        if not self.is_sqlite:
            return None
        if self._writer is None:
            try:
                self._writer = _InlineWriter.open(self.engine)
            except sqlite3.OperationalError:
                return None  # busy (a recovery, a checkpoint that truncates): tried again later
        writer = self._writer
        if writer.conn is None:
            return None
        writer.turn = (writer.turn + 1) % CHECKPOINT_EVERY
        if writer.turn == 0:
            return None
        url = self.url_key
        if url in _OPEN.get():
            raise RuntimeError("nested write transaction on the same SQLite database")
        async with _write_lock(url):
            conn = writer.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return None  # busy: another process writes (the engine's path waits for it)
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        sync = self.engine.sync_engine
        if sync._has_events:  # the engine's commit listeners see this one too (tests count)
            sync.dispatch.commit(None)
        return (result,)

    def seen(self, statement: str, parameters: Any) -> None:
        """Show a statement run outside the engine (in-line) to the engine's
        ``before_cursor_execute`` listeners (the tests' and benchmarks' statement counts)."""
        _seen(self.engine, statement, parameters)

    def _woken_by(self, session: AsyncSession) -> None:
        if session.info.pop(_WAKE, False):
            self.wake()

    def wake(self) -> None:
        """Wake every worker of this process (this event loop) waiting on this database."""
        for waiter in _WAITERS.get(asyncio.get_running_loop(), {}).get(self.url_key, ()):
            waiter.set()

    @contextmanager
    def waiting(self) -> Iterator[asyncio.Event]:
        """An event set whenever a transaction of this process queues work due now on this
        database (``wake_after_commit``); the worker clears it before each round and sleeps on
        it between rounds. Another process's work is still found by polling."""
        waiter = asyncio.Event()
        waiters = _WAITERS.setdefault(asyncio.get_running_loop(), {}).setdefault(
            self.url_key, set())
        waiters.add(waiter)
        try:
            yield waiter
        finally:
            waiters.discard(waiter)

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        await self.engine.dispose()


class _InlineReader:
    """A plain ``sqlite3`` connection to the engine's file, for reads by key on the loop."""

    def __init__(self, conn: sqlite3.Connection | None, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine
        self._compiled: dict[int, tuple[ByKey, str, Any, dict[str, Any]]] = {}
        # Rows read with ``memo``, valid while ``PRAGMA data_version`` is ``_version``.
        self._memo: dict[tuple[Any, ...], tuple[ByKey, tuple[Any, ...] | None]] = {}
        self._version: int | None = None

    @property
    def usable(self) -> bool:
        return self.conn is not None

    @classmethod
    def open(cls, engine: AsyncEngine) -> _InlineReader:
        path = engine.url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return cls(None, engine)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=ON")
        conn.execute("PRAGMA busy_timeout=0")
        return cls(conn, engine)

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` of this connection: it changes whenever another
        connection — of this process or any other — has committed to the file since it was
        last read, and only then (this connection never writes). In WAL mode the check is the
        WAL index header a read transaction looks at anyway: no lock, no wait."""
        assert self.conn is not None
        cursor = self.conn.execute("PRAGMA data_version")
        try:
            return int(cursor.fetchall()[0][0])  # to the end, as ``first``
        finally:
            cursor.close()

    def first(self, statement: ByKey, params: dict[str, Any], *, seen: bool = False,
              memo: bool = False) -> tuple[Any, ...] | None:
        if not memo:
            return self._first(statement, params, seen)
        # The version first, the row after: a commit in between moves the version, so the
        # next read drops this row; a row is never kept under a version older than it.
        version = self.data_version()
        if version != self._version:
            self._memo.clear()
            self._version = version
        key = (id(statement), *params.values())
        kept = self._memo.get(key)
        if kept is not None and kept[0] is statement:
            return kept[1]
        row = self._first(statement, params, seen)
        if len(self._memo) >= MEMO_ROWS:
            self._memo.clear()
        self._memo[key] = (statement, row)
        return row

    def _first(self, statement: ByKey, params: dict[str, Any], seen: bool
               ) -> tuple[Any, ...] | None:
        assert self.conn is not None
        found = self._compiled.get(id(statement))
        if found is None or found[0] is not statement:
            dialect = self.engine.dialect
            compiled = statement.compile(dialect=dialect)
            # A parameter's type binds it as the engine would (a datetime as the text SQLite
            # stores); most parameters are text and need nothing.
            processors = {name: processor for name, bind in compiled.binds.items()
                          if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
                          is not None}
            found = (statement, compiled.string, compiled, processors)
            self._compiled[id(statement)] = found
        _, sql, compiled, processors = found
        values = compiled.construct_params(params)
        order = compiled.positiontup or ()
        parameters = [processors[name](values[name]) if name in processors else values[name]
                      for name in order]
        if seen:
            _seen(self.engine, sql, parameters)
        cursor = self.conn.execute(sql, parameters)
        try:
            rows = cursor.fetchall()  # to the end: the statement's read transaction ends here
        finally:
            cursor.close()
        return tuple(rows[0]) if rows else None

    def close(self) -> None:
        self._memo.clear()
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class _InlineWriter:
    """A plain ``sqlite3`` connection to the engine's file for ``Database.write_inline``: no
    busy wait, no autocheckpoint, the engine's connection settings otherwise (WAL,
    ``synchronous=NORMAL``, foreign keys)."""

    def __init__(self, conn: sqlite3.Connection | None) -> None:
        self.conn = conn
        self.turn = 0

    @classmethod
    def open(cls, engine: AsyncEngine) -> _InlineWriter:
        path = engine.url.database
        if not path or path == ":memory:" or path.startswith("file:"):
            return cls(None)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=0")
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # As the engine's connections do (persistent in the file); without WAL a COMMIT
            # here would write the database file on the loop: then never in-line.
            wal = conn.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
        except BaseException:
            conn.close()
            raise
        if not wal:
            conn.close()
            return cls(None)
        return cls(conn)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _seen(engine: AsyncEngine, statement: str, parameters: Any) -> None:
    sync = engine.sync_engine
    if sync._has_events:
        sync.dispatch.before_cursor_execute(None, None, statement, parameters, None, False)
