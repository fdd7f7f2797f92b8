"""The national aggregator role: follow the configured nodes, offer the nodes they follow.

A ``role = "aggregator"`` node follows the nodes in ``aggregator.follow`` at start-up, as a
durable job (``ensure_node_actor`` schedules it, the worker runs it and retries a node that does
not answer). It holds no initiatives of its own unless an admin creates them, and relays what it
receives with the authors' proofs untouched (node.services.outbox.announcers). Nodes followed by
the nodes it follows are offered (``suggestions``), never followed on their own: an admin follows
them through ``POST /api/follows``. The provincial nodes do not depend on it: they follow each
other directly, and keep federating when it is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from node.remote import RemoteError
from node.services import policy
from node.services.context import NodeContext
from node.services.errors import ServiceError
from node.services.follow import follow
from node.services.resolve import fetch_actor, node_actor, signer_of
from node.store import follows as follow_store
from protocol.errors import ProtocolError
from protocol.origin import authority_of, same_origin

log = logging.getLogger("kennisknoop.aggregator")

MAX_SUGGESTIONS = 200


class FollowIncompleteError(Exception):
    """Some configured nodes could not be followed yet; the job retries them."""

    reason = "follow_incomplete"


async def follow_configured(ctx: NodeContext, targets: list[str]) -> None:
    """Follow every configured node (idempotent); raises FollowIncompleteError to retry."""
    failed: list[str] = []
    for target in targets:
        try:
            await follow(ctx, target)
        except (RemoteError, ProtocolError, ServiceError) as exc:
            log.info("aggregator cannot follow %s yet: %s", target, exc)
            failed.append(target)
    if failed:
        raise FollowIncompleteError(f"not followed yet: {', '.join(failed)[:900]}")


@dataclass(frozen=True)
class Suggestion:
    actor: str  # the node actor's IRI
    name: str | None
    host: str
    followed_by: list[str]  # the followed nodes that follow it


async def _following_of(ctx: NodeContext, followee: str, signer: Any) -> list[str]:
    """The first page of a followed node's ``following`` collection (actor IRIs)."""
    actor = await fetch_actor(ctx, followee)
    if not actor.following or not same_origin(actor.following, followee):
        return []
    collection = await ctx.remote.get_json(actor.following, signer=signer)
    page: Any = collection.get("first", collection)
    if isinstance(page, str):
        page = (await ctx.remote.get_json(page, signer=signer)
                if same_origin(page, followee) else {})
    entries = page.get("orderedItems", page.get("items", [])) if isinstance(page, dict) else []
    return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []


async def suggestions(ctx: NodeContext) -> list[Suggestion]:
    """Node actors followed by the nodes this node follows, that it does not follow itself."""
    node = await node_actor(ctx)
    async with ctx.db.sessions() as session:
        ours = await follow_store.followees(session, node.ap_id)
        hosts = await policy.rule(ctx, session)
    followed = set(ours)
    signer = signer_of(node)
    found: dict[str, list[str]] = {}
    for followee in ours:
        try:
            for candidate in await _following_of(ctx, followee, signer):
                if candidate != node.ap_id and candidate not in followed and \
                        not ctx.urls.is_local(candidate) and hosts.allows(authority_of(candidate)):
                    found.setdefault(candidate, []).append(followee)
        except (RemoteError, ProtocolError) as exc:
            log.info("following of %s not read: %s", followee, exc)
    out: list[Suggestion] = []
    for candidate, via in list(found.items())[:MAX_SUGGESTIONS]:
        try:
            actor = await fetch_actor(ctx, candidate)
        except (RemoteError, ProtocolError) as exc:
            log.info("suggested actor %s not read: %s", candidate, exc)
            continue
        if (actor.document or {}).get("kind") == "node":
            out.append(Suggestion(candidate, actor.name, actor.host, sorted(via)))
    return out


__all__ = ["FollowIncompleteError", "Suggestion", "follow_configured", "suggestions"]
