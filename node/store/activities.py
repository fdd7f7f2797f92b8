"""Activities aggregate: the signed activities this node originated, i.e. its actors' outboxes.

Each is read whole, as signed; an embedded object stored elsewhere is stored once and put back
here (``node.store.versions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import versions
from node.store.blocks import HostRule, visible
from node.store.db import Database
from node.store.objects import StoredObject
from node.store.schema import activities, actors, object_versions, objects
from node.store.versions import ACTIVITY, OBJECT, VERSION


@dataclass(frozen=True)
class StoredActivity:
    id: int
    ap_id: str
    actor: str
    type: str
    object_ap_id: str | None
    published: datetime
    document: dict[str, Any]


_FIELDS = ("id", "ap_id", "actor", "type", "object_ap_id", "published")


def _reference(document: dict[str, Any], object_ap_id: str | None,
               embedded: StoredObject | StoredActivity | None) -> str | None:
    """How ``document`` can store its object: by reference to ``embedded`` when the object is
    exactly ``embedded``'s stored document (``versions.same``); None: stored whole."""
    inner = document.get("object")
    if embedded is None or not isinstance(inner, dict) or embedded.ap_id != object_ap_id \
            or inner.get("id") != object_ap_id:
        return None
    if isinstance(embedded, StoredActivity):
        # An activity that itself embeds an activity is kept whole: a reference goes one level
        # of activity deep, so reading stays one statement.
        kind = ACTIVITY if not isinstance(embedded.document.get("object"), dict) or \
            embedded.document["object"].get("actor") is None else None
    else:
        kind = OBJECT
    return kind if kind is not None and versions.same(inner, embedded.document) else None


async def insert(session: AsyncSession, *, document: dict[str, Any],
                 embedded: StoredObject | StoredActivity | None = None,
                 **values: Any) -> StoredActivity:
    """Store a signed activity. ``embedded``: the stored object (its current version) or local
    activity that ``document`` embeds, if any; it is then stored once, by reference."""
    return (await insert_all(session, [(document, embedded, values)]))[0]


def stored_rows(rows: list[tuple[dict[str, Any], StoredObject | StoredActivity | None,
                                 dict[str, Any]]]) -> list[dict[str, Any]]:
    """The ``activities`` rows :func:`insert_all` writes for ``(document, embedded, values)``
    (``node.store.batched`` writes them too)."""
    params = []
    for document, embedded, values in rows:
        embeds = _reference(document, values.get("object_ap_id"), embedded)
        context = versions.shares_context(document) if embeds else None
        stored = versions.stored_form(document, bool(context)) if embeds else document
        params.append({**values, "document": stored, "embeds": embeds,
                       "shares_context": context})
    return params


_INSERT_RETURNING = activities.insert().returning(activities.c.id, activities.c.ap_id)


async def insert_all(session: AsyncSession, rows: list[tuple[dict[str, Any],
                                                            StoredObject | StoredActivity | None,
                                                            dict[str, Any]]]
                     ) -> list[StoredActivity]:
    """Store signed activities, each as :func:`insert` does (``(document, embedded, values)``),
    with one statement, in the order given (the outbox pages by id)."""
    ids = {str(ap_id): int(new_id) for new_id, ap_id in
           (await session.execute(_INSERT_RETURNING, stored_rows(rows))).all()}
    return [StoredActivity(id=ids[values["ap_id"]], ap_id=values["ap_id"], actor=values["actor"],
                           type=values["type"], object_ap_id=values.get("object_ap_id"),
                           published=values["published"], document=document)
            for document, _, values in rows]


_EO = objects.alias("embedded_object")
_EV = object_versions.alias("embedded_version")
_EA = activities.alias("embedded_activity")
_EAO = objects.alias("embedded_activity_object")
_EAV = object_versions.alias("embedded_activity_version")


def _select() -> Select[Any]:
    """Activities with what they embed by reference, in one statement (outer joins on keys)."""
    a = activities.c
    return (select(*(a[name] for name in _FIELDS), a.document, a.embeds, a.shares_context,
                   _EO.c.document.label("e_object"), _EV.c.document.label("e_version"),
                   _EA.c.document.label("e_activity"), _EA.c.embeds.label("e_embeds"),
                   _EA.c.shares_context.label("e_shares_context"),
                   _EAO.c.document.label("e_activity_object"),
                   _EAV.c.document.label("e_activity_version"))
            .select_from(activities
                         .outerjoin(_EO, and_(a.embeds == OBJECT, _EO.c.ap_id == a.object_ap_id))
                         .outerjoin(_EV, and_(a.embeds == VERSION, _EV.c.id == a.version_id))
                         .outerjoin(_EA, and_(a.embeds == ACTIVITY, _EA.c.ap_id == a.object_ap_id))
                         .outerjoin(_EAO, and_(_EA.c.embeds == OBJECT,
                                               _EAO.c.ap_id == _EA.c.object_ap_id))
                         .outerjoin(_EAV, and_(_EA.c.embeds == VERSION,
                                               _EAV.c.id == _EA.c.version_id))))


