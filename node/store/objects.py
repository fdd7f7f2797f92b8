"""Objects aggregate: knowledge items (local and received), tombstones kept in place."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Text, and_, bindparam, case, cast, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import contexts
from node.store._rows import to_dataclass
from node.store._upsert import dialect_insert, dialect_insert_for, dialect_name, insert_ignore
from node.store.blocks import HostRule, visible
from node.store.db import Database
from node.store.schema import actors, objects


@dataclass(frozen=True)
class StoredObject:
    id: int
    ap_id: str
    is_local: bool
    host: str
    kind: str
    type: str
    attributed_to: str
    title: str | None
    summary: str | None
    content: str | None
    content_html: str | None
    language: str | None
    license: str | None
    themes: list[str]
    province_code: str | None
    municipality_code: str | None
    latitude: float | None
    longitude: float | None
    in_reply_to: str | None
    fields: dict[str, Any]
    version: int
    published: datetime
    updated: datetime
    deleted_at: datetime | None
    received_at: datetime
    document: dict[str, Any]
    hidden_at: datetime | None = None  # hidden here by an admin (received items only)
    hidden_by: str | None = None

    def __post_init__(self) -> None:
        if self.content_html is None and self.deleted_at is None:
            # Stored as NULL when it is the document's own ``content`` (``stored_values``).
            html = self.document.get("content") if isinstance(self.document, dict) else None
            if isinstance(html, str):
                object.__setattr__(self, "content_html", html)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def hidden(self) -> bool:
        return self.hidden_at is not None


@dataclass(frozen=True)
class ItemFilter:
    kind: str | None = None
    theme: str | None = None  # matches the theme and everything narrower (caller expands)
    themes_any: tuple[str, ...] = ()
    province: str | None = None
    origin: str | None = None  # local | remote | <host>
    attributed_to: str | None = None
    in_reply_to: str | None = None
    words: tuple[str, ...] = ()  # pre-stemmed search words, all must match
    include_deleted: bool = False
    include_hidden: bool = False  # items an admin hid (admin views only)
    hosts: HostRule | None = None  # the federation policy: received items of refused hosts hidden
    bottleneck_status: str | None = None  # a bottleneck's status (``open`` when none is stored)
    regulation_area: str | None = None


@dataclass(frozen=True)
class Cursor:
    published: datetime
    id: int


def stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """A row's values as stored: ``content_html`` NULL when it is exactly the signed document's
    ``content`` (a local item's rendered HTML; a received one's when sanitising changed
    nothing), which holds it once; ``StoredObject`` puts it back (docs/performance.md)."""
    html, document = values.get("content_html"), values.get("document")
    if html is not None and values.get("deleted_at") is None and isinstance(document, dict) \
            and document.get("content") == html:
        return {**values, "content_html": None}
    return values


async def get(session: AsyncSession, ap_id: str) -> StoredObject | None:
    row = (await session.execute(select(objects).where(objects.c.ap_id == ap_id))).mappings().first()
    return to_dataclass(StoredObject, row) if row else None



_SERVED = select(cast(objects.c.document, Text), objects.c.deleted_at.is_not(None)).where(
    objects.c.ap_id == bindparam("ap_id"))


async def served(db: Database, ap_id: str) -> tuple[bytes, bool] | None:
    """An object's signed document as stored — the bytes served — and whether it is a
    tombstone: one narrow row, nothing parsed (docs/performance.md, "Render once"; its known
    ``@context`` spliced back, ``node.store.contexts``), read by key with no session
    (``Database.first``)."""
    row = await db.first(_SERVED, {"ap_id": ap_id})
    return (contexts.unpack(row[0]).encode(), bool(row[1])) if row else None


_PAGE_STAMP = (
    select(objects.c.id, objects.c.version, objects.c.updated, objects.c.deleted_at,
           objects.c.hidden_at, objects.c.kind, objects.c.in_reply_to,
           actors.c.id, actors.c.version, actors.c.updated, actors.c.deleted_at)
    .select_from(objects.outerjoin(actors, actors.c.ap_id == objects.c.attributed_to))
    .where(objects.c.ap_id == bindparam("ap_id")))


@dataclass(frozen=True, slots=True)
class PageStamp:
    """What an item's API JSON and page are rendered from, in one short row: the item's id,
    version, update time, deletion and hiding, and its author's (docs/performance.md,
    "Rendered bytes held"); ``kind`` and ``in_reply_to`` say whether the page shows more."""

    key: tuple[Any, ...]  # equal for equal rows: compared, never read
    kind: str
    in_reply_to: str | None
    deleted: bool

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> PageStamp:
        return cls(row, row[5], row[6], row[3] is not None)


async def page_stamp(db: Database, ap_id: str) -> PageStamp | None:
    """The :class:`PageStamp` of an object, or None when there is no such object."""
    row = await db.first(_PAGE_STAMP, {"ap_id": ap_id}, memo=True)
    return PageStamp.of(row) if row else None


_ALL_BUT_DOCUMENT = [column for column in objects.c if column.name != "document"]
_FIELDS = [f.name for f in fields(StoredObject)]
_INSERT_RETURNING = objects.insert().returning(*_ALL_BUT_DOCUMENT)


async def insert(session: AsyncSession, **values: Any) -> StoredObject:
    # One prebuilt statement, its values as parameters: ``.values(**values)`` built and
    # coerced a new statement of 25 columns per item, and a cache key for it. Every column but
    # the document is read back: the document is the one given (parsed again, it was the same
    # JSON, context unpacked and all, for more than the row's other columns together).
    result = await session.execute(_INSERT_RETURNING, stored_values(values))
    row = result.mappings().one()
    return StoredObject(**{name: values["document"] if name == "document" else row[name]
                           for name in _FIELDS})


async def insert_many(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many new objects with one statement (``executemany``), in the order given."""
    if rows:
        await session.execute(objects.insert(), [stored_values(row) for row in rows])


