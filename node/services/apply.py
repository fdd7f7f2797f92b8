"""Applying received activities (``handle_<type>``), from the inbox queue or from a sync pass.

The sender is already authenticated: by an HTTP signature (inbox) or by the origin the outbox
was fetched from (sync). Rules here (FEP-fe34, DESIGN.md "Federation semantics"):
- an object may be created, updated or deleted only by its origin: same origin as the sender,
  and attributed to the sender;
- an ``Announce`` of someone else's object is accepted only when the embedded object's (or
  embedded activity's) integrity proof verifies against its author's key, or the object is
  fetched from its origin;
- an embedded object whose proof does not verify counts as one without a proof: its origin's
  copy decides (Fedify drops the @context of an object it embeds, breaking a genuine proof);
- a newer version wins; a tombstone stays dead; applying is idempotent;
- the federation policy holds whatever path content came by (``policy.check_content``): an
  activity, object or author on a refused host is neither fetched nor stored.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError
from node.services import bottlenecks, moves, policy, profiles, remote_objects, search_index
from node.services.bulk import Publisher
from node.services.context import NodeContext
from node.services.documents import follow_reference
from node.services.errors import RejectedError
from node.services.outbox import announce_by_themes, publish_activity
from node.services.resolve import ed25519_key, fetch_actor, node_actor, resolve_key, signer_of
from node.store import actors as actor_store
from node.store import feed as feed_store
from node.store import flags as flag_store
from node.store import follows as follow_store
from node.store import jobs as job_store
from node.store import objects as object_store
from node.store.batched import Batch
from node.store.follows import StoredFollow
from node.store.objects import StoredObject
from protocol.errors import DocumentError, ProofError, ProtocolError
from protocol.origin import same_origin
from protocol.parse import Activity, Actor, ASObject, Tombstone, parse_activity, parse_object
from protocol.proofs import proof_verification_method, verify_proof

log = logging.getLogger("kennisknoop.apply")


# A caller's own write in a batch's transaction, given the indexes the batch handled.
Within = Callable[[AsyncSession, list[int]], Awaitable[None]]


@dataclass(frozen=True)
class Applied:
    changed: bool
    note: str = ""


async def apply(ctx: NodeContext, activity: Activity, *, sender: str) -> Applied:
    """Dispatch one authenticated activity to its handler."""
    handler = _HANDLERS.get(activity.type)
    if handler is None:
        return Applied(False, f"ignored {activity.type}")
    # Queued before a block, or relayed: the sender is checked again when it is applied.
    await policy.check_content(ctx, sender, activity.id)
    try:
        return await handler(ctx, activity, sender)
    except RemoteError as exc:
        if exc.reason == "host_not_allowed":  # a final answer, not a failure to retry
            raise RejectedError(exc.reason, exc.detail) from exc
        raise


# --- objects ---------------------------------------------------------------------------------

async def _verified_by_proof(ctx: NodeContext, raw: dict[str, Any], author: str) -> bool:
    """Whether ``raw`` carries a valid eddsa-jcs-2022 proof by a key ``author`` controls.

    False when it has no proof or one that does not verify: such a copy is trusted no more than
    one without a proof, and the caller asks the object's origin instead.
    """
    if "proof" not in raw:
        return False
    try:
        method = proof_verification_method(raw)
        if not same_origin(method, author):
            return False
        key = await resolve_key(ctx, method)
        if key.controller != author:
            return False
        try:
            verify_proof(raw, ed25519_key(key))
        except ProofError:
            # The author may have rotated its key since we cached it: fetch it again, once.
            key = await resolve_key(ctx, method, refresh=True)
            if key.controller != author:
                return False
            verify_proof(raw, ed25519_key(key))
    except (ProtocolError, RemoteError) as exc:
        cause = exc if isinstance(exc, RemoteError) else exc.__cause__
        if isinstance(cause, RemoteError) and _transient(cause):
            # The author's key could not be fetched right now: no verdict on the proof, so the
            # inbox retries it and anti-entropy does not mark it as passed.
            raise RemoteError(cause.reason, cause.detail, status=cause.status) from exc
        log.info("proof of %s does not verify (%s): asking its origin", raw.get("id"), exc)
        return False
    return True


def _transient(exc: RemoteError) -> bool:
    if exc.status is not None:
        return exc.status >= 500 or exc.status in (408, 429)
    return exc.reason in ("connect_error", "timeout", "read_error", "dns_error")


async def fetch_object(ctx: NodeContext, ap_id: str) -> ASObject | Tombstone | None:
    """An object fetched from its origin (authentic by origin); None when gone."""
    signer = signer_of(await node_actor(ctx))
    try:
        raw = await ctx.remote.get_json(ap_id, signer=signer)
    except RemoteError as exc:
        if exc.status in (404, 410):
            return None
        raise
    parsed = parse_object(raw)
    if parsed.id != ap_id:
        raise RejectedError("id_mismatch", f"{ap_id} served {parsed.id}")
    return parsed


def _check_stored_author(existing: StoredObject | None, author: str | None) -> None:
    """Only the author an object was stored with may change it: sharing its origin is not
    enough (another actor of the same host must not rewrite or delete it)."""
    if existing is not None and not existing.is_local and existing.attributed_to and \
            existing.attributed_to != author:
        raise RejectedError("not_author", f"{existing.ap_id} is attributed to "
                            f"{existing.attributed_to}, not {author}")


async def _store_object(ctx: NodeContext, obj: ASObject, *, via: str) -> Applied:
    """Store a (verified) remote object, fill feeds, and re-announce answers to our questions."""
    await policy.check_content(ctx, obj.id, obj.attributed_to, via)
    async with ctx.db.transaction() as session:
        # Its search entry, the theme feeds' announces, the feed entries and their deliveries
        # are collected and written last, with one statement (node.store.batched).
        batch = Batch()
        applied = await _store_in(ctx, session, obj, via, batch)
        await batch.write(session)
    return applied


async def _store_in(ctx: NodeContext, session: AsyncSession, obj: ASObject, via: str,
                    batch: Batch) -> Applied:
    """:func:`_store_object` in its transaction; what ``batch`` holds is written after."""
    # The stored copy is read first only for an answer (to a deleted question of ours it is
    # not stored); else only when nothing was stored: a copy replaced had the same author
    # (``upsert_remote``'s condition), so the author check can only fail then.
    existing = await object_store.get(session, obj.id) if obj.in_reply_to else None
    if obj.in_reply_to:
        _check_stored_author(existing, obj.attributed_to)
        if existing is None and await _answers_deleted_question(ctx, session, obj):
            return Applied(False, "answer to a deleted question")
    stored = await remote_objects.upsert(ctx, session, obj, hosts=await policy.rule(ctx, session),
                                         batch=batch)
    if stored is None and not obj.in_reply_to:
        existing = await object_store.get(session, obj.id)
        _check_stored_author(existing, obj.attributed_to)
    if stored is None and existing is None:
        return Applied(False, "not stored")
    # A copy we already hold still reaches the feeds of whoever follows ``via``: a new
    # follower of a theme feed gets the items this node stored through another follow.
    feed = await _feed_rows(ctx, session, obj.id, via=via, author=obj.attributed_to)
    relayed = stored is not None and not stored.hidden and "proof" in obj.raw
    if not relayed:
        batch.add("feed", feed)
    if stored is None:
        return Applied(False, "not newer")
    if stored.hidden:  # an admin hid it here: kept up to date, never relayed
        return Applied(True, "hidden here")
    if relayed:  # theme feeds relay only what their followers can verify
        await announce_by_themes(ctx, session, stored.themes, obj.raw, stored, feed=feed,
                                 batch=batch)
    if stored.in_reply_to and ctx.urls.is_local(stored.in_reply_to) and \
            stored.version <= 1 and stored.published == stored.updated:
        await batch.write(session)  # the theme feeds' announces first, as before
        await _reannounce_answer(ctx, session, stored.in_reply_to, obj)
    return Applied(True)


async def store_new_objects(ctx: NodeContext, objs: list[ASObject], *, via: str,
                            within: Within) -> list[Applied | None]:
    """``_store_object`` for many objects at once, in one transaction (backfill).

    Each object must have passed what ``_store_object``'s callers check one at a time: the
    federation policy, and its author (the sender, or the author whose proof verified). Only
    objects this node has never stored are handled here, with a few statements for all of them;
    for one already stored (or twice in ``objs``) the answer is None and the caller applies it
    alone. ``within(session, handled)`` runs last in the transaction with the indexes handled.
    """
    async with ctx.db.sessions() as session:
        publisher = await Publisher.load(ctx, session)
    results: list[Applied | None] = [None] * len(objs)
    async with ctx.db.transaction() as session:
        hosts = await policy.rule(ctx, session)
        existing = await object_store.get_many(session, [obj.id for obj in objs])
        fresh: dict[str, int] = {}
        for i, obj in enumerate(objs):
            if obj.id in existing or obj.id in fresh:
                continue
            if await _answers_deleted_question(ctx, session, obj):
                results[i] = Applied(False, "answer to a deleted question")
                continue
            fresh[obj.id] = i
        stored = {s.ap_id: s for s in await remote_objects.insert_new(
            ctx, session, [objs[i] for i in fresh.values()], hosts=hosts)}
        owners: dict[str, list[str]] = {}
        rows: list[dict[str, Any]] = []
        for ap_id, i in fresh.items():
            item = stored.get(ap_id)
            if item is None:
                continue  # stored meanwhile (an inbox delivery): the caller applies it alone
            obj, now = objs[i], ctx.now()
            for actor in dict.fromkeys([via, *([obj.attributed_to] if obj.attributed_to else [])]):
                if actor not in owners:
                    owners[actor] = [a.ap_id for a in await follow_store.follower_actors(
                        session, actor) if a.is_local]
            rows += [{"owner": owner, "object_ap_id": ap_id, "via": via, "created_at": now}
                     for owner in dict.fromkeys(owners[via] + owners.get(
                         obj.attributed_to or via, []))]
            publisher.relay("remote", item.themes, obj.raw, now=now, stored=True)  # has a proof
            if item.in_reply_to and ctx.urls.is_local(item.in_reply_to) and \
                    item.version <= 1 and item.published == item.updated:
                await _reannounce_answer(ctx, session, item.in_reply_to, obj)
            results[i] = Applied(True)
        await feed_store.add_rows(session, rows)
        await publisher.write(session)
        await within(session, [i for i, result in enumerate(results) if result is not None])
    return results


async def verified_by_proof(ctx: NodeContext, raw: dict[str, Any], author: str) -> bool:
    """Whether ``raw`` carries a valid proof by a key ``author`` controls (see
    ``_verified_by_proof``; raises ``RemoteError`` when the key cannot be fetched now)."""
    return await _verified_by_proof(ctx, raw, author)


async def _answers_deleted_question(ctx: NodeContext, session: AsyncSession,
                                    obj: ASObject) -> bool:
    """Whether ``obj`` answers a question of this node that was deleted: such an answer is not
    stored (it could never be shown, nor relayed)."""
    if not obj.in_reply_to or not ctx.urls.is_local(obj.in_reply_to):
        return False
    question = await object_store.get(session, obj.in_reply_to)
    return question is not None and question.deleted


async def _reannounce_answer(ctx: NodeContext, session: AsyncSession, question_id: str,
                             obj: ASObject) -> None:
    """The question's origin re-announces an answer it received to the question author's
    followers and, for an initiative's question, to the node's (as it relays the initiative's
    own items): every node holding the question gets its answers."""
    question = await object_store.get(session, question_id)
    if question is None or not question.is_local or question.deleted:
        return
    author = await actor_store.get(session, question.attributed_to)
    if author is None:
        return
    await publish_activity(ctx, session, actor=author, type="Announce", obj=obj.raw)
    node = await actor_store.get_node(session) if author.kind == "initiative" else None
    if node is not None:
        await publish_activity(ctx, session, actor=node, type="Announce", obj=obj.raw)


def _check_authored(obj: ASObject, sender: str) -> None:
    if not same_origin(obj.id, sender):
        raise RejectedError("origin_mismatch", f"{obj.id} is not on the origin of {sender}")
    if obj.attributed_to != sender:
        raise RejectedError("not_author", f"{obj.id} is not attributed to {sender}")


async def _authored_object(ctx: NodeContext, value: Any, sender: str) -> ASObject | None:
    """The object of a Create/Update by ``sender``: embedded or fetched, on its origin."""
    obj = value
    if isinstance(value, str):
        if not same_origin(value, sender):
            raise RejectedError("origin_mismatch", "object is not on the sender's origin")
        obj = await fetch_object(ctx, value)
    if obj is None or isinstance(obj, Tombstone | Actor):
        return None
    if not isinstance(obj, ASObject):
        raise RejectedError("unsupported_object", f"cannot store {type(obj).__name__}")
    _check_authored(obj, sender)
    if obj is not value or "proof" not in obj.raw or \
            await _verified_by_proof(ctx, obj.raw, sender):
        return obj
    # interop(fedify): embedding a signed object in a Create, Fedify drops the object's
    # @context, so its proof cannot verify as embedded. Like an object without a proof, it is
    # fetched from its origin, whose copy decides (issue 8).
    fetched = await fetch_object(ctx, obj.id)
    if fetched is None or isinstance(fetched, Tombstone):
        return None
    _check_authored(fetched, sender)
    return fetched


async def handle_create(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    if isinstance(activity.object, Actor):
        return Applied(False, "actor create ignored")
    obj = await _authored_object(ctx, activity.object, sender)
    if obj is None:
        return Applied(False, "nothing to store")
    return await _store_object(ctx, obj, via=sender)


async def handle_update(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    if isinstance(activity.object, Actor) or (
            isinstance(activity.object, str) and activity.object == sender):
        if activity.object_id != sender:
            raise RejectedError("not_author", "an actor may only update itself")
        await fetch_actor(ctx, sender, refresh=True)
        return Applied(True, "actor refreshed")
    return await handle_create(ctx, activity, sender)


async def handle_delete(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    target = activity.object_id
    if not same_origin(target, sender):
        raise RejectedError("origin_mismatch", "cannot delete an object of another origin")
    if target == sender:
        async with ctx.db.transaction() as session:
            await follow_store.remove_actor(session, sender)
            existing = await actor_store.get(session, sender)
            if existing is not None and not existing.is_local:
                await actor_store.update_values(session, sender, deleted_at=ctx.now())
                await search_index.remove(session, sender)
        return Applied(True, "actor deleted")
    # The tombstone's own proof adds nothing: the sender is the object's origin and author.
    tomb = activity.object if isinstance(activity.object, Tombstone) else None
    version = tomb.raw.get("version") if tomb is not None else None
    async with ctx.db.transaction() as session:
        before = await object_store.get(session, target)
        _check_stored_author(before, sender)
        changed = await remote_objects.tombstone(
            ctx, session, ap_id=target, actor=sender,
            deleted=tomb.deleted if tomb else None,
            version=version if isinstance(version, int) else None,
            document=tomb.raw if tomb else None)
        if changed and before is not None and "proof" in activity.raw:
            await announce_by_themes(ctx, session, before.themes, activity.raw)
    return Applied(changed)


async def handle_announce(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    """A relayed object or activity: trusted only through its author's proof or its origin."""
    inner = activity.object
    if isinstance(inner, Activity):
        if inner.type not in ("Create", "Update", "Delete"):
            return Applied(False, f"announced {inner.type} ignored")
        await policy.check_content(ctx, inner.id, inner.actor, inner.object_id)
        if not same_origin(inner.id, inner.actor):
            raise RejectedError("origin_mismatch", "announced activity off its actor's origin")
        if await _verified_by_proof(ctx, inner.raw, inner.actor):
            result = await apply(ctx, inner, sender=inner.actor)
            await add_to_feeds(ctx, inner.object_id, via=sender)
            return result
        inner = inner.object  # unproven: fall back to the object, fetched from its origin
        if not isinstance(inner, str):
            inner = inner.id
    if isinstance(inner, Actor):
        return await _announced_initiative(ctx, inner, sender)
    if isinstance(inner, ASObject):
        author = inner.attributed_to
        await policy.check_content(ctx, inner.id, author)  # before its key is fetched
        if author and same_origin(inner.id, author) and "proof" in inner.raw and \
                await _verified_by_proof(ctx, inner.raw, author):
            return await _store_object(ctx, inner, via=sender)
        inner = inner.id
    if isinstance(inner, str):
        await policy.check_content(ctx, inner)  # never fetched from a refused host
        fetched = await fetch_object(ctx, inner)
        if fetched is None or isinstance(fetched, Tombstone):
            return Applied(False, "announced object is gone")
        if not fetched.attributed_to or not same_origin(fetched.id, fetched.attributed_to):
            raise RejectedError("origin_mismatch", "announced object off its author's origin")
        return await _store_object(ctx, fetched, via=sender)
    return Applied(False, "nothing to store")