def _whole(document: dict[str, Any], embeds: str | None, context: bool | None, obj: Any,
           version: Any) -> dict[str, Any]:
    if embeds == OBJECT:
        return versions.put_back(document, obj, context)
    if embeds == VERSION:
        return versions.put_back(document, version, context)
    return document


def _activity(row: Any) -> StoredActivity:
    document = row["document"]
    if row["embeds"] == ACTIVITY:
        inner = row["e_activity"]
        if inner is not None:
            inner = _whole(inner, row["e_embeds"], row["e_shares_context"],
                           row["e_activity_object"], row["e_activity_version"])
        document = versions.put_back(document, inner, row["shares_context"])
    else:
        document = _whole(document, row["embeds"], row["shares_context"], row["e_object"],
                          row["e_version"])
    return StoredActivity(document=document, **{name: row[name] for name in _FIELDS})


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many activities with one statement (``executemany``), in the order given: the
    outbox pages by id, so the order is the order of publication. A row's ``embedded``: the
    document of its object as stored in this transaction (``objects.document``); the object
    is then stored once, by reference, as ``insert`` does."""
    if not rows:
        return
    stored = []
    for given in rows:
        row = dict(given)
        embedded, document = row.pop("embedded", None), row["document"]
        inner = document.get("object")
        if embedded is not None and isinstance(inner, dict) and \
                inner.get("id") == row.get("object_ap_id") and \
                (inner is embedded or versions.same(inner, embedded)):
            context = versions.shares_context(document)
            row.update(document=versions.stored_form(document, context), embeds=OBJECT,
                       shares_context=context)
        else:
            row.update(embeds=None, shares_context=None)
        stored.append(row)
    await session.execute(activities.insert(), stored)


_EMBEDDED = objects.alias("embedded")
_STAMP = (
    select(activities.c.id, activities.c.embeds, activities.c.version_id,
           actors.c.id, actors.c.version, actors.c.updated, _EMBEDDED.c.version,
           _EMBEDDED.c.updated)
    .select_from(activities
                 .outerjoin(actors, actors.c.ap_id == activities.c.actor)
                 .outerjoin(_EMBEDDED, and_(activities.c.embeds == OBJECT,
                                            _EMBEDDED.c.ap_id == activities.c.object_ap_id)))
    .where(activities.c.ap_id == bindparam("ap_id")))


async def stamp(db: Database, ap_id: str) -> tuple[Any, ...] | None:
    """What an activity is served from, in one short row (docs/performance.md, "Rendered
    bytes held"): its id and what it embeds by reference, its actor's id, version and update
    time (a key rotation re-signs the activity and bumps them), the embedded object's version
    and update time; None when there is no such activity."""
    return await db.first(_STAMP, {"ap_id": ap_id}, memo=True)


def _newest(column: Any) -> Any:
    newest = activities.alias("newest")
    return (select(newest.c[column]).where(newest.c.actor == actors.c.ap_id)
            .order_by(newest.c.id.desc()).limit(1).scalar_subquery())


_OUTBOX_STAMP = (
    select(actors.c.id, actors.c.version, actors.c.updated, actors.c.deleted_at,
           select(func.count()).select_from(activities)
           .where(activities.c.actor == actors.c.ap_id).scalar_subquery(),
           _newest("id"), _newest("ap_id"))
    .where(actors.c.handle == bindparam("handle"), actors.c.is_local.is_(True)))


async def outbox_stamp(db: Database, handle: str) -> tuple[Any, ...] | None:
    """What a local actor's outbox pages are rendered from, in one short row (docs/
    performance.md, "Outbox pages held"): the actor's id, version, update time and deletion,
    how many activities it has and its newest one's id and IRI (a new activity is the newest:
    ids only grow while the newest row stays; a deleted one lowers the count; stored activities
    never change their bytes but by a key rotation, which bumps the actor's version); None when
    there is no such local actor. Reads the ``(actor, id)`` index, not the activities' rows."""
    return await db.first(_OUTBOX_STAMP, {"handle": handle.lower()}, memo=True)


