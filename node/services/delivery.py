"""Delivery: who receives an activity (fan-out) and one attempt to send it (a step).

Fan-out runs inside the transaction that stores the activity, so an activity and its delivery
rows are durable together. Remote recipients get one row per inbox (shared inboxes first, so one
POST per server); local followers get a feed entry directly. A step returns an outcome; only the
worker writes delivery state (STYLE.md rule 6).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError, Signer
from node.services import policy
from node.services.context import NodeContext
from node.services.resolve import signer_of
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store import feed as feed_store
from node.store import follows as follow_store
from node.store import peers as peer_store
from node.store.actors import StoredActor
from node.store.deliveries import Delivery
from node.store.peers import Peer
from protocol.origin import authority_of

log = logging.getLogger("kennisknoop.delivery")


@dataclass(frozen=True)
class Sent:
    status: int


@dataclass(frozen=True)
class Retry:
    after: float  # seconds
    reason: str
    status: int | None = None


@dataclass(frozen=True)
class GiveUp:
    reason: str
    status: int | None = None


Outcome = Sent | Retry | GiveUp


def inbox_of(actor: StoredActor, *, shared: bool = True) -> str | None:
    return (actor.shared_inbox if shared and actor.shared_inbox else None) or actor.inbox


async def fan_out(ctx: NodeContext, session: AsyncSession, *, actor: StoredActor,
                  activity_id: str, object_id: str | None, extra: list[StoredActor],
                  followers: bool = True) -> int:
    """Queue deliveries of an activity to ``actor``'s followers and ``extra`` recipients."""
    fanned = await fan_out_rows(ctx, session, actor=actor, activity_id=activity_id,
                                object_id=object_id, extra=extra, followers=followers)
    return await write_fanned(session, [fanned])


Fanned = tuple[list[dict[str, object]], list[dict[str, object]]]


async def fan_out_rows(ctx: NodeContext, session: AsyncSession, *, actor: StoredActor,
                       activity_id: str, object_id: str | None, extra: list[StoredActor],
                       followers: bool = True) -> Fanned:
    """What :func:`fan_out` writes, not written yet: the local owners' feed entries and the
    delivery rows (:func:`write_fanned` writes those of several activities together)."""
    now = ctx.now()
    hosts = await policy.rule(ctx, session)  # a blocked host gets nothing more from us
    audience = (await follow_store.follower_actors(session, actor.ap_id, hosts=hosts)
                if followers else [])
    inboxes: list[tuple[str, str]] = []
    local_owners: list[str] = []
    for recipient in [*audience, *extra]:
        if recipient.is_local:
            local_owners.append(recipient.ap_id)
            continue
        inbox = inbox_of(recipient)
        if inbox and hosts.allows(authority_of(inbox)):
            inboxes.append((inbox, authority_of(inbox)))
    feed = (feed_store.rows(owners=[o for o in local_owners if o != actor.ap_id],
                            object_ap_id=object_id, via=actor.ap_id, now=now)
            if object_id and local_owners else [])
    return feed, delivery_store.rows(activity_ap_id=activity_id, signer=actor.ap_id,
                                     inboxes=inboxes, now=now)


async def write_fanned(session: AsyncSession, fanned: list[Fanned]) -> int:
    """Write the feed entries and deliveries of one or more activities (:func:`fan_out_rows`):
    one statement for all feed entries, one for all deliveries, none for what is empty. The
    number of deliveries queued."""
    await feed_store.add_rows(session, [row for feed, _ in fanned for row in feed])
    return await delivery_store.enqueue_rows(session, [row for _, rows in fanned for row in rows])


def backoff_seconds(ctx: NodeContext, attempts: int) -> float:
    """Exponential backoff with ±25 % jitter, capped at ``retry_max_seconds``."""
    initial = float(ctx.settings.federation.retry_initial_seconds)
    cap = float(ctx.settings.federation.retry_max_seconds)
    base = min(cap, initial * (2.0 ** max(0, attempts - 1)))
    return base * random.uniform(0.75, 1.25)


@dataclass(frozen=True)
class Prepared:
    """What the deliveries of one worker round share, read once for the round: each activity's
    body (serialised once, the bytes every recipient gets), each signer, each host's flavour."""

    bodies: dict[str, bytes | None]  # activity id -> body (None: the activity is gone)
    signers: dict[str, Signer | None]  # actor id -> its signer (None: not a local actor)
    flavours: dict[str, str]  # host -> "rfc9421" or "cavage"


async def prepare(ctx: NodeContext, rows: list[Delivery]) -> Prepared:
    """Read what ``rows`` need to be sent, each distinct activity, signer and host once."""
    prepared = Prepared({}, {}, {})
    async with ctx.db.sessions() as session:
        for row in rows:
            if row.activity_ap_id not in prepared.bodies:
                activity = await activity_store.get(session, row.activity_ap_id)
                prepared.bodies[row.activity_ap_id] = (
                    None if activity is None else orjson.dumps(activity.document))
            if row.signer not in prepared.signers:
                actor = await actor_store.get(session, row.signer)
                prepared.signers[row.signer] = (
                    signer_of(actor) if actor is not None and actor.is_local else None)
            if row.host not in prepared.flavours:
                peer = await peer_store.get(session, row.host)
                prepared.flavours[row.host] = (
                    "rfc9421" if peer is not None and peer.accepts_rfc9421 else "cavage")
    return prepared


