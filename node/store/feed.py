"""Feed aggregate: what arrived for each local actor from the actors it follows, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore, insert_ignore_many
from node.store.blocks import HostRule, visible
from node.store.objects import StoredObject
from node.store.schema import feed, objects


async def add(session: AsyncSession, *, owners: list[str], object_ap_id: str, via: str,
              now: datetime) -> int:
    return await insert_ignore(session, feed, rows(owners=owners, object_ap_id=object_ap_id,
                                                   via=via, now=now), ["owner", "object_ap_id"])


def rows(*, owners: list[str], object_ap_id: str, via: str, now: datetime
         ) -> list[dict[str, object]]:
    """The feed entries :func:`add` writes (for :func:`add_rows`)."""
    return [{"owner": o, "object_ap_id": object_ap_id, "via": via, "created_at": now}
            for o in dict.fromkeys(owners)]


async def add_rows(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """Many feed entries (``owner``, ``object_ap_id``, ``via``, ``created_at``) in one
    ``executemany``; an entry already there is kept."""
    await insert_ignore_many(session, feed, rows, ["owner", "object_ap_id"])


async def page(session: AsyncSession, owner: str, *, limit: int, max_id: int | None = None,
               hosts: HostRule | None = None) -> list[tuple[int, StoredObject]]:
    """(feed entry id, object) pairs, newest entry first, tombstones, hidden items and items of
    hosts ``hosts`` refuses left out."""
    query = (select(feed.c.id.label("feed_id"), objects)
             .join(objects, objects.c.ap_id == feed.c.object_ap_id)
             .where(feed.c.owner == owner, objects.c.deleted_at.is_(None),
                    objects.c.hidden_at.is_(None)))
    if hosts is not None:
        query = query.where(visible(objects.c.host, objects.c.is_local, hosts))
    if max_id is not None:
        query = query.where(feed.c.id < max_id)
    rows = (await session.execute(query.order_by(feed.c.id.desc()).limit(limit))).mappings()
    return [(int(r["feed_id"]), to_dataclass(StoredObject, r)) for r in rows.all()]
