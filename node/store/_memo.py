"""Rows held in memory: the few that hot paths read on every request and that rarely change.

A ``Memo`` holds values per engine (each ``Database``; a new engine starts empty), for at most
``HOLD_SECONDS``. The store module that owns a table is the only writer of its rows, so it
invalidates there: ``drop`` forgets a key (or everything) at once *and* again when the writing
session commits, and bumps a generation, so a reader that read the old row before the commit
cannot put it back afterwards. Every engine of this process on the same database URL is
invalidated together (the CLI's context beside the server's, in tests). Another *process* writing
the same database (the CLI, a worker process, a restore) is seen within ``HOLD_SECONDS``: the
only cross-process promise (docs/performance.md, "Rows held in memory").
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

HOLD_SECONDS = 2.0
SIZE = 4096  # keys per memo and engine; past it the memo starts over

MISSING: Any = object()

_ALL = object()  # "every key" in a pending drop


class _Held:
    """One memo's values for one engine."""

    __slots__ = ("generation", "values")

    def __init__(self) -> None:
        self.values: dict[Hashable, tuple[float, Any]] = {}  # key -> (held since, value)
        self.generation = 0

    def drop(self, key: Hashable) -> None:
        self.generation += 1
        if key is _ALL:
            self.values.clear()
        else:
            self.values.pop(key, None)


# engine -> memo name -> held values; url -> engines (to invalidate every engine on a database)
_HELD: weakref.WeakKeyDictionary[Engine, dict[str, _Held]] = weakref.WeakKeyDictionary()
_ENGINES: dict[str, weakref.WeakSet[Engine]] = {}


def _engine(session: AsyncSession) -> Engine | None:
    bind = session.bind
    if bind is None:
        return None
    engine = getattr(bind, "sync_engine", bind)
    return engine if isinstance(engine, Engine) else None


class Memo:
    """A named memo (``actors``, ``peers``, ``blocks``): key -> value, per engine."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _held(self, engine: Engine) -> _Held:
        memos = _HELD.get(engine)
        if memos is None:
            memos = _HELD[engine] = {}
            _ENGINES.setdefault(str(engine.url), weakref.WeakSet()).add(engine)
        held = memos.get(self.name)
        if held is None:
            held = memos[self.name] = _Held()
        return held

    def get(self, session: AsyncSession, key: Hashable) -> Any:
        """The held value, or ``MISSING``."""
        engine = _engine(session)
        if engine is None:
            return MISSING
        return self.get_held(engine, key)

    def get_held(self, engine: Engine, key: Hashable) -> Any:
        """The value held for ``engine`` (a sync engine), or ``MISSING``: for a path that holds
        no session."""
        found = self._held(engine).values.get(key)
        if found is None or time.monotonic() - found[0] > HOLD_SECONDS:
            return MISSING
        return found[1]

    def generation(self, session: AsyncSession) -> int:
        """Taken before reading a row that ``put`` may then hold."""
        engine = _engine(session)
        return -1 if engine is None else self._held(engine).generation

    def put(self, session: AsyncSession, key: Hashable, value: Any, generation: int) -> None:
        """Hold ``value`` unless a write dropped anything since ``generation`` was taken, or the
        session is inside a transaction that wrote (its rows are not committed yet)."""
        engine = _engine(session)
        if engine is None or session.info.get(_PENDING):
            return
        held = self._held(engine)
        if held.generation != generation:
            return
        if len(held.values) >= SIZE:
            held.values.clear()
        held.values[key] = (time.monotonic(), value)

    def drop(self, session: AsyncSession, key: Hashable = _ALL) -> None:
        """Forget ``key`` (default: everything) now, and again once ``session`` commits or
        rolls back, on every engine of this process on the same database."""
        engine = _engine(session)
        if engine is None:
            return
        _drop(str(engine.url), self.name, key)
        session.info.setdefault(_PENDING, []).append((str(engine.url), self.name, key, MISSING))

    def put_after_commit(self, session: AsyncSession, key: Hashable, value: Any) -> None:
        """Forget ``key`` now, and hold ``value`` for it once ``session`` commits (what the
        transaction wrote, known without reading it back); on a rollback it is only forgotten."""
        engine = _engine(session)
        if engine is None:
            return
        _drop(str(engine.url), self.name, key)
        session.info.setdefault(_PENDING, []).append((str(engine.url), self.name, key, value))


_PENDING = "kennisknoop_memo_drops"


def _drop(url: str, name: str, key: Hashable) -> None:
    for engine in list(_ENGINES.get(url, ())):
        held = _HELD.get(engine, {}).get(name)
        if held is not None:
            held.drop(key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for url, name, key, value in pending or ():
        _drop(url, name, key)
        if value is not MISSING:
            for engine in list(_ENGINES.get(url, ())):
                memos = _HELD.get(engine)
                if memos is not None and name in memos:
                    memos[name].values[key] = (time.monotonic(), value)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    for url, name, key, _value in session.info.pop(_PENDING, None) or ():
        _drop(url, name, key)
