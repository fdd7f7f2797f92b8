"""Endorsements aggregate: who endorses which bottleneck (docs/bottlenecks.md).

One row per (bottleneck, actor): an initiative endorses a bottleneck once however often it
says so. ``kind`` is ``endorsement`` for a Kennisknoop initiative and ``support`` for any other
fediverse account (a Mastodon user's favourite). A withdrawn endorsement keeps its row with
``withdrawn_at`` set and the ``Like`` it withdrew, so a replay of that ``Like`` (or an ``Undo``
that arrived before its ``Like``) cannot bring it back; a new ``Like`` does.

Queries for others (a notifications page): ``received`` lists the endorsements of the
bottlenecks of given authors, newest first — who, when, which bottleneck, the note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store._upsert import dialect_insert, insert_ignore
from node.store.schema import endorsements, objects

ENDORSEMENT = "endorsement"
SUPPORT = "support"
Outcome = Literal["added", "updated", "unchanged", "replayed"]


@dataclass(frozen=True)
class StoredEndorsement:
    id: int
    object_ap_id: str
    actor: str
    kind: str  # endorsement | support
    activity_ap_id: str | None
    note: str | None
    province_code: str | None
    created_at: datetime
    withdrawn_at: datetime | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True)
class Tally:
    """What a bottleneck's origin publishes: endorsing initiatives, their provinces, support."""

    count: int = 0
    provinces: tuple[str, ...] = ()
    support: int = 0


@dataclass(frozen=True)
class ReceivedEndorsement:
    """An endorsement of a local bottleneck, with the bottleneck's author and title."""

    endorsement: StoredEndorsement
    bottleneck_author: str
    bottleneck_title: str | None


def _pair(object_ap_id: str, actor: str) -> list[ColumnElement[bool]]:
    return [endorsements.c.object_ap_id == object_ap_id, endorsements.c.actor == actor]


async def get(session: AsyncSession, object_ap_id: str, actor: str) -> StoredEndorsement | None:
    """The row of ``actor`` on ``object_ap_id``, active or withdrawn."""
    row = (await session.execute(select(endorsements).where(*_pair(object_ap_id, actor)))
           ).mappings().first()
    return to_dataclass(StoredEndorsement, row) if row else None


async def by_activity(session: AsyncSession, activity_ap_id: str, actor: str
                      ) -> StoredEndorsement | None:
    """The row that ``actor``'s Like ``activity_ap_id`` made, active or withdrawn."""
    c = endorsements.c
    row = (await session.execute(select(endorsements).where(
        c.activity_ap_id == activity_ap_id, c.actor == actor))).mappings().first()
    return to_dataclass(StoredEndorsement, row) if row else None


async def like(session: AsyncSession, *, object_ap_id: str, actor: str, kind: str,
               activity_ap_id: str | None, note: str | None, province_code: str | None,
               now: datetime) -> Outcome:
    """Record that ``actor`` endorses (or supports) ``object_ap_id``.

    ``added``: it counts now (new, or again after a withdrawal by another Like); ``updated``:
    it already counted and its note or Like changed; ``unchanged``: the same again;
    ``replayed``: the very Like that was withdrawn (a replay, or its Undo came first).
    """
    values = {"kind": kind, "activity_ap_id": activity_ap_id, "note": note,
              "province_code": province_code}
    inserted = (await session.execute(
        dialect_insert(session, endorsements).values(
            object_ap_id=object_ap_id, actor=actor, created_at=now, withdrawn_at=None, **values)
        .on_conflict_do_nothing(index_elements=["object_ap_id", "actor"])
        .returning(endorsements.c.id))).first()
    if inserted is not None:
        return "added"
    existing = await get(session, object_ap_id, actor)
    assert existing is not None  # the unique pair clashed, so the row is there
    where = _pair(object_ap_id, actor)
    if not existing.active:
        if activity_ap_id is not None and existing.activity_ap_id == activity_ap_id:
            return "replayed"
        await session.execute(update(endorsements).where(*where).values(
            created_at=now, withdrawn_at=None, **values))
        return "added"
    if (existing.note, existing.activity_ap_id, existing.kind) == (note, activity_ap_id, kind):
        return "unchanged"
    await session.execute(update(endorsements).where(*where).values(**values))
    return "updated"