async def relays_received(session: AsyncSession, actor: str, base: str) -> bool:
    """Whether ``actor`` announced anything not of this node (``base``): a received item, a
    received Update or Delete. Those Announces leave the outbox when an admin hides the item,
    which no short stamp can see (``objects.hidden_at`` has no index)."""
    prefix = f"{base}/"
    return bool((await session.execute(_RELAYS_RECEIVED, {
        "actor": actor, "prefix": prefix, "length": len(prefix)})).scalar())


_RELAYS_RECEIVED = select(exists().where(
    activities.c.actor == bindparam("actor"), activities.c.type == "Announce",
    or_(activities.c.object_ap_id.is_(None),
        func.substr(activities.c.object_ap_id, 1, bindparam("length")) != bindparam("prefix"))))


async def get(session: AsyncSession, ap_id: str) -> StoredActivity | None:
    row = (await session.execute(_select().where(activities.c.ap_id == ap_id))).mappings().first()
    return _activity(row) if row else None


def _relayed_item(c: Any) -> Any:
    """The item an Announce of an embedded Update or Delete (``object.object``) is about; of a
    local one embedded by reference, that activity's object."""
    inner = activities.alias("relayed")
    return func.coalesce(c.document[("object", "object", "id")].as_string(),
                         c.document[("object", "object")].as_string(),
                         case((c.embeds == ACTIVITY, select(inner.c.object_ap_id).where(
                             inner.c.ap_id == c.object_ap_id).scalar_subquery())))


def _of_actor(actor: Any, hosts: HostRule | None) -> list[Any]:
    """An actor's activities; with ``hosts``, not those relaying an object of a refused host,
    nor those about an item an admin hid (its Create announced as the object itself, its
    Update relayed as the embedded activity)."""
    c = activities.c
    conds: list[Any] = [c.actor == actor]
    if hosts is not None:
        conds.append(~exists().where(objects.c.ap_id == c.object_ap_id,
                                     ~visible(objects.c.host, objects.c.is_local, hosts)))
        hidden = select(objects.c.ap_id).where(objects.c.hidden_at.is_not(None))
        conds.append(or_(c.type != "Announce", and_(c.object_ap_id.not_in(hidden),
                                                    or_(_relayed_item(c).is_(None),
                                                        _relayed_item(c).not_in(hidden)))))
    return conds


# Built once per federation policy and shape, the actor, cursor and limit bound: an outbox page
# built its three statements (with their joins, aliases and filters) anew for every GET, a
# tenth of a backfill's CPU (docs/performance.md, "Backfill: contexts not walked, pages read
# once").
_BY_ACTOR: dict[tuple[Any, ...], Any] = {}


def _by_actor(shape: str, hosts: HostRule | None) -> Any:
    key = (shape, hosts)
    query = _BY_ACTOR.get(key)
    if query is None:
        c = activities.c
        conds = _of_actor(bindparam("actor"), hosts)
        if shape == "count":
            query = select(func.count()).select_from(activities).where(*conds)
        else:
            query = _select().where(*conds)
            if "max" in shape:
                query = query.where(c.id < bindparam("max_id"))
            if "min" in shape:
                query = query.where(c.id > bindparam("min_id")).order_by(c.id.asc())
            else:
                query = query.order_by(c.id.desc())
            query = query.limit(bindparam("limit"))
        if len(_BY_ACTOR) >= 64:  # policies come and go: keep the current ones
            _BY_ACTOR.clear()
        _BY_ACTOR[key] = query
    return query


async def page_by_actor(session: AsyncSession, actor: str, *, limit: int,
                        max_id: int | None = None, min_id: int | None = None,
                        hosts: HostRule | None = None) -> list[StoredActivity]:
    """Newest first; ``max_id`` pages back (older), ``min_id`` pages forward (newer)."""
    shape = ("max" if max_id is not None else "") + ("min" if min_id is not None else "")
    params = {"actor": actor, "limit": limit, "max_id": max_id, "min_id": min_id}
    rows = list((await session.execute(_by_actor(shape or "page", hosts),
                                       {k: v for k, v in params.items() if v is not None}))
                .mappings().all())
    if min_id is not None:
        # Closest newer rows first, then flipped to keep newest-first order on the page.
        rows.reverse()
    return [_activity(r) for r in rows]


