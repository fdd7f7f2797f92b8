"""Inbox aggregate: received activities, stored raw (unique on the activity id) and applied later."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Unpack

from sqlalchemy import Text, bindparam, cast, delete, func, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import _claim
from node.store._claim import Outcome as Outcome
from node.store._rows import to_dataclass
from node.store._upsert import dialect_insert, insert_ignore
from node.store.db import ByKey, Database, JsonText, wake_after_commit
from node.store.schema import inbox


@dataclass(frozen=True)
class InboxRow:
    id: int
    activity_ap_id: str
    actor: str
    type: str
    recipient: str | None
    document: dict[str, Any]
    received_at: datetime
    state: str
    attempts: int
    next_attempt_at: datetime
    locked_until: datetime | None
    last_error: str | None


def row(*, activity_ap_id: str, actor: str, type: str, recipient: str | None,
        document: dict[str, Any] | JsonText, now: datetime, host: str | None = None
        ) -> dict[str, Any]:
    """A received activity's new row (``add``, ``add_many``); ``document`` may be given as
    the text to store (``json_text_of``).

    ``host`` is the sender's host as received over the inbox (None for what we fetched
    ourselves): the backlog cap counts by it.
    """
    return {"activity_ap_id": activity_ap_id, "actor": actor, "type": type,
            "recipient": recipient, "document": document, "received_at": now,
            "state": "pending", "attempts": 0, "next_attempt_at": now, "host": host}


async def add(session: AsyncSession, *, activity_ap_id: str, actor: str, type: str,
              recipient: str | None, document: dict[str, Any], now: datetime,
              host: str | None = None) -> bool:
    """Store a verified activity; False if its id was already received (a duplicate)."""
    added = await insert_ignore(session, inbox, [row(
        activity_ap_id=activity_ap_id, actor=actor, type=type, recipient=recipient,
        document=document, now=now, host=host)], ["activity_ap_id"]) == 1
    if added:
        wake_after_commit(session)
    return added


async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Store verified activities (``row``s) in one statement; the ids stored now.

    An id already received, or given twice in ``rows`` (the first is kept), is skipped.
    """
    unique = list({r["activity_ap_id"]: r for r in reversed(rows)}.values())[::-1]
    if not unique:
        return set()
    # executemany: one statement compiled once (and cached), which SQLAlchemy sends as one
    # multi-row INSERT ("insertmanyvalues"); ``.values(rows)`` would compile one per group size.
    stmt = (dialect_insert(session, inbox)
            .on_conflict_do_nothing(index_elements=["activity_ap_id"])
            .returning(inbox.c.activity_ap_id))
    added = {str(ap_id) for ap_id in (await session.execute(stmt, unique)).scalars().all()}
    if added:
        wake_after_commit(session)
    return added


async def done_among(session: AsyncSession, activity_ap_ids: list[str]) -> set[str]:
    """Those of ``activity_ap_ids`` received and applied before."""
    if not activity_ap_ids:
        return set()
    query = select(inbox.c.activity_ap_id).where(inbox.c.activity_ap_id.in_(activity_ap_ids),
                                                 inbox.c.state == "done")
    return {str(ap_id) for ap_id in (await session.execute(query)).scalars().all()}


async def add_done(session: AsyncSession, rows: list[dict[str, Any]], *, now: datetime) -> None:
    """Record activities applied here as received and done (``activity_ap_id``, ``actor``,
    ``type``, ``document``), as ``add`` then ``mark_done`` do one at a time: two statements."""
    if not rows:
        return
    # executemany of one statement (compiled once and cached): ``insert_ignore``'s multi-row
    # VALUES compiled a new statement for every batch of hundreds of rows.
    await session.execute(dialect_insert(session, inbox).on_conflict_do_nothing(
        index_elements=[inbox.c.activity_ap_id]), [{
            **row, "recipient": None, "received_at": now, "state": "done", "attempts": 0,
            "next_attempt_at": now, "host": None} for row in rows])
    await session.execute(update(inbox).where(
        inbox.c.activity_ap_id.in_([row["activity_ap_id"] for row in rows]),
        inbox.c.state != "done").values(state="done", locked_until=None))


def _pending_count() -> ByKey:
    c = inbox.c
    capped = (select(c.id).where(c.host == bindparam("host"), c.state == "pending")
              .limit(bindparam("limit")).subquery())
    return select(func.count()).select_from(capped)


_PENDING_COUNT = _pending_count()


