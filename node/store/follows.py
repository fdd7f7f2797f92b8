"""Follows aggregate: follower/followee pairs with their state and the Follow activity id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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


async def follower_actors(session: AsyncSession, followee: str, *, hosts: HostRule | None = None
                          ) -> list[StoredActor]:
    """Every live actor with an accepted follow of ``followee`` (local and remote; with
    ``hosts``, only those on hosts it allows)."""
    query = (select(actors).join(follows, follows.c.follower == actors.c.ap_id)
             .where(follows.c.followee == followee, follows.c.state == "accepted",
                    actors.c.deleted_at.is_(None)))
    if hosts is not None:
        query = query.where(visible(actors.c.host, actors.c.is_local, hosts))
    rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(StoredActor, r) for r in rows]


async def followees(session: AsyncSession, follower: str) -> list[str]:
    """Whom ``follower`` follows or asked to follow (accepted or pending), oldest first."""
    query = (select(follows.c.followee)
             .where(follows.c.follower == follower, follows.c.state.in_(("accepted", "pending")))
             .order_by(follows.c.id))
    return [row[0] for row in (await session.execute(query)).all()]
