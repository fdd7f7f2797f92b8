"""Signing in and out of the web interface: server-side sessions and login rate limiting.

Sessions (DESIGN.md, People-facing side; the issue "The people side"): the cookie carries a
random 256-bit id; the database keeps only its SHA-256, the user, a CSRF token (synchronizer
token pattern, OWASP CSRF Cheat Sheet) and an absolute expiry 14 days after sign-in. Server-side
rows rather than signed cookies so that signing out, disabling a user or deleting rows revokes a
session at once.

Rate limiting: at most ``MAX_FAILURES`` failed sign-ins per user name and
``MAX_FAILURES_PER_ADDRESS`` per client address within ``FAILURE_WINDOW`` (an address gets more:
several volunteers may share one village-hall connection). Counted in the database
(``login_failures``): the count survives a restart and is shared by every process of the node.
While a key is over its limit no password is checked at all, so a correct password is refused
too; a successful sign-in clears the user-name count (not the address count: one address may
try many names). Attempts refused for the limit are not counted, so the lock ends on time.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.services.context import NodeContext
from node.services.errors import AuthenticationError, ServiceError
from node.services.permissions import Caller
from node.services.users import check_password
from node.store import sessions as session_store

SESSION_LIFETIME = timedelta(days=14)
MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
_MAX_TOKEN = 128  # longer cookie values are not ours: do not even hash them


class TooManyAttemptsError(ServiceError):
    """Too many failed sign-ins for this user name or address; ``retry_after`` in seconds."""

    status = 429
    default_reason = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts", f"try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class WebSession:
    """A valid signed-in session: who, the CSRF token of its forms, when it ends."""

    caller: Caller
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class NewSession:
    token: str  # the secret for the cookie; only its hash is stored
    session: WebSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def throttle_keys(username: str, client: str | None) -> tuple[str, str]:
    """The two rate-limit keys of an attempt: its (normalised) user name and its address."""
    return f"user:{username.strip().lower()[:64]}", f"ip:{(client or 'unknown')[:64]}"


async def _retry_after(ctx: NodeContext, keys: tuple[str, str]) -> int | None:
    """Seconds until both keys are under their limits again, or None if neither is over."""
    now = ctx.now()
    wait = 0.0
    async with ctx.db.sessions() as session:
        for key, limit in zip(keys, (MAX_FAILURES, MAX_FAILURES_PER_ADDRESS), strict=True):
            recent = await session_store.failures_since(session, key, now - FAILURE_WINDOW, limit)
            if len(recent) >= limit:
                # Under the limit again once the oldest of the newest `limit` leaves the window.
                wait = max(wait, (recent[-1] + FAILURE_WINDOW - now).total_seconds())
    return max(1, math.ceil(wait)) if wait > 0 else None


async def sign_in(ctx: NodeContext, username: str, password: str, client: str | None,
                  previous_token: str | None = None) -> NewSession:
    """A new session for the right password; raises TooManyAttemptsError or AuthenticationError.

    ``previous_token`` (the session the browser had, if any) is revoked: a sign-in always starts
    a fresh session id, so an id planted before sign-in is worthless (session fixation).
    """
    keys = throttle_keys(username, client)
    retry_after = await _retry_after(ctx, keys)
    if retry_after is not None:
        raise TooManyAttemptsError(retry_after)
    try:
        caller = await check_password(ctx, username, password)
    except AuthenticationError:
        now = ctx.now()
        async with ctx.db.transaction() as session:
            await session_store.prune_failures(session, now - FAILURE_WINDOW)
            await session_store.add_failures(session, keys, now)
        raise
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = ctx.now()
    expires_at = now + SESSION_LIFETIME
    async with ctx.db.transaction() as session:
        await session_store.clear_failures(session, keys[0])
        await session_store.delete_expired(session, now)
        if previous_token and len(previous_token) <= _MAX_TOKEN:
            await session_store.delete_one(session, _hash(previous_token))
        await session_store.insert(session, id_hash=_hash(token), user_id=caller.user_id,
                                   csrf_token=csrf_token, created_at=now, expires_at=expires_at)
    return NewSession(token, WebSession(caller, csrf_token, expires_at))


async def session_for(ctx: NodeContext, token: str) -> WebSession | None:
    """The valid session behind a cookie value, or None (unknown, expired, user disabled)."""
    if not token or len(token) > _MAX_TOKEN:
        return None
    async with ctx.db.sessions() as session:
        row = await session_store.get_valid(session, _hash(token), ctx.now())
    if row is None:
        return None
    return WebSession(Caller(row.user_id, row.username, row.role), row.csrf_token, row.expires_at)


async def sign_out(ctx: NodeContext, token: str) -> None:
    """Revoke the session behind a cookie value (nothing happens for an unknown one)."""
    if not token or len(token) > _MAX_TOKEN:
        return
    async with ctx.db.transaction() as session:
        await session_store.delete_one(session, _hash(token))
