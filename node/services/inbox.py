"""Receiving: verify an incoming activity, authorise its sender, store it raw, answer 202.

Order matters (hardening): size and media type, then JSON limits and shape, then the HTTP
signature (the key's controller must be the activity's ``actor``; the request addressed to this
host), then origin rules (the activity id on the actor's origin, the host allowed, a
Create/Update/Delete only of the actor's own objects), and only then the duplicate check — so a
forged activity cannot reserve the id of a genuine one. A refusal stores nothing: not even the
signer's fetched actor, which is cached only once the request is accepted. Applying the
activity is a durable job (``node.services.apply``) worked by the worker.

An activity of a type the node does not act on (``EmojiReact``, ``Add``, a ``Like`` of
anything but a local bottleneck, an ``Undo`` of such a ``Like``…) needs only its envelope (id,
type, actor) to parse; it is verified the same way, then answered 202 and stored nowhere, as
Mastodon answers what it ignores: a 4xx would tell its sender that the request failed. A
``Like`` of a local bottleneck is an endorsement or support (``node.services.bottlenecks``); a
``Move`` is stored and applied (``node.services.moves``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import bottlenecks
from node.services.context import NodeContext
from node.services.errors import (
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    ValidationError,
)
from node.services.policy import check_host
from node.services.resolve import FetchedActor, KeyLookup, lookup_key, remember
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import peers as peer_store
from node.store.db import json_text_of
from node.store.group import GroupCommit
from protocol.errors import DocumentError, ProtocolError, SignatureError
from protocol.httpsig import SignedRequest, parse_signed_request, verify_signed_request
from protocol.jsonlimits import JsonLimits, load_json_body
from protocol.origin import authority_of, same_origin
from protocol.parse import Activity, Actor, ASObject, Envelope, parse_activity, parse_envelope
from protocol.vocab import RawObject

log = logging.getLogger("kennisknoop.inbox")


def read_signature(headers: Mapping[str, str]) -> SignedRequest | SignatureError:
    """Parse a request's signature once, for the flood limits and the verifier.

    An unreadable signature is returned, not raised: ``verify_signed`` raises it, after the
    cheaper checks that come first (media type, JSON, the activity's shape).
    """
    try:
        return parse_signed_request(headers)
    except SignatureError as exc:
        return exc


def _check_addressed_to_us(url: str, signed: SignedRequest) -> None:
    """Refuse a request whose ``Host`` is another server's (compared after one normalisation).

    A cavage signature covers the ``Host`` header as sent, so a request signed for another
    server would verify here too: replayed to us, it must not count (hardening).
    """
    sent_to = signed.headers.get_field("host")
    if sent_to is None:
        return  # HTTP/1.0: the signature is then checked against our own authority
    try:
        addressed = authority_of(f"{urlsplit(url).scheme}://{sent_to}/")
    except (DocumentError, ValueError):
        addressed = None
    if addressed != authority_of(url):
        raise SignatureError("host_mismatch",
                             f"the request was addressed to {sent_to[:100]!r}, not to this node")


async def verify_signed(ctx: NodeContext, *, method: str, url: str, signed: SignedRequest,
                        body: bytes) -> KeyLookup:
    """Verify the HTTP signature, writing nothing; refetches the key once (rotation)."""
    key_id = signed.key_id
    _check_addressed_to_us(url, signed)
    try:
        await check_host(ctx, key_id)
    except DocumentError as exc:
        raise SignatureError("bad_signature_header",
                             f"keyId {key_id[:200]!r} is not an http(s) IRI") from exc
    found = await lookup_key(ctx, key_id)
    try:
        verify_signed_request(method, url, signed, body, found.key.key, now=ctx.clock())
    except SignatureError as exc:
        if exc.reason != "invalid_signature" or found.fetched is not None:
            raise
        # The actor may have rotated its key: fetch it again, once.
        found = await lookup_key(ctx, key_id, refresh=True)
        verify_signed_request(method, url, signed, body, found.key.key, now=ctx.clock())
    return found


def check_ownership(activity: Activity) -> None:
    """Create/Update/Delete only of the sender's own objects, Undo only of its own activities.

    The cheap half of the ownership rule (DESIGN.md "Federation semantics", FEP-fe34), checked
    before anything is stored: it needs no fetch and no state. What does — an object's stored
    author, a relayed object's origin — is checked when the activity is applied (``apply``).
    """
    obj, actor = activity.object, activity.actor
    if activity.type in ("Create", "Update", "Delete"):
        if not same_origin(activity.object_id, actor):
            raise PermissionDeniedError(
                "origin_mismatch", f"{activity.type} of an object on another origin than its actor")
        if isinstance(obj, Actor):
            author: str | None = obj.id
        elif isinstance(obj, ASObject) and (activity.type != "Delete" or obj.attributed_to):
            author = obj.attributed_to
        else:
            return  # an IRI or a Tombstone: whose it is, the stored object tells (apply)
        if author != actor:
            raise PermissionDeniedError("not_author",
                                        f"{activity.type} of an object not attributed to its actor")
    elif activity.type == "Undo" and isinstance(obj, Activity) and obj.actor != actor:
        raise PermissionDeniedError("not_author", "only its own actor may undo an activity")


async def _acts_on(ctx: NodeContext, activity: Activity) -> bool:
    """Whether the node acts on it: a Like (or the Undo of one, embedded) only when it is of a
    live local bottleneck (an endorsement or support, docs/bottlenecks.md)."""
    like: Activity | None = activity if activity.type == "Like" else None
    if activity.type == "Undo" and isinstance(activity.object, Activity) and \
            activity.object.type == "Like":
        like = activity.object
    return like is None or await bottlenecks.is_local_bottleneck(ctx, like.object_id)


def _parse(raw: RawObject) -> tuple[Envelope, Activity | None]:
    """The activity, or only its envelope when it is of a type the node does not act on.

    A ``Like``, an ``EmojiReact`` or an ``Undo`` of one is answered 202 and ignored once its
    signature verifies; everything else that does not parse is refused here, before any fetch.
    """
    try:
        activity = parse_activity(raw)
        return Envelope(id=activity.id, type=activity.type, actor=activity.actor), activity
    except DocumentError as exc:  # well-formed JSON, not an activity we can take: 422
        if exc.reason != "unsupported_type":
            raise ValidationError(exc.reason, exc.detail) from exc
    try:
        return parse_envelope(raw), None
    except DocumentError as exc:
        raise ValidationError(exc.reason, exc.detail) from exc


@lru_cache(maxsize=8)
def _json_limits(max_bytes: int, max_depth: int) -> JsonLimits:
    """The limits of a node's settings, made (and checked) once, not per request."""
    return JsonLimits(max_bytes=max_bytes, max_depth=max_depth)


async def receive(ctx: NodeContext, *, url: str, signature: SignedRequest | SignatureError,
                  body: bytes, recipient_handle: str | None) -> bool:
    """Verify and store one POSTed activity; False when it was a duplicate or is ignored
    (still a 202).

    ``signature`` is the request's, as ``read_signature`` parsed it.
    """
    recipient = None
    if recipient_handle is not None:
        async with ctx.db.sessions() as session:
            local = await actor_store.get_local(session, recipient_handle)
        if local is None or local.deleted:
            raise NotFoundError("not_found", f"no inbox for {recipient_handle!r}")
        recipient = local.ap_id
    raw, canonical = load_json_body(body, limits=_json_limits(
        ctx.settings.limits.max_body_bytes, ctx.settings.limits.max_json_depth))
    envelope, activity = _parse(raw)
    try:
        added = await _accept(ctx, url=url, signature=signature, body=body, raw=raw,
                              canonical=canonical, envelope=envelope, activity=activity,
                              recipient=recipient)
    except (ProtocolError, ServiceError) as exc:
        ctx.metrics.received(envelope.type, "refused")
        if isinstance(exc, SignatureError):
            ctx.metrics.signature_failed(exc.reason)
        raise
    outcome = "ignored" if activity is None else "accepted" if added else "duplicate"
    ctx.metrics.received(envelope.type, outcome)
    return added


async def _accept(ctx: NodeContext, *, url: str, signature: SignedRequest | SignatureError,
                  body: bytes, raw: RawObject, canonical: bool, envelope: Envelope,
                  activity: Activity | None, recipient: str | None) -> bool:
    """Verify the signature and the sender's rights, then store the activity (see ``receive``).

    ``canonical``: ``body`` is ``orjson``'s serialisation of ``raw``, stored as it is.
    """
    if isinstance(signature, SignatureError):
        raise signature  # unreadable: refused only now, after the cheaper checks
    found = await verify_signed(ctx, method="POST", url=url, signed=signature, body=body)
    if found.key.controller != envelope.actor:
        raise PermissionDeniedError("actor_mismatch",
                                    "the signing key does not belong to the activity's actor")
    if not same_origin(envelope.id, envelope.actor):
        raise PermissionDeniedError("origin_mismatch",
                                    "the activity id is not on the actor's origin")
    host = await check_host(ctx, envelope.actor)
    if activity is not None:
        check_ownership(activity)
        if not await _acts_on(ctx, activity):
            activity = None  # a Like of anything but a local bottleneck: ignored like a reaction
    now = ctx.now()
    row = None if activity is None else inbox_store.row(
        activity_ap_id=activity.id, actor=activity.actor, type=activity.type,
        recipient=recipient, document=json_text_of(body) if canonical else raw, now=now,
        host=host)  # the backlog cap counts by host
    added = await writes(ctx).submit(Accepted(host, signature, now, found.fetched, row))
    if activity is None:
        # Authentic, but nothing the node acts on (a reaction, an Add…): not stored.
        log.debug("ignored %s %s from %s", envelope.type, envelope.id, envelope.actor)
    elif not added:
        log.info("duplicate activity %s from %s", activity.id, activity.actor)
    return added


@dataclass(frozen=True)
class Accepted:
    """What storing one verified request writes: its inbox row (None when it is ignored), the
    signer's actor when it was fetched for it, what the request tells about its host."""

    host: str
    signature: SignedRequest
    now: datetime
    fetched: FetchedActor | None
    row: dict[str, Any] | None


def writes(ctx: NodeContext) -> GroupCommit[Accepted, bool]:
    """The node's inbox writes, grouped while one commits (docs/performance.md, "Group commit of
    the inbox")."""
    if ctx.inbox_writes is None:
        async def write(session: AsyncSession, items: Sequence[Accepted]) -> list[bool]:
            return await _store_accepted(ctx, session, items)

        async def inline(items: Sequence[Accepted]) -> list[bool] | None:
            return await _store_inline(ctx, items)
        ctx.inbox_writes = GroupCommit(ctx.db, write, inline=inline)
    return ctx.inbox_writes


def uncommitted_from(ctx: NodeContext, host: str) -> int:
    """Activities from ``host`` accepted and not yet committed (the backlog cap counts them)."""
    if ctx.inbox_writes is None:
        return 0
    return sum(1 for item in ctx.inbox_writes.uncommitted()
               if item.row is not None and item.host == host)


async def _store_inline(ctx: NodeContext, items: Sequence[Accepted]) -> list[bool] | None:
    """The common group without a session (``Database.write_inline``: SQLite): no signer's
    actor to cache, and each host's peer held in memory and needing no write. Writes the same
    rows as ``_store_accepted``; None (nothing written) when it cannot, and that one runs."""
    if any(item.fetched is not None for item in items):
        return None
    for item in items:
        peer = peer_store.held(ctx.db, item.host)
        if peer is None or _peer_values(peer, item.signature):
            return None
    rows = [i.row for i in items if i.row is not None]
    stored: set[str | None] = set()
    if rows:
        done = await ctx.db.write_inline(
            lambda conn: inbox_store.add_many_inline(ctx.db, conn, rows))
        if done is None:
            return None
        stored.update(done[0])
        if stored:
            ctx.db.wake()
    return _added(items, stored)


def _added(items: Sequence[Accepted], stored: set[str | None]) -> list[bool]:
    """For each request, whether its activity was stored now (the first request of a group
    with an id; a second one with the same id is a duplicate)."""
    added: list[bool] = []
    for item in items:
        ap_id = None if item.row is None else str(item.row["activity_ap_id"])
        added.append(ap_id in stored)
        stored.discard(ap_id)
    return added


async def _store_accepted(ctx: NodeContext, session: AsyncSession,
                          items: Sequence[Accepted]) -> list[bool]:
    """Store the requests of one group in one transaction; for each, whether its activity was
    new (False for an id stored before, or an earlier request of the same group had)."""
    for item in items:
        if item.fetched is not None:  # cached only now that the request is accepted
            await remember(ctx, session, item.fetched)
    stored: set[str | None] = set(
        await inbox_store.add_many(session, [i.row for i in items if i.row is not None]))
    added = _added(items, stored)
    noted: set[tuple[str, str]] = set()
    for item in items:
        if (item.host, item.signature.flavour) not in noted:
            noted.add((item.host, item.signature.flavour))
            await _note_signed_request(session, item.host, item.signature, item.now)
    return added


async def _note_signed_request(session: AsyncSession, host: str, signed: SignedRequest,
                               now: datetime) -> None:
    """What a verified request tells about its host: reachable, and its signature flavour."""
    # interop(mastodon): any valid signed request from a host resets its unavailability.
    peer = await peer_store.ensure(session, host)
    values = _peer_values(peer, signed)
    if "unavailable_since" in values:
        await delivery_store.resume_host(session, host, now)
    if values:
        await peer_store.set_values(session, host, known=peer, **values)


def _peer_values(peer: peer_store.Peer, signed: SignedRequest) -> dict[str, object]:
    """What a verified request from ``peer`` changes in its row (nothing, mostly)."""
    values: dict[str, object] = {}
    if signed.flavour == "rfc9421" and not peer.accepts_rfc9421:
        values["accepts_rfc9421"] = True
    if peer.unavailable_since is not None or peer.failure_days:
        values.update(unavailable_since=None, failure_days=[])
    return values
