"""Atom feeds (RFC 4287) of items and of search results, for feed readers (docs/bridges.md).

A feed is built from the same queries as ``/api/items`` and ``/api/search``: its entries are
what the first page of that list holds, newest first. Every entry links (``rel="alternate"``) to
the item's canonical URL, which for a received copy is its page at the origin, and carries its
author, so the feed is valid without a feed-level author too (RFC 4287 §4.1.1); the feed has one
all the same, the node. Entry content is the item's stored HTML, sanitised once more, escaped
as ``type="html"`` text (§3.1.1.2).

The document is written with ``xml.etree``: every text and attribute is escaped by the writer,
so no item text can break the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from node.services import items as item_service
from node.services import search as search_service
from node.services.collections import authors_of
from node.services.content import sanitise_html
from node.services.context import NodeContext
from node.services.items import ItemQuery
from node.services.search import SearchRequest
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
GENERATOR = "Kennisknoop"


@dataclass(frozen=True)
class Person:
    name: str
    uri: str | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    updated: datetime
    author: Person
    published: datetime | None = None
    summary: str | None = None
    content_html: str | None = None
    categories: tuple[tuple[str, str], ...] = ()  # (term, label)


@dataclass(frozen=True)
class Feed:
    id: str  # the feed's own URL: one id per set of filters
    title: str
    alternate: str  # the HTML page that shows the same list
    author: Person
    updated: datetime
    entries: list[Entry] = field(default_factory=list)
    subtitle: str | None = None


def _stamp(moment: datetime) -> str:
    """RFC 3339 in UTC (§3.3)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = value
    return element


def _person(parent: ET.Element, person: Person) -> None:
    author = ET.SubElement(parent, "author")
    _text(author, "name", person.name)
    if person.uri:
        _text(author, "uri", person.uri)


def build_feed(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8, with the XML declaration)."""
    root = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "nl"})
    _text(root, "id", feed.id)
    _text(root, "title", feed.title)
    if feed.subtitle:
        _text(root, "subtitle", feed.subtitle)
    _text(root, "updated", _stamp(feed.updated))
    ET.SubElement(root, "link", {"rel": "self", "type": ATOM_MEDIA_TYPE, "href": feed.id})
    ET.SubElement(root, "link", {"rel": "alternate", "type": "text/html",
                                 "href": feed.alternate})
    _person(root, feed.author)
    _text(root, "generator", GENERATOR)
    for entry in feed.entries:
        element = ET.SubElement(root, "entry")
        _text(element, "id", entry.id)
        _text(element, "title", entry.title)
        _text(element, "updated", _stamp(entry.updated))
        if entry.published is not None:
            _text(element, "published", _stamp(entry.published))
        ET.SubElement(element, "link", {"rel": "alternate", "type": "text/html",
                                        "href": entry.link})
        _person(element, entry.author)
        for term, label in entry.categories:
            ET.SubElement(element, "category", {"term": term, "label": label})
        if entry.summary:
            _text(element, "summary", entry.summary)
        if entry.content_html:
            _text(element, "content", sanitise_html(entry.content_html), type="html")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


# --- feeds of items and searches -------------------------------------------------------------------


def _categories(theme_ids: Sequence[str]) -> tuple[tuple[str, str], ...]:
    return tuple((t, vocab_themes.get(t).label.nl if vocab_themes.is_theme(t) else t)
                 for t in theme_ids)


def _author(iri: str, authors: dict[str, StoredActor]) -> Person:
    actor = authors.get(iri)
    if actor is None:
        return Person(iri, iri)
    return Person(actor.name or actor.preferred_username or iri, actor.ap_id)


def item_entry(item: StoredObject, authors: dict[str, StoredActor]) -> Entry:
    return Entry(id=item.ap_id, title=item.title or item.summary or item.kind, link=item.ap_id,
                 updated=item.updated, published=item.published,
                 author=_author(item.attributed_to, authors), summary=item.summary,
                 content_html=item.content_html, categories=_categories(item.themes or []))


def _newest(entries: Sequence[Entry], default: datetime) -> datetime:
    return max((e.updated for e in entries), default=default)


async def items_feed(ctx: NodeContext, query: ItemQuery, *, title: str, self_url: str,
                     alternate: str, node_author: Person) -> Feed:
    """The newest items ``query`` finds (the first page of ``/api/items``) as a feed."""
    page = await item_service.list_items(ctx, replace(query, cursor=None))
    async with ctx.db.sessions() as session:
        authors = await authors_of(session, (i.attributed_to for i in page.items))
    entries = [item_entry(i, authors) for i in page.items]
    return Feed(id=self_url, title=title, alternate=alternate, author=node_author,
                updated=_newest(entries, ctx.now()), entries=entries)


async def search_feed(ctx: NodeContext, request: SearchRequest, *, title: str, self_url: str,
                      alternate: str, node_author: Person) -> Feed:
    """The first page of a search as a feed, in the search's order (relevance, or newest)."""
    found = await search_service.search(ctx, replace(request, offset=0))
    entries: list[Entry] = []
    async with ctx.db.sessions() as session:
        # One query for the items and one per author, not two per hit.
        items = await object_store.get_many(
            session, [hit.id for hit in found.results if hit.type == "item"])
        authors = await authors_of(session, (i.attributed_to for i in items.values()))
        for hit in found.results:
            if hit.type == "item":
                item = items.get(hit.id)
                if item is None or item.deleted:
                    continue
                entries.append(item_entry(item, authors))
            else:
                actor = await actor_store.get(session, hit.id)
                if actor is None or actor.deleted:
                    continue
                entries.append(Entry(
                    id=actor.ap_id, title=hit.title, link=hit.url, updated=actor.updated,
                    published=actor.published, author=Person(hit.title, actor.ap_id),
                    summary=actor.summary, content_html=str(actor.profile.get("description_html")
                                                            or "") or None,
                    categories=_categories(hit.themes)))
    return Feed(id=self_url, title=title, alternate=alternate, author=node_author,
                updated=_newest(entries, ctx.now()), entries=entries)
