"""The read side of the public surface: what the ActivityPub endpoints and HTML pages serve.

- Documents as served (ActivityPub §3.1): a local actor's signed document, or its signed
  ``Tombstone`` once deleted (answered with 410, as Mastodon does for gone accounts); items and
  activities as stored and signed.
- The ``outbox``, ``followers`` and ``following`` collections (ActivityPub §5.1, §5.3, §5.4) as
  ``OrderedCollection``s paged newest-first the way Mastodon pages them (AS2 Core §5.5): the
  collection names ``first`` (``?page=true``) and ``last`` (``?page=true&min_id=0``); a page has
  ``next`` (``max_id``, older) and ``prev`` (``min_id``, newer) only when something is there.
- The usage figures of NodeInfo 2.1.
- The views of the HTML pages (home, actor, item with its answers, activity).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import policy
from node.services.context import NodeContext
from node.services.documents import initiatives_collection, sign, tombstone_document
from node.services.errors import GoneError, NotFoundError
from node.services.listing import PAGE_SIZE, Filters, Paging, item_filter
from node.services.permissions import Caller
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store import objects as object_store
from node.store.activities import StoredActivity
from node.store.actors import StoredActor
from node.store.blocks import HostRule
from node.store.objects import ItemFilter, PageStamp, StoredObject
from protocol.context import AS_CONTEXT, build_context

CollectionName = Literal["outbox", "followers", "following"]
COLLECTIONS: tuple[CollectionName, ...] = ("outbox", "followers", "following")
MAX_ANSWERS = 200
HOME_ITEMS = 20
MAX_INITIATIVES = 500


@dataclass(frozen=True)
class Served:
    """A document to answer with; ``gone`` means answer 410 (the document is a Tombstone)."""

    document: dict[str, Any] | None
    gone: bool = False
    body: bytes | None = None  # the document as stored, served as it is


@dataclass(frozen=True)
class PageRequest:
    """Which page of a collection: the newest (neither), older than ``max_id``, newer than ``min_id``."""

    max_id: int | None = None
    min_id: int | None = None


@dataclass(frozen=True)
class CollectionView:
    actor: StoredActor
    name: CollectionName
    total: int
    document: dict[str, Any]  # the OrderedCollection, or the OrderedCollectionPage asked for
    entries: list[Any]  # outbox: activity documents; followers/following: actor IRIs
    next_url: str | None = None
    prev_url: str | None = None
    holdable: bool = False  # asked for: its outbox_stamp covers everything it shows


@dataclass(frozen=True)
class Usage:
    users: int  # local actors that publish: the node and its initiatives
    local_posts: int


@dataclass(frozen=True)
class ItemView:
    item: StoredObject
    authors: dict[str, StoredActor]  # by IRI: the item's, the answers' and the question's
    answers: list[StoredObject]  # for a question: the accepted answer first, then oldest first
    question: StoredObject | None  # for an answer: the question it answers


@dataclass(frozen=True)
class ActorView:
    actor: StoredActor
    items: list[StoredObject]
    initiatives: list[StoredActor]  # the node's initiatives (node actor only)
    authors: dict[str, StoredActor]
    paging: Paging | None = None  # the items are one numbered page (actor pages; not home)


@dataclass(frozen=True)
class ActivityView:
    activity: StoredActivity
    actor: StoredActor | None


# --- documents as served -----------------------------------------------------------------------


async def _local_actor(session: AsyncSession, handle: str) -> StoredActor:
    actor = await actor_store.get_local(session, handle)
    if actor is None or actor.document is None:
        raise NotFoundError("not_found", f"no local actor {handle!r}")
    return actor


async def find_local_actor(ctx: NodeContext, handle: str) -> StoredActor:
    """A local actor by handle, deleted or not; raises NotFoundError."""
    async with ctx.db.sessions() as session:
        return await _local_actor(session, handle)


def actor_tombstone(actor: StoredActor) -> dict[str, Any]:
    """The signed Tombstone of a deleted local actor (deterministic: built from the row)."""
    assert actor.deleted_at is not None
    document = tombstone_document(ap_id=actor.ap_id, former_type=actor.type,
                                  deleted=actor.deleted_at, version=actor.version)
    return sign(document, actor, actor.deleted_at)


async def served_actor(ctx: NodeContext, handle: str) -> Served:
    """The signed actor document, or its Tombstone (gone) after deletion."""
    actor = await find_local_actor(ctx, handle)
    if actor.deleted:
        return Served(actor_tombstone(actor), gone=True)
    assert actor.document is not None
    return Served(actor.document)


async def served_item(ctx: NodeContext, local_id: str) -> Served:
    """An item's signed document, the bytes stored; a deleted item's is its signed Tombstone
    (gone). One prebuilt statement, no ORM session: a read by key (``Database.first``)."""
    found = await object_store.served(ctx.db, ctx.urls.item(local_id))
    if found is None:
        raise NotFoundError("not_found", f"no item {local_id!r}")
    return Served(None, gone=found[1], body=found[0])


async def served_activity(ctx: NodeContext, local_id: str) -> Served:
    async with ctx.db.sessions() as session:
        activity = await activity_store.get(session, ctx.urls.activity(local_id))
    if activity is None:
        raise NotFoundError("not_found", f"no activity {local_id!r}")
    return Served(activity.document)


async def item_stamp(ctx: NodeContext, ap_id: str) -> PageStamp | None:
    """What an item's API JSON and page are rendered from, in one short statement
    (``node.services.rendered``); None when there is no such item."""
    return await object_store.page_stamp(ctx.db, ap_id)


async def activity_stamp(ctx: NodeContext, local_id: str) -> Hashable | None:
    """What a local activity is served from, in one short statement; None when there is none."""
    return await activity_store.stamp(ctx.db, ctx.urls.activity(local_id))


async def outbox_stamp(ctx: NodeContext, handle: str) -> Hashable | None:
    """What a local actor's outbox and its pages are rendered from: one short statement
    (``activity_store.outbox_stamp``) and the federation policy (held by ``policy.rule`` as
    for every listing, so a page held shows a block no later than a page rendered); None when
    there is no such actor or it was deleted (then the page is rendered: 404, 410)."""
    row = await activity_store.outbox_stamp(ctx.db, handle)
    if row is None or row[3] is not None:
        return None
    return row, await policy.current_rule(ctx)


# --- collections -------------------------------------------------------------------------------


def page_url(collection_iri: str, page: PageRequest) -> str:
    url = f"{collection_iri}?page=true"
    if page.max_id is not None:
        url += f"&max_id={page.max_id}"
    if page.min_id is not None:
        url += f"&min_id={page.min_id}"
    return url


async def _rows(session: AsyncSession, actor: StoredActor, name: CollectionName, *, limit: int,
                hosts: HostRule, max_id: int | None = None, min_id: int | None = None
                ) -> list[tuple[int, Any]]:
    """``(cursor id, entry)`` pairs, newest first (relays of refused hosts' objects left out)."""
    if name == "outbox":
        activities = await activity_store.page_by_actor(session, actor.ap_id, limit=limit,
                                                        max_id=max_id, min_id=min_id, hosts=hosts)
        return [(a.id, a.document) for a in activities]
    if name == "followers":
        rows = await follow_store.page(session, followee=actor.ap_id, limit=limit,
                                       max_id=max_id, min_id=min_id, hosts=hosts)
        return [(f.id, f.follower) for f in rows]
    rows = await follow_store.page(session, follower=actor.ap_id, limit=limit, max_id=max_id,
                                   min_id=min_id, hosts=hosts)
    return [(f.id, f.followee) for f in rows]


async def _total(session: AsyncSession, actor: StoredActor, name: CollectionName,
                 hosts: HostRule) -> int:
    if name == "outbox":
        return await activity_store.count_by_actor(session, actor.ap_id, hosts=hosts)
    if name == "followers":
        return await follow_store.count(session, followee=actor.ap_id, hosts=hosts)
    return await follow_store.count(session, follower=actor.ap_id, hosts=hosts)


async def _outbox_facts(ctx: NodeContext, session: AsyncSession, actor: StoredActor,
                        hosts: HostRule, stamp: Hashable | None) -> tuple[int, bool]:
    """The outbox's total under ``hosts`` and whether the actor relays anything received.

    Both count or scan every activity of the actor: a follower paging a 10,000-item outbox
    asked them on each of its 500 pages. Remembered under the outbox's stamp (which moves with
    every activity added or removed, and holds the policy), like the held pages themselves;
    the total only for an outbox that relays nothing received — hiding a received item takes
    its Announces out, and no stamp sees that (docs/performance.md, "Backfill: contexts not
    walked, pages read once")."""
    key = ("outbox-facts", actor.ap_id, hosts)
    known = ctx.rendered.fact(key, stamp) if stamp is not None else None
    if known is not None:
        return known  # type: ignore[no-any-return]
    relays = await activity_store.relays_received(session, actor.ap_id, ctx.urls.base)
    facts = (await _total(session, actor, "outbox", hosts), relays)
    if stamp is not None and not relays:
        ctx.rendered.remember(key, stamp, facts)
    return facts


def _iri(actor: StoredActor, name: CollectionName) -> str:
    iri = {"outbox": actor.outbox, "followers": actor.followers,
           "following": actor.following}[name]
    assert iri is not None
    return iri


async def _page(session: AsyncSession, actor: StoredActor, name: CollectionName,
                page: PageRequest, size: int, hosts: HostRule
                ) -> tuple[list[tuple[int, Any]], bool, bool]:
    """The rows of one page, and whether older / newer rows exist beyond it."""
    # One row more than the page tells whether there is more in the direction read; a one-row
    # probe tells it for the other direction.
    rows = await _rows(session, actor, name, limit=size + 1, max_id=page.max_id,
                       min_id=page.min_id, hosts=hosts)
    extra = len(rows) > size
    if page.min_id is not None:
        rows = rows[1:] if extra else rows  # the extra row is the newest one
        has_newer = extra
        has_older = bool(rows) and bool(await _rows(session, actor, name, limit=1,
                                                    max_id=rows[-1][0], hosts=hosts))
    else:
        rows = rows[:size]
        has_older = extra
        has_newer = (page.max_id is not None and bool(rows)
                     and bool(await _rows(session, actor, name, limit=1, min_id=rows[0][0],
                                          hosts=hosts)))
    return rows, has_older, has_newer


async def read_collection(ctx: NodeContext, handle: str, name: CollectionName,
                          page: PageRequest | None, *, hold: bool = False,
                          stamp: Hashable | None = None) -> CollectionView:
    """A local actor's collection (``page`` None) or one of its pages; 404/410 for no actor.
    ``hold``: tell whether the outbox's view may be held under its ``outbox_stamp`` — not
    when the actor relays something received, which an admin may hide (one statement more).
    ``stamp``: that stamp, read before this render; the outbox's total and whether it relays
    anything received are then remembered under it (``_outbox_facts``)."""
    async with ctx.db.sessions() as session:
        actor = await _local_actor(session, handle)
        if actor.deleted:
            raise GoneError("gone", f"{handle!r} was deleted")
        iri = _iri(actor, name)
        hosts = await policy.rule(ctx, session)
        if hold and name == "outbox":
            total, relays = await _outbox_facts(ctx, session, actor, hosts, stamp)
            holdable = not relays
        else:
            total, holdable = await _total(session, actor, name, hosts), False
        if page is None:
            document = {
                "@context": AS_CONTEXT, "id": iri, "type": "OrderedCollection",
                "totalItems": total, "first": page_url(iri, PageRequest()),
                "last": page_url(iri, PageRequest(min_id=0)),
            }
            return CollectionView(actor, name, total, document, [], holdable=holdable)
        rows, has_older, has_newer = await _page(session, actor, name, page,
                                                 ctx.settings.limits.page_size, hosts)
    entries = [entry for _, entry in rows]
    next_url = page_url(iri, PageRequest(max_id=rows[-1][0])) if has_older else None
    prev_url = page_url(iri, PageRequest(min_id=rows[0][0])) if has_newer else None
    document = {
        "@context": AS_CONTEXT, "id": page_url(iri, page), "type": "OrderedCollectionPage",
        "partOf": iri, "totalItems": total, "orderedItems": entries,
    }
    if next_url:
        document["next"] = next_url
    if prev_url:
        document["prev"] = prev_url
    return CollectionView(actor, name, total, document, entries, next_url, prev_url, holdable)


async def read_initiatives(ctx: NodeContext, handle: str, page: int | None) -> dict[str, Any]:
    """The node actor's ``kk:initiatives`` collection, or its page ``page`` (1-based).

    Entries are the initiatives' signed actor documents, a deleted one's signed Tombstone, in
    creation order: a follower that missed an ``Update`` or ``Delete`` repairs its directory
    from here (node.services.directory). Documents served by the initiatives' own origin are
    authoritative for it (FEP-fe34), and each still carries its own proof.
    """
    size = ctx.settings.limits.page_size
    async with ctx.db.sessions() as session:
        actor = await _local_actor(session, handle)
        if actor.kind != "node":
            raise NotFoundError("not_found", f"{handle!r} publishes no initiatives")
        iri = initiatives_collection(actor.ap_id)
        total = await actor_store.count_local_initiatives(session)
        if page is None:
            return {"@context": build_context(), "id": iri, "type": "OrderedCollection",
                    "totalItems": total, "first": f"{iri}?page=1"}
        rows = await actor_store.page_local_initiatives(session, limit=size,
                                                        offset=(page - 1) * size)
    entries = [actor_tombstone(a) if a.deleted else a.document for a in rows]
    document: dict[str, Any] = {
        "@context": build_context(), "id": f"{iri}?page={page}",
        "type": "OrderedCollectionPage", "partOf": iri, "totalItems": total,
        "orderedItems": entries}
    if page * size < total:
        document["next"] = f"{iri}?page={page + 1}"
    return document


# --- NodeInfo ----------------------------------------------------------------------------------


async def nodeinfo_usage(ctx: NodeContext) -> Usage:
    """NodeInfo usage: users are the node actor and its initiatives; posts are local items."""
    async with ctx.db.sessions() as session:
        users = (await actor_store.count_local(session, kind="node")
                 + await actor_store.count_local(session, kind="initiative"))
        posts = await object_store.count(session, ItemFilter(origin="local"))
    return Usage(users=users, local_posts=posts)


# --- views of the HTML pages -------------------------------------------------------------------


async def authors_of(session: AsyncSession, iris: Iterable[str]) -> dict[str, StoredActor]:
    found: dict[str, StoredActor] = {}
    for iri in dict.fromkeys(iris):
        actor = await actor_store.get(session, iri)
        if actor is not None:
            found[iri] = actor
    return found


async def home_view(ctx: NodeContext) -> ActorView:
    """The node actor, the latest items on this node and its initiatives."""
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
        if node is None:
            raise NotFoundError("not_found", "this node has no node actor yet")
        items = await object_store.list_page(
            session, ItemFilter(hosts=await policy.rule(ctx, session)), limit=HOME_ITEMS)
        initiatives = await actor_store.list_local(session, kind="initiative",
                                                   limit=MAX_INITIATIVES)
        authors = await authors_of(session, (i.attributed_to for i in items))
    return ActorView(node, items, initiatives, authors)


async def actor_view(ctx: NodeContext, handle: str, filters: Filters | None = None,
                     page: int = 1) -> ActorView:
    """A local actor's page: one numbered page of its items, newest first, filtered (the node:
    all local items, and its initiatives; a theme feed: every item on this node, own and
    received, of its theme or a narrower one — a theme filter is not applied there)."""
    filters = filters or Filters()
    async with ctx.db.sessions() as session:
        actor = await _local_actor(session, handle)
        if actor.deleted:
            raise GoneError("gone", f"{handle!r} was deleted")
        is_node = actor.kind == "node"
        theme = actor.profile.get("theme") if actor.kind == "theme" else None
        hosts = await policy.rule(ctx, session)
        if is_node:
            f = item_filter(filters, origin="local", hosts=hosts)
        elif isinstance(theme, str):
            f = item_filter(replace(filters, theme=theme), hosts=hosts)
        else:
            f = item_filter(filters, attributed_to=actor.ap_id, hosts=hosts)
        paging = Paging.of(page, await object_store.count(session, f), PAGE_SIZE)
        items = await object_store.list_page(session, f, limit=PAGE_SIZE,
                                             offset=(paging.page - 1) * PAGE_SIZE)
        initiatives = (await actor_store.list_local(session, kind="initiative",
                                                    limit=MAX_INITIATIVES) if is_node else [])
        authors = await authors_of(session, (i.attributed_to for i in items))
    return ActorView(actor, items, initiatives, authors, paging)


def ordered_answers(question: StoredObject, answers: Iterable[StoredObject]
                    ) -> list[StoredObject]:
    """The accepted answer first, the others in the order given (oldest first)."""
    accepted = question.fields.get("accepted_answer")
    return sorted(answers, key=lambda a: a.ap_id != accepted)


async def item_view(ctx: NodeContext, local_id: str) -> ItemView:
    """An item with its author; a question with its answers; an answer with its question."""
    return await item_view_of(ctx, ctx.urls.item(local_id))


async def item_view_of(ctx: NodeContext, ap_id: str, caller: Caller | None = None) -> ItemView:
    """:func:`item_view` of any item this node holds, its own or received (by IRI).

    A question's answers come accepted answer first, then oldest first. An item an admin hid
    is shown to admins only (``caller``); to anyone else it does not exist (404).
    """
    async with ctx.db.sessions() as session:
        hosts = await policy.rule(ctx, session)
        item = await object_store.get(session, ap_id)
        if item is None or (not item.is_local and not hosts.allows(item.host)) or (
                item.hidden and not (caller is not None and caller.is_admin)):
            raise NotFoundError("not_found", f"no item {ap_id!r}")
        if item.deleted:
            raise GoneError("gone", f"item {ap_id!r} was deleted")
        answers: list[StoredObject] = []
        question = None
        if item.kind == "question":
            newest_first = await object_store.list_page(
                session, ItemFilter(in_reply_to=item.ap_id, hosts=hosts), limit=MAX_ANSWERS)
            answers = ordered_answers(item, list(reversed(newest_first)))
        elif item.in_reply_to:
            question = await object_store.get(session, item.in_reply_to)
            if question is not None and question.deleted:
                question = None
        iris = [item.attributed_to, *(a.attributed_to for a in answers)]
        if question is not None:
            iris.append(question.attributed_to)
        authors = await authors_of(session, iris)
    return ItemView(item, authors, answers, question)


async def activity_view(ctx: NodeContext, local_id: str) -> ActivityView:
    async with ctx.db.sessions() as session:
        activity = await activity_store.get(session, ctx.urls.activity(local_id))
        if activity is None:
            raise NotFoundError("not_found", f"no activity {local_id!r}")
        actor = await actor_store.get(session, activity.actor)
    return ActivityView(activity, actor)
