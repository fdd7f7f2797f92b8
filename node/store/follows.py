"""Follows aggregate: follower/followee pairs with their state and the Follow activity id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import actors as actor_store
from node.store._rows import to_dataclass
from node.store.actors import StoredActor
from node.store.blocks import HostRule, visible
from node.store.schema import actors, follows


@dataclass(frozen=True)
class StoredFollow:
    id: int
    follower: str
    followee: str
    state: str
    activity_ap_id: str | None
    created_at: datetime
    updated_at: datetime
    sync_head: str | None  # newest outbox activity seen by the last complete sync
    last_synced_at: datetime | None


async def get(session: AsyncSession, follower: str, followee: str) -> StoredFollow | None:
    query = select(follows).where(follows.c.follower == follower, follows.c.followee == followee)
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredFollow, row) if row else None


def _pairs(follower: str | None, followee: str | None, state: str, hosts: HostRule | None
           ) -> list[Any]:
    conds: list[Any] = [follows.c.state == state]
    if follower is not None:
        conds.append(follows.c.follower == follower)
    if followee is not None:
        conds.append(follows.c.followee == followee)
    if hosts is not None and hosts != HostRule():
        # Neither side a cached actor of a host ``hosts`` refuses (a block hides them at once).
        refused = select(actors.c.ap_id).where(~visible(actors.c.host, actors.c.is_local, hosts))
        conds += [follows.c.follower.not_in(refused), follows.c.followee.not_in(refused)]
    return conds


async def page(session: AsyncSession, *, follower: str | None = None, followee: str | None = None,
               state: str = "accepted", limit: int, max_id: int | None = None,
               min_id: int | None = None, hosts: HostRule | None = None) -> list[StoredFollow]:
    """Newest first: the followers of ``followee`` or the followees of ``follower``.

    ``max_id`` pages back (older), ``min_id`` pages forward (newer), as ``activities.page_by_actor``.
    """
    query = select(follows).where(*_pairs(follower, followee, state, hosts))
    if max_id is not None:
        query = query.where(follows.c.id < max_id)
    if min_id is not None:
        # Closest newer rows first, then flip to keep newest-first order on the page.
        query = query.where(follows.c.id > min_id).order_by(follows.c.id.asc()).limit(limit)
        rows = list(reversed((await session.execute(query)).mappings().all()))
    else:
        rows = list((await session.execute(query.order_by(follows.c.id.desc()).limit(limit)))
                    .mappings().all())
    return [to_dataclass(StoredFollow, r) for r in rows]


async def count(session: AsyncSession, *, follower: str | None = None,
                followee: str | None = None, state: str = "accepted",
                hosts: HostRule | None = None) -> int:
    query = select(func.count()).select_from(follows).where(
        *_pairs(follower, followee, state, hosts))
    return int((await session.execute(query)).scalar_one())


async def follower_actors(session: AsyncSession, followee: str, *, hosts: HostRule | None = None,
                          limit: int | None = None, offset: int = 0) -> list[StoredActor]:
    """Every live actor with an accepted follow of ``followee`` (local and remote; with
    ``hosts``, only those on hosts it allows); with ``limit``, one page, newest follow first."""
    def every() -> Any:
        query = (select(actors).join(follows, follows.c.follower == actors.c.ap_id)
                 .where(follows.c.followee == followee, follows.c.state == "accepted",
                        actors.c.deleted_at.is_(None)))
        if hosts is not None:
            query = query.where(visible(actors.c.host, actors.c.is_local, hosts))
        return query

    if limit is None:  # every follower: held in memory until a follow or an actor is written
        return await actor_store.held_list(session, ("followers", followee, hosts), every)
    query = every().order_by(follows.c.id.desc()).limit(limit).offset(offset)
    rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(StoredActor, r) for r in rows]


async def followees(session: AsyncSession, follower: str) -> list[str]:
    """Whom ``follower`` follows or asked to follow (accepted or pending), oldest first."""
    query = (select(follows.c.followee)
             .where(follows.c.follower == follower, follows.c.state.in_(("accepted", "pending")))
             .order_by(follows.c.id))
    return [row[0] for row in (await session.execute(query)).all()]


async def upsert(session: AsyncSession, *, follower: str, followee: str, state: str,
                 activity_ap_id: str | None, now: datetime) -> StoredFollow:
    """Record that ``follower`` follows ``followee`` in ``state`` by the Follow
    ``activity_ap_id``: a new row, or the pair's row with these values."""
    actor_store.forget(session)  # the held follower lists
    c = follows.c
    row = (await session.execute(
        update(follows).where(c.follower == follower, c.followee == followee)
        .values(state=state, activity_ap_id=activity_ap_id, updated_at=now)
        .returning(*follows.c))).mappings().first()
    if row is None:
        row = (await session.execute(follows.insert().values(
            follower=follower, followee=followee, state=state, activity_ap_id=activity_ap_id,
            created_at=now, updated_at=now).returning(*follows.c))).mappings().one()
    return to_dataclass(StoredFollow, row)


