"""Actors aggregate: local actors (node, initiatives) with their keys, and cached remote actors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._memo import MISSING, Memo
from node.store._rows import to_dataclass
from node.store.db import Database
from node.store.schema import actors

# Actors by ap_id, by key id, the node actor and local actors by handle: read on every signed
# request and every delivery, written rarely (a key rotation, a profile edit, a refetched remote
# actor). Any write here forgets them all (node.store._memo).
_memo = Memo("actors")


async def _one(session: AsyncSession, key: tuple[str, ...], query: Callable[[], Any]
               ) -> StoredActor | None:
    """The first row of ``query()`` as a StoredActor, held in memory under ``key`` once found.

    The query is built only when nothing is held: building a SQLAlchemy select costs more than
    the lookup it would be skipped for (the inbox asks for its signer's key on every request).
    """
    held = _memo.get(session, key)
    if held is not MISSING:
        return held  # type: ignore[no-any-return]
    generation = _memo.generation(session)
    row = (await session.execute(query())).mappings().first()
    if row is None:
        return None
    found = to_dataclass(StoredActor, row)
    _memo.put(session, key, found, generation)
    return found


async def held_list(session: AsyncSession, key: tuple[Any, ...], query: Callable[[], Any]
                    ) -> list[StoredActor]:
    """Every row of ``query()`` as StoredActors, held in memory under ``key`` (a copy each time).

    For lists of actors that change only when actors or follows are written (the theme actors,
    an actor's followers): ``node.store.follows`` forgets them when it writes a follow. As for
    :func:`_one`, the query is built only when nothing is held (a create asks for the followers
    of each of its four activities' actors).
    """
    held = _memo.get(session, key)
    if held is MISSING:
        generation = _memo.generation(session)
        rows = (await session.execute(query())).mappings().all()
        held = tuple(to_dataclass(StoredActor, r) for r in rows)
        _memo.put(session, key, held, generation)
    return list(held)


def forget(session: AsyncSession) -> None:
    """Actor rows, or follows, were written outside this module (a host's purge, a follow):
    forget every held actor and list of actors."""
    _memo.drop(session)


@dataclass(frozen=True)
class StoredActor:
    id: int
    ap_id: str
    is_local: bool
    kind: str
    handle: str | None
    host: str
    type: str
    preferred_username: str | None
    name: str | None
    summary: str | None
    inbox: str | None
    outbox: str | None
    followers: str | None
    following: str | None
    shared_inbox: str | None
    rsa_key_id: str | None
    rsa_public_pem: str | None
    rsa_private_pem: str | None
    ed_key_id: str | None
    ed_public_multibase: str | None
    ed_private_pem: str | None
    profile: dict[str, Any]
    document: dict[str, Any] | None
    version: int
    published: datetime
    updated: datetime
    fetched_at: datetime | None
    deleted_at: datetime | None
    approves_followers: bool = False  # Follows wait for an editor (manuallyApprovesFollowers)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


async def get(session: AsyncSession, ap_id: str) -> StoredActor | None:
    return await _one(session, ("ap_id", ap_id),
                      lambda: select(actors).where(actors.c.ap_id == ap_id))



async def get_local(session: AsyncSession, handle: str) -> StoredActor | None:
    """A local actor by handle (handles are compared lower-cased)."""
    handle = handle.lower()
    return await _one(session, ("local", handle), lambda: select(actors).where(
        actors.c.handle == handle, actors.c.is_local.is_(True)))


async def get_node(session: AsyncSession) -> StoredActor | None:
    return await _one(session, ("node",), lambda: select(actors).where(
        actors.c.kind == "node", actors.c.is_local.is_(True)))


async def insert(session: AsyncSession, **values: Any) -> StoredActor:
    _memo.drop(session)
    result = await session.execute(actors.insert().values(**values).returning(*actors.c))
    return to_dataclass(StoredActor, result.mappings().one())


async def update_values(session: AsyncSession, ap_id: str, **values: Any) -> StoredActor:
    _memo.drop(session)
    query = update(actors).where(actors.c.ap_id == ap_id).values(**values).returning(*actors.c)
    return to_dataclass(StoredActor, (await session.execute(query)).mappings().one())


async def list_local(session: AsyncSession, *, kind: str | None = None, include_deleted: bool =
                     False, limit: int = 100, offset: int = 0) -> list[StoredActor]:
    def query() -> Any:
        found = select(actors).where(actors.c.is_local.is_(True))
        if kind:
            found = found.where(actors.c.kind == kind)
        if not include_deleted:
            found = found.where(actors.c.deleted_at.is_(None))
        return found.order_by(actors.c.name, actors.c.id).limit(limit).offset(offset)

    return await held_list(session, ("list_local", kind, include_deleted, limit, offset), query)


async def count_local(session: AsyncSession, *, kind: str | None = None) -> int:
    query = select(func.count()).select_from(actors).where(
        actors.c.is_local.is_(True), actors.c.deleted_at.is_(None))
    if kind:
        query = query.where(actors.c.kind == kind)
    return int((await session.execute(query)).scalar_one())


def held_by_key_id(db: Database, key_id: str) -> StoredActor | None:
    """``get_by_key_id``'s actor as held in memory, None when it is not held: without a
    session, for a path that reads nothing when it is held (the inbox's signer)."""
    held = _memo.get_held(db.engine.sync_engine, ("key_id", key_id))
    return None if held is MISSING else held


async def get_by_key_id(session: AsyncSession, key_id: str) -> StoredActor | None:
    """The actor publishing ``key_id`` (RSA or Ed25519)."""
    return await _one(session, ("key_id", key_id), lambda: select(actors).where(
        (actors.c.rsa_key_id == key_id) | (actors.c.ed_key_id == key_id)))


async def upsert_remote(session: AsyncSession, ap_id: str, **values: Any) -> StoredActor:
    """Insert or refresh a cached remote actor (never touches local actors)."""
    existing = await get(session, ap_id)
    if existing is None:
        values.setdefault("kind", "remote")
        return await insert(session, ap_id=ap_id, is_local=False, **values)
    if existing.is_local:
        raise ValueError(f"refusing to overwrite local actor {ap_id}")
    values.pop("published", None)
    return await update_values(session, ap_id, **values)


async def page_local_initiatives(session: AsyncSession, *, limit: int, offset: int = 0
                                 ) -> list[StoredActor]:
    """Local initiatives, deleted ones too, in creation order (stable pages for followers)."""
    query = (select(actors).where(actors.c.is_local.is_(True), actors.c.kind == "initiative")
             .order_by(actors.c.id).limit(limit).offset(offset))
    return [to_dataclass(StoredActor, r) for r in (await session.execute(query)).mappings()]


async def count_local_initiatives(session: AsyncSession) -> int:
    """Local initiatives, deleted ones too (the entries of the ``initiatives`` collection)."""
    query = select(func.count()).select_from(actors).where(
        actors.c.is_local.is_(True), actors.c.kind == "initiative")
    return int((await session.execute(query)).scalar_one())


async def list_initiatives(session: AsyncSession, *, origin: str = "all") -> list[StoredActor]:
    """Live initiatives, local and received (``origin``: all, local or remote), by name."""
    query = select(actors).where(actors.c.kind == "initiative", actors.c.deleted_at.is_(None))
    if origin == "local":
        query = query.where(actors.c.is_local.is_(True))
    elif origin == "remote":
        query = query.where(actors.c.is_local.is_(False))
    query = query.order_by(func.lower(actors.c.name), actors.c.id)
    return [to_dataclass(StoredActor, r) for r in (await session.execute(query)).mappings()]
