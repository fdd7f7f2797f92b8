"""The directory of initiatives: this node's own and those of every node it follows.

Publishing: each initiative's profile is its signed actor document. A new or edited profile goes
out as an ``Update`` by the initiative, a deleted one as a ``Delete``; the node actor announces
both to its followers (node.services.outbox.announcers). The node actor names a
``kk:initiatives`` collection holding every initiative's document (a Tombstone once deleted).

Receiving: a received initiative is a cached remote actor with ``kind = "initiative"`` and a
profile read from its document (node.services.profiles). Only its origin can change it: actor
documents are fetched from their own IRI, an ``Update`` of an actor is accepted from that actor
only (node.services.apply), and the collection is read from the followed node's own origin,
keeping only documents on that origin. A newer ``version`` wins; a deleted one stays deleted.
The same backfill and anti-entropy pass that repairs items (node.services.sync) reads the
collection, so a missed ``Update`` or ``Delete`` is repaired within one sync interval.

Listing: ``GET /api/initiatives`` (node.web.api) — ``last_confirmed`` is the later of the
profile's ``lastConfirmed`` and the day it was last edited (editing a profile confirms it); a
profile not confirmed for over a year is ``stale``, for provincial staff to check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from node.remote import RemoteError, Signer
from node.services import policy, search_index
from node.services.context import NodeContext
from node.services.profiles import is_initiative
from node.services.resolve import FetchedActor, remember
from node.store import actors as actor_store
from node.store.actors import StoredActor
from protocol import themes as vocab_themes
from protocol.errors import DocumentError
from protocol.origin import same_origin
from protocol.parse import parse_actor, parse_datetime

log = logging.getLogger("kennisknoop.directory")

MAX_PAGES = 100
STALE_AFTER = timedelta(days=365)


# --- keeping the directory right -------------------------------------------------------------

async def sync_initiatives(ctx: NodeContext, node: StoredActor, signer: Signer) -> int:
    """Read a followed node's ``kk:initiatives`` collection; the number of entries applied.

    Part of every backfill and anti-entropy pass over that node (node.services.sync).
    """
    iri = (node.document or {}).get("initiatives")
    if not isinstance(iri, str) or not same_origin(iri, node.ap_id):
        return 0
    collection = await ctx.remote.get_json(iri, signer=signer)
    url = collection.get("first")
    applied = pages = 0
    page: dict[str, Any] | None = collection if not isinstance(url, str) else None
    while pages < MAX_PAGES:
        if page is None:
            if not isinstance(url, str) or not same_origin(url, node.ap_id):
                break
            page = await ctx.remote.get_json(url, signer=signer)
        pages += 1
        entries = page.get("orderedItems", page.get("items", []))
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str) and \
                    same_origin(entry["id"], node.ap_id):
                applied += await _apply_entry(ctx, entry)
        url, page = page.get("next"), None
    return applied


async def _apply_entry(ctx: NodeContext, entry: dict[str, Any]) -> int:
    ap_id: str = entry["id"]
    async with ctx.db.sessions() as session:
        cached = await actor_store.get(session, ap_id)
    if cached is not None and (cached.is_local or cached.deleted):
        return 0  # ours, or a tombstone: it stays dead
    version = entry.get("version")
    version = version if isinstance(version, int) and not isinstance(version, bool) else 1
    if entry.get("type") == "Tombstone":
        if cached is None:
            return 0
        deleted = parse_datetime(entry.get("deleted")) or ctx.now()
        async with ctx.db.transaction() as session:
            await actor_store.update_values(session, ap_id, deleted_at=min(deleted, ctx.now()))
            await search_index.remove(session, ap_id)
        return 1
    if not is_initiative(entry) or (cached is not None and cached.version >= version
                                    and cached.kind == "initiative"):
        return 0
    try:
        fetched = FetchedActor(parse_actor(entry))
    except DocumentError as exc:
        log.info("directory entry %s unreadable: %s", ap_id[:200], exc)
        return 0
    async with ctx.db.transaction() as session:
        await remember(ctx, session, fetched)
    return 1


async def sync_node_initiatives(ctx: NodeContext, node: StoredActor, signer: Signer) -> int:
    """``sync_initiatives``, logging instead of failing: the items' pass has been recorded and
    the next pass reads the collection again."""
    try:
        return await sync_initiatives(ctx, node, signer)
    except RemoteError as exc:
        log.info("directory of %s not read: %s", node.ap_id, exc)
        return 0


# --- listing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DirectoryQuery:
    origin: str = "all"  # all | local | remote
    theme: str | None = None  # a broader theme includes its narrower ones
    province: str | None = None
    legal_form: str | None = None
    phase: str | None = None
    status: str | None = None
    stale: bool | None = None


@dataclass(frozen=True)
class Entry:
    actor: StoredActor
    province: str | None
    last_confirmed: date
    stale: bool


def province_of(actor: StoredActor, node_province: str | None) -> str | None:
    """The place's province, else the one the profile names, else (local) the node's."""
    profile = actor.profile or {}
    place = profile.get("place") or {}
    code = place.get("province_code") if isinstance(place, dict) else None
    return code or profile.get("province_code") or (node_province if actor.is_local else None)


def last_confirmed(actor: StoredActor) -> date:
    """The later of the profile's ``last_confirmed`` and the day it was last edited."""
    edited = actor.updated.date()
    stated = (actor.profile or {}).get("last_confirmed")
    try:
        confirmed = date.fromisoformat(stated) if isinstance(stated, str) else None
    except ValueError:
        confirmed = None
    return max(edited, confirmed) if confirmed else edited


def _entry(actor: StoredActor, node_province: str | None, today: date) -> Entry:
    confirmed = last_confirmed(actor)
    return Entry(actor, province_of(actor, node_province), confirmed,
                 today - confirmed > STALE_AFTER)


def _matches(entry: Entry, query: DirectoryQuery, themes: set[str] | None) -> bool:
    profile = entry.actor.profile or {}
    if themes is not None and not themes & set(profile.get("themes") or ()):
        return False
    return all((
        query.province is None or entry.province == query.province,
        query.legal_form is None or profile.get("legal_form") == query.legal_form,
        query.phase is None or profile.get("phase") == query.phase,
        query.status is None or profile.get("status") == query.status,
        query.stale is None or entry.stale == query.stale,
    ))


async def list_directory(ctx: NodeContext, query: DirectoryQuery, *, limit: int,
                         offset: int = 0) -> tuple[list[Entry], bool]:
    """One page of the directory, by name; and whether more follow.

    The directory is small (the country has a few thousand village initiatives), so filters
    apply to the live rows in memory, the same way on SQLite and PostgreSQL.
    """
    async with ctx.db.sessions() as session:
        rows = await actor_store.list_initiatives(session, origin=query.origin)
        hosts = await policy.rule(ctx, session)  # a blocked host's initiatives are hidden
    rows = [a for a in rows if a.is_local or hosts.allows(a.host)]
    themes = set(vocab_themes.expand([query.theme])) if query.theme else None
    today = ctx.now().date()
    node_province = ctx.settings.node.province_code or None
    found = [e for e in (_entry(a, node_province, today) for a in rows)
             if _matches(e, query, themes)]
    return found[offset:offset + limit], len(found) > offset + limit
