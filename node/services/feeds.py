"""Reading what arrived: each local actor's feed, the node's follows, reports and queue health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from node.services import policy
from node.services.actors import resolve_local
from node.services.context import NodeContext
from node.services.permissions import Caller, require_admin
from node.store import deliveries as delivery_store
from node.store import feed as feed_store
from node.store import follows as follow_store
from node.store.follows import StoredFollow
from node.store.objects import StoredObject
from node.store.schema import flags, inbox, peers


@dataclass(frozen=True)
class FeedPage:
    items: list[StoredObject]
    next_max_id: int | None


async def feed_page(ctx: NodeContext, handle: str, *, limit: int, max_id: int | None = None
                    ) -> FeedPage:
    """What the actors ``handle`` follows have published, newest first."""
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, handle)
        rows = await feed_store.page(session, actor.ap_id, limit=limit + 1, max_id=max_id,
                                     hosts=await policy.rule(ctx, session))
    more = len(rows) > limit
    rows = rows[:limit]
    return FeedPage([item for _, item in rows], rows[-1][0] if more and rows else None)


async def follows_of(ctx: NodeContext, handle: str, *, following: bool) -> list[StoredFollow]:
    """Accepted and pending follows of (``following``) or by others of a local actor."""
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, handle)
        out: list[StoredFollow] = []
        for state in ("accepted", "pending"):
            if following:
                out += await follow_store.page(session, follower=actor.ap_id, state=state,
                                               limit=1000)
            else:
                out += await follow_store.page(session, followee=actor.ap_id, state=state,
                                               limit=1000)
    return out


async def list_flags(ctx: NodeContext, caller: Caller) -> list[dict[str, Any]]:
    require_admin(caller)
    async with ctx.db.sessions() as session:
        rows = (await session.execute(select(flags).order_by(flags.c.id.desc()).limit(200)))
        return [dict(r) for r in rows.mappings().all()]


async def federation_status(ctx: NodeContext, caller: Caller) -> dict[str, Any]:
    """Queue sizes and peer health, for admins."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        deliveries = await delivery_store.counts(session)
        inbox_states = {str(s): int(n) for s, n in (await session.execute(
            select(inbox.c.state, func.count()).group_by(inbox.c.state))).all()}
        peer_rows = (await session.execute(select(peers).order_by(peers.c.host))).mappings()
        peer_list = [dict(p) for p in peer_rows.all()]
    return {"deliveries": deliveries, "inbox": inbox_states, "peers": peer_list}
