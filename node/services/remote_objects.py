"""Storing objects received from other servers: map AS2 to our columns, keep the newest version.

An older or equal version never overwrites a newer one (``version``, else ``updated``); a
tombstoned id stays dead. Remote HTML passes through the one sanitiser before storage, and
attachment URLs on hosts the federation policy refuses are dropped (never fetched, never shown).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import provinces, search_index
from node.services.content import plain_text_from_html, sanitise_html, search_text
from node.services.context import NodeContext
from node.services.documents import tally_from_ap
from node.services.policy import allowed_urls
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.batched import Batch
from node.store.blocks import HostRule
from node.store.objects import StoredObject
from protocol import themes as vocab_themes
from protocol.origin import authority_of
from protocol.parse import ASObject

log = logging.getLogger("kennisknoop.remote_objects")

TYPE_KINDS = {"Article": "story", "Document": "guide", "Question": "question", "Event": "event",
              "Page": "story"}
ITEM_KINDS = set(vocab_themes.ITEM_KINDS)


def kind_of(obj: ASObject) -> str:
    if obj.kind in ITEM_KINDS:
        return obj.kind
    if obj.type == "Note":
        return "answer" if obj.in_reply_to else "note"
    return TYPE_KINDS.get(obj.type, "note")


def _fields(obj: ASObject, kind: str, hosts: HostRule | None) -> dict[str, Any]:
    raw = obj.raw
    fields: dict[str, Any] = {}
    if obj.location is not None:
        place = {"name": obj.location.name, "latitude": obj.location.latitude,
                 "longitude": obj.location.longitude,
                 "province_code": obj.location.province_code,
                 "municipality_code": obj.location.municipality_code}
        fields["place"] = {k: v for k, v in place.items() if v is not None}
    for key, term in (("question_category", "questionCategory"), ("regulation", "regulation")):
        if isinstance(raw.get(term), str):
            fields[key] = raw[term][:300]
    if kind == "question" and isinstance(raw.get("acceptedAnswer"), str):
        fields["accepted_answer"] = raw["acceptedAnswer"]
    if kind == "bottleneck":
        _bottleneck_fields(raw, fields)
    if obj.start_time:
        fields["start_time"] = obj.start_time.isoformat()
    if obj.end_time:
        fields["end_time"] = obj.end_time.isoformat()
    urls = [a.url for a in obj.attachments if a.url]
    kept = set(allowed_urls(hosts, urls) if hosts is not None else urls)
    attachments = [{"url": a.url, "name": a.name, "media_type": a.media_type}
                   for a in obj.attachments if a.url in kept]
    if attachments:
        fields["attachments"] = [{k: v for k, v in a.items() if v} for a in attachments[:20]]
    if obj.poll_options:
        fields["poll_options"] = list(obj.poll_options)[:20]
    return fields


def _bottleneck_fields(raw: dict[str, Any], fields: dict[str, Any]) -> None:
    """Status, area, outcome and the tally its origin publishes (docs/bottlenecks.md)."""
    if isinstance(raw.get("status"), str):
        fields["bottleneck_status"] = raw["status"][:32]
    if raw.get("regulationArea") in vocab_themes.REGULATION_AREAS:
        fields["regulation_area"] = raw["regulationArea"]
    if isinstance(raw.get("outcome"), str) and raw["outcome"].strip():
        fields["bottleneck_outcome"] = plain_text_from_html(raw["outcome"])[:1000]
    tally = tally_from_ap(raw.get("endorsements"))
    if tally is not None:
        fields["endorsements"] = tally


def _values(obj: ASObject, hosts: HostRule | None = None) -> dict[str, Any]:
    kind = kind_of(obj)
    language, html = None, obj.content
    if obj.content_map:
        language = next(iter(obj.content_map))
        html = html or obj.content_map[language]
    content_html = sanitise_html(html or "")
    source = obj.source.content if obj.source and obj.source.media_type in (
        "text/markdown", "text/plain") else None
    fields = _fields(obj, kind, hosts)
    place = fields.get("place", {})
    raw_themes = [*(obj.raw.get("tag") or []), *(obj.raw.get("themes") or [])] if isinstance(
        obj.raw.get("tag") or [], list) and isinstance(obj.raw.get("themes") or [], list) else []
    themes = vocab_themes.parse_tags(raw_themes)
    title = plain_text_from_html(obj.name)[:300] if obj.name else None
    summary = plain_text_from_html(obj.summary)[:500] if obj.summary else None
    text = plain_text_from_html(content_html)  # once: the content and the search text
    return {
        "kind": kind,
        "type": obj.type,
        "title": title,
        "summary": summary,
        "content": source or text,
        "content_html": content_html,
        "language": language,
        "license": obj.raw.get("license") if isinstance(obj.raw.get("license"), str) else None,
        "themes": themes,
        "province_code": provinces.effective(place.get("province_code"),
                                             obj.raw.get("provinceCode")),
        "municipality_code": place.get("municipality_code") or _str(
            obj.raw.get("municipalityCode")),
        "latitude": place.get("latitude"),
        "longitude": place.get("longitude"),
        "in_reply_to": obj.in_reply_to,
        "fields": fields,
        "search_text": search_text(title, summary, text),
    }


def _str(value: Any) -> str | None:
    return value[:8] if isinstance(value, str) else None


async def _row(ctx: NodeContext, session: AsyncSession, obj: ASObject, hosts: HostRule | None,
               authors: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``objects`` row of a received object; ``authors`` caches the authors' documents
    (for the province of an item that names none) over a batch."""
    now = ctx.now()
    values = _values(obj, hosts)
    if values["province_code"] is None and obj.attributed_to:
        cache = authors if authors is not None else {}
        if obj.attributed_to not in cache:
            author = await actor_store.get(session, obj.attributed_to)
            cache[obj.attributed_to] = author.document if author else None
        values["province_code"] = provinces.of_document(cache[obj.attributed_to])
    published = obj.published or now
    values.update(ap_id=obj.id, is_local=False, host=authority_of(obj.id),
                  attributed_to=obj.attributed_to or "", version=obj.version or 0,
                  published=published, updated=obj.updated or published, received_at=now,
                  document=obj.raw)
    return values


