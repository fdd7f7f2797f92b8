"""Inbox aggregate: received activities, stored raw (unique on the activity id) and applied later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._claim import picked
from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
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


async def add(session: AsyncSession, *, activity_ap_id: str, actor: str, type: str,
              recipient: str | None, document: dict[str, Any], now: datetime,
              host: str | None = None) -> bool:
    """Store a verified activity; False if its id was already received (a duplicate).

    ``host`` is the sender's host as received over the inbox (None for what we fetched
    ourselves): the backlog cap counts by it.
    """
    return await insert_ignore(session, inbox, [{
        "activity_ap_id": activity_ap_id, "actor": actor, "type": type, "recipient": recipient,
        "document": document, "received_at": now, "state": "pending", "attempts": 0,
        "next_attempt_at": now, "host": host}], ["activity_ap_id"]) == 1


async def count_pending(session: AsyncSession, host: str, *, limit: int) -> int:
    """Pending rows received from ``host``, counted up to ``limit`` (one scan of
    ``ix_inbox_host_state``, never more than ``limit`` index entries)."""
    c = inbox.c
    capped = select(c.id).where(c.host == host, c.state == "pending").limit(limit).subquery()
    return int((await session.execute(select(func.count()).select_from(capped))).scalar_one())


async def seen(session: AsyncSession, activity_ap_id: str) -> bool:
    query = select(inbox.c.id).where(inbox.c.activity_ap_id == activity_ap_id)
    return (await session.execute(query)).first() is not None


async def state_of(session: AsyncSession, activity_ap_id: str) -> str | None:
    query = select(inbox.c.state).where(inbox.c.activity_ap_id == activity_ap_id)
    row = (await session.execute(query)).first()
    return str(row[0]) if row else None


async def mark_done(session: AsyncSession, activity_ap_id: str) -> None:
    await session.execute(update(inbox).where(inbox.c.activity_ap_id == activity_ap_id)
                          .values(state="done", locked_until=None))


def _due(now: datetime) -> Any:
    c = inbox.c
    return and_(c.state == "pending", c.next_attempt_at <= now,
                or_(c.locked_until.is_(None), c.locked_until <= now))


async def claim(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
                ) -> list[InboxRow]:
    c = inbox.c
    due = select(c.id).where(_due(now)).order_by(c.id).limit(limit)
    stmt = (update(inbox).where(picked(session, c.id, due), _due(now))
            .values(locked_until=now + lease).returning(*inbox.c))
    rows = (await session.execute(stmt)).mappings().all()
    return sorted((to_dataclass(InboxRow, r) for r in rows), key=lambda r: r.id)


async def finish(session: AsyncSession, row_id: int, **values: Any) -> None:
    await session.execute(update(inbox).where(inbox.c.id == row_id)
                          .values(locked_until=None, **values))