async def all_by_actor(session: AsyncSession, actor: str) -> list[StoredActivity]:
    """Every activity of ``actor``, oldest first (key rotation re-signs them)."""
    query = _select().where(activities.c.actor == actor).order_by(activities.c.id)
    return [_activity(r) for r in (await session.execute(query)).mappings().all()]


async def item_ids_by_actor(session: AsyncSession, actor: str, *, limit: int) -> list[str]:
    """The stored items ``actor``'s outbox created or announced, newest first."""
    c = activities.c
    query = (select(c.object_ap_id).join(objects, objects.c.ap_id == c.object_ap_id)
             .where(c.actor == actor, c.type.in_(("Create", "Announce")))
             .order_by(c.id.desc()).limit(limit))
    return list(dict.fromkeys((await session.execute(query)).scalars().all()))


async def count_by_actor(session: AsyncSession, actor: str, *, hosts: HostRule | None = None
                         ) -> int:
    return int((await session.execute(_by_actor("count", hosts), {"actor": actor})).scalar_one())


async def delete_history(session: AsyncSession, object_ap_id: str) -> int:
    """Remove the Create/Update activities of a deleted object, and Announces of them, and
    its earlier versions they embedded.

    A deleted item's content must not live on in outboxes; its Delete activity stays.
    """
    c = activities.c
    rows = (await session.execute(select(c.ap_id).where(
        c.object_ap_id == object_ap_id, c.type.in_(("Create", "Update"))))).scalars().all()
    targets = [object_ap_id, *rows]
    result = await session.execute(delete(activities).where(
        ((c.object_ap_id == object_ap_id) & c.type.in_(("Create", "Update")))
        | ((c.type == "Announce") & c.object_ap_id.in_(targets))))
    await versions.prune(session, [object_ap_id])
    return int(getattr(result, "rowcount", 0) or 0)


async def _stored_once(session: AsyncSession, document: dict[str, Any], object_ap_id: str | None
                       ) -> tuple[str | None, int | None]:
    """``(embeds, version_id)`` for a whole document, looking for its
    embedded object among what is stored: the object's current or a kept document (else kept
    now, when the object is ours to hold), or a local activity. Off the hot paths (key
    rotation): ``insert`` is told what is embedded."""
    inner = document.get("object")
    if not object_ap_id or not isinstance(inner, dict) or inner.get("id") != object_ap_id:
        return None, None
    current = (await session.execute(select(objects.c.document).where(
        objects.c.ap_id == object_ap_id))).first()
    if current is not None:
        if versions.same(inner, current[0]):
            return OBJECT, None
        v = object_versions.c
        for version_id, kept in await session.execute(
                select(v.id, v.document).where(v.ap_id == object_ap_id)):
            if versions.same(inner, kept):
                return VERSION, version_id
        number = inner.get("version")
        version_id = (await session.execute(object_versions.insert().values(
            ap_id=object_ap_id, version=number if isinstance(number, int) else 0,
            document=inner).returning(v.id))).scalar_one()
        return VERSION, version_id
    embedded = await get(session, object_ap_id)
    if embedded is not None and _reference(document, object_ap_id, embedded) == ACTIVITY:
        return ACTIVITY, None
    return None, None


async def replace(session: AsyncSession, ap_id: str, document: dict[str, Any]) -> None:
    """Store ``document`` (whole) in place of activity ``ap_id``'s, each part still once.

    Activities that embed this one by reference get their own copy of it first: they keep what
    they signed.
    """
    c = activities.c
    for referrer in (await session.execute(select(c.ap_id).where(
            c.embeds == ACTIVITY, c.object_ap_id == ap_id))).scalars().all():
        whole = await get(session, referrer)
        assert whole is not None
        await session.execute(activities.update().where(c.ap_id == referrer).values(
            document=whole.document, embeds=None, version_id=None, shares_context=None))
    object_ap_id = (await session.execute(select(c.object_ap_id).where(c.ap_id == ap_id))
                    ).scalar()
    embeds, version_id = await _stored_once(session, document, object_ap_id)
    context = versions.shares_context(document) if embeds else None
    await session.execute(activities.update().where(c.ap_id == ap_id).values(
        document=versions.stored_form(document, bool(context)) if embeds else document,
        embeds=embeds, version_id=version_id, shares_context=context))
    if object_ap_id:
        await versions.prune(session, [object_ap_id])
