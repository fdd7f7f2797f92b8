"""The admin's pages (``/beheer``): peers and their queues, run-time blocks, failed deliveries.

Every action checks ``require_admin`` and writes one log line on ``kennisknoop.admin`` naming
the admin and the action (docs/pages.md, Beheer: log lines, no action table).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from node.services import policy, users
from node.services.actors import resolve_local
from node.services.context import NodeContext
from node.services.errors import NotFoundError, ValidationError
from node.services.permissions import Caller, require_admin
from node.store import actors as actor_store
from node.store import blocks as block_store
from node.store import deliveries as delivery_store
from node.store import flags as flag_store
from node.store import peers as peer_store
from node.store import users as user_store
from node.store.actors import StoredActor
from node.store.deliveries import Delivery
from node.store.users import StoredUser

log = logging.getLogger("kennisknoop.admin")
FAILED_SHOWN = 200


@dataclass(frozen=True)
class PeerRow:
    host: str
    status: str  # ok | failing | unavailable | blocked | unknown
    last_success_at: datetime | None
    waiting: int
    oldest_waiting: datetime | None
    blocked_reason: str | None


@dataclass(frozen=True)
class PeersView:
    mode: str  # open | allowlist (policy.configured_mode)
    allow: list[str]
    configured_block: list[str]
    peers: list[PeerRow]


def _status(peer: peer_store.Peer | None, blocked: bool) -> str:
    if blocked:
        return "blocked"
    if peer is None:
        return "unknown"
    if peer.unavailable_since is not None:
        return "unavailable"
    return "failing" if peer.failure_days else "ok"


async def peers_view(ctx: NodeContext, caller: Caller) -> PeersView:
    """Every host we deliver to, have heard from or block, with its health and queue."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        known = {p.host: p for p in await peer_store.all_peers(session)}
        queues = await delivery_store.waiting_by_host(session)
        blocks = {b.host: b for b in await block_store.list_all(session)}
        rule = await policy.rule(ctx, session)
    rows = []
    for host in sorted({*known, *queues, *blocks}):
        peer, queue = known.get(host), queues.get(host)
        blocked = host in blocks or not rule.allows(host)
        rows.append(PeerRow(host, _status(peer, blocked),
                            peer.last_success_at if peer else None,
                            queue.waiting if queue else 0, queue.oldest if queue else None,
                            blocks[host].reason if host in blocks else None))
    settings = ctx.settings.federation
    return PeersView(policy.configured_mode(ctx.settings), sorted(settings.allow),
                     sorted(settings.block), rows)


async def block_host(ctx: NodeContext, caller: Caller, host: str, reason: str | None) -> str:
    """Block ``host`` at run time (its content is hidden at once, not deleted)."""
    require_admin(caller)
    normalised, added, _ = await policy.block(ctx, host, reason=reason)
    log.info("admin %s blocked host %s (reason: %s; new: %s)", caller.username, normalised,
             reason or "-", added)
    return normalised


async def unblock_host(ctx: NodeContext, caller: Caller, host: str) -> str:
    require_admin(caller)
    normalised, removed = await policy.unblock(ctx, host)
    if not removed:
        raise NotFoundError("not_found", f"{normalised} is not blocked at run time")
    log.info("admin %s lifted the block of host %s", caller.username, normalised)
    return normalised


async def failed_deliveries(ctx: NodeContext, caller: Caller) -> list[Delivery]:
    """The deliveries given up on, newest first."""
    require_admin(caller)
    async with ctx.db.sessions() as session:
        return await delivery_store.failed(session, limit=FAILED_SHOWN)


async def retry_deliveries(ctx: NodeContext, caller: Caller, *, delivery_id: int | None = None,
                           host: str | None = None) -> int:
    """Queue failed deliveries again, due now: one by id, or all of a host."""
    require_admin(caller)
    async with ctx.db.transaction() as session:
        count = await delivery_store.retry_failed(session, ctx.now(), delivery_id=delivery_id,
                                                  host=host)
    if count == 0:
        raise NotFoundError("not_found", "no failed delivery to retry")
    log.info("admin %s retried %d failed deliveries (id %s, host %s)", caller.username, count,
             delivery_id if delivery_id is not None else "-", host or "-")
    return count


