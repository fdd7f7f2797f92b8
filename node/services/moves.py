"""Moving an actor to a new address (``Move``), as Mastodon migrates accounts.

The new actor first lists the old one in ``alsoKnownAs`` (``add_alias``, on the node that hosts
it: a claim the old actor cannot make alone). The old node then sets ``movedTo`` on its actor and
sends ``Move {object: old, target: new}`` to its followers (``move_actor``). A node receiving the
Move checks that the sender moves itself and that the target, fetched fresh, names the sender in
``alsoKnownAs``; then each local actor that followed the old actor follows the new one and stops
following the old (``receive_move``). Mastodon does the same for its users. docs/operations.md,
"Moving to a new domain".
"""

from __future__ import annotations

from node.services import follow as follow_service
from node.services.actors import resolve_local, save_profile
from node.services.context import NodeContext
from node.services.errors import GoneError, RejectedError, ValidationError
from node.services.outbox import publish_activity
from node.services.resolve import fetch_actor
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store.actors import StoredActor
from protocol.parse import Activity, is_iri
from protocol.vocab import PUBLIC, as_list


def _aliases(actor: StoredActor) -> list[str]:
    return [a for a in as_list((actor.document or {}).get("alsoKnownAs")) if isinstance(a, str)]


async def _live_local(ctx: NodeContext, handle: str) -> StoredActor:
    async with ctx.db.sessions() as session:
        actor = await resolve_local(session, ctx, handle)
    if actor.deleted:
        raise GoneError("gone", f"{handle!r} was deleted")
    return actor


def _check_iri(value: str, field: str) -> None:
    if not is_iri(value) or not value.startswith(("https://", "http://")):
        raise ValidationError("bad_value", f"{value[:200]!r} is not an actor URL", field=field)


async def add_alias(ctx: NodeContext, handle: str, old_actor: str) -> StoredActor:
    """List ``old_actor`` in the ``alsoKnownAs`` of the local actor ``handle`` (an Update)."""
    _check_iri(old_actor, "old_actor")
    actor = await _live_local(ctx, handle)
    async with ctx.db.transaction() as session:
        profile = dict(actor.profile)
        aliases = list(profile.get("also_known_as", []))
        if old_actor in aliases:
            return actor
        profile["also_known_as"] = [*aliases, old_actor]
        updated = await save_profile(session, actor, profile, ctx.now())
        await publish_activity(ctx, session, actor=updated, type="Update",
                               obj=updated.document or {})
        return updated


async def move_actor(ctx: NodeContext, handle: str, target: str) -> StoredActor:
    """Move the local actor ``handle`` to ``target``, which must list it in ``alsoKnownAs``."""
    _check_iri(target, "target")
    actor = await _live_local(ctx, handle)
    new = await fetch_actor(ctx, target, refresh=True)
    if actor.ap_id not in _aliases(new):
        raise ValidationError("not_aliased", f"{target} does not list {actor.ap_id} in "
                              f"alsoKnownAs: run `kennisknoop alias` on its node first",
                              field="target")
    async with ctx.db.transaction() as session:
        moved = await save_profile(session, actor, {**actor.profile, "moved_to": new.ap_id},
                                   ctx.now())
        await publish_activity(ctx, session, actor=moved, type="Move", obj=moved.ap_id,
                               to=[PUBLIC], cc=[moved.followers or ""],
                               extra={"target": new.ap_id})
    return moved


async def receive_move(ctx: NodeContext, activity: Activity, sender: str) -> int:
    """Re-follow the new actor for every local follower of ``sender``; how many moved."""
    if activity.object_id != sender:
        raise RejectedError("not_author", "an actor can only move itself")
    target = activity.target
    if not target or target == sender:
        raise RejectedError("bad_field", "a Move needs a target other than its actor")
    new = await fetch_actor(ctx, target, refresh=True)
    if sender not in _aliases(new):
        raise RejectedError("not_aliased", f"{target[:200]} does not list {sender[:200]} in "
                            "alsoKnownAs")
    async with ctx.db.sessions() as session:
        followers = [await actor_store.get(session, f.follower)
                     for f in await follow_store.local_followers(session, sender)]
    moved = 0
    for local in followers:
        if local is None or local.deleted or not local.handle:
            continue
        await follow_service.follow(ctx, new.ap_id, as_handle=local.handle)
        await follow_service.unfollow(ctx, sender, as_handle=local.handle)
        moved += 1
    return moved
