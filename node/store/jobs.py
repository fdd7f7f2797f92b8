"""Jobs aggregate: durable background work other than deliveries (backfill, sync), unique by key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import _claim
from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
from node.store.db import wake_after_commit
from node.store.schema import jobs


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    locked_until: datetime | None
    last_error: str | None


async def schedule(session: AsyncSession, *, kind: str, key: str, payload: dict[str, Any],
                   now: datetime, at: datetime | None = None) -> None:
    """Queue a job; if one with this key exists, make it pending and due at ``at`` (or now)."""
    when = at or now
    if when <= now:
        wake_after_commit(session)
    inserted = await insert_ignore(session, jobs, [{
        "kind": kind, "key": key, "payload": payload, "state": "pending", "attempts": 0,
        "created_at": now, "next_attempt_at": when}], ["key"])
    if not inserted:
        c = jobs.c
        await session.execute(update(jobs).where(c.key == key, or_(
            c.state != "pending", c.next_attempt_at > when)).values(
            state="pending", next_attempt_at=when, payload=payload, attempts=0))


async def claim(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
                ) -> list[Job]:
    """Lease up to ``limit`` due rows to this worker; other workers skip them."""
    rows = await _claim.claim(session, jobs, now=now, limit=limit, lease=lease,
                              order_by=[jobs.c.next_attempt_at, jobs.c.id])
    return [to_dataclass(Job, r) for r in rows]


async def renew(session: AsyncSession, row_ids: Sequence[int], *, now: datetime,
                lease: timedelta) -> int:
    """Extend the lease of the rows ``row_ids`` this worker is still working."""
    return await _claim.renew(session, jobs, row_ids, now=now, lease=lease)


async def finish(session: AsyncSession, job_id: int, **outcome: Unpack[_claim.JobOutcome]) -> None:
    """Release the lease on the row and write the step's outcome."""
    await _claim.finish(session, jobs, job_id, outcome)


async def get(session: AsyncSession, key: str, *, for_update: bool = False) -> Job | None:
    """The job with this key; ``for_update``: its row locked to the end of the transaction
    (PostgreSQL; SQLite's writers take turns anyway), for a read-modify-write of its payload."""
    query = select(jobs).where(jobs.c.key == key)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(Job, row) if row else None


async def list_kind(session: AsyncSession, kind: str, *, limit: int = 1000) -> list[Job]:
    """The jobs of one kind, oldest first (feed subscriptions are listed this way)."""
    query = select(jobs).where(jobs.c.kind == kind).order_by(jobs.c.id).limit(limit)
    return [to_dataclass(Job, r) for r in (await session.execute(query)).mappings().all()]


async def delete(session: AsyncSession, key: str) -> bool:
    """Remove the job with this key; False when there was none."""
    result = await session.execute(jobs.delete().where(jobs.c.key == key))
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def set_payload(session: AsyncSession, key: str, payload: dict[str, Any]) -> None:
    """Replace the payload of the job with this key (none: nothing), its lease untouched."""
    await session.execute(update(jobs).where(jobs.c.key == key).values(payload=payload))
