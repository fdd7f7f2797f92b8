"""Objects aggregate: knowledge items (local and received), tombstones kept in place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store.schema import objects


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

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


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


@dataclass(frozen=True)
class Cursor:
    published: datetime
    id: int


async def get(session: AsyncSession, ap_id: str) -> StoredObject | None:
    row = (await session.execute(select(objects).where(objects.c.ap_id == ap_id))).mappings().first()
    return to_dataclass(StoredObject, row) if row else None



async def insert(session: AsyncSession, **values: Any) -> StoredObject:
    result = await session.execute(objects.insert().values(**values).returning(*objects.c))
    return to_dataclass(StoredObject, result.mappings().one())


async def update_values(session: AsyncSession, ap_id: str, **values: Any) -> StoredObject:
    query = update(objects).where(objects.c.ap_id == ap_id).values(**values).returning(*objects.c)
    return to_dataclass(StoredObject, (await session.execute(query)).mappings().one())


def _conditions(f: ItemFilter) -> list[Any]:
    c = objects.c
    conds: list[Any] = []
    if not f.include_deleted:
        conds.append(c.deleted_at.is_(None))
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
    if f.themes_any:
        # themes is a JSON list; a LIKE on its text form with the quoted id is exact and portable.
        conds.append(or_(*[cast(c.themes, Text).like(f'%"{t}"%') for t in f.themes_any]))
    for word in f.words:
        conds.append(c.search_text.like(f"% {word}%"))
    return conds


async def list_page(session: AsyncSession, f: ItemFilter, *, limit: int,
                    before: Cursor | None = None) -> list[StoredObject]:
    """Newest first (by ``published``, then id); ``before`` continues after a previous page."""
    c = objects.c
    conds = _conditions(f)
    if before is not None:
        conds.append(or_(c.published < before.published,
                         and_(c.published == before.published, c.id < before.id)))
    query = select(objects).where(*conds).order_by(c.published.desc(), c.id.desc()).limit(limit)
    rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(StoredObject, r) for r in rows]


async def count(session: AsyncSession, f: ItemFilter) -> int:
    query = select(func.count()).select_from(objects).where(*_conditions(f))
    return int((await session.execute(query)).scalar_one())
