"""Notifications for editors (issue 11): answers to their initiatives' questions, endorsements of
their bottlenecks, new followers, and their answers that were accepted.

Derived, not stored (docs/following.md): ``node.store.notifications`` reads them from the rows the
events left, for the actors a user acts for — the initiatives granted to them, and for an admin
also the node actor. What a user read is a mark per notification key; "mark as read" marks all
that are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.services.collections import authors_of
from node.services.context import NodeContext
from node.services.permissions import Caller
from node.store import actors as actor_store
from node.store import notifications as store
from node.store.actors import StoredActor
from node.store.notifications import Event

KINDS = ("answer", "endorsement", "follower", "accepted")
PER_KIND = 100  # the newest of each kind are read; a page lists at most LIMIT of them together
LIMIT = 100


@dataclass(frozen=True)
class Notification:
    event: Event
    recipient: StoredActor | None
    actor: StoredActor | None
    read: bool


async def recipients(session: AsyncSession, caller: Caller) -> list[str]:
    """The local actors whose notifications ``caller`` gets: their granted initiatives, and the
    node actor for an admin (not every initiative: an admin is not its editor)."""
    found = await store.granted_actors(session, caller.user_id)
    if caller.is_admin:
        node = await actor_store.get_node(session)
        if node is not None:
            found.append(node.ap_id)
    return found


async def events(session: AsyncSession, caller: Caller, *, since: datetime | None = None,
                 limit: int = LIMIT) -> list[Event]:
    """The newest notifications of ``caller`` (after ``since``), newest first."""
    actors = await recipients(session, caller)
    if not actors:
        return []
    found = [*await store.answers(session, actors, limit=PER_KIND),
             *await store.endorsements(session, actors, limit=PER_KIND),
             *await store.followers(session, actors, limit=PER_KIND),
             *await store.accepted(session, actors, limit=PER_KIND)]
    if since is not None:
        found = [e for e in found if e.at >= since]
    found.sort(key=lambda e: (e.at, e.key), reverse=True)
    return found[:limit]


async def list_for(ctx: NodeContext, caller: Caller) -> list[Notification]:
    """What the notifications page shows: newest first, each with whether it was read."""
    async with ctx.db.sessions() as session:
        found = await events(session, caller)
        read = await store.marked(session, caller.user_id, [e.key_hash for e in found],
                                  column="read_at")
        names = await authors_of(session, [iri for e in found for iri in (e.recipient, e.actor)])
    return [Notification(e, names.get(e.recipient), names.get(e.actor), e.key_hash in read)
            for e in found]


async def unread_count(ctx: NodeContext, caller: Caller) -> int:
    async with ctx.db.sessions() as session:
        found = await events(session, caller)
        read = await store.marked(session, caller.user_id, [e.key_hash for e in found],
                                  column="read_at")
    return sum(1 for e in found if e.key_hash not in read)


async def mark_all_read(ctx: NodeContext, caller: Caller) -> None:
    """Mark every notification listed now as read (a later one stays unread)."""
    async with ctx.db.transaction() as session:
        found = await events(session, caller)
        await store.mark(session, caller.user_id, [e.key_hash for e in found],
                         column="read_at", now=ctx.now())
