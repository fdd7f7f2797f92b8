"""Follow requests waiting for approval: a local actor that approves followers by hand.

The node actor and each initiative may choose to approve followers by hand (``actors.
approves_followers``; ``federation.follow_approval = "manual"`` turns it on for every local
actor). Their documents then say ``manuallyApprovesFollowers: true`` (as a locked Mastodon
account does), and an incoming ``Follow`` is stored as ``pending`` (``apply.handle_follow``): no
Accept goes out and the requester gets no deliveries (fan-out reads accepted follows only). An
editor of the actor (an admin for the node actor) accepts — an ``Accept`` is sent and the
follower is added — or rejects — a ``Reject`` is sent and the request is removed, so the same
actor may ask again. An ``Undo(Follow)`` from the requester removes its request; a repeated
``Follow`` keeps one request (the pair is unique). Turning the choice off accepts every waiting
request, as Mastodon does when an account is unlocked. Each action is logged on
``kennisknoop.admin`` with the user's name (docs/following.md, "Approving followers by hand").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import actors as actor_service
from node.services.context import NodeContext
from node.services.documents import follow_reference
from node.services.errors import NotFoundError, ValidationError
from node.services.outbox import publish_activity
from node.services.permissions import Caller, require_actor_edit
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store import users as user_store
from node.store.actors import StoredActor
from node.store.follows import StoredFollow

log = logging.getLogger("kennisknoop.admin")
REQUESTS_SHOWN = 500
CHOOSING_KINDS = ("node", "initiative")


@dataclass(frozen=True)
class FollowRequest:
    id: int
    follower: str  # the requester's actor IRI
    follower_actor: StoredActor | None  # its cached document (name, handle), when we hold it
    followee: StoredActor  # the local actor asked
    asked_at: datetime


def _forced(ctx: NodeContext) -> bool:
    return ctx.settings.federation.follow_approval == "manual"


async def _chooser(session: AsyncSession, ctx: NodeContext, caller: Caller,
                   handle: str | None) -> StoredActor:
    """The local actor whose choice ``caller`` changes: the node (``handle`` None; admins) or
    an initiative the caller may edit."""
    actor = (await actor_service.resolve_local(session, ctx, handle) if handle
             else await actor_store.get_node(session))
    if actor is None:
        raise NotFoundError("not_found", "this node has no node actor yet")
    await require_actor_edit(session, caller, actor)
    if actor.kind not in CHOOSING_KINDS:
        raise ValidationError("bad_value", "only the node and an initiative choose this",
                              field="handle")
    return actor


async def approval_of(ctx: NodeContext, caller: Caller, handle: str | None) -> tuple[bool, bool]:
    """(whether the actor approves by hand, whether the settings make it so for every actor)."""
    async with ctx.db.sessions() as session:
        actor = await _chooser(session, ctx, caller, handle)
    return actor.approves_followers or _forced(ctx), _forced(ctx)


async def set_approval(ctx: NodeContext, caller: Caller, handle: str | None, approves: bool
                       ) -> int:
    """Turn approving by hand on or off for the node (``handle`` None) or an initiative.

    Returns how many waiting requests were accepted (turning it off accepts them all).
    Raises ValidationError ``set_by_settings`` to turn it off while the settings demand it.
    """
    accepted = 0
    async with ctx.db.transaction() as session:
        actor = await _chooser(session, ctx, caller, handle)
        if not approves and _forced(ctx):
            raise ValidationError("set_by_settings", "federation.follow_approval = \"manual\" "
                                  "makes every actor approve followers by hand",
                                  field="approve")
        if actor.approves_followers == approves:
            return 0
        actor = await actor_service.set_approves_followers(ctx, session, actor, approves)
        if not approves:
            for row in await follow_store.pending_of(session, [actor.ap_id],
                                                     limit=REQUESTS_SHOWN * 20):
                await _accept(ctx, session, actor, row)
                accepted += 1
    log.info("user %s turned approving followers by hand %s for %s (%d waiting accepted)",
             caller.username, "on" if approves else "off", actor.handle, accepted)
    return accepted


async def _may_answer(session: AsyncSession, caller: Caller) -> list[str] | None:
    """The local actors whose requests ``caller`` answers: every one (None) for an admin."""
    if caller.is_admin:
        return None
    granted = await user_store.granted_actor_ids(session, caller.user_id)
    initiatives = await actor_store.list_local(session, kind="initiative", limit=100_000)
    return [a.ap_id for a in initiatives if a.id in granted]


async def pending_requests(ctx: NodeContext, caller: Caller) -> list[FollowRequest]:
    """The follow requests waiting for the actors ``caller`` may answer for, oldest first."""
    async with ctx.db.sessions() as session:
        followees = await _may_answer(session, caller)
        if followees == []:
            return []
        rows = await follow_store.pending_of(session, followees, limit=REQUESTS_SHOWN)
        iris = {r.follower for r in rows} | {r.followee for r in rows}
        found = {iri: await actor_store.get(session, iri) for iri in sorted(iris)}
    return [FollowRequest(r.id, r.follower, found.get(r.follower), followee, r.created_at)
            for r in rows if (followee := found.get(r.followee)) is not None]


async def _accept(ctx: NodeContext, session: AsyncSession, followee: StoredActor,
                  row: StoredFollow) -> None:
    await follow_store.set_state(session, row.id, "accepted", ctx.now())
    await _answer(ctx, session, followee, row, "Accept")


async def _answer(ctx: NodeContext, session: AsyncSession, followee: StoredActor,
                  row: StoredFollow, type: str) -> None:
    """Send ``Accept`` or ``Reject`` of the request ``row`` to its requester."""
    follower = await actor_store.get(session, row.follower)
    if follower is None or follower.is_local or not row.activity_ap_id:
        return  # nobody to tell (a local follow holds at once; a forgotten actor)
    follow = follow_reference(ap_id=row.activity_ap_id, actor=row.follower,
                              followee=followee.ap_id)
    await publish_activity(ctx, session, actor=followee, type=type, obj=follow,
                           recipients=[follower], followers=False, to=[row.follower], cc=[])


async def answer_request(ctx: NodeContext, caller: Caller, request_id: int, *, accept: bool
                         ) -> FollowRequest:
    """Accept (the follower is added, ``Accept`` sent) or reject (the request removed,
    ``Reject`` sent) a waiting follow request. NotFoundError when it is not waiting (any
    more): answered already, or withdrawn by an Undo."""
    async with ctx.db.transaction() as session:
        row = await follow_store.get_by_id(session, request_id)
        followee = await actor_store.get(session, row.followee) if row else None
        if row is None or row.state != "pending" or followee is None or not followee.is_local:
            raise NotFoundError("not_found", f"no waiting follow request {request_id}")
        await require_actor_edit(session, caller, followee)
        if accept:
            await _accept(ctx, session, followee, row)
        else:
            await follow_store.remove(session, row.id)
            await _answer(ctx, session, followee, row, "Reject")
        follower = await actor_store.get(session, row.follower)
    log.info("user %s %s the follow request of %s for %s", caller.username,
             "accepted" if accept else "rejected", row.follower, followee.handle)
    return FollowRequest(row.id, row.follower, follower, followee, row.created_at)
