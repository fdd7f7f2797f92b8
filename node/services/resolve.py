"""Remote actors and their keys: fetched through the guarded client, cached in ``actors``.

``resolve_key`` answers "which public key is this, and which actor controls it?" for signature
checks; a cached key is refetched once when a signature fails (key rotation). A key counts only
if the actor document that controls it lists it (FEP-fe34: the actor's host is its authority).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError, Signer
from node.services import profiles, search_index
from node.services.context import NodeContext
from node.services.documents import private_key
from node.services.errors import NotFoundError
from node.store import actors as actor_store
from node.store.actors import StoredActor
from protocol.actors import actor_keys, find_key
from protocol.errors import DocumentError, KeyFormatError, SignatureError
from protocol.keys import (
    PublicKey,
    VerificationKey,
    load_public_pem,
    multikey_decode,
    multikey_encode,
    public_pem,
)
from protocol.origin import authority_of, same_origin
from protocol.parse import Actor, parse_actor
from protocol.vocab import ACTOR_TYPES

log = logging.getLogger("kennisknoop.resolve")


async def node_actor(ctx: NodeContext) -> StoredActor:
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
    if node is None:
        raise NotFoundError("not_found", "this node has no node actor yet")
    return node


def signer_of(actor: StoredActor) -> Signer:
    """The RSA signer of a local actor (cavage needs RSA; RFC 9421 peers get the same key)."""
    assert actor.rsa_key_id and actor.rsa_private_pem
    return Signer(actor.rsa_key_id, private_key(actor.rsa_private_pem))


def ed_signer_of(actor: StoredActor) -> Signer:
    assert actor.ed_key_id and actor.ed_private_pem
    return Signer(actor.ed_key_id, private_key(actor.ed_private_pem))


def _remote_values(actor: Actor, now: datetime) -> dict[str, Any]:
    """Columns of a cached remote actor; only keys the actor vouches for (protocol.actors)."""
    rsa_key = ed_key = None
    for key in actor_keys(actor.raw):
        if isinstance(key.key, rsa.RSAPublicKey) and rsa_key is None:
            rsa_key = key
        elif isinstance(key.key, ed25519.Ed25519PublicKey) and ed_key is None:
            ed_key = key
    version = actor.raw.get("version")
    initiative = profiles.is_initiative(actor.raw)
    updated = (profiles.document_updated(actor.raw) if initiative else None) or now
    return {
        "host": authority_of(actor.id),
        "type": actor.type,
        "preferred_username": actor.preferred_username,
        "name": actor.name,
        "summary": actor.summary,
        "inbox": actor.inbox,
        "outbox": actor.outbox,
        "followers": actor.followers,
        "following": actor.following,
        "shared_inbox": actor.shared_inbox,
        "rsa_key_id": rsa_key.key_id if rsa_key else None,
        "rsa_public_pem": public_pem(rsa_key.key) if rsa_key else None,
        "ed_key_id": ed_key.key_id if ed_key else None,
        "ed_public_multibase": (multikey_encode(cast(ed25519.Ed25519PublicKey, ed_key.key))
                                if ed_key else None),
        "kind": "initiative" if initiative else "remote",
        "profile": profiles.initiative_profile(actor.raw) if initiative else {},
        "document": actor.raw,
        "version": version if isinstance(version, int) and not isinstance(version, bool) else 1,
        "published": now,
        "updated": min(updated, now),
        "fetched_at": now,
    }


@dataclass(frozen=True)
class FetchedActor:
    """An actor document fetched from its origin, not yet stored."""

    actor: Actor

    @property
    def ap_id(self) -> str:
        return self.actor.id


async def _fetch_actor_document(ctx: NodeContext, ap_id: str) -> FetchedActor:
    signer = signer_of(await node_actor(ctx))
    raw = await ctx.remote.get_json(ap_id, signer=signer)
    try:
        actor = parse_actor(raw)
    except DocumentError as exc:
        raise RemoteError("bad_actor", f"{ap_id[:200]}: {exc.detail}") from exc
    if actor.id != ap_id:
        raise RemoteError("id_mismatch", f"{ap_id[:200]} served actor {actor.id[:200]}")
    return FetchedActor(actor)


async def remember(ctx: NodeContext, session: AsyncSession, fetched: FetchedActor
                   ) -> StoredActor:
    """Cache a fetched remote actor, inside the caller's transaction.

    The version rule holds for what the directory shows: a copy older than the cached one (a
    late relay, an anti-entropy pass that read a page before an edit) refreshes the keys only.
    """
    values = _remote_values(fetched.actor, ctx.now())
    cached = await actor_store.get(session, fetched.ap_id)
    if cached is not None and not cached.is_local and cached.version > values["version"]:
        for name in _VERSIONED:
            values.pop(name)
    stored = await actor_store.upsert_remote(session, fetched.ap_id, **values)
    if stored.kind == "initiative":  # the directory's initiatives are searched too
        await search_index.index_initiative(session, stored)
    elif cached is not None and cached.kind == "initiative":
        await search_index.remove(session, stored.ap_id)
    return stored


# What a newer cached version keeps when an older copy of the document arrives.
_VERSIONED = ("kind", "type", "preferred_username", "name", "summary", "profile", "document",
              "version", "updated")


async def fetch_actor(ctx: NodeContext, ap_id: str, *, refresh: bool = False) -> StoredActor:
    """A remote actor from the cache, or fetched (signed GET by the node actor) and cached."""
    ap_id = ap_id.split("#")[0]
    async with ctx.db.sessions() as session:
        cached = await actor_store.get(session, ap_id)
    if cached is not None and (cached.is_local or not refresh):
        return cached
    fetched = await _fetch_actor_document(ctx, ap_id)
    async with ctx.db.transaction() as session:
        return await remember(ctx, session, fetched)


# A stored key as a key object, parsed once per process: the inbox verifies with the same few
# keys on every request. Key objects are immutable; a failed parse is not held (it raises).
_public_pem = lru_cache(maxsize=1024)(load_public_pem)
_multikey = lru_cache(maxsize=1024)(multikey_decode)


def _key_of(actor: StoredActor, key_id: str) -> VerificationKey | None:
    try:
        if actor.rsa_key_id == key_id and actor.rsa_public_pem:
            key: PublicKey = _public_pem(actor.rsa_public_pem)
            return VerificationKey(key_id, actor.ap_id, key)
        if actor.ed_key_id == key_id and actor.ed_public_multibase:
            return VerificationKey(key_id, actor.ap_id, _multikey(actor.ed_public_multibase))
    except KeyFormatError:
        log.info("unusable key %s of %s", key_id, actor.ap_id)
    return None


@dataclass(frozen=True)
class KeyLookup:
    """A public key and its controller; ``fetched`` is the actor to cache once trusted."""

    key: VerificationKey
    fetched: FetchedActor | None = None


async def lookup_key(ctx: NodeContext, key_id: str, *, refresh: bool = False) -> KeyLookup:
    """Find ``key_id`` in the cache or at its origin, writing nothing.

    Raises SignatureError(unknown_key) when the key cannot be fetched or its actor does not
    list it (a key document naming an owner that does not publish it counts for nothing).
    """
    cached = actor_store.held_by_key_id(ctx.db, key_id)  # no session when held
    if cached is None:
        async with ctx.db.sessions() as session:
            cached = await actor_store.get_by_key_id(session, key_id)
    if cached is not None and (cached.is_local or not refresh):
        found = _key_of(cached, key_id)
        if found is not None:
            return KeyLookup(found)
    try:
        fetched = await _fetch_key_owner_twice(ctx, key_id)
    except RemoteError as exc:
        raise SignatureError("unknown_key", f"cannot fetch key {key_id[:200]}: {exc.reason}") \
            from exc
    key = find_key(fetched.actor.raw, key_id)
    if key is None:
        raise SignatureError("unknown_key",
                             f"{fetched.ap_id[:200]} does not list key {key_id[:200]}")
    return KeyLookup(key, fetched)


async def resolve_key(ctx: NodeContext, key_id: str, *, refresh: bool = False) -> VerificationKey:
    """Like ``lookup_key``, caching a freshly fetched actor (for already accepted work)."""
    found = await lookup_key(ctx, key_id, refresh=refresh)
    if found.fetched is not None:
        async with ctx.db.transaction() as session:
            await remember(ctx, session, found.fetched)
    return found.key


# A key fetch the key's host answered with an error a moment can mend is tried once more after
# this pause: a peer that cannot verify our signed GET at once (bovine-herd answers 401 while it
# first sets up the actor it checks signatures with), a 429 or 5xx. Senders that never retry a
# refused delivery would otherwise lose the activity for a hiccup at their own end. A host that
# cannot be reached or does not answer in time is not asked again: that would double what a
# flood of made-up key ids costs and how long an inbox request waits.
KEY_RETRY_PAUSE_SECONDS = 0.5
_TRANSIENT_STATUSES = frozenset({401, 403, 408, 425, 429, 500, 502, 503, 504})


def _transient(exc: RemoteError) -> bool:
    return exc.reason == "http_error" and exc.status in _TRANSIENT_STATUSES


async def _fetch_key_owner_twice(ctx: NodeContext, key_id: str) -> FetchedActor:
    """``_fetch_key_owner``, tried a second time after a transient failure."""
    try:
        return await _fetch_key_owner(ctx, key_id)
    except RemoteError as exc:
        if not _transient(exc):
            raise
        log.info("fetching key %s failed (%s); trying once more", key_id[:200], exc.reason)
    await asyncio.sleep(KEY_RETRY_PAUSE_SECONDS)
    return await _fetch_key_owner(ctx, key_id)


async def _fetch_key_owner(ctx: NodeContext, key_id: str) -> FetchedActor:
    """Fetch the document at ``key_id``: an actor, or a key naming an owner that must list it."""
    document_url = key_id.split("#")[0]
    signer = signer_of(await node_actor(ctx))
    raw = await ctx.remote.get_json(document_url, signer=signer)
    types = raw.get("type")
    types = types if isinstance(types, list) else [types]
    if any(t in ACTOR_TYPES for t in types):
        try:
            return FetchedActor(parse_actor(raw))
        except DocumentError as exc:
            raise RemoteError("bad_actor", f"{document_url[:200]}: {exc.detail}") from exc
    owner = raw.get("owner") or raw.get("controller")
    if not isinstance(owner, str) or not same_origin(owner, key_id):
        raise RemoteError("bad_key_owner", f"key {key_id[:200]} names no owner on its origin")
    return await _fetch_actor_document(ctx, owner.split("#")[0])


def ed25519_key(key: VerificationKey) -> ed25519.Ed25519PublicKey:
    if not isinstance(key.key, ed25519.Ed25519PublicKey):
        raise SignatureError("key_mismatch", "not an Ed25519 key")
    return key.key
