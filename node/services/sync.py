"""Backfill and anti-entropy: page a followee's outbox and apply what is missing.

On an accepted Follow the follower pages the followee's whole outbox (backfill); afterwards, every
``sync_interval_seconds``, it pages again from the newest activity down to the newest one the last
complete pass saw (``follows.sync_head``). Outbox activities are immutable and newest-first, so
anything missed (a node that was down, a partition, a delivery given up) lies above that mark.
Documents come from the followee's own origin over signed GETs, and every embedded proof must
verify; applying is idempotent, so a pass interrupted by a crash is simply repeated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError
from node.services import policy
from node.services.apply import (
    RejectedError,
    add_to_feeds,
    apply,
    store_new_objects,
    verified_by_proof,
)
from node.services.context import NodeContext
from node.services.directory import sync_node_initiatives
from node.services.resolve import fetch_actor, node_actor, signer_of
from node.store import follows as follow_store
from node.store import inbox as inbox_store
from node.store.blocks import HostRule
from protocol.errors import ProtocolError
from protocol.origin import same_origin
from protocol.parse import Activity, ASObject, parse_activity

log = logging.getLogger("kennisknoop.sync")

APPLIED_TYPES = ("Create", "Update", "Delete", "Announce")
MAX_PAGES = 50
# Activities read (over pages) before they are applied: new objects among them are stored
# together, in one transaction (docs/performance.md, "Import and backfill in batches").
BATCH = 500


@dataclass(frozen=True)
class SyncResult:
    followed: bool  # False: no local actor follows this followee any more
    pages: int = 0
    seen: int = 0
    applied: int = 0
    rejected: int = 0
    resume: dict[str, Any] | None = None  # where an unfinished pass goes on


async def _local_followers(ctx: NodeContext, followee: str) -> tuple[list[str], str | None]:
    async with ctx.db.sessions() as session:
        found = await follow_store.local_followers(session, followee)
    heads = {f.sync_head for f in found}
    head = heads.pop() if len(heads) == 1 else None  # disagreeing marks: page everything
    return [f.follower for f in found], head


async def _page_items(ctx: NodeContext, page: dict[str, Any], origin: str, signer: Any
                      ) -> list[dict[str, Any]]:
    items = page.get("orderedItems", page.get("items", []))
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str) and same_origin(item, origin):
            item = await ctx.remote.get_json(item, signer=signer)
        if isinstance(item, dict):
            out.append(item)
    return out


async def _first_page(ctx: NodeContext, outbox: str, followee: str, signer: Any
                      ) -> dict[str, Any] | None:
    collection = await ctx.remote.get_json(outbox, signer=signer)
    first = collection.get("first")
    if isinstance(first, dict):
        return first
    if isinstance(first, str):
        return (await ctx.remote.get_json(first, signer=signer)
                if same_origin(first, followee) else None)
    return collection


async def sync_followee(ctx: NodeContext, followee: str, *, max_pages: int | None = None,
                        resume: dict[str, Any] | None = None) -> SyncResult:
    """One backfill/anti-entropy pass over ``followee``'s outbox.

    Pages are applied as they come, ``BATCH`` activities at a time (newest first: the version
    rule and tombstones make the order irrelevant). The pass reads on to the end of the page
    holding the last pass's mark, so an activity that committed late with a lower position
    (several web processes on one PostgreSQL) is still seen. A pass longer than ``max_pages``
    stops and returns ``resume``; the worker continues it in the next round from there.
    """
    max_pages = max_pages or MAX_PAGES
    followers, head = await _local_followers(ctx, followee)
    if not followers:
        return SyncResult(followed=False)
    actor = await fetch_actor(ctx, followee)
    if not actor.outbox or not same_origin(actor.outbox, followee):
        actor = await fetch_actor(ctx, followee, refresh=True)
    if not actor.outbox or not same_origin(actor.outbox, followee):
        return SyncResult(followed=True)
    signer = signer_of(await node_actor(ctx))
    resume_url = (resume or {}).get("resume")
    newest: str | None = (resume or {}).get("newest")
    if isinstance(resume_url, str) and same_origin(resume_url, followee):
        page: dict[str, Any] | None = await ctx.remote.get_json(resume_url, signer=signer)
    else:
        page = await _first_page(ctx, actor.outbox, followee, signer)
    pages = seen = applied = rejected = retry = 0
    next_url: Any = None
    reached = False
    pending: list[dict[str, Any]] = []  # read, not yet applied: up to BATCH over pages

    async def apply_pending() -> None:
        nonlocal applied, rejected, retry
        for outcome in await _apply_activities(ctx, pending, followee):
            applied += outcome == "applied"
            rejected += outcome == "rejected"
            retry += outcome == "retry"
        pending.clear()

    while page is not None and pages < max_pages and not reached:
        pages += 1
        batch: list[dict[str, Any]] = []
        for raw in await _page_items(ctx, page, followee, signer):
            activity_id = raw.get("id")
            newest = newest or (activity_id if isinstance(activity_id, str) else None)
            if head is not None and activity_id == head:
                reached = True  # read the rest of this page too: that is the margin
                continue
            batch.append(raw)
        pending += reversed(batch)
        if len(pending) >= BATCH:
            await apply_pending()
        seen += len(batch)
        next_url = page.get("next")
        page = (await ctx.remote.get_json(next_url, signer=signer)
                if isinstance(next_url, str) and same_origin(next_url, followee)
                and not reached else None)
    await apply_pending()
    complete = page is None or reached
    if complete:
        # The followed node's directory of initiatives, repaired by the same pass.
        applied += await sync_node_initiatives(ctx, actor, signer)
    # A complete pass moves the mark: the next one stops there.
    head = newest if complete and not retry else None
    async with ctx.db.transaction() as session:
        await follow_store.mark_synced(session, followee, now=ctx.now(), head=head)
    log.info("synced %s: %d pages, %d activities, %d applied, %d rejected%s", followee, pages,
             seen, applied, rejected, "" if complete else " (continues)")
    next_resume = None
    if not complete and isinstance(next_url, str):
        next_resume = {"resume": next_url, "newest": newest}  # the page fetched, not yet read
    return SyncResult(True, pages, seen, applied, rejected, resume=next_resume)


async def _apply_activities(ctx: NodeContext, raws: list[dict[str, Any]], followee: str
                            ) -> list[str]:
    """The outcome of each activity of ``raws`` (read from the outbox), applied in order.

    Runs of new objects with a verified proof (a Create of the followee's own, or an Announce
    of an object its author signed) are stored together (``apply.store_new_objects``: one
    transaction, a few statements for the run, recorded as received in it); everything else —
    updates, deletes, objects stored before, proofs that do not verify, anything rejected — is
    applied one at a time as before, with the same checks and outcomes.
    """
    ids = [raw["id"] for raw in raws if isinstance(raw.get("id"), str)]
    async with ctx.db.sessions() as session:
        done = await inbox_store.done_among(session, ids)
        hosts = await policy.rule(ctx, session)
    outcomes: list[str] = []
    run: list[tuple[dict[str, Any], Activity, ASObject]] = []
    for raw in raws:
        verified = await _verified_new(ctx, raw, followee, done, hosts)
        if verified is not None:
            run.append((raw, *verified))
            continue
        outcomes += await _store_run(ctx, run, followee)
        run = []
        outcomes.append(await _apply_one(ctx, raw, followee))
    return outcomes + await _store_run(ctx, run, followee)


async def _verified_new(ctx: NodeContext, raw: dict[str, Any], followee: str, done: set[str],
                        hosts: HostRule) -> tuple[Activity, ASObject] | None:
    """The activity and its embedded object when ``apply`` would store the object as it is
    (its proof verifies, nothing refuses it: ``hosts``, the federation policy as the batch
    began); None: leave it to ``_apply_one``."""
    try:
        activity = parse_activity(raw)
        obj = activity.object
        if activity.id in done or activity.actor != followee or \
                not same_origin(activity.id, followee) or not isinstance(obj, ASObject) or \
                "proof" not in obj.raw or not obj.attributed_to or \
                not same_origin(obj.id, obj.attributed_to):
            return None
        if activity.type == "Create" and obj.attributed_to != followee:
            return None
        if activity.type not in ("Create", "Announce"):
            return None
        await policy.check_content(ctx, followee, activity.id, obj.id, obj.attributed_to,
                                   current=hosts)
        if not await verified_by_proof(ctx, obj.raw, obj.attributed_to):
            return None
    except (ProtocolError, RejectedError, RemoteError):
        return None  # _apply_one says why, as before
    return activity, obj


async def _store_run(ctx: NodeContext, run: list[tuple[dict[str, Any], Activity, ASObject]],
                     followee: str) -> list[str]:
    if not run:
        return []

    async def received(session: AsyncSession, handled: list[int]) -> None:
        # Recorded as received, so a late delivery of the same activity is a no-op.
        await inbox_store.add_done(session, [
            {"activity_ap_id": run[i][1].id, "actor": run[i][1].actor, "type": run[i][1].type,
             "document": run[i][0]} for i in handled], now=ctx.now())

    results = await store_new_objects(ctx, [obj for _, _, obj in run], via=followee,
                                      within=received)
    outcomes = []
    for (raw, _, _), result in zip(run, results, strict=True):
        if result is None:  # stored before: applied alone, as any other
            outcomes.append(await _apply_one(ctx, raw, followee))
        else:
            outcomes.append("applied" if result.changed else "skipped")
    return outcomes


async def _apply_one(ctx: NodeContext, raw: dict[str, Any], followee: str) -> str:
    try:
        activity = parse_activity(raw)
        if activity.type not in APPLIED_TYPES:
            return "skipped"
        if activity.actor != followee or not same_origin(activity.id, followee):
            raise RejectedError("origin_mismatch", f"{activity.id} in {followee}'s outbox")
        async with ctx.db.sessions() as session:
            done = await inbox_store.state_of(session, activity.id) == "done"
        if done:
            # Received before, for another local follower: a new follower gets the item too.
            item = _item_of(activity)
            if item is not None:
                await add_to_feeds(ctx, item, via=followee)
            return "skipped"
        result = await apply(ctx, activity, sender=followee)
        async with ctx.db.transaction() as session:
            # Recorded as received, so a late delivery of the same activity is a no-op.
            await inbox_store.add(session, activity_ap_id=activity.id, actor=activity.actor,
                                  type=activity.type, recipient=None, document=raw,
                                  now=ctx.now())
            await inbox_store.mark_done(session, activity.id)
        return "applied" if result.changed else "skipped"
    except (RejectedError, ProtocolError) as exc:
        log.info("sync of %s: rejected %s: %s", followee, raw.get("id"), exc)
        return "rejected"
    except RemoteError as exc:
        log.info("sync of %s: could not complete %s: %s", followee, raw.get("id"), exc)
        return "retry"


def _item_of(activity: Activity) -> str | None:
    """The item an outbox activity puts in its followers' feeds (None for a Delete)."""
    inner = activity.object
    if isinstance(inner, Activity):  # an Announce of an Update or Delete
        return inner.object_id if inner.type in ("Create", "Update") else None
    return None if activity.type == "Delete" else activity.object_id
