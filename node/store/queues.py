"""Read-only figures about the work queues and peers, for monitoring (``/metrics``).

Each is one grouped query over the pending rows, cheap enough to run on every scrape: the
pending rows are few next to the finished ones and ``state`` leads the queue indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.schema import deliveries, inbox, peers


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
