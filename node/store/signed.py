"""The signed documents one local actor originated: its items (``objects``) and its outbox
(``activities``), read and rewritten together when the actor's keys are rotated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.schema import activities, objects

Kind = Literal["object", "activity"]


@dataclass(frozen=True)
class SignedDocument:
    kind: Kind
    ap_id: str
    document: dict[str, Any]


async def of_actor(session: AsyncSession, actor: str) -> list[SignedDocument]:
    """Every stored document ``actor`` (a local actor's IRI) authored or sent, oldest first."""
    found = [SignedDocument("object", ap_id, doc) for ap_id, doc in await session.execute(
        select(objects.c.ap_id, objects.c.document).where(
            objects.c.attributed_to == actor, objects.c.is_local.is_(True))
        .order_by(objects.c.id))]
    found += [SignedDocument("activity", ap_id, doc) for ap_id, doc in await session.execute(
        select(activities.c.ap_id, activities.c.document).where(activities.c.actor == actor)
        .order_by(activities.c.id))]
    return found


async def replace(session: AsyncSession, signed: SignedDocument) -> None:
    """Store ``signed.document`` in place of the one stored under its id."""
    table = objects if signed.kind == "object" else activities
    await session.execute(update(table).where(table.c.ap_id == signed.ap_id)
                          .values(document=signed.document))
