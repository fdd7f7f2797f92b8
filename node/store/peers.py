"""Peers aggregate: per-host delivery health (failures on distinct days, unavailable since)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
from node.store.schema import peers


@dataclass(frozen=True)
class Peer:
    host: str
    software: str | None
    accepts_rfc9421: bool
    failure_days: list[str]
    unavailable_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None


async def get(session: AsyncSession, host: str) -> Peer | None:
    row = (await session.execute(select(peers).where(peers.c.host == host))).mappings().first()
    return to_dataclass(Peer, row) if row else None


async def ensure(session: AsyncSession, host: str) -> Peer:
    await insert_ignore(session, peers, [{"host": host, "accepts_rfc9421": False,
                                          "failure_days": []}], ["host"])
    peer = await get(session, host)
    assert peer is not None
    return peer


async def set_values(session: AsyncSession, host: str, **values: object) -> None:
    await ensure(session, host)
    await session.execute(update(peers).where(peers.c.host == host).values(**values))


async def all_peers(session: AsyncSession) -> list[Peer]:
    """Every peer, by host."""
    query = select(peers).order_by(peers.c.host)
    return [to_dataclass(Peer, r) for r in (await session.execute(query)).mappings()]
