"""Web sessions aggregate: signed-in browser sessions and the failed sign-ins that throttle them.

A session row is keyed by the SHA-256 of the random id in the cookie (the id itself is never
stored); it is valid until ``expires_at`` and only while its user is not disabled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.schema import login_failures, users, web_sessions


@dataclass(frozen=True)
class StoredWebSession:
    id_hash: str
    user_id: int
    username: str
    role: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


async def insert(session: AsyncSession, *, id_hash: str, user_id: int, csrf_token: str,
                 created_at: datetime, expires_at: datetime) -> None:
    await session.execute(web_sessions.insert().values(
        id_hash=id_hash, user_id=user_id, csrf_token=csrf_token, created_at=created_at,
        expires_at=expires_at))


async def get_valid(session: AsyncSession, id_hash: str, now: datetime
                    ) -> StoredWebSession | None:
    """The unexpired session with this hash, joined with its (enabled) user."""
    query = (select(web_sessions.c.id_hash, web_sessions.c.user_id, users.c.username,
                    users.c.role, web_sessions.c.csrf_token, web_sessions.c.created_at,
                    web_sessions.c.expires_at)
             .join(users, users.c.id == web_sessions.c.user_id)
             .where(web_sessions.c.id_hash == id_hash, web_sessions.c.expires_at > now,
                    users.c.disabled.is_(False)))
    row = (await session.execute(query)).mappings().first()
    return StoredWebSession(**row) if row else None


async def delete_one(session: AsyncSession, id_hash: str) -> None:
    await session.execute(delete(web_sessions).where(web_sessions.c.id_hash == id_hash))


async def delete_expired(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))


async def add_failures(session: AsyncSession, keys: Iterable[str], now: datetime) -> None:
    await session.execute(login_failures.insert(),
                          [{"key": key, "failed_at": now} for key in keys])


async def failures_since(session: AsyncSession, key: str, since: datetime, limit: int
                         ) -> list[datetime]:
    """The newest ``limit`` failure times of ``key`` after ``since``, newest first."""
    query = (select(login_failures.c.failed_at)
             .where(login_failures.c.key == key, login_failures.c.failed_at > since)
             .order_by(login_failures.c.failed_at.desc()).limit(limit))
    return [row[0] for row in await session.execute(query)]


async def clear_failures(session: AsyncSession, key: str) -> None:
    await session.execute(delete(login_failures).where(login_failures.c.key == key))


async def prune_failures(session: AsyncSession, before: datetime) -> None:
    await session.execute(delete(login_failures).where(login_failures.c.failed_at <= before))