async def _announced_initiative(ctx: NodeContext, actor: Actor, sender: str) -> Applied:
    """A node announcing a new initiative of its own: its profile is fetched from its origin
    (node.services.directory); an actor announced from another origin is ignored."""
    if not profiles.is_initiative(actor.raw) or not same_origin(actor.id, sender):
        return Applied(False, "announced actor ignored")
    await fetch_actor(ctx, actor.id, refresh=True)
    return Applied(True, "initiative added")


async def _fill_feeds(ctx: NodeContext, session: AsyncSession, object_id: str, *, via: str,
                      author: str | None = None) -> None:
    """Put ``object_id`` in the feed of every local follower of ``via`` (and of its author)."""
    await feed_store.add_rows(session, await _feed_rows(ctx, session, object_id, via=via,
                                                        author=author))


async def _feed_rows(ctx: NodeContext, session: AsyncSession, object_id: str, *, via: str,
                     author: str | None = None) -> list[dict[str, object]]:
    """The feed entries :func:`_fill_feeds` writes."""
    owners = {a.ap_id for a in await follow_store.follower_actors(session, via) if a.is_local}
    if author and author != via:
        owners |= {a.ap_id for a in await follow_store.follower_actors(session, author)
                   if a.is_local}
    return feed_store.rows(owners=sorted(owners), object_ap_id=object_id, via=via, now=ctx.now())