async def count_pending(db: Database, host: str, *, limit: int) -> int:
    """Pending rows received from ``host``, counted up to ``limit`` (one range of
    ``ix_inbox_host_state``, never more than ``limit`` index entries).

    A prebuilt statement without a session: in-line on a SQLite file (``Database.first``:
    bounded by ``limit``, a few microseconds per entry), a Core connection elsewhere.
    """
    found = await db.first(_PENDING_COUNT, {"host": host, "limit": limit}, seen=True)
    return int(found[0]) if found is not None else 0


_INLINE_CHUNK = 64  # rows per in-line INSERT (11 parameters each, far below SQLite's limit)


@cache
def _inline_insert(rows: int) -> str:
    """The ``INSERT`` of ``add_many`` for ``rows`` rows, as SQLite's dialect compiles it."""
    one = str(sqlite.insert(inbox).values({name: bindparam(name) for name in _COLUMNS})
              .on_conflict_do_nothing(index_elements=["activity_ap_id"])
              .returning(inbox.c.activity_ap_id)
              .compile(dialect=sqlite.dialect()))
    values = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
    head, tail = one.split(values)
    return head + ", ".join([values] * rows) + tail


_COLUMNS = ("activity_ap_id", "actor", "type", "recipient", "document", "received_at", "state",
            "attempts", "next_attempt_at", "host")


@lru_cache(maxsize=16)
def _processors(dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    """Each column's bind processing by the engine's dialect (the JSON serialiser, UTC
    datetimes), as SQLAlchemy applies it."""
    return tuple(inbox.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                 for name in _COLUMNS)


def add_many_inline(db: Database, conn: sqlite3.Connection, rows: list[dict[str, Any]]
                    ) -> set[str]:
    """``add_many`` on a plain ``sqlite3`` connection in a transaction
    (``Database.write_inline``): the same rows, statements and outcome, without a session.
    The caller wakes the workers (``Database.wake``) once it committed, when any was stored."""
    unique = list({r["activity_ap_id"]: r for r in reversed(rows)}.values())[::-1]
    processors = _processors(db.engine.dialect)
    added: set[str] = set()
    for start in range(0, len(unique), _INLINE_CHUNK):
        chunk = unique[start:start + _INLINE_CHUNK]
        parameters = [value if process is None else process(value)
                      for r in chunk for name, process in zip(_COLUMNS, processors, strict=True)
                      for value in (r[name],)]
        sql = _inline_insert(len(chunk))
        db.seen(sql, parameters)
        added.update(str(ap_id) for ap_id, in conn.execute(sql, parameters).fetchall())
    return added



async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per state."""
    rows = await session.execute(select(inbox.c.state, func.count()).group_by(inbox.c.state))
    return {str(state): int(n) for state, n in rows}


async def state_of(session: AsyncSession, activity_ap_id: str) -> str | None:
    query = select(inbox.c.state).where(inbox.c.activity_ap_id == activity_ap_id)
    row = (await session.execute(query)).first()
    return str(row[0]) if row else None


async def mark_done(session: AsyncSession, activity_ap_id: str) -> None:
    await session.execute(update(inbox).where(inbox.c.activity_ap_id == activity_ap_id)
                          .values(state="done", locked_until=None))


async def claim(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
                ) -> list[InboxRow]:
    """Lease up to ``limit`` due rows to this worker; other workers skip them."""
    rows = await _claim.claim(session, inbox, now=now, limit=limit, lease=lease,
                              order_by=[inbox.c.id])
    return sorted((to_dataclass(InboxRow, r) for r in rows), key=lambda r: r.id)


async def renew(session: AsyncSession, row_ids: Sequence[int], *, now: datetime,
                lease: timedelta) -> int:
    """Extend the lease of the rows ``row_ids`` this worker is still working."""
    return await _claim.renew(session, inbox, row_ids, now=now, lease=lease)


async def finish(session: AsyncSession, row_id: int, **outcome: Unpack[Outcome]) -> None:
    """Release the lease on the row and write the step's outcome."""
    await _claim.finish(session, inbox, row_id, outcome)


_FINISHED = ("done", "failed")


async def drop_documents(session: AsyncSession, *, received_before: datetime) -> int:
    """Empty the raw document of finished rows received before then; the rows stay."""
    c = inbox.c
    result = await session.execute(update(inbox).where(
        c.state.in_(_FINISHED), c.received_at < received_before,
        cast(c.document, Text) != "{}").values(document={}))
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_finished(session: AsyncSession, *, received_before: datetime) -> int:
    """Delete finished rows received before then (their ids no longer recognise duplicates)."""
    c = inbox.c
    result = await session.execute(delete(inbox).where(
        c.state.in_(_FINISHED), c.received_at < received_before))
    return int(getattr(result, "rowcount", 0) or 0)