async def insert_new(session: AsyncSession, rows: list[dict[str, Any]], *, chunk: int = 200
                     ) -> list[StoredObject]:
    """Insert received objects never seen before, ``chunk`` rows per statement; a row whose
    ``ap_id`` is stored meanwhile is left out (``ON CONFLICT DO NOTHING``). The rows stored."""
    stored: list[StoredObject] = []
    documents = {row["ap_id"]: row["document"] for row in rows}
    rows = [stored_values(row) for row in rows]
    # Every column but the document, which is the one given: read back, each 7 KB document
    # was parsed again (and its context unpacked), most of what a backfilled row cost.
    stmt = dialect_insert(session, objects).on_conflict_do_nothing(
        index_elements=[objects.c.ap_id]).returning(*_ALL_BUT_DOCUMENT)

    def made(row: RowMapping) -> StoredObject:
        return StoredObject(**{name: documents[row["ap_id"]] if name == "document" else row[name]
                               for name in _FIELDS})

    if rows and all(row.keys() == rows[0].keys() for row in rows):
        # executemany: one statement compiled once (and cached), which SQLAlchemy sends as
        # multi-row INSERTs ("insertmanyvalues"); ``.values(rows)`` compiled a new one per chunk.
        result = await session.execute(stmt, rows)
        return [made(row) for row in result.mappings().all()]
    for at in range(0, len(rows), chunk):
        result = await session.execute(stmt.values(rows[at:at + chunk]))
        stored += [made(row) for row in result.mappings().all()]
    return stored




async def local_item_keys(session: AsyncSession) -> list[tuple[str, str, str, str | None,
                                                                 str | None, str | None]]:
    """(IRI, author, kind, title, content, in_reply_to) of every live local item: what an
    import compares its rows with, without reading whole rows (documents included)."""
    c = objects.c
    query = select(c.ap_id, c.attributed_to, c.kind, c.title, c.content, c.in_reply_to).where(
        c.is_local.is_(True), c.deleted_at.is_(None))
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in (await session.execute(query)).all()]


# Columns a newer copy of a received object replaces; the rest (id, origin, author, first
# publication, arrival) stay as first stored.
_KEPT_ON_UPDATE = frozenset({"id", "ap_id", "is_local", "host", "attributed_to", "published",
                             "received_at", "deleted_at"})


async def upsert_remote(session: AsyncSession, values: dict[str, Any], *, version: int | None,
                        stamp: datetime | None) -> StoredObject | None:
    """Store a received object, or replace the stored copy if this one is newer: one statement.

    The version rule is the statement's own ``WHERE``, checked against the row as it is when the
    statement runs (PostgreSQL locks the row; SQLite has one writer), never against an earlier
    read: two appliers of different versions racing on one object end with the higher version,
    in either order. Newer means a higher ``version`` when both copies have one, else a later
    ``updated`` (``stamp``: the copy's ``updated``, else ``published``). A local object, a
    tombstone, or one stored with another author is never replaced. None when nothing changed.

    The copy it replaces is kept if an activity embeds it, by the ``objects_pin`` trigger
    (migration 0017) in the same statement.
    """
    stmt = _upsert_statement(dialect_name(session), tuple(values), stamp is not None,
                             version is not None)
    params = {**stored_values(values), "w_author": values["attributed_to"]}
    if stamp is not None:
        params["w_stamp"] = stamp
    if version is not None:
        params["w_version"] = version
    result = await session.execute(stmt, params)
    row = result.mappings().first()
    if row is None:
        return None
    if "document" not in values:
        return to_dataclass(StoredObject, row)
    # The row returned holds the document given (inserted, or replacing the stored one): not
    # read back, so not unpacked and parsed again (docs/performance.md, "Apply: …").
    return StoredObject(**{name: row[name] for name in _FIELDS if name != "document"},
                        document=values["document"])


