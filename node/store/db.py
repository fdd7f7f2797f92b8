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
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

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


def json_text(value: Any) -> str:
    """JSON columns are written as the bytes ``orjson`` serves (compact, UTF-8), so a stored
    signed document can be served as it is stored (``objects.served``); what ``orjson`` refuses
    (an integer beyond 64 bits) is written compactly by ``json``. Known ``@context`` values are
    stored by number (``node.store.contexts``)."""
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

    async def first(self, statement: ByKey, params: dict[str, Any]
                    ) -> tuple[Any, ...] | None:
        """The first row of a short read by key, as the driver gives it (no type processing:
        compare or pass on text and numbers only).

        On a SQLite file it runs in-line on the event loop, on a connection of its own with no
        busy wait (a WAL reader takes no lock; where one is busy anyway — a checkpoint that
        truncates, a recovery — it falls back to the engine): a by-key read costs tens of
        microseconds, and a hand-off to aiosqlite's thread and back costs more than that
        (docs/performance.md, "Rendered bytes held"). Never for a scan, never for a write.
        Elsewhere (PostgreSQL, an in-memory SQLite) on a Core connection of the engine.
        """
        if self._inline is None and self.is_sqlite:
            self._inline = _InlineReader.open(self.engine)
        if self._inline is not None and self._inline.usable:
            try:
                return self._inline.first(statement, params)
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
        url = str(self.engine.url)
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

    def _woken_by(self, session: AsyncSession) -> None:
        if session.info.pop(_WAKE, False):
            self.wake()

    def wake(self) -> None:
        """Wake every worker of this process (this event loop) waiting on this database."""
        for waiter in _WAITERS.get(asyncio.get_running_loop(), {}).get(str(self.engine.url), ()):
            waiter.set()

    @contextmanager
    def waiting(self) -> Iterator[asyncio.Event]:
        """An event set whenever a transaction of this process queues work due now on this
        database (``wake_after_commit``); the worker clears it before each round and sleeps on
        it between rounds. Another process's work is still found by polling."""
        waiter = asyncio.Event()
        waiters = _WAITERS.setdefault(asyncio.get_running_loop(), {}).setdefault(
            str(self.engine.url), set())
        waiters.add(waiter)
        try:
            yield waiter
        finally:
            waiters.discard(waiter)

    async def dispose(self) -> None:
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await self.engine.dispose()


class _InlineReader:
    """A plain ``sqlite3`` connection to the engine's file, for reads by key on the loop."""

    def __init__(self, conn: sqlite3.Connection | None, engine: AsyncEngine) -> None:
        self.conn = conn
        self.engine = engine
        self._compiled: dict[int, tuple[ByKey, str, Any]] = {}

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

    def first(self, statement: ByKey, params: dict[str, Any]) -> tuple[Any, ...] | None:
        assert self.conn is not None
        found = self._compiled.get(id(statement))
        if found is None or found[0] is not statement:
            compiled = statement.compile(dialect=self.engine.dialect)
            found = (statement, compiled.string, compiled)
            self._compiled[id(statement)] = found
        _, sql, compiled = found
        values = compiled.construct_params(params)
        order = compiled.positiontup or ()
        cursor = self.conn.execute(sql, [values[name] for name in order])
        try:
            rows = cursor.fetchall()  # to the end: the statement's read transaction ends here
        finally:
            cursor.close()
        return tuple(rows[0]) if rows else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
