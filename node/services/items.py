"""Use cases for knowledge items: create, read, list, update, delete (leaving a Tombstone).

Every change bumps ``version`` by one, re-signs the document and publishes the matching activity
(Create / Update / Delete) by the author actor.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from node.services import attachments, policy, provinces
from node.services.actors import resolve_local
from node.services.content import render_markdown, search_text, search_words
from node.services.context import NodeContext
from node.services.documents import KIND_TYPES, item_document, sign, tombstone_document
from node.services.errors import (
    ConflictError,
    GoneError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from node.services.inputs import AttachmentInput, ItemInput, Patch, PlaceInput
from node.services.outbox import publish_activity
from node.services.permissions import Caller, require_actor_edit
from node.services.search_index import index_item
from node.services.texts import Texts, texts_of
from node.services.urls import new_local_id
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import objects as object_store
from node.store.actors import StoredActor
from node.store.objects import Cursor, ItemFilter, StoredObject
from protocol import themes as vocab_themes
from protocol.errors import DocumentError
from protocol.origin import authority_of

# Columns of ``objects`` that hold item fields directly; everything else goes to ``fields``.
# A caller's own write that must commit with the item it is about (see create_item).
WithinTransaction = Callable[[AsyncSession, StoredObject], Awaitable[None]]

_COLUMNS = ("title", "summary", "content", "language", "license", "themes", "in_reply_to")
_FIELD_NAMES = ("question_category", "accepted_answer", "regulation", "regulation_area",
                "bottleneck_status", "bottleneck_outcome",
                "start_time", "end_time", "online", "attachments", "place")


def _json_field(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PlaceInput | AttachmentInput):
        return value.model_dump(exclude_none=True)
    if isinstance(value, tuple):
        return [_json_field(v) for v in value]
    return value


def _derived(ctx: NodeContext, values: dict[str, Any], author: StoredActor,
             texts: Texts | None = None) -> dict[str, Any]:
    """Columns computed from the item's fields: HTML, place columns, search text; the province
    is the place's, else the author's (an initiative's place), else the node's. ``texts``: the
    HTML and search text prepared beforehand (``node.services.texts``, from the same fields)."""
    place = values["fields"].get("place") or {}
    derived = {
        "content_html": texts.content_html if texts is not None else render_markdown(
            values.get("content") or ""),
        "province_code": provinces.effective(place.get("province_code"),
                                             provinces.of_document(author.document),
                                             ctx.settings.node.province_code),
        "municipality_code": place.get("municipality_code"),
        "latitude": place.get("latitude"),
        "longitude": place.get("longitude"),
    }
    derived["search_text"] = texts.search_text if texts is not None else search_text(
        values.get("title") or "", values.get("summary") or "", values.get("content") or "")
    return derived


def new_item_values(ctx: NodeContext, data: ItemInput, author: StoredActor,
                    in_reply_to: str | None, texts: Texts | None = None) -> dict[str, Any]:
    """The column values of a new item by ``author`` (``create_item``, and batched by
    ``node.services.bulk``, with its ``texts`` prepared): its fields, and the columns derived
    from them."""
    fields = {name: _json_field(getattr(data, name)) for name in _FIELD_NAMES
              if hasattr(data, name) and getattr(data, name) not in (None, ())}
    attachments.describe_local(ctx.settings.dir, ctx.urls.files_base, fields)
    values: dict[str, Any] = {
        "title": data.title, "summary": data.summary, "content": data.content,
        "language": data.language, "license": data.license, "themes": list(data.themes),
        "in_reply_to": in_reply_to, "fields": fields,
    }
    values.update(_derived(ctx, values, author, texts))
    return values


async def author_of(session: AsyncSession, ctx: NodeContext, ref: str | None) -> StoredActor:
    """The local actor an item input names (its ``initiative``; the node actor when none)."""
    return await _author(session, ctx, ref)


async def _author(session: AsyncSession, ctx: NodeContext, ref: str | None) -> StoredActor:
    if ref is None:
        node = await actor_store.get_node(session)
        if node is None:
            raise NotFoundError("not_found", "this node has no node actor yet")
        return node
    actor = await resolve_local(session, ctx, ref)
    if actor.deleted:
        raise GoneError("gone", f"{ref!r} was deleted")
    return actor


async def create_item(ctx: NodeContext, data: ItemInput, caller: Caller, *,
                      within: WithinTransaction | None = None,
                      local_id: str | None = None) -> StoredObject:
    """Create a knowledge item by a local actor and publish its Create activity.

    ``within(session, item)`` runs last in the same transaction: a caller's own record of the
    item (a feed's list of seen entries) commits with it or not at all. ``local_id``: the id
    to give the item instead of a random one (a feed entry's, derived from the feed and the
    entry, so two fetches cannot both store it); when an item (even a deleted one) already has
    it, nothing is stored and ``ConflictError("item_exists")`` is raised.
    """
    now = ctx.now()
    async with ctx.db.transaction() as session:
        author = await _author(session, ctx, data.initiative)
        await require_actor_edit(session, caller, author)
        in_reply_to = getattr(data, "in_reply_to", None)
        if in_reply_to:
            await _check_question(session, in_reply_to)
        # The texts analysed once for the ``search_text`` column and the index terms both
        texts = texts_of(data.title, data.summary, data.content or "")
        values = new_item_values(ctx, data, author, in_reply_to, texts)
        ap_id = ctx.urls.item(local_id or new_local_id())
        replying_to = await _question_author_iri(session, in_reply_to)
        document = sign(item_document(ap_id=ap_id, kind=data.kind, author=author, values=values,
                                      version=1, published=now, updated=now,
                                      replying_to=replying_to), author, now, share=True)
        try:  # no savepoint: the error ends the transaction, which rolls back whole
            item = await object_store.insert(
                session, ap_id=ap_id, is_local=True, host=ctx.urls.host, kind=data.kind,
                type=KIND_TYPES[data.kind], attributed_to=author.ap_id, version=1,
                published=now, updated=now, received_at=now, document=document, **values)
        except IntegrityError as exc:  # only a chosen ``local_id`` can be taken
            raise ConflictError("item_exists", f"an item {ap_id} exists already") from exc
        await index_item(session, item, terms=texts.terms)
        await publish_activity(ctx, session, actor=author, type="Create", obj=document,
                               recipients=await _question_author(session, in_reply_to),
                               cc=document["cc"], item=item, share=True)
        await _relay_local_answer(ctx, session, in_reply_to, author, document)
        if within is not None:
            await within(session, item)
        return item


async def _relay_local_answer(ctx: NodeContext, session: AsyncSession, in_reply_to: str | None,
                              author: StoredActor, document: dict[str, Any]) -> None:
    """An answer to a question of another local initiative reaches that initiative's followers
    too, as an answer from another node does (``apply._reannounce_answer``); the node's
    followers have it already (the node announces its initiatives' items)."""
    question = await object_store.get(session, in_reply_to) if in_reply_to else None
    if question is None or not question.is_local or question.attributed_to == author.ap_id:
        return
    asker = await actor_store.get(session, question.attributed_to)
    if asker is not None and asker.kind == "initiative" and not asker.deleted:
        await publish_activity(ctx, session, actor=asker, type="Announce", obj=document)


async def _question_author(session: AsyncSession, in_reply_to: str | None) -> list[StoredActor]:
    """An answer also goes to the question's origin, which re-announces it to its followers."""
    if not in_reply_to:
        return []
    question = await object_store.get(session, in_reply_to)
    if question is None or question.is_local:
        return []
    author = await actor_store.get(session, question.attributed_to)
    return [author] if author is not None and not author.deleted else []


async def _question_author_iri(session: AsyncSession, in_reply_to: str | None) -> str | None:
    """Whom an answer addresses besides its author's followers: the question's author."""
    question = await object_store.get(session, in_reply_to) if in_reply_to else None
    return question.attributed_to if question is not None and question.attributed_to else None


async def _check_question(session: AsyncSession, ap_id: str) -> None:
    question = await object_store.get(session, ap_id)
    if question is not None and question.deleted:
        raise ValidationError("question_deleted", f"{ap_id} was deleted: it takes no more "
                              "answers", field="in_reply_to")
    if question is not None and question.kind != "question":
        raise ValidationError("bad_value", "in_reply_to must name a question", field="in_reply_to")


async def resolve_item(session: AsyncSession, ctx: NodeContext, ref: str) -> StoredObject:
    """An item by IRI or local id; raises NotFoundError."""
    ap_id = ref if "/" in ref else ctx.urls.item(ref)
    item = await object_store.get(session, ap_id)
    if item is None:
        raise NotFoundError("not_found", f"no item {ref!r}")
    return item


async def get_item(ctx: NodeContext, ref: str) -> StoredObject:
    """An item, local or received; a deleted one is returned as is (callers answer 410)."""
    async with ctx.db.sessions() as session:
        item = await resolve_item(session, ctx, ref)
        if not item.is_local and (item.hidden or
                                  not (await policy.rule(ctx, session)).allows(item.host)):
            # A blocked host's, or one an admin hid: not there (GET /api/admin/hidden lists
            # the hidden ones).
            raise NotFoundError("not_found", f"no item {ref!r}")
    return item


async def editable_item(session: AsyncSession, ctx: NodeContext, ref: str, caller: Caller
                        ) -> tuple[StoredObject, StoredActor]:
    """A local, live item that ``caller`` may change, with its author.

    Raises NotFoundError, GoneError, or PermissionDeniedError: received items are edited only at
    their origin (403 ``not_local``), editors only edit the items of their initiatives.
    """
    item = await resolve_item(session, ctx, ref)
    if not item.is_local:
        raise PermissionDeniedError("not_local",
                                    "only items that originate on this node can be edited")
    if item.deleted:
        raise GoneError("gone", f"{ref!r} was deleted")
    author = await actor_store.get(session, item.attributed_to)
    if author is None:
        raise NotFoundError("not_found", f"author of {ref!r} is missing")
    await require_actor_edit(session, caller, author)
    return item, author


async def update_item(ctx: NodeContext, ref: str, patch: Patch, caller: Caller, *,
                      within: WithinTransaction | None = None) -> StoredObject:
    """Apply a validated patch: version + 1, re-signed, Update published.

    A patch that changes nothing returns the item as it is: no new version, no activity. An
    edit based on a version another writer has replaced meanwhile is 409 ``edit_conflict``.
    ``within(session, item)`` runs last in the same transaction, as for ``create_item``.
    """
    async with ctx.db.transaction() as session:
        item, author = await editable_item(session, ctx, ref, caller)
        values = item_values(item)
        for name, value in patch.changes.items():
            if name in _COLUMNS:
                values[name] = list(value) if isinstance(value, tuple) else value
            elif value is None or value == ():
                values["fields"].pop(name, None)
            else:
                values["fields"][name] = _json_field(value)
        _check_event_times(values["fields"])
        attachments.describe_local(ctx.settings.dir, ctx.urls.files_base, values["fields"])
        if patch.changes.get("accepted_answer"):
            await _check_answer(session, item, patch.changes["accepted_answer"])
        if not all(getattr(item, name) == value for name, value in values.items()):
            item = await publish_version(ctx, session, item, author, values)
        # else the same values again (a repeated PATCH): nothing to publish
        if within is not None:
            await within(session, item)
        return item


async def publish_version(ctx: NodeContext, session: AsyncSession, item: StoredObject,
                          author: StoredActor, values: dict[str, Any]) -> StoredObject:
    """Write ``values`` as the local item's next version, re-signed, and publish its Update.

    Raises ConflictError (``edit_conflict``) when another writer stored a newer version first.
    """
    now = ctx.now()
    values = {**values, **_derived(ctx, values, author)}
    version = item.version + 1
    document = sign(item_document(
        ap_id=item.ap_id, kind=item.kind, author=author, values=values, version=version,
        published=item.published, updated=now,
        replying_to=await _question_author_iri(session, item.in_reply_to)), author, now)
    updated = await object_store.update_version(session, item.ap_id, version, updated=now,
                                                document=document, **values)
    if updated is None:
        raise _edit_conflict(item)
    await index_item(session, updated)
    await publish_activity(ctx, session, actor=author, type="Update", obj=document,
                           recipients=await _question_author(session, item.in_reply_to))
    return updated


def item_values(item: StoredObject) -> dict[str, Any]:
    """The column values an item's document is built from (a copy: change it freely)."""
    values: dict[str, Any] = {name: getattr(item, name) for name in _COLUMNS}
    values["fields"] = dict(item.fields)
    return values


def _edit_conflict(item: StoredObject) -> ConflictError:
    return ConflictError("edit_conflict", f"{item.ap_id} was changed meanwhile (version "
                         f"{item.version} is no longer current): reload it and edit again")


def _check_event_times(fields: dict[str, Any]) -> None:
    # The patch alone was checked by validation; the merged times must still be in order.
    start, end = fields.get("start_time"), fields.get("end_time")
    if start and end and datetime.fromisoformat(end) < datetime.fromisoformat(start):
        raise ValidationError("bad_value", "end_time: must not be before start_time",
                              field="end_time")


async def _check_answer(session: AsyncSession, question: StoredObject, answer_id: str) -> None:
    if question.kind != "question":
        raise ValidationError("field_not_for_kind", "only questions have an accepted answer",
                              field="accepted_answer")
    answer = await object_store.get(session, answer_id)
    if answer is None or answer.deleted or answer.in_reply_to != question.ap_id:
        raise ValidationError("bad_value", "accepted_answer must be an answer to this question",
                              field="accepted_answer")


async def delete_item(ctx: NodeContext, ref: str, caller: Caller) -> StoredObject:
    """Replace the item by a Tombstone (same IRI) and publish the Delete."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        item, author = await editable_item(session, ctx, ref, caller)
        version = item.version + 1
        tombstone = sign(tombstone_document(ap_id=item.ap_id, former_type=item.type,
                                            deleted=now, version=version), author, now)
        deleted = await object_store.update_version(
            session, item.ap_id, version, deleted_at=now, updated=now, document=tombstone,
            content=None, content_html=None, summary=None, search_text=None)
        if deleted is None:
            raise _edit_conflict(item)
        await index_item(session, deleted)
        await activity_store.delete_history(session, item.ap_id)
        await publish_activity(ctx, session, actor=author, type="Delete", obj=tombstone,
                               recipients=await _question_author(session, item.in_reply_to))
        return deleted


@dataclass(frozen=True)
class ItemQuery:
    kind: str | None = None
    theme: str | None = None
    province: str | None = None
    q: str | None = None
    origin: str | None = None
    initiative: str | None = None
    bottleneck_status: str | None = None
    regulation_area: str | None = None
    cursor: str | None = None
    limit: int = 20


@dataclass(frozen=True)
class ItemPage:
    items: list[StoredObject]
    next_cursor: str | None


def encode_cursor(item: StoredObject) -> str:
    raw = f"{item.published.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Cursor:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        published, _, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
        return Cursor(published=datetime.fromisoformat(published), id=int(ident))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("bad_value", "invalid cursor", field="cursor") from exc


def theme_and_narrower(theme_id: str) -> tuple[str, ...]:
    return (theme_id, *vocab_themes.narrower(theme_id))


def _origin_filter(origin: str | None) -> str | None:
    """``local``, ``remote``, or a host (or origin) in the form hosts are stored in."""
    if origin is None or origin in ("local", "remote"):
        return origin
    try:
        return authority_of(origin if "://" in origin else f"https://{origin}/")
    except (DocumentError, ValueError) as exc:
        raise ValidationError("bad_value", f"not a host: {origin[:100]!r}", field="origin") from exc


async def list_items(ctx: NodeContext, query: ItemQuery) -> ItemPage:
    """Items newest first, local and received, filtered; ``next_cursor`` pages on."""
    async with ctx.db.sessions() as session:
        attributed_to = None
        if query.initiative:
            attributed_to = (query.initiative if "/" in query.initiative
                             else ctx.urls.actor(query.initiative))
        f = ItemFilter(
            kind=query.kind,
            themes_any=theme_and_narrower(query.theme) if query.theme else (),
            province=query.province,
            origin=_origin_filter(query.origin),
            attributed_to=attributed_to,
            words=tuple(search_words(query.q)) if query.q else (),
            hosts=await policy.rule(ctx, session),
            bottleneck_status=query.bottleneck_status,
            regulation_area=query.regulation_area,
        )
        before = decode_cursor(query.cursor) if query.cursor else None
        rows = await object_store.list_page(session, f, limit=query.limit + 1, before=before)
    has_more = len(rows) > query.limit
    rows = rows[: query.limit]
    return ItemPage(rows, encode_cursor(rows[-1]) if has_more and rows else None)