# ``upsert_remote``'s statements, built once per dialect and shape (docs/performance.md,
# "Propagation to 100 followers"): building one per call rebuilt the ``excluded`` alias' ~29
# column proxies and the condition on every apply. The values and the condition's operands are
# bound parameters; the names of the latter (``w_…``) are no column's.
_UPSERTS: dict[tuple[str, tuple[str, ...], bool, bool], Any] = {}


def _upsert_statement(dialect: str, keys: tuple[str, ...], has_stamp: bool,
                      has_version: bool) -> Any:
    key = (dialect, keys, has_stamp, has_version)
    stmt = _UPSERTS.get(key)
    if stmt is not None:
        return stmt
    c = objects.c
    later = c.updated < bindparam("w_stamp", type_=c.updated.type) if has_stamp else false()
    version = bindparam("w_version", type_=c.version.type)
    newer = or_(and_(c.version != 0, c.version < version), and_(c.version == 0, later)) \
        if has_version else later
    replaces = and_(c.is_local.is_(False), c.deleted_at.is_(None),
                    or_(c.attributed_to == "",
                        c.attributed_to == bindparam("w_author", type_=c.attributed_to.type)),
                    newer)
    insert = dialect_insert_for(dialect, objects)
    stmt = insert.on_conflict_do_update(
        index_elements=[c.ap_id],
        set_={name: insert.excluded[name] for name in keys if name not in _KEPT_ON_UPDATE},
        where=replaces,
    ).returning(*(_ALL_BUT_DOCUMENT if "document" in keys else objects.c))
    _UPSERTS[key] = stmt
    return stmt


async def insert_tombstone(session: AsyncSession, **values: Any) -> bool:
    """Record a tombstone for an id never seen; False if a copy arrived meanwhile."""
    return await insert_ignore(session, objects, [values], [objects.c.ap_id.name]) == 1


async def mark_deleted(session: AsyncSession, ap_id: str, *, author: str, deleted: datetime,
                       version: int | None, document: dict[str, Any]) -> bool:
    """Turn a live received object by ``author`` into a tombstone, in one conditional statement.

    Its version becomes one above the stored one, or ``version`` if that is higher.
    """
    c = objects.c
    bumped = c.version + 1
    live = (c.is_local.is_(False), c.deleted_at.is_(None),
            or_(c.attributed_to == "", c.attributed_to == author))
    query = (update(objects)
             .where(c.ap_id == ap_id, *live)
             .values(deleted_at=deleted, updated=deleted, document=document,
                     version=bumped if version is None else case((bumped > version, bumped),
                                                                 else_=version),
                     content=None, content_html=None, summary=None, search_text=None))
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def update_version(session: AsyncSession, ap_id: str, version: int,
                         **values: Any) -> StoredObject | None:
    """Write ``version`` of a local object only if the stored one is older (``version < :new``).

    None when another writer stored this or a later version first: the caller's edit was based
    on a copy that is no longer current.
    """
    query = (update(objects).where(objects.c.ap_id == ap_id, objects.c.version < version)
             .values(version=version, **stored_values(values)).returning(*objects.c))
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredObject, row) if row else None


def _conditions(f: ItemFilter) -> list[Any]:
    c = objects.c
    conds: list[Any] = []
    if not f.include_deleted:
        conds.append(c.deleted_at.is_(None))
    if not f.include_hidden:
        conds.append(c.hidden_at.is_(None))
    if f.kind:
        conds.append(c.kind == f.kind)
    if f.province:
        conds.append(c.province_code == f.province)
    if f.origin == "local":
        conds.append(c.is_local.is_(True))
    elif f.origin == "remote":
        conds.append(c.is_local.is_(False))
    elif f.origin:
        conds.append(c.host == f.origin)
    if f.attributed_to:
        conds.append(c.attributed_to == f.attributed_to)
    if f.in_reply_to:
        conds.append(c.in_reply_to == f.in_reply_to)
    if f.hosts is not None:
        conds.append(visible(c.host, c.is_local, f.hosts))
    if f.themes_any:
        # themes is a JSON list; a LIKE on its text form with the quoted id is exact and portable.
        conds.append(or_(*[cast(c.themes, Text).like(f'%"{t}"%') for t in f.themes_any]))
    for word in f.words:
        conds.append(c.search_text.like(f"% {word}%"))
    if f.bottleneck_status:
        conds.append(func.coalesce(c.fields["bottleneck_status"].as_string(), "open")
                     == f.bottleneck_status)
    if f.regulation_area:
        conds.append(c.fields["regulation_area"].as_string() == f.regulation_area)
    return conds


