"""Engine and sessions for SQLite (WAL, ``synchronous=NORMAL``) and PostgreSQL, one code path.

``create_engine(url)`` returns an ``AsyncEngine``; SQLite files get WAL journaling, a busy
timeout and foreign keys on every connection. ``Database`` bundles the engine with a session
factory and is created per app (never at import time), so several nodes live in one process.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
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

from node.store import _sqlite_driver


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
    (an integer beyond 64 bits) is written compactly by ``json``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_value(text: str | bytes) -> Any:
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
        kwargs.setdefault("module", _sqlite_driver.dbapi())  # one hand-off per statement
        engine = _create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return _create_async_engine(url, **kwargs)


_WRITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary())


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

    async def dispose(self) -> None:
        await self.engine.dispose()
