"""Leasing the due rows of a work queue (inbox, deliveries, jobs) to one worker.

Every queue table has ``id``, ``state``, ``next_attempt_at`` and ``locked_until``. ``claim``
leases up to ``limit`` due rows in one ``UPDATE … RETURNING``; ``picked`` is its WHERE clause:
on PostgreSQL the pick locks its rows and skips rows other workers hold (``FOR UPDATE SKIP
LOCKED``); on SQLite the single statement runs under SQLite's one write lock. A worker that dies
leaves rows that come back when their lease (``locked_until``) runs out. ``finish`` releases the
lease and writes the step's outcome (``Outcome``: the columns a worker may set). ``renew``
extends the lease of rows a live worker is still working, so a round that runs longer than the
lease is never taken up again by another worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from sqlalchemy import Column, ColumnElement, RowMapping, Select, Table, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession


class Outcome(TypedDict, total=False):
    """What a finished step writes to its queue row (the columns every queue has)."""

    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


class DeliveryOutcome(Outcome, total=False):
    sent_at: datetime
    last_status: int | None


class JobOutcome(Outcome, total=False):
    payload: dict[str, Any]


def picked(session: AsyncSession, column: Column[Any], due: Select[Any]) -> ColumnElement[bool]:
    """``column`` is among the ids ``due`` picks (locked, skipping locked rows, on PostgreSQL)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # A MATERIALIZED CTE runs once. As ``IN (subquery)`` the planner may choose a semi join
        # that rescans the ``LIMIT … FOR UPDATE SKIP LOCKED`` subquery for every outer row; each
        # rescan skips the rows this statement already updated, so the LIMIT slides on and the
        # worker leases every due row instead of a batch.
        ids = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        return column == ids.c[column.name]
    return column.in_(due.scalar_subquery())


def due(table: Table, now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Pending, due, and not leased to a live worker (at ``now``: a value or a parameter)."""
    c = table.c
    return and_(c.state == "pending", c.next_attempt_at <= now,
                or_(c.locked_until.is_(None), c.locked_until <= now))


async def claim(session: AsyncSession, table: Table, *, now: datetime, limit: int,
                lease: timedelta, order_by: Sequence[Column[Any]]) -> Sequence[RowMapping]:
    """Lease up to ``limit`` due rows of ``table`` (in ``order_by`` order) to this worker."""
    c = table.c
    pick = select(c.id).where(due(table, now)).order_by(*order_by).limit(limit)
    stmt = (update(table).where(picked(session, c.id, pick), due(table, now))
            .values(locked_until=now + lease).returning(*table.c))
    return (await session.execute(stmt)).mappings().all()


async def renew(session: AsyncSession, table: Table, row_ids: Sequence[int], *, now: datetime,
                lease: timedelta) -> int:
    """Extend the lease of the rows ``row_ids`` of ``table`` that are still leased and pending
    (a live worker is still working them) to ``now + lease``; how many were extended."""
    c = table.c
    result = await session.execute(update(table).where(
        c.id.in_(row_ids), c.state == "pending", c.locked_until.is_not(None)
    ).values(locked_until=now + lease))
    return int(getattr(result, "rowcount", 0) or 0)


# table -> ``UPDATE … WHERE id = :w_row_id``; the columns set are the parameters' other keys
_FINISH: dict[Table, Any] = {}


async def finish(session: AsyncSession, table: Table, row_id: int, outcome: Outcome) -> None:
    """Release the lease on row ``row_id`` of ``table`` and write the step's outcome.

    One statement per table, built once: the row id and the outcome are its parameters (the
    SET clause is compiled from their keys and cached per key set), so an apply does not build
    and walk a new ``UPDATE`` with its values every time."""
    stmt = _FINISH.get(table)
    if stmt is None:
        stmt = _FINISH[table] = update(table).where(
            table.c.id == bindparam("w_row_id", type_=table.c.id.type))
    await session.execute(stmt, {**outcome, "locked_until": None, "w_row_id": row_id})