async def get_by_id(session: AsyncSession, follow_id: int) -> StoredFollow | None:
    row = (await session.execute(select(follows).where(follows.c.id == follow_id))
           ).mappings().first()
    return to_dataclass(StoredFollow, row) if row else None


async def pending_of(session: AsyncSession, followees: list[str] | None, *, limit: int
                     ) -> list[StoredFollow]:
    """Follow requests waiting for an answer from local actors, oldest first: those of
    ``followees``, or of every local actor (None)."""
    c = follows.c
    query = select(follows).where(c.state == "pending")
    if followees is None:
        local = select(actors.c.ap_id).where(actors.c.is_local.is_(True))
        query = query.where(c.followee.in_(local))
    else:
        query = query.where(c.followee.in_(followees))
    query = query.order_by(c.id).limit(limit)
    return [to_dataclass(StoredFollow, r) for r in (await session.execute(query)).mappings()]


async def set_state(session: AsyncSession, follow_id: int, state: str, now: datetime) -> None:
    """A follow answered (``accepted``, ``rejected``)."""
    actor_store.forget(session)  # the held follower lists
    await session.execute(update(follows).where(follows.c.id == follow_id)
                          .values(state=state, updated_at=now))


async def answered(session: AsyncSession, *, follow_ap_id: str, followee: str,
                   follower: str | None = None) -> StoredFollow | None:
    """The follow of ``followee`` an Accept or Reject answers: by its Follow activity's id, else
    (when the answer embeds the Follow) by the ``follower``/``followee`` pair."""
    c = follows.c
    query = select(follows).where(c.activity_ap_id == follow_ap_id, c.followee == followee)
    row = (await session.execute(query)).mappings().first()
    if row is None and follower is not None:
        return await get(session, follower, followee)
    return to_dataclass(StoredFollow, row) if row else None


async def remove(session: AsyncSession, follow_id: int) -> None:
    actor_store.forget(session)  # the held follower lists
    await session.execute(delete(follows).where(follows.c.id == follow_id))


async def remove_pair(session: AsyncSession, follower: str, followee: str) -> bool:
    """Undo of a Follow by its pair; False if there was none."""
    actor_store.forget(session)  # the held follower lists
    result = await session.execute(delete(follows).where(
        follows.c.follower == follower, follows.c.followee == followee))
    return bool(getattr(result, "rowcount", 0))


async def remove_by_activity(session: AsyncSession, follower: str, activity_ap_id: str) -> bool:
    """Undo of a Follow by its activity id; False if ``follower`` has no such follow."""
    actor_store.forget(session)  # the held follower lists
    result = await session.execute(delete(follows).where(
        follows.c.follower == follower, follows.c.activity_ap_id == activity_ap_id))
    return bool(getattr(result, "rowcount", 0))


async def remove_actor(session: AsyncSession, actor: str) -> None:
    """Every follow by or of ``actor`` (a deleted actor)."""
    actor_store.forget(session)  # the held follower lists
    await session.execute(delete(follows).where(
        or_(follows.c.follower == actor, follows.c.followee == actor)))


async def local_followers(session: AsyncSession, followee: str) -> list[StoredFollow]:
    """The accepted follows of ``followee`` by local actors (whose feeds a sync fills)."""
    query = (select(follows).join(actors, actors.c.ap_id == follows.c.follower)
             .where(follows.c.followee == followee, follows.c.state == "accepted",
                    actors.c.is_local.is_(True)))
    return [to_dataclass(StoredFollow, r) for r in (await session.execute(query)).mappings()]


async def mark_synced(session: AsyncSession, followee: str, *, now: datetime,
                      head: str | None = None) -> None:
    """A sync of ``followee`` ran at ``now``; a complete pass also moves its ``head``."""
    values: dict[str, object] = {"last_synced_at": now}
    if head is not None:
        values["sync_head"] = head
    await session.execute(update(follows).where(follows.c.followee == followee).values(**values))
