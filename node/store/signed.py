"""The signed documents one local actor originated: its items (``objects``) and its outbox
(``activities``), read and rewritten together when the actor's keys are rotated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import activities as activity_store
from node.store.schema import objects

Kind = Literal["object", "activity"]


@dataclass(frozen=True)
class SignedDocument:
    kind: Kind
    ap_id: str
    document: dict[str, Any]


async def of_actor(session: AsyncSession, actor: str) -> list[SignedDocument]:
    """Every stored document ``actor`` (a local actor's IRI) authored or sent, oldest first;
    activities whole, as signed."""
    found = [SignedDocument("object", ap_id, doc) for ap_id, doc in await session.execute(
        select(objects.c.ap_id, objects.c.document).where(
            objects.c.attributed_to == actor, objects.c.is_local.is_(True))
        .order_by(objects.c.id))]
    found += [SignedDocument("activity", a.ap_id, a.document)
              for a in await activity_store.all_by_actor(session, actor)]
    return found


async def replace(session: AsyncSession, signed: SignedDocument) -> None:
    """Store ``signed.document`` in place of the one stored under its id; what embedded the
    replaced document keeps it (the ``objects_pin`` trigger of migration 0017,
    ``activities.replace``)."""
    if signed.kind == "activity":
        await activity_store.replace(session, signed.ap_id, signed.document)
        return
    await session.execute(update(objects).where(objects.c.ap_id == signed.ap_id)
                          .values(document=signed.document))
