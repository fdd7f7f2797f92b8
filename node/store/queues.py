"""Read-only questions about the work queues and peers: which queues have a row due now (the
worker's first read of a round) and, for monitoring (``/metrics``), what waits per host.

The figures are each one grouped query over the pending rows, cheap enough to run on every
scrape: the pending rows are few next to the finished ones and ``state`` leads the queue indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._claim import due
from node.store.db import Database
from node.store.schema import UTCDateTime, deliveries, inbox, jobs, peers


@dataclass(frozen=True)
class DueQueues:
    """Which work queues hold a row due now (pending, due, not leased to a live worker)."""

    inbox: bool
    deliveries: bool
    jobs: bool


# One row: a flag per queue. Each ``EXISTS`` is a range of its queue's ``(state,
# next_attempt_at)`` index that stops at the first due row, so it stays short however many rows
# are finished, and on a SQLite file it runs in-line (``Database.first``).
_NOW = bindparam("now", type_=UTCDateTime())
_DUE = select(*(exists().where(due(table, _NOW)).label(table.name)
                for table in (inbox, deliveries, jobs)))


async def due_queues(db: Database, now: datetime) -> DueQueues:
    """Which queues have a row that a claim at ``now`` would lease: one read, no write lock.
    An idle worker round is this read alone instead of a write transaction per queue. A row
    queued or coming due after the read is found by the next round, as after a claim."""
    row = await db.first(_DUE, {"now": now}, seen=True)
    assert row is not None  # EXISTS always answers
    return DueQueues(*(bool(flag) for flag in row))


@dataclass(frozen=True)
class Waiting:
    """The pending rows of one host in a queue: how many, and since when the oldest waits."""

    host: str
    count: int
    oldest: datetime


async def _waiting(session: AsyncSession, table: Table, since: str) -> list[Waiting]:
    c = table.c
    query = (select(c.host, func.count(), func.min(c[since])).where(
        c.state == "pending", c.host.is_not(None)).group_by(c.host).order_by(c.host))
    rows = (await session.execute(query)).all()
    return [Waiting(host, count, oldest) for host, count, oldest in rows]


async def deliveries_by_host(session: AsyncSession) -> list[Waiting]:
    """Deliveries waiting to be sent, per receiving host."""
    return await _waiting(session, deliveries, "created_at")


async def inbox_by_host(session: AsyncSession) -> list[Waiting]:
    """Received activities waiting to be applied, per sending host."""
    return await _waiting(session, inbox, "received_at")


async def peer_availability(session: AsyncSession) -> list[tuple[str, datetime | None]]:
    """Every known peer host with the time it was marked unavailable (None: available)."""
    query = select(peers.c.host, peers.c.unavailable_since).order_by(peers.c.host)
    return [(host, since) for host, since in (await session.execute(query)).all()]
