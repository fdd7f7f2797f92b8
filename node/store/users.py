"""Users aggregate: editors and admins, their grants on actors, and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store._rows import to_dataclass
from node.store.db import Database
from node.store.schema import grants, tokens, users


@dataclass(frozen=True)
class StoredUser:
    id: int
    username: str
    password_hash: str
    role: str
    created_at: datetime
    disabled: bool


async def get(session: AsyncSession, username: str) -> StoredUser | None:
    query = select(users).where(users.c.username == username.lower())
    row = (await session.execute(query)).mappings().first()
    return to_dataclass(StoredUser, row) if row else None


async def insert(session: AsyncSession, *, username: str, password_hash: str, role: str,
                 now: datetime) -> StoredUser:
    query = users.insert().values(username=username.lower(), password_hash=password_hash,
                                  role=role, created_at=now, disabled=False).returning(*users.c)
    return to_dataclass(StoredUser, (await session.execute(query)).mappings().one())


async def set_password(session: AsyncSession, user_id: int, password_hash: str) -> None:
    await session.execute(update(users).where(users.c.id == user_id)
                          .values(password_hash=password_hash))


async def grant(session: AsyncSession, user_id: int, actor_id: int) -> None:
    exists = await session.execute(select(grants).where(grants.c.user_id == user_id,
                                                        grants.c.actor_id == actor_id))
    if exists.first() is None:
        await session.execute(grants.insert().values(user_id=user_id, actor_id=actor_id))


async def revoke(session: AsyncSession, user_id: int, actor_id: int) -> None:
    await session.execute(delete(grants).where(grants.c.user_id == user_id,
                                               grants.c.actor_id == actor_id))


async def granted_actor_ids(session: AsyncSession, user_id: int) -> set[int]:
    rows = await session.execute(select(grants.c.actor_id).where(grants.c.user_id == user_id))
    return {int(r[0]) for r in rows}


async def add_token(session: AsyncSession, user_id: int, token_hash: str, now: datetime) -> None:
    await session.execute(tokens.insert().values(user_id=user_id, token_hash=token_hash,
                                                 created_at=now))


_CALLER = (select(users.c.id, users.c.username, users.c.role)
           .join(tokens, tokens.c.user_id == users.c.id)
           .where(tokens.c.token_hash == bindparam("token_hash"), users.c.disabled.is_(False)))


async def caller_for_token(db: Database, token_hash: str) -> tuple[int, str, str] | None:
    """(id, username, role) of the enabled user holding the token with ``token_hash``: what
    every authenticated API request asks first, one prebuilt read by key with no session
    (``Database.first``; docs/performance.md, "Create: what the API adds")."""
    row = await db.first(_CALLER, {"token_hash": token_hash})
    return (int(row[0]), str(row[1]), str(row[2])) if row else None


async def list_all(session: AsyncSession) -> list[StoredUser]:
    """Every user, by name."""
    rows = await session.execute(select(users).order_by(users.c.username))
    return [to_dataclass(StoredUser, r) for r in rows.mappings()]


async def all_grants(session: AsyncSession) -> dict[int, set[int]]:
    """``{user id: granted actor ids}`` of every user with a grant."""
    out: dict[int, set[int]] = {}
    for user_id, actor_id in await session.execute(select(grants.c.user_id, grants.c.actor_id)):
        out.setdefault(int(user_id), set()).add(int(actor_id))
    return out


async def set_role(session: AsyncSession, user_id: int, role: str) -> None:
    await session.execute(update(users).where(users.c.id == user_id).values(role=role))


async def delete_user(session: AsyncSession, user_id: int) -> None:
    """Delete a user; grants, tokens and sessions go with it (ON DELETE CASCADE)."""
    await session.execute(delete(users).where(users.c.id == user_id))
