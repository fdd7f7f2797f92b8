"""Activities aggregate: the signed activities this node originated, i.e. its actors' outboxes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store.schema import activities


@dataclass(frozen=True)
class StoredActivity:
    id: int
    ap_id: str
    actor: str
    type: str
    object_ap_id: str | None
    published: datetime
    document: dict[str, Any]


async def insert(session: AsyncSession, **values: Any) -> StoredActivity:
    result = await session.execute(activities.insert().values(**values).returning(*activities.c))
    return to_dataclass(StoredActivity, result.mappings().one())


async def get(session: AsyncSession, ap_id: str) -> StoredActivity | None:
    query = select(activities).where(activities.c.ap_id == ap_id)
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredActivity, row) if row else None


async def page_by_actor(session: AsyncSession, actor: str, *, limit: int,
                        max_id: int | None = None, min_id: int | None = None
                        ) -> list[StoredActivity]:
    """Newest first; ``max_id`` pages back (older), ``min_id`` pages forward (newer)."""
    c = activities.c
    query = select(activities).where(c.actor == actor)
    if max_id is not None:
        query = query.where(c.id < max_id)
    if min_id is not None:
        # Closest newer rows first, then flip to keep newest-first order on the page.
        query = query.where(c.id > min_id).order_by(c.id.asc()).limit(limit)
        rows = list(reversed((await session.execute(query)).mappings().all()))
    else:
        rows = list((await session.execute(query.order_by(c.id.desc()).limit(limit)))
                    .mappings().all())
    return [to_dataclass(StoredActivity, r) for r in rows]


async def count_by_actor(session: AsyncSession, actor: str) -> int:
    query = select(func.count()).select_from(activities).where(activities.c.actor == actor)
    return int((await session.execute(query)).scalar_one())