async def add_to_feeds(ctx: NodeContext, object_id: str, *, via: str) -> None:
    """Put a stored object in the feeds of the local followers of ``via`` (idempotent)."""
    async with ctx.db.transaction() as session:
        if await object_store.get(session, object_id) is None:
            return
        await _fill_feeds(ctx, session, object_id, via=via)


# --- follows ---------------------------------------------------------------------------------

async def handle_follow(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    target = activity.object_id
    follower = await fetch_actor(ctx, sender)
    async with ctx.db.transaction() as session:
        local = await actor_store.get(session, target)
        if local is None or not local.is_local or local.deleted:
            raise RejectedError("not_found", f"no local actor {target}")
        # Waits for an editor's answer (node.services.approvals) when the actor approves by
        # hand; a follow already accepted is answered with Accept again (a repeated Follow).
        manual = local.approves_followers or ctx.settings.federation.follow_approval == "manual"
        state = "pending" if manual else "accepted"
        now = ctx.now()
        existing = await follow_store.get(session, sender, target)
        was_accepted = existing is not None and existing.state == "accepted"
        await follow_store.upsert(session, follower=sender, followee=target,
                                  state="accepted" if was_accepted else state,
                                  activity_ap_id=activity.id, now=now)
        if not manual or was_accepted:
            accepted = follow_reference(ap_id=activity.id, actor=sender, followee=target)
            await publish_activity(ctx, session, actor=local, type="Accept", obj=accepted,
                                   recipients=[follower], followers=False, to=[sender], cc=[])
    return Applied(True, state)


async def _our_follow(session: AsyncSession, activity: Activity, sender: str
                      ) -> StoredFollow | None:
    """The follow of ``sender`` that its Accept or Reject answers."""
    follow_value = activity.object
    follow_id = follow_value if isinstance(follow_value, str) else follow_value.id
    follower = None
    if isinstance(follow_value, Activity) and follow_value.type == "Follow":
        follower = follow_value.actor  # the answer embeds our Follow: its pair names it too
    return await follow_store.answered(session, follow_ap_id=follow_id, followee=sender,
                                       follower=follower)


async def handle_accept(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    async with ctx.db.transaction() as session:
        ours = await _our_follow(session, activity, sender)
        if ours is None:
            return Applied(False, "no such follow")
        now = ctx.now()
        await follow_store.set_state(session, ours.id, "accepted", now)
        await job_store.schedule(session, kind="sync", key=f"sync:{sender}",
                                 payload={"followee": sender}, now=now)
    return Applied(True, "accepted")


async def handle_reject(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    async with ctx.db.transaction() as session:
        ours = await _our_follow(session, activity, sender)
        if ours is None:
            return Applied(False, "no such follow")
        await follow_store.set_state(session, ours.id, "rejected", ctx.now())
    return Applied(True, "rejected")


async def handle_undo(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    inner = activity.object
    if isinstance(inner, Activity) and inner.actor != sender:
        raise RejectedError("not_author", "only the actor may undo its activity")
    if isinstance(inner, Activity) and inner.type == "Like":
        withdrawn = await bottlenecks.receive_undo(ctx, inner.id, inner.object_id, sender)
        return Applied(withdrawn, "endorsement withdrawn" if withdrawn else "no endorsement")
    async with ctx.db.transaction() as session:
        if isinstance(inner, Activity):
            if inner.type != "Follow":
                return Applied(False, f"undo of {inner.type} ignored")
            removed = await follow_store.remove_pair(session, sender, inner.object_id)
        else:
            removed = await follow_store.remove_by_activity(session, sender, activity.object_id)
    if not removed and not isinstance(inner, Activity):
        # An Undo naming its activity by IRI only: it may be a Like (an endorsement).
        withdrawn = await bottlenecks.receive_undo(ctx, activity.object_id, None, sender)
        return Applied(withdrawn, "endorsement withdrawn" if withdrawn else "")
    return Applied(removed)


async def handle_like(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    """A Like of a local bottleneck: an endorsement (from an initiative) or support."""
    outcome = await bottlenecks.receive_like(ctx, activity, sender)
    return Applied(outcome in ("added", "updated"), f"like {outcome}")


async def handle_move(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    """The sender moved to a new actor: its local followers follow that one (services.moves)."""
    moved = await moves.receive_move(ctx, activity, sender)
    return Applied(moved > 0, f"{moved} local followers moved")


async def handle_flag(ctx: NodeContext, activity: Activity, sender: str) -> Applied:
    objects = [o if isinstance(o, str) else o.id for o in activity.objects]
    async with ctx.db.transaction() as session:
        added = await flag_store.add(session, activity_ap_id=activity.id, actor=sender,
                                     objects=objects[:50], content=(activity.content or "")[:5000],
                                     now=ctx.now())
    log.warning("report %s from %s about %s", activity.id, sender, objects[:3])
    return Applied(added, "flag stored")


_HANDLERS = {
    "Create": handle_create,
    "Update": handle_update,
    "Delete": handle_delete,
    "Announce": handle_announce,
    "Follow": handle_follow,
    "Accept": handle_accept,
    "Reject": handle_reject,
    "Undo": handle_undo,
    "Flag": handle_flag,
    "Like": handle_like,
    "Move": handle_move,
}


def parse_stored(raw: dict[str, Any]) -> Activity:
    """Re-parse a stored raw activity (it passed the same parser when received)."""
    try:
        return parse_activity(raw)
    except DocumentError as exc:
        raise RejectedError(exc.reason, exc.detail) from exc


__all__ = ["Applied", "ProofError", "RejectedError", "add_to_feeds", "apply", "fetch_object",
           "parse_stored"]
