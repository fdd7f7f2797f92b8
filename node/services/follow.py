"""Following: a local actor (the node or an initiative) follows a node, initiative or theme
anywhere — by ``acct:``/``@name@host`` handle (WebFinger, RFC 7033) or by actor URL.
"""

from __future__ import annotations

import logging

from node.remote import RemoteError
from node.services.actors import resolve_local
from node.services.context import NodeContext
from node.services.documents import follow_reference
from node.services.errors import NotFoundError, PermissionDeniedError, ValidationError
from node.services.outbox import publish_activity
from node.services.policy import check_host
from node.services.resolve import fetch_actor
from node.services.urls import new_local_id
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import feed as feed_store
from node.store import follows as follow_store
from node.store.follows import StoredFollow
from protocol.errors import DocumentError
from protocol.parse import is_iri
from protocol.webfinger import JRD, parse_handle, parse_jrd

log = logging.getLogger("kennisknoop.follow")


async def webfinger(ctx: NodeContext, user: str, host: str) -> JRD:
    """The JRD ``host`` serves for ``acct:user@host``, through the guarded client (policy
    checked: a refused host is PermissionDeniedError, never asked)."""
    schemes = ["https", "http"] if ctx.settings.node.allow_private_network else ["https"]
    last: RemoteError | None = None
    for scheme in schemes:
        url = f"{scheme}://{host}/.well-known/webfinger?resource=acct:{user}@{host}"
        try:
            return parse_jrd(await ctx.remote.get_json(url, activitypub=False))
        except RemoteError as exc:
            if exc.reason == "host_not_allowed":
                raise PermissionDeniedError(exc.reason, exc.detail) from exc
            last = exc
            continue
        except DocumentError as exc:
            raise NotFoundError("not_found", f"{user}@{host}: bad WebFinger answer") from exc
    raise NotFoundError("not_found", f"cannot look up {user}@{host}: "
                        f"{last.reason if last else ''}")


def split_handle(target: str) -> tuple[str, str]:
    """``(user, host)`` of a ``user@host`` handle; ValidationError ``bad_value`` else."""
    try:
        return parse_handle(target.strip())
    except DocumentError as exc:
        raise ValidationError("bad_value", f"not a handle or actor URL: {target!r}",
                              field="target") from exc


async def resolve_target(ctx: NodeContext, target: str) -> str:
    """The actor IRI for a handle (via WebFinger) or an actor URL."""
    target = target.strip()
    if is_iri(target):
        return target
    user, host = split_handle(target)
    if ctx.urls.host == host:  # both normalised (protocol.origin)
        return ctx.urls.actor(user.lower())
    jrd = await webfinger(ctx, user, host)
    try:
        return jrd.actor_url()
    except DocumentError as exc:
        raise NotFoundError("not_found", f"{target} has no ActivityPub actor") from exc


async def follow(ctx: NodeContext, target: str, *, as_handle: str | None = None
                 ) -> StoredFollow:
    """Follow ``target`` as the node actor (default) or a local initiative."""
    async with ctx.db.sessions() as session:
        local = (await resolve_local(session, ctx, as_handle) if as_handle
                 else await actor_store.get_node(session))
    if local is None:
        raise NotFoundError("not_found", "this node has no node actor yet")
    target_iri = await resolve_target(ctx, target)
    if target_iri == local.ap_id:
        raise ValidationError("bad_value", "an actor cannot follow itself", field="target")
    if ctx.urls.is_local(target_iri):
        return await _follow_local(ctx, local.ap_id, target_iri)
    await check_host(ctx, target_iri)
    remote_actor = await fetch_actor(ctx, target_iri, refresh=True)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        existing = await follow_store.get(session, local.ap_id, target_iri)
        if existing is not None and existing.state == "accepted":
            return existing
        follow_id = ctx.urls.activity(new_local_id())
        stored = await follow_store.upsert(session, follower=local.ap_id, followee=target_iri,
                                           state="pending", activity_ap_id=follow_id, now=now)
        await publish_activity(ctx, session, actor=local, type="Follow", obj=target_iri,
                               recipients=[remote_actor], followers=False, to=[target_iri],
                               cc=[], activity_id=follow_id)
    return stored


async def _follow_local(ctx: NodeContext, follower: str, followee: str) -> StoredFollow:
    """Two actors on this node: no messages, the follow holds at once and the feed fills."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        target = await actor_store.get(session, followee)
        if target is None or target.deleted:
            raise NotFoundError("not_found", f"no local actor {followee}")
        stored = await follow_store.upsert(session, follower=follower, followee=followee,
                                           state="accepted", activity_ap_id=None, now=now)
        # What its outbox holds: its own items, and for a theme feed the items it announced.
        for item_id in reversed(await activity_store.item_ids_by_actor(session, followee,
                                                                       limit=1000)):
            await feed_store.add(session, owners=[follower], object_ap_id=item_id,
                                 via=followee, now=now)
    return stored


async def unfollow(ctx: NodeContext, target: str, *, as_handle: str | None = None) -> bool:
    """Stop following ``target``; sends Undo(Follow) to a remote followee."""
    async with ctx.db.sessions() as session:
        local = (await resolve_local(session, ctx, as_handle) if as_handle
                 else await actor_store.get_node(session))
    if local is None:
        raise NotFoundError("not_found", "this node has no node actor yet")
    target_iri = await resolve_target(ctx, target)
    async with ctx.db.transaction() as session:
        existing = await follow_store.get(session, local.ap_id, target_iri)
        if existing is None:
            return False
        await follow_store.remove(session, existing.id)
        remote_actor = await actor_store.get(session, target_iri)
        if remote_actor is not None and not remote_actor.is_local and existing.activity_ap_id:
            follow_doc = follow_reference(ap_id=existing.activity_ap_id, actor=local.ap_id,
                                          followee=target_iri)
            await publish_activity(ctx, session, actor=local, type="Undo", obj=follow_doc,
                                   recipients=[remote_actor], followers=False,
                                   to=[target_iri], cc=[])
    return True