def _tally_value(key: str) -> Any:
    """A number of the tally a bottleneck carries (``fields.endorsements``), 0 when none."""
    return func.coalesce(objects.c.fields[("endorsements", key)].as_integer(), 0)


async def rank_bottlenecks(session: AsyncSession, f: ItemFilter, *, limit: int,
                           offset: int = 0) -> list[StoredObject]:
    """Bottlenecks by endorsing initiatives, then by their provinces, then newest first.

    The page's ids are ranked alone and the rows read after: sorting whole rows (documents
    included) costs several times more.
    """
    c = objects.c
    ranked = (select(c.id).where(*_conditions(f), c.kind == "bottleneck")
              .order_by(_tally_value("count").desc(), _tally_value("province_count").desc(),
                        c.published.desc(), c.id.desc())
              .limit(limit).offset(offset))
    ids = list((await session.execute(ranked)).scalars())
    if not ids:
        return []
    rows = (await session.execute(select(objects).where(c.id.in_(ids)))).mappings()
    by_id = {row["id"]: to_dataclass(StoredObject, row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def list_page(session: AsyncSession, f: ItemFilter, *, limit: int,
                    before: Cursor | None = None, offset: int = 0) -> list[StoredObject]:
    """Newest first (by ``published``, then id); ``before`` continues after a previous page,
    ``offset`` skips rows (numbered HTML pages)."""
    c = objects.c
    conds = _conditions(f)
    if before is not None:
        conds.append(or_(c.published < before.published,
                         and_(c.published == before.published, c.id < before.id)))
    query = select(objects).where(*conds).order_by(c.published.desc(), c.id.desc()).limit(limit)
    if offset:
        query = query.offset(offset)
    rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(StoredObject, r) for r in rows]


async def count(session: AsyncSession, f: ItemFilter) -> int:
    query = select(func.count()).select_from(objects).where(*_conditions(f))
    return int((await session.execute(query)).scalar_one())


async def count_by_month(session: AsyncSession, f: ItemFilter) -> dict[str, int]:
    """Items per month of first publication (``YYYY-MM``, UTC), oldest first."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    c = objects.c
    month = (func.to_char(func.timezone("UTC", c.published), "YYYY-MM") if dialect == "postgresql"
             else func.strftime("%Y-%m", c.published))
    query = (select(month.label("month"), func.count()).where(*_conditions(f))
             .group_by(month).order_by(month))
    return {str(m): int(n) for m, n in (await session.execute(query)).all()}


async def local_stamps(session: AsyncSession, *, limit: int) -> list[tuple[str, datetime]]:
    """(IRI, updated) of live local items, newest first: only two columns (the sitemap lists
    every item, and whole rows carry their documents)."""
    c = objects.c
    query = (select(c.ap_id, c.updated).where(c.is_local.is_(True), c.deleted_at.is_(None))
             .order_by(c.published.desc(), c.id.desc()).limit(limit))
    return [(row.ap_id, row.updated) for row in (await session.execute(query)).all()]


async def set_hidden(session: AsyncSession, ap_id: str, *, hidden_at: datetime | None,
                     hidden_by: str | None) -> StoredObject | None:
    """Hide (``hidden_at`` set) or show again (None) a received item; None when there is no
    such received item, or it already was in that state."""
    c = objects.c
    changed = c.hidden_at.is_(None) if hidden_at is not None else c.hidden_at.is_not(None)
    query = (update(objects).where(c.ap_id == ap_id, c.is_local.is_(False), changed)
             .values(hidden_at=hidden_at, hidden_by=hidden_by).returning(*objects.c))
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredObject, row) if row else None


async def hidden_items(session: AsyncSession, *, limit: int) -> list[StoredObject]:
    """The items an admin hid, most recently hidden first (tombstones included: a Delete from
    the origin leaves them hidden)."""
    c = objects.c
    query = (select(objects).where(c.hidden_at.is_not(None))
             .order_by(c.hidden_at.desc(), c.id.desc()).limit(limit))
    return [to_dataclass(StoredObject, r) for r in (await session.execute(query)).mappings()]


async def get_many(session: AsyncSession, ap_ids: list[str]) -> dict[str, StoredObject]:
    """The stored objects among ``ap_ids``, by IRI, in one query."""
    if not ap_ids:
        return {}
    rows = (await session.execute(select(objects).where(objects.c.ap_id.in_(ap_ids)))).mappings()
    return {row["ap_id"]: to_dataclass(StoredObject, row) for row in rows.all()}
