"""Flags aggregate: reports (``Flag`` activities) received, kept for the admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
from node.store.schema import flags


@dataclass(frozen=True)
class StoredFlag:
    id: int
    activity_ap_id: str
    actor: str
    objects: list[str]
    content: str | None
    received_at: datetime
    state: str  # open | resolved


async def add(session: AsyncSession, *, activity_ap_id: str, actor: str, objects: list[str],
              content: str, now: datetime) -> bool:
    """Store a report; False if this Flag activity was stored before."""
    return await insert_ignore(session, flags, [{
        "activity_ap_id": activity_ap_id, "actor": actor, "objects": objects,
        "content": content, "received_at": now, "state": "open"}], ["activity_ap_id"]) == 1


async def recent(session: AsyncSession, *, limit: int) -> list[StoredFlag]:
    """The newest ``limit`` reports, newest first."""
    query = select(flags).order_by(flags.c.id.desc()).limit(limit)
    return [to_dataclass(StoredFlag, r) for r in (await session.execute(query)).mappings()]


async def resolve(session: AsyncSession, flag_id: int) -> bool:
    """Mark an open report as dealt with; False if there is no open report ``flag_id``."""
    result = await session.execute(update(flags).where(flags.c.id == flag_id,
                                                      flags.c.state == "open")
                                   .values(state="resolved"))
    return bool(getattr(result, "rowcount", 0))
