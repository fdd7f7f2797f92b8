"""The search index hook: the write paths of items and initiatives, local and received, call
:func:`index_item`, :func:`index_initiative` or :func:`remove` in the same transaction as the
write, so the index never disagrees with what is stored. :func:`fill_if_empty` indexes what
was stored before the index existed; ``migrate`` and ``serve`` run it after migrating.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node.services.content import plain_text_from_html
from node.services.context import NodeContext
from node.services.search_text import IndexText, index_text
from node.store import objects as object_store
from node.store import questions as question_store
from node.store import search as search_store
from node.store._rows import to_dataclass
from node.store.actors import StoredActor
from node.store.batched import Batch
from node.store.objects import StoredObject
from node.store.schema import actors, objects
from node.store.search import SearchDoc

MAX_TEXT = 20_000  # characters of summary and body kept for snippets


# --- indexing ----------------------------------------------------------------------------------


def _text(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)[:MAX_TEXT]


def item_doc(obj: StoredObject, terms: IndexText | None = None) -> SearchDoc | None:
    """The index entry of a stored item; None for a deleted one, a tombstone or one an admin
    hid (the index serves the public search of both engines, facets and counts included).
    ``terms``: its title's, summary's and body's terms, analysed beforehand (an import)."""
    if obj.deleted or obj.hidden or obj.kind == "tombstone":
        return None
    body = obj.content if obj.is_local else plain_text_from_html(obj.content_html or "")
    title = obj.title or (obj.summary or body or "")[:80]
    if terms is None:
        terms = index_text(obj.title, obj.summary, body)
    url = obj.document.get("url") if not obj.is_local else None
    return SearchDoc(
        ap_id=obj.ap_id, doc_type="item", kind=obj.kind, is_local=obj.is_local, host=obj.host,
        province=obj.province_code, legal_form=None, phase=None, status=None,
        latitude=obj.latitude, longitude=obj.longitude,
        url=url if isinstance(url, str) and url.startswith("https://") else obj.ap_id,
        title=title, text=_text(obj.summary, body), themes=list(obj.themes or []),
        published=obj.published, terms_title=terms.title, terms_summary=terms.summary,
        terms_body=terms.body, terms_parts=terms.parts)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def initiative_doc(actor: StoredActor) -> SearchDoc | None:
    """The index entry of an initiative (its profile); None for a deleted one."""
    if actor.deleted:
        return None
    profile = actor.profile or {}
    found = profile.get("place")
    place: dict[str, Any] = found if isinstance(found, dict) else {}
    body = _text(profile.get("description") if isinstance(profile.get("description"), str)
                 else None, _str(profile.get("goals")), _str(profile.get("reason_for_starting")))
    terms = index_text(actor.name, actor.summary, body)
    themes = profile.get("themes")
    lat, lon = place.get("latitude"), place.get("longitude")
    return SearchDoc(
        ap_id=actor.ap_id, doc_type="initiative", kind=None, is_local=actor.is_local,
        host=actor.host, province=_str(place.get("province_code")) or _str(
            profile.get("province_code")),
        legal_form=_str(profile.get("legal_form")), phase=_str(profile.get("phase")),
        status=_str(profile.get("status")),
        latitude=float(lat) if isinstance(lat, int | float) else None,
        longitude=float(lon) if isinstance(lon, int | float) else None,
        url=actor.ap_id, title=actor.name or actor.preferred_username or actor.ap_id,
        text=_text(actor.summary, body),
        themes=[t for t in themes if isinstance(t, str)] if isinstance(themes, list) else [],
        published=actor.published, terms_title=terms.title, terms_summary=terms.summary,
        terms_body=terms.body, terms_parts=terms.parts)


async def _put(session: AsyncSession, ap_id: str, doc: SearchDoc | None,
               batch: Batch | None = None) -> None:
    if doc is None:
        await search_store.remove(session, ap_id)
    elif batch is not None:
        batch.search(doc)
    else:
        await search_store.put(session, doc)


async def index_item(session: AsyncSession, obj: StoredObject, batch: Batch | None = None, *,
                     terms: IndexText | None = None) -> None:
    """Index (or re-index, or drop, if deleted) an item, local or received.

    A question is indexed with how far it is answered (its rank depends on it), so a new,
    changed or deleted answer re-indexes its question too. With ``batch``, the entries are
    added to it (written when the caller writes it; a removal is written at once). ``terms``:
    its terms analysed beforehand, as for ``item_doc``.
    """
    doc = item_doc(obj, terms)
    if doc is not None and obj.kind == "question":
        state = await question_store.states(session, [obj.ap_id], None)
        doc = replace(doc, answered=state.get(obj.ap_id, (0, 0))[0])
    await _put(session, obj.ap_id, doc, batch)
    if obj.in_reply_to:
        await _reindex_question(session, obj.in_reply_to, batch)


async def index_items(session: AsyncSession, items: list[StoredObject], questions: list[str],
                      terms: Mapping[str, IndexText] | None = None) -> None:
    """Index new items together (``index_item`` for many, a few statements), and re-index the
    stored ones among ``questions`` (those the items answer) with their new answer state.
    ``terms``: items' terms analysed beforehand, by IRI (the others are analysed here)."""
    states = await question_store.states(session, questions, None)
    docs = []
    for item in items:
        doc = item_doc(item, terms.get(item.ap_id) if terms else None)
        if doc is not None and item.kind == "question":
            doc = replace(doc, answered=states.get(item.ap_id, (0, 0))[0])
        if doc is not None:
            docs.append(doc)
    new = {item.ap_id for item in items}
    older = [q for q in questions if q not in new]
    for stored in (await object_store.get_many(session, older)).values():
        doc = item_doc(stored) if stored.kind == "question" else None
        if doc is not None:
            docs.append(replace(doc, answered=states.get(stored.ap_id, (0, 0))[0]))
    await search_store.put_many(session, docs)


async def _reindex_question(session: AsyncSession, ap_id: str, batch: Batch | None = None
                            ) -> None:
    question = await object_store.get(session, ap_id)
    if question is not None and question.kind == "question" and not question.deleted:
        await index_item(session, question, batch)


async def index_initiative(session: AsyncSession, actor: StoredActor) -> None:
    """Index (or re-index, or drop, if deleted) an initiative, local or from the directory."""
    await _put(session, actor.ap_id, initiative_doc(actor))


async def remove(session: AsyncSession, ap_id: str) -> None:
    """Take ``ap_id`` out of the index (an answer's question is re-indexed: one answer less)."""
    await search_store.remove(session, ap_id)
    obj = await object_store.get(session, ap_id)
    if obj is not None and obj.in_reply_to:
        await _reindex_question(session, obj.in_reply_to)


async def rebuild(ctx: NodeContext) -> int:
    """Index every live item and initiative again; the number indexed."""
    done = 0
    async with ctx.db.transaction() as session:
        rows = (await session.execute(select(objects).where(objects.c.deleted_at.is_(None)))
                ).mappings().all()
        for row in rows:
            await index_item(session, to_dataclass(StoredObject, row))
            done += 1
        rows = (await session.execute(select(actors).where(
            actors.c.kind == "initiative", actors.c.deleted_at.is_(None)))).mappings().all()
        for row in rows:
            await index_initiative(session, to_dataclass(StoredActor, row))
            done += 1
    return done


async def fill_if_empty(ctx: NodeContext) -> int:
    """Index everything if the index is empty (a node upgraded to a version with search)."""
    async with ctx.db.sessions() as session:
        if await search_store.count(session) > 0:
            return 0
    return await rebuild(ctx)