# --- users, roles and grants -------------------------------------------------------------------

MAX_INITIATIVES = 1000


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    created_at: datetime
    initiatives: list[StoredActor]  # the initiatives granted (an admin may edit every one)


@dataclass(frozen=True)
class UsersView:
    users: list[UserRow]
    initiatives: list[StoredActor]  # every local initiative, to grant


async def users_view(ctx: NodeContext, caller: Caller) -> UsersView:
    require_admin(caller)
    async with ctx.db.sessions() as session:
        everyone = await user_store.list_all(session)
        granted = await user_store.all_grants(session)
        initiatives = await actor_store.list_local(session, kind="initiative",
                                                   limit=MAX_INITIATIVES)
    rows = [UserRow(u.username, u.role, u.created_at,
                    [a for a in initiatives if a.id in granted.get(u.id, set())])
            for u in everyone]
    return UsersView(rows, initiatives)


async def create_user(ctx: NodeContext, caller: Caller, username: str, role: str,
                      password: str | None) -> tuple[Caller, str | None]:
    """Add a user with the admin's password, or a generated one returned to be shown once."""
    require_admin(caller)
    generated = None if password else secrets.token_urlsafe(12)
    created = await users.add_user(ctx, username, password or generated or "", role)
    log.info("admin %s added user %s (role %s, %s password)", caller.username, created.username,
             created.role, "generated" if generated else "admin-set")
    return created, generated


async def _user(session: AsyncSession, username: str) -> StoredUser:
    user = await user_store.get(session, username)
    if user is None:
        raise NotFoundError("not_found", f"no user {username!r}")
    return user


def _not_self(caller: Caller, username: str, what: str) -> None:
    # An admin never locks themselves (and perhaps the last admin) out from the web page.
    if username.lower() == caller.username:
        raise ValidationError("bad_value", f"an admin cannot {what} their own account",
                              field="username")


async def set_role(ctx: NodeContext, caller: Caller, username: str, role: str) -> None:
    require_admin(caller)
    if role not in users.ROLES:
        raise ValidationError("bad_value", f"role must be one of {', '.join(users.ROLES)}",
                              field="role")
    _not_self(caller, username, "change the role of")
    async with ctx.db.transaction() as session:
        user = await _user(session, username)
        await user_store.set_role(session, user.id, role)
    log.info("admin %s set the role of %s to %s", caller.username, user.username, role)


async def set_grant(ctx: NodeContext, caller: Caller, username: str, handle: str, *,
                    granted: bool) -> None:
    """Grant (or revoke) an editor the right to edit a local initiative."""
    require_admin(caller)
    async with ctx.db.transaction() as session:
        user = await _user(session, username)
        actor = await resolve_local(session, ctx, handle)
        if actor.kind != "initiative":
            raise ValidationError("bad_value", "only an initiative is granted", field="handle")
        if granted:
            await user_store.grant(session, user.id, actor.id)
        else:
            await user_store.revoke(session, user.id, actor.id)
    log.info("admin %s %s %s on initiative %s", caller.username,
             "granted" if granted else "revoked", user.username, actor.handle)


async def delete_user(ctx: NodeContext, caller: Caller, username: str) -> None:
    require_admin(caller)
    _not_self(caller, username, "delete")
    async with ctx.db.transaction() as session:
        user = await _user(session, username)
        await user_store.delete_user(session, user.id)
    log.info("admin %s deleted user %s", caller.username, user.username)


# --- reports -----------------------------------------------------------------------------------


async def resolve_report(ctx: NodeContext, caller: Caller, flag_id: int) -> None:
    """Mark a received report (``Flag``) as dealt with."""
    require_admin(caller)
    async with ctx.db.transaction() as session:
        if not await flag_store.resolve(session, flag_id):
            raise NotFoundError("not_found", f"no open report {flag_id}")
    log.info("admin %s resolved report %d", caller.username, flag_id)
