"""Peers aggregate: per-host delivery health (failures on distinct days, unavailable since)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._memo import MISSING, Memo
from node.store._rows import to_dataclass
from node.store._upsert import dialect_insert_for, dialect_name, insert_ignore
from node.store.db import Database
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


# A peer by host: read for every signed request received and every delivery, written when its
# health changes (and on each delivery's outcome); only by this module (node.store._memo).
_memo = Memo("peers")


async def get(session: AsyncSession, host: str) -> Peer | None:
    held = _memo.get(session, host)
    if held is not MISSING:
        return held  # type: ignore[no-any-return]
    generation = _memo.generation(session)
    row = (await session.execute(select(peers).where(peers.c.host == host))).mappings().first()
    if row is None:
        return None
    peer = to_dataclass(Peer, row)
    _memo.put(session, host, peer, generation)
    return peer


def held(db: Database, host: str) -> Peer | None:
    """The peer ``host`` as held in memory, None when it is not held (not read lately, or
    changed since): without a session, for a path that reads nothing when it is held."""
    peer = _memo.get_held(db.engine.sync_engine, host)
    return None if peer is MISSING else peer


async def ensure(session: AsyncSession, host: str) -> Peer:
    """The peer ``host``, added (healthy, cavage) when it is new."""
    peer = await get(session, host)
    if peer is not None:
        return peer
    _memo.drop(session, host)
    await insert_ignore(session, peers, [{"host": host, "accepts_rfc9421": False,
                                          "failure_days": []}], ["host"])
    peer = await get(session, host)
    assert peer is not None
    return peer


async def set_values(session: AsyncSession, host: str, *, known: Peer | None = None,
                     **values: Any) -> None:
    """Write ``values`` to the peer ``host``, adding it when it is new (one statement).

    ``known``: the peer as just read in this transaction; it is then held in memory with
    ``values`` once the transaction commits, without reading it back.
    """
    if known is not None:
        _memo.put_after_commit(session, host, replace(known, **values))
    else:
        _memo.drop(session, host)
    row = {"host": host, "accepts_rfc9421": False, "failure_days": [], **values}
    await session.execute(_upsert(dialect_name(session), tuple(row), tuple(values)),
                          {f"v_{name}": value for name, value in row.items()})


# (dialect, columns inserted, columns set on conflict) -> the statement, built once
_UPSERTS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], Any] = {}


def _upsert(dialect: str, columns: tuple[str, ...], updated: tuple[str, ...]) -> Any:
    """``INSERT … ON CONFLICT (host) DO UPDATE`` of ``set_values``, built once per column set:
    its values are parameters (``v_<column>``) and the conflict sets each updated column to the
    value proposed for it, so a delivery's outcome does not build, coerce and walk a new
    statement (with its cache key) every time."""
    key = (dialect, columns, updated)
    stmt = _UPSERTS.get(key)
    if stmt is None:
        insert = dialect_insert_for(dialect, peers).values(
            {name: bindparam(f"v_{name}", type_=peers.c[name].type) for name in columns})
        stmt = _UPSERTS[key] = insert.on_conflict_do_update(
            index_elements=["host"], set_={name: insert.excluded[name] for name in updated})
    return stmt


async def all_peers(session: AsyncSession) -> list[Peer]:
    """Every peer, by host."""
    query = select(peers).order_by(peers.c.host)
    return [to_dataclass(Peer, r) for r in (await session.execute(query)).mappings()]
