"""Activities aggregate: the signed activities this node originated, i.e. its actors' outboxes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store.blocks import HostRule, visible
from node.store.schema import activities, objects


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


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many activities with one statement (``executemany``), in the order given: the
    outbox pages by id, so the order is the order of publication."""
    if rows:
        await session.execute(activities.insert(), rows)


async def get(session: AsyncSession, ap_id: str) -> StoredActivity | None:
    query = select(activities).where(activities.c.ap_id == ap_id)
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredActivity, row) if row else None


def _relayed_item(c: Any) -> Any:
    """The item an Announce of an embedded Update or Delete (``object.object``) is about."""
    return func.coalesce(c.document[("object", "object", "id")].as_string(),
                         c.document[("object", "object")].as_string())


def _of_actor(actor: str, hosts: HostRule | None) -> list[Any]:
    """An actor's activities; with ``hosts``, not those relaying an object of a refused host,
    nor those about an item an admin hid (its Create announced as the object itself, its
    Update relayed as the embedded activity)."""
    c = activities.c
    conds: list[Any] = [c.actor == actor]
    if hosts is not None:
        conds.append(~exists().where(objects.c.ap_id == c.object_ap_id,
                                     ~visible(objects.c.host, objects.c.is_local, hosts)))
        hidden = select(objects.c.ap_id).where(objects.c.hidden_at.is_not(None))
        conds.append(or_(c.type != "Announce", and_(c.object_ap_id.not_in(hidden),
                                                    or_(_relayed_item(c).is_(None),
                                                        _relayed_item(c).not_in(hidden)))))
    return conds


async def page_by_actor(session: AsyncSession, actor: str, *, limit: int,
                        max_id: int | None = None, min_id: int | None = None,
                        hosts: HostRule | None = None) -> list[StoredActivity]:
    """Newest first; ``max_id`` pages back (older), ``min_id`` pages forward (newer)."""
    c = activities.c
    query = select(activities).where(*_of_actor(actor, hosts))
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


async def item_ids_by_actor(session: AsyncSession, actor: str, *, limit: int) -> list[str]:
    """The stored items ``actor``'s outbox created or announced, newest first."""
    c = activities.c
    query = (select(c.object_ap_id).join(objects, objects.c.ap_id == c.object_ap_id)
             .where(c.actor == actor, c.type.in_(("Create", "Announce")))
             .order_by(c.id.desc()).limit(limit))
    return list(dict.fromkeys((await session.execute(query)).scalars().all()))


async def count_by_actor(session: AsyncSession, actor: str, *, hosts: HostRule | None = None
                         ) -> int:
    query = select(func.count()).select_from(activities).where(*_of_actor(actor, hosts))
    return int((await session.execute(query)).scalar_one())


async def delete_history(session: AsyncSession, object_ap_id: str) -> int:
    """Remove the Create/Update activities of a deleted object, and Announces of them.

    A deleted item's content must not live on in outboxes; its Delete activity stays.
    """
    c = activities.c
    rows = (await session.execute(select(c.ap_id).where(
        c.object_ap_id == object_ap_id, c.type.in_(("Create", "Update"))))).scalars().all()
    targets = [object_ap_id, *rows]
    result = await session.execute(delete(activities).where(
        ((c.object_ap_id == object_ap_id) & c.type.in_(("Create", "Update")))
        | ((c.type == "Announce") & c.object_ap_id.in_(targets))))
    return int(getattr(result, "rowcount", 0) or 0)
