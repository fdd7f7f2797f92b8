"""The admin's pages (``/beheer``): peers and their queues, run-time blocks, failed deliveries.

Every action checks ``require_admin`` and writes one log line on ``kennisknoop.admin`` naming
the admin and the action (docs/pages.md, Beheer: log lines, no action table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from node.services import policy
from node.services.context import NodeContext
from node.services.errors import NotFoundError
from node.services.permissions import Caller, require_admin
from node.store import blocks as block_store
from node.store import deliveries as delivery_store
from node.store import peers as peer_store
from node.store.deliveries import Delivery

log = logging.getLogger("kennisknoop.admin")
FAILED_SHOWN = 200


@dataclass(frozen=True)
class PeerRow:
    host: str
    status: str  # ok | failing | unavailable | blocked | unknown
    last_success_at: datetime | None
    waiting: int
    oldest_waiting: datetime | None
    blocked_reason: str | None


@dataclass(frozen=True)
class PeersView:
    mode: str  # open | allowlist (policy.configured_mode)
    allow: list[str]
    configured_block: list[str]
    peers: list[PeerRow]


def _status(peer: peer_store.Peer | None, blocked: bool) -> str:
    if blocked:
        return "blocked"
    if peer is None:
        return "unknown"
    if peer.unavailable_since is not None:
        return "unavailable"
    return "failing" if peer.failure_days else "ok"


async def peers_view(ctx: NodeContext, caller: Caller) -> PeersView:
    """Every host we deliver to, have heard from or block, with its health and queue."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        known = {p.host: p for p in await peer_store.all_peers(session)}
        queues = await delivery_store.waiting_by_host(session)
        blocks = {b.host: b for b in await block_store.list_all(session)}
        rule = await policy.rule(ctx, session)
    rows = []
    for host in sorted({*known, *queues, *blocks}):
        peer, queue = known.get(host), queues.get(host)
        blocked = host in blocks or not rule.allows(host)
        rows.append(PeerRow(host, _status(peer, blocked),
                            peer.last_success_at if peer else None,
                            queue.waiting if queue else 0, queue.oldest if queue else None,
                            blocks[host].reason if host in blocks else None))
    settings = ctx.settings.federation
    return PeersView(policy.configured_mode(ctx.settings), sorted(settings.allow),
                     sorted(settings.block), rows)


async def block_host(ctx: NodeContext, caller: Caller, host: str, reason: str | None) -> str:
    """Block ``host`` at run time (its content is hidden at once, not deleted)."""
    require_admin(caller)
    normalised, added, _ = await policy.block(ctx, host, reason=reason)
    log.info("admin %s blocked host %s (reason: %s; new: %s)", caller.username, normalised,
             reason or "-", added)
    return normalised


async def unblock_host(ctx: NodeContext, caller: Caller, host: str) -> str:
    require_admin(caller)
    normalised, removed = await policy.unblock(ctx, host)
    if not removed:
        raise NotFoundError("not_found", f"{normalised} is not blocked at run time")
    log.info("admin %s lifted the block of host %s", caller.username, normalised)
    return normalised


async def failed_deliveries(ctx: NodeContext, caller: Caller) -> list[Delivery]:
    """The deliveries given up on, newest first."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        return await delivery_store.failed(session, limit=FAILED_SHOWN)


async def retry_deliveries(ctx: NodeContext, caller: Caller, *, delivery_id: int | None = None,
                           host: str | None = None) -> int:
    """Queue failed deliveries again, due now: one by id, or all of a host."""
    require_admin(caller)
    async with ctx.db.transaction() as session:
        count = await delivery_store.retry_failed(session, ctx.now(), delivery_id=delivery_id,
                                                  host=host)
    if count == 0:
        raise NotFoundError("not_found", "no failed delivery to retry")
    log.info("admin %s retried %d failed deliveries (id %s, host %s)", caller.username, count,
             delivery_id if delivery_id is not None else "-", host or "-")
    return count
