"""Use cases for people: adding editors and admins, passwords (argon2), API bearer tokens."""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2.exceptions import InvalidHashError, VerificationError

from node.services.actors import resolve_local
from node.services.context import NodeContext
from node.services.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from node.services.permissions import Caller
from node.store import users as user_store

ROLES = ("admin", "editor")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}$")
MIN_PASSWORD = 10


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_user(ctx: NodeContext, username: str, password: str, role: str) -> Caller:
    """Create a user; the password is stored as an argon2id hash."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError("bad_value", "username: 2-63 of a-z 0-9 _ . -", field="username")
    if role not in ROLES:
        raise ValidationError("bad_value", f"role must be one of {', '.join(ROLES)}", field="role")
    if len(password) < MIN_PASSWORD:
        raise ValidationError("bad_value", f"password: at least {MIN_PASSWORD} characters",
                              field="password")
    async with ctx.db.transaction() as session:
        if await user_store.get(session, username) is not None:
            raise ConflictError("username_taken", f"user {username!r} exists", field="username")
        user = await user_store.insert(session, username=username,
                                       password_hash=ctx.password_hasher.hash(password), role=role,
                                       now=ctx.now())
    return Caller(user.id, user.username, user.role)


async def check_password(ctx: NodeContext, username: str, password: str) -> Caller:
    """The user if the password is right; AuthenticationError otherwise (same for unknown users)."""
    async with ctx.db.sessions() as session:
        user = await user_store.get(session, username.strip().lower())
    hasher = ctx.password_hasher
    try:
        if user is None or user.disabled:
            hasher.hash(password)  # same cost either way: no user enumeration by timing
            raise AuthenticationError("bad_credentials", "wrong username or password")
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError) as exc:
        raise AuthenticationError("bad_credentials", "wrong username or password") from exc
    return Caller(user.id, user.username, user.role)


async def create_token(ctx: NodeContext, username: str) -> str:
    """A new bearer token for ``username``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    async with ctx.db.transaction() as session:
        user = await user_store.get(session, username.strip().lower())
        if user is None:
            raise NotFoundError("not_found", f"no user {username!r}")
        await user_store.add_token(session, user.id, _token_hash(token), ctx.now())
    return token


async def caller_for_token(ctx: NodeContext, token: str) -> Caller:
    found = await user_store.caller_for_token(ctx.db, _token_hash(token))
    if found is None:
        raise AuthenticationError("bad_token", "unknown or revoked token")
    return Caller(*found)


async def grant(ctx: NodeContext, username: str, actor_ref: str) -> None:
    """Let an editor edit a local initiative and its items."""
    async with ctx.db.transaction() as session:
        user = await user_store.get(session, username.strip().lower())
        if user is None:
            raise NotFoundError("not_found", f"no user {username!r}")
        actor = await resolve_local(session, ctx, actor_ref)
        await user_store.grant(session, user.id, actor.id)