async def insert_new(ctx: NodeContext, session: AsyncSession, objs: list[ASObject], *,
                     hosts: HostRule | None = None) -> list[StoredObject]:
    """Store received objects this node has never seen, together, and index them (``upsert``
    for a batch of new ids: a backfill). One stored meanwhile is left out of what is returned."""
    authors: dict[str, Any] = {}
    rows = [await _row(ctx, session, obj, hosts, authors) for obj in objs]
    stored = await object_store.insert_new(session, rows)
    questions = {s.in_reply_to for s in stored if s.in_reply_to} | {
        s.ap_id for s in stored if s.kind == "question"}
    await search_index.index_items(session, stored, sorted(questions))
    return stored


async def upsert(ctx: NodeContext, session: AsyncSession, obj: ASObject, *,
                 hosts: HostRule | None = None, batch: Batch | None = None
                 ) -> StoredObject | None:
    """Store or update a remote object; None when nothing changed (older, equal or dead).

    Whether it is newer is decided by the database in the same statement that writes it
    (``object_store.upsert_remote``), so concurrent appliers cannot undo a newer version.
    ``hosts`` (the federation policy) drops attachment URLs on refused hosts. With ``batch``
    its search entry is added to it (``search_index.index_item``).
    """
    values = await _row(ctx, session, obj, hosts)
    stored = await object_store.upsert_remote(session, values, version=obj.version,
                                              stamp=obj.updated or obj.published)
    if stored is not None:
        await search_index.index_item(session, stored, batch)
    return stored


async def tombstone(ctx: NodeContext, session: AsyncSession, *, ap_id: str, actor: str,
                    deleted: datetime | None, version: int | None,
                    document: dict[str, Any] | None) -> bool:
    """Mark a remote object deleted (recording a tombstone even for an id never seen)."""
    now = ctx.now()
    doc = document or {"id": ap_id, "type": "Tombstone"}
    if await object_store.get(session, ap_id) is None and await object_store.insert_tombstone(
            session, ap_id=ap_id, is_local=False, host=authority_of(ap_id), kind="tombstone",
            type="Tombstone", attributed_to=actor, version=version or 0, published=now,
            updated=deleted or now, received_at=now, deleted_at=deleted or now, document=doc,
            themes=[], fields={}):
        return True
    # Conditional in one statement: not local, not yet deleted, by its author (a copy stored
    # meanwhile by a concurrent applier included).
    changed = await object_store.mark_deleted(session, ap_id, author=actor,
                                              deleted=deleted or now, version=version,
                                              document=doc)
    if changed:
        await search_index.remove(session, ap_id)
    else:
        log.info("Delete of %s by %s changed nothing (local, gone or not its author)", ap_id, actor)
    return changed