async def withdraw(session: AsyncSession, *, actor: str, object_ap_id: str | None,
                   activity_ap_id: str | None, now: datetime) -> bool:
    """Withdraw ``actor``'s endorsement; True when one counted until now.

    With ``activity_ap_id`` only the endorsement of that Like is withdrawn (an old Undo does
    not withdraw a newer Like). An Undo whose Like has not arrived yet (``object_ap_id`` and
    ``activity_ap_id`` known) leaves a withdrawn row, so that Like, arriving late, is a replay.
    """
    c = endorsements.c
    conds: list[ColumnElement[bool]] = [c.actor == actor]
    if object_ap_id is not None:
        conds.append(c.object_ap_id == object_ap_id)
    if activity_ap_id is not None:
        conds.append(c.activity_ap_id == activity_ap_id)
    if object_ap_id is None and activity_ap_id is None:
        return False
    result = await session.execute(update(endorsements).where(
        *conds, c.withdrawn_at.is_(None)).values(withdrawn_at=now))
    if int(getattr(result, "rowcount", 0) or 0):
        return True
    if object_ap_id is not None and activity_ap_id is not None:
        await insert_ignore(session, endorsements, [{
            "object_ap_id": object_ap_id, "actor": actor, "kind": SUPPORT,
            "activity_ap_id": activity_ap_id, "note": None, "province_code": None,
            "created_at": now, "withdrawn_at": now}], ["object_ap_id", "actor"])
    return False


async def tally(session: AsyncSession, object_ap_id: str) -> Tally:
    """The active endorsements of ``object_ap_id``: count, provinces (sorted), support."""
    c = endorsements.c
    rows = (await session.execute(select(c.kind, c.province_code).where(
        c.object_ap_id == object_ap_id, c.withdrawn_at.is_(None)))).all()
    endorsed = [province for kind, province in rows if kind == ENDORSEMENT]
    return Tally(count=len(endorsed),
                 provinces=tuple(sorted({p for p in endorsed if p})),
                 support=sum(1 for kind, _ in rows if kind == SUPPORT))


async def active(session: AsyncSession, object_ap_id: str, *, kind: str = ENDORSEMENT,
                 limit: int = 500) -> list[StoredEndorsement]:
    """The active endorsements (or support) of ``object_ap_id``, oldest first."""
    c = endorsements.c
    query = (select(endorsements).where(c.object_ap_id == object_ap_id, c.kind == kind,
                                        c.withdrawn_at.is_(None))
             .order_by(c.created_at, c.id).limit(limit))
    return [to_dataclass(StoredEndorsement, r) for r in (await session.execute(query)).mappings()]


async def of_actors(session: AsyncSession, object_ap_id: str, actors: Sequence[str]
                    ) -> dict[str, StoredEndorsement]:
    """The active endorsements of ``object_ap_id`` by ``actors``, by actor."""
    if not actors:
        return {}
    c = endorsements.c
    query = select(endorsements).where(c.object_ap_id == object_ap_id, c.actor.in_(actors),
                                       c.withdrawn_at.is_(None))
    rows = [to_dataclass(StoredEndorsement, r) for r in (await session.execute(query)).mappings()]
    return {row.actor: row for row in rows}


async def received(session: AsyncSession, *, authors: Sequence[str],
                   since: datetime | None = None, kind: str | None = ENDORSEMENT,
                   limit: int = 100) -> list[ReceivedEndorsement]:
    """Active endorsements of the local bottlenecks by ``authors``, newest first.

    ``since`` keeps those that began after it; ``kind`` None includes support.
    """
    if not authors:
        return []
    c, o = endorsements.c, objects.c
    conds: list[ColumnElement[bool]] = [
        c.withdrawn_at.is_(None), o.is_local.is_(True), o.attributed_to.in_(authors),
        o.deleted_at.is_(None)]
    if since is not None:
        conds.append(c.created_at > since)
    if kind is not None:
        conds.append(c.kind == kind)
    query = (select(endorsements, o.attributed_to.label("bottleneck_author"),
                    o.title.label("bottleneck_title"))
             .select_from(endorsements.join(objects, and_(o.ap_id == c.object_ap_id)))
             .where(*conds).order_by(c.created_at.desc(), c.id.desc()).limit(limit))
    return [ReceivedEndorsement(to_dataclass(StoredEndorsement, r), r["bottleneck_author"],
                                r["bottleneck_title"])
            for r in (await session.execute(query)).mappings()]
