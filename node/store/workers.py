"""Worker heartbeats: each running worker refreshes its row; ``/readyz`` reads the freshest."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._upsert import dialect_insert
from node.store.schema import workers

# Rows of workers that stopped are dropped after this long (they only tell history).
KEEP = timedelta(days=1)


async def beat(session: AsyncSession, worker_id: str, now: datetime) -> None:
    """Record that ``worker_id`` is alive at ``now``; forget workers that stopped long ago."""
    stmt = dialect_insert(session, workers).values(id=worker_id, started_at=now, beat_at=now)
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"],
                                                     set_={"beat_at": now}))
    await session.execute(delete(workers).where(workers.c.beat_at < now - KEEP))


async def last_beat(session: AsyncSession) -> datetime | None:
    """The freshest heartbeat of any worker, or None when no worker ever ran."""
    value: datetime | None = (await session.execute(select(func.max(workers.c.beat_at)))
                              ).scalar()
    return value
