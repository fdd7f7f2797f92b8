"""Receiving: verify an incoming activity, authorise its sender, store it raw, answer 202.

Order matters (hardening): size and media type, then JSON limits and shape, then the HTTP
signature (the key's controller must be the activity's ``actor``), then origin rules (the
activity id on the actor's origin, the host allowed), and only then the duplicate check — so a
forged activity cannot reserve the id of a genuine one. Applying the activity is a durable job
(``node.services.apply``) worked by the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from node.services.context import NodeContext
from node.services.errors import NotFoundError, PermissionDeniedError
from node.services.resolve import resolve_key
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import peers as peer_store
from protocol.errors import SignatureError
from protocol.httpsig import flavour_of, key_id_of, verify_request
from protocol.jsonlimits import JsonLimits, load_json
from protocol.origin import authority_of, same_origin
from protocol.parse import Activity, parse_activity

log = logging.getLogger("kennisknoop.inbox")


def host_allowed(ctx: NodeContext, host: str) -> bool:
    """The federation policy (open / allowlist / blocklist) for a normalised host."""
    mode = ctx.settings.get("federation", "mode")
    allow = {h.lower() for h in ctx.settings.get("federation", "allow")}
    block = {h.lower() for h in ctx.settings.get("federation", "block")}
    if host in block:
        return False
    if mode == "allowlist":
        return host in allow
    return True


def check_host(ctx: NodeContext, iri: str) -> str:
    host = authority_of(iri)
    if not host_allowed(ctx, host):
        raise PermissionDeniedError("host_not_allowed", f"{host} is not federated with")
    return host


async def verify_signed(ctx: NodeContext, *, method: str, url: str,
                        headers: Mapping[str, str], body: bytes) -> str:
    """Verify the HTTP signature; returns the controlling actor. Refetches the key once."""
    key_id = key_id_of(headers)
    check_host(ctx, key_id)
    key = await resolve_key(ctx, key_id)
    try:
        verify_request(method, url, headers, body, key.key, now=ctx.clock())
    except SignatureError as exc:
        if exc.reason != "invalid_signature":
            raise
        # The actor may have rotated its key: fetch it again, once.
        key = await resolve_key(ctx, key_id, refresh=True)
        verify_request(method, url, headers, body, key.key, now=ctx.clock())
    return key.controller


async def receive(ctx: NodeContext, *, url: str, headers: Mapping[str, str], body: bytes,
                  recipient_handle: str | None) -> bool:
    """Verify and store one POSTed activity; False when it was a duplicate (still a 202)."""
    recipient = None
    if recipient_handle is not None:
        async with ctx.db.sessions() as session:
            local = await actor_store.get_local(session, recipient_handle)
        if local is None or local.deleted:
            raise NotFoundError("not_found", f"no inbox for {recipient_handle!r}")
        recipient = local.ap_id
    raw = load_json(body, limits=JsonLimits(
        max_bytes=ctx.settings.max_body_bytes,
        max_depth=int(ctx.settings.get("limits", "max_json_depth"))))
    activity: Activity = parse_activity(raw)
    signer = await verify_signed(ctx, method="POST", url=url, headers=headers, body=body)
    if signer != activity.actor:
        raise PermissionDeniedError("actor_mismatch",
                                    "the signing key does not belong to the activity's actor")
    if not same_origin(activity.id, activity.actor):
        raise PermissionDeniedError("origin_mismatch",
                                    "the activity id is not on the actor's origin")
    host = check_host(ctx, activity.actor)
    now = ctx.now()
    async with ctx.db.transaction() as session:
        added = await inbox_store.add(session, activity_ap_id=activity.id, actor=activity.actor,
                                      type=activity.type, recipient=recipient, document=raw,
                                      now=now)
        # interop(mastodon): any valid signed request from a host resets its unavailability.
        peer = await peer_store.ensure(session, host)
        values: dict[str, object] = {}
        if flavour_of(headers) == "rfc9421" and not peer.accepts_rfc9421:
            values["accepts_rfc9421"] = True
        if peer.unavailable_since is not None or peer.failure_days:
            values.update(unavailable_since=None, failure_days=[])
            await delivery_store.resume_host(session, host, now)
        if values:
            await peer_store.set_values(session, host, **values)
    if not added:
        log.info("duplicate activity %s from %s", activity.id, activity.actor)
    return added
