"""Reading what arrived: each local actor's feed, the node's follows, reports and queue health."""

from __future__ import annotations

from dataclasses import dataclass

from node.services import policy
from node.services.actors import resolve_local
from node.services.context import NodeContext
from node.services.permissions import Caller, require_admin
from node.store import deliveries as delivery_store
from node.store import feed as feed_store
from node.store import flags as flag_store
from node.store import follows as follow_store
from node.store import inbox as inbox_store
from node.store import peers as peer_store
from node.store.flags import StoredFlag
from node.store.follows import StoredFollow
from node.store.objects import StoredObject
from node.store.peers import Peer


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


async def list_flags(ctx: NodeContext, caller: Caller) -> list[StoredFlag]:
    """The newest reports received, for admins."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        return await flag_store.recent(session, limit=200)


@dataclass(frozen=True)
class FederationStatus:
    deliveries: dict[str, int]  # rows per state
    inbox: dict[str, int]
    peers: list[Peer]


async def federation_status(ctx: NodeContext, caller: Caller) -> FederationStatus:
    """Queue sizes and peer health, for admins."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        return FederationStatus(await delivery_store.counts(session),
                                await inbox_store.counts(session),
                                await peer_store.all_peers(session))
