"""Following from the browser: whom a signed-in person may follow as, and remote follow.

- A signed-in editor follows an actor as one of the initiatives granted to them, an admin also
  as the node (the same rule as ``POST /api/follows``); the follow itself is ``node.services.follow``.
- Anyone else names their own fediverse account (``user@host``): its server's WebFinger answer
  (RFC 7033) carries the OStatus subscribe template (``protocol.webfinger.SUBSCRIBE_REL``), which
  Mastodon serves as ``/authorize_interaction?uri={uri}``; the person is sent there with the
  actor's IRI filled in, as Mastodon's own remote-follow dialog does. The lookup goes through the
  guarded client and the federation policy; nothing is stored either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError
from node.services import follow, policy
from node.services.actors import resolve_local
from node.services.collections import authors_of
from node.services.context import NodeContext
from node.services.errors import (
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from node.services.permissions import Caller, require_actor_edit
from node.services.policy import check_host
from node.services.resolve import fetch_actor
from node.store import actors as actor_store
from node.store import feed as feed_store
from node.store import follows as follow_store
from node.store import users as user_store
from node.store.actors import StoredActor
from node.store.follows import StoredFollow
from node.store.objects import StoredObject
from protocol.parse import is_iri

MAX_CHOICES = 500


@dataclass(frozen=True)
class FollowChoice:
    """A local actor the person may follow as, and its follow of the target (if any)."""

    actor: StoredActor
    state: str | None  # pending | accepted | rejected, or None: does not follow


@dataclass(frozen=True)
class FollowTarget:
    """The actor to follow, as far as this node knows it."""

    ap_id: str
    actor: StoredActor | None


async def acting_actors(session: AsyncSession, caller: Caller) -> list[StoredActor]:
    """The local actors ``caller`` may follow as: the node (admins) and their initiatives."""
    initiatives = await actor_store.list_local(session, kind="initiative", limit=MAX_CHOICES)
    if caller.is_admin:
        node = await actor_store.get_node(session)
        return ([node] if node is not None else []) + initiatives
    granted = await user_store.granted_actor_ids(session, caller.user_id)
    return [actor for actor in initiatives if actor.id in granted]


async def follow_choices(ctx: NodeContext, caller: Caller, target_iri: str) -> list[FollowChoice]:
    """Each actor ``caller`` may follow ``target_iri`` as, with its current follow state."""
    async with ctx.db.sessions() as session:
        actors = await acting_actors(session, caller)
        choices = []
        for actor in actors:
            if actor.ap_id == target_iri or actor.deleted:
                continue
            found = await follow_store.get(session, actor.ap_id, target_iri)
            choices.append(FollowChoice(actor, found.state if found else None))
    return choices


async def _check_may_act_as(ctx: NodeContext, caller: Caller, as_handle: str) -> None:
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, as_handle)
        if actor.kind == "node":
            if not caller.is_admin:
                raise PermissionDeniedError("forbidden", "only an admin may act as the node")
            return
        await require_actor_edit(session, caller, actor)


async def follow_as(ctx: NodeContext, caller: Caller, target: str, as_handle: str
                    ) -> StoredFollow:
    """``caller`` has ``as_handle`` follow ``target`` (refused unless they may act for it)."""
    await _check_may_act_as(ctx, caller, as_handle)
    try:
        return await follow.follow(ctx, target, as_handle=as_handle)
    except RemoteError as exc:
        raise NotFoundError("not_found", f"cannot follow {target}: {exc.reason}") from exc


async def unfollow_as(ctx: NodeContext, caller: Caller, target: str, as_handle: str) -> bool:
    await _check_may_act_as(ctx, caller, as_handle)
    return await follow.unfollow(ctx, target, as_handle=as_handle)


async def target(ctx: NodeContext, uri: str) -> FollowTarget:
    """What ``uri`` (an actor IRI or a ``user@host`` handle) names; a remote actor is fetched
    (and cached) so the page can show its name."""
    iri = await follow.resolve_target(ctx, uri)
    if ctx.urls.is_local(iri):
        async with ctx.db.sessions() as session:
            actor = await actor_store.get(session, iri)
        if actor is None or actor.deleted:
            raise NotFoundError("not_found", f"no local actor {iri}")
        return FollowTarget(iri, actor)
    await check_host(ctx, iri)
    try:
        return FollowTarget(iri, await fetch_actor(ctx, iri))
    except RemoteError as exc:
        raise NotFoundError("not_found", f"cannot fetch {iri}: {exc.reason}") from exc


class RemoteFollowError(ValidationError):
    """A remote follow that cannot go ahead; ``reason`` says why (``bad_handle``,
    ``lookup_failed``, ``no_subscribe``, ``host_not_allowed``)."""


async def remote_follow_url(ctx: NodeContext, handle: str, uri: str) -> str:
    """Where to send someone with the account ``handle`` to follow ``uri``: their server's
    remote-follow page (this node's own ``/volgen`` for an account here)."""
    if not is_iri(uri) or not ctx.urls.is_local(uri):
        raise NotFoundError("not_found", f"{uri!r} is not an actor on this node")
    try:
        user, host = follow.split_handle(handle)
    except ValidationError as exc:
        raise RemoteFollowError("bad_handle", exc.detail, field="handle") from exc
    if host == ctx.urls.host:
        return ctx.urls.subscribe_template().replace("{uri}", quote(uri, safe=""))
    try:
        jrd = await follow.webfinger(ctx, user, host)
    except PermissionDeniedError as exc:
        raise RemoteFollowError("host_not_allowed", exc.detail, field="handle") from exc
    except NotFoundError as exc:
        raise RemoteFollowError("lookup_failed", exc.detail, field="handle") from exc
    url = jrd.subscribe_url(uri)
    if url is None:
        raise RemoteFollowError("no_subscribe", f"{host} names no remote-follow page",
                                field="handle")
    return url


@dataclass(frozen=True)
class FeedView:
    """One page of what a local actor follows: the items, newest entry first."""

    actor: StoredActor
    items: list[StoredObject]
    authors: dict[str, StoredActor]
    next_max_id: int | None  # the cursor of the next (older) page, if there is one


async def feed_view(ctx: NodeContext, handle: str, *, limit: int, max_id: int | None = None
                    ) -> FeedView:
    """The feed of the local actor ``handle`` (items of refused hosts and deleted ones left
    out), older than the entry ``max_id``."""
    async with ctx.db.sessions() as session:
        actor = await actor_store.get_local(session, handle)
        if actor is None or actor.deleted:
            raise NotFoundError("not_found", f"no local actor {handle!r}")
        rows = await feed_store.page(session, actor.ap_id, limit=limit + 1, max_id=max_id,
                                     hosts=await policy.rule(ctx, session))
        more = len(rows) > limit
        rows = rows[:limit]
        authors = await authors_of(session, (item.attributed_to for _, item in rows))
    return FeedView(actor, [item for _, item in rows], authors,
                    rows[-1][0] if more and rows else None)