async def attempt(ctx: NodeContext, delivery: Delivery, prepared: Prepared | None = None
                  ) -> Outcome:
    """Send one delivery once (with what ``prepare`` read for its round); never raises for
    peer failures. The signature covers the target, so each attempt is signed on its own."""
    if prepared is None:
        prepared = await prepare(ctx, [delivery])
    body = prepared.bodies[delivery.activity_ap_id]
    signer = prepared.signers[delivery.signer]
    if body is None or signer is None:
        return GiveUp("missing_activity")
    try:
        status = await ctx.remote.post(delivery.inbox_url, body, signer=signer,
                                       flavour=prepared.flavours[delivery.host])
    except RemoteError as exc:
        return classify_failure(ctx, delivery, exc)
    return Sent(status)


def classify_failure(ctx: NodeContext, delivery: Delivery, exc: RemoteError) -> Outcome:
    status = exc.status
    # interop(mastodon): 4xx other than 401/408/429 are final; 410 means the inbox is gone.
    if status == 410:
        return GiveUp("gone", status)
    if status in (429, 503) and exc.retry_after is not None:
        return Retry(max(exc.retry_after, 1.0), exc.reason, status)
    if status is not None and 400 <= status < 500 and status not in (401, 408, 429):
        return GiveUp(f"http_{status}", status)
    if exc.reason in ("private_address", "insecure_url", "bad_url", "host_not_allowed"):
        return GiveUp(exc.reason, status)
    return Retry(backoff_seconds(ctx, delivery.attempts + 1), exc.reason, status)


UNAVAILABLE_AFTER_DAYS = 3


async def record(ctx: NodeContext, delivery: Delivery, outcome: Outcome) -> None:
    """Write the outcome of a step: the delivery's state and the peer's health."""
    await record_many(ctx, [(delivery, outcome)])


async def record_many(ctx: NodeContext, done: list[tuple[Delivery, Outcome]]) -> None:
    """Write the outcomes of several steps in one transaction: the sent rows in one statement
    per answer status, each of their hosts' health once, the other outcomes row by row."""
    now = ctx.now()
    sent: dict[str, list[tuple[Delivery, Sent]]] = {}
    async with ctx.db.transaction() as session:
        # Peer rows are written in host order: two workers recording outcomes for the same
        # hosts in different orders deadlocked on PostgreSQL (one transaction was aborted, its
        # sent rows went out again after the lease).
        for delivery, outcome in sorted(done, key=lambda d: d[0].host):
            if isinstance(outcome, Sent):
                sent.setdefault(delivery.host, []).append((delivery, outcome))
            else:
                await _record_failure(ctx, session, delivery, outcome, now)
        statuses: dict[int, list[int]] = {}
        for rows in sent.values():
            for delivery, outcome in rows:
                statuses.setdefault(outcome.status, []).append(delivery.id)
        for status, ids in statuses.items():
            await delivery_store.finish_sent(session, ids, sent_at=now, last_status=status)
        for host in sorted(sent):
            # The peer as held in memory: with the update above, two statements per outcome.
            peer = await peer_store.get(session, host)
            failing = peer is None or peer.unavailable_since is not None or peer.failure_days
            if peer is not None and failing:
                log.info("peer %s is reachable again", host)
            await peer_store.set_values(session, host, known=peer, last_success_at=now,
                                        failure_days=[], unavailable_since=None)
            if failing:
                await delivery_store.resume_host(session, host, now)


async def _record_failure(ctx: NodeContext, session: AsyncSession, delivery: Delivery,
                          outcome: Retry | GiveUp, now: datetime) -> None:
    if isinstance(outcome, GiveUp):
        log.info("giving up delivery %s to %s: %s", delivery.activity_ap_id,
                 delivery.inbox_url, outcome.reason)
        if await peer_store.get(session, delivery.host) is None:
            await peer_store.ensure(session, delivery.host)
        await delivery_store.finish(session, delivery.id, state="failed",
                                    attempts=delivery.attempts + 1,
                                    last_status=outcome.status, last_error=outcome.reason)
        return
    give_up_at = delivery.created_at + timedelta(
        hours=float(ctx.settings.federation.give_up_after_hours))
    await _record_retry(ctx, session, delivery, outcome,
                        await peer_store.get(session, delivery.host), now, give_up_at)


async def _record_retry(ctx: NodeContext, session: AsyncSession, delivery: Delivery,
                        outcome: Retry, peer: Peer | None, now: datetime, give_up_at: datetime
                        ) -> None:
    days = list(dict.fromkeys([*(peer.failure_days if peer else []),
                               now.date().isoformat()]))[-30:]
    unavailable = peer.unavailable_since if peer else None
    if unavailable is None and len(days) >= UNAVAILABLE_AFTER_DAYS:
        unavailable = now
        log.warning("peer %s marked unavailable after failures on %d days", delivery.host,
                    len(days))
    await peer_store.set_values(session, delivery.host, known=peer, failure_days=days,
                                last_failure_at=now, unavailable_since=unavailable)
    delay = outcome.after
    if unavailable is not None:
        # A peer down for days is probed slowly; its first success resumes everything.
        delay = max(delay, float(ctx.settings.federation.retry_max_seconds))
    next_at = now + timedelta(seconds=delay)
    if next_at > give_up_at:
        await delivery_store.finish(session, delivery.id, state="failed",
                                    attempts=delivery.attempts + 1, last_status=outcome.status,
                                    last_error=f"expired: {outcome.reason}")
        return
    await delivery_store.finish(session, delivery.id, attempts=delivery.attempts + 1,
                                next_attempt_at=next_at, last_status=outcome.status,
                                last_error=outcome.reason)
