"""Blocks aggregate: hosts blocked at run time, and the host rule as SQL conditions.

``HostRule`` is the whole federation policy as a value (configured ``federation.block``/``allow``
and the ``blocks`` table together, built by ``node.services.policy``); ``visible`` turns it into
the condition every listing of received content applies, so a block hides stored content at once
and an unblock shows it again without touching the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import actors as actor_store
from node.store._memo import MISSING, Memo
from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
from node.store.db import Database
from node.store.schema import (
    activities,
    actors,
    blocks,
    deliveries,
    feed,
    follows,
    inbox,
    object_versions,
    objects,
)


def matches(host: str, entry: str) -> bool:
    """Whether a normalised ``host[:port]`` falls under a policy entry: the entry itself, on
    any port unless the entry names one, and (for a block) every subdomain, as Mastodon's
    domain blocks do."""
    if host == entry:
        return True
    if ":" not in entry.strip("[]") or entry.startswith("["):
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 or "]:" in host else host
        return name == entry or name.endswith("." + entry)
    return host.endswith("." + entry)


@dataclass(frozen=True)
class HostRule:
    """Which hosts this node federates with; hosts in the normalised ``host[:port]`` form.

    A blocked entry covers its subdomains and every port; an allowed one (allowlist mode) its
    subdomains too, so ``allow = ["drenthe.nl"]`` takes in ``kennis.drenthe.nl``.
    """

    blocked: frozenset[str] = frozenset()
    allowed: frozenset[str] | None = None  # None: open; else only these (allowlist mode)

    def allows(self, host: str) -> bool:
        if any(matches(host, entry) for entry in self.blocked):
            return False
        return self.allowed is None or any(matches(host, entry) for entry in self.allowed)


@dataclass(frozen=True)
class StoredBlock:
    host: str
    created_at: datetime
    reason: str | None


def visible(host: Any, is_local: Any, rule: HostRule) -> Any:
    """A condition: the row is local, or its ``host`` column is a host ``rule`` allows."""
    conds = []
    if rule.blocked:
        conds.append(~_matching(host, rule.blocked))
    if rule.allowed is not None:
        conds.append(_matching(host, rule.allowed))
    return or_(is_local.is_(True), and_(*conds)) if conds else true()


def _matching(host: Any, entries: frozenset[str]) -> Any:
    """SQL for ``matches``: the host, the host on any port, a subdomain on any port."""
    conds: list[Any] = [host.in_(sorted(entries))]
    for entry in sorted(entries):
        conds.append(host.endswith("." + entry, autoescape=True))
        if ":" not in entry.strip("[]") or entry.startswith("["):
            conds += [host.startswith(entry + ":", autoescape=True),
                      host.contains("." + entry + ":", autoescape=True)]
    return or_(*conds)


# The blocked hosts, read by every policy check (each request, fetch and delivery); written by
# ``add`` and ``remove`` only (node.store._memo).
_memo = Memo("blocks")


def held_hosts(db: Database) -> frozenset[str] | None:
    """The blocked hosts as held in memory (``hosts``), None when not held: without a session,
    for a path that reads nothing when they are held."""
    held = _memo.get_held(db.engine.sync_engine, "hosts")
    return None if held is MISSING else held


async def hosts(session: AsyncSession) -> frozenset[str]:
    held = _memo.get(session, "hosts")
    if held is not MISSING:
        return held  # type: ignore[no-any-return]
    generation = _memo.generation(session)
    found = frozenset((await session.execute(select(blocks.c.host))).scalars().all())
    _memo.put(session, "hosts", found, generation)
    return found


async def list_all(session: AsyncSession) -> list[StoredBlock]:
    rows = (await session.execute(select(blocks).order_by(blocks.c.host))).mappings().all()
    return [to_dataclass(StoredBlock, r) for r in rows]


async def add(session: AsyncSession, host: str, *, now: datetime, reason: str | None = None
              ) -> bool:
    """Block ``host``; False when it was blocked already."""
    _memo.drop(session)
    return bool(await insert_ignore(session, blocks, [{"host": host, "created_at": now,
                                                       "reason": reason}], ["host"]))


async def remove(session: AsyncSession, host: str) -> bool:
    """Unblock ``host``; False when it was not blocked (here: the config may still block it)."""
    _memo.drop(session)
    result = await session.execute(delete(blocks).where(blocks.c.host == host))
    return bool(getattr(result, "rowcount", 0))


async def purge(session: AsyncSession, host: str) -> int:
    """Delete what is stored from ``host``: its objects (with the feed entries and our relays of
    them), its cached actors and their follows, its queued inbox rows and pending deliveries.

    Returns the number of objects deleted.
    """
    remote_objects = select(objects.c.ap_id).where(objects.c.host == host,
                                                   objects.c.is_local.is_(False))
    remote_actors = select(actors.c.ap_id).where(actors.c.host == host,
                                                 actors.c.is_local.is_(False))
    await session.execute(delete(feed).where(feed.c.object_ap_id.in_(remote_objects)))
    await session.execute(delete(activities).where(activities.c.object_ap_id.in_(remote_objects)))
    await session.execute(delete(object_versions).where(
        object_versions.c.ap_id.in_(remote_objects)))
    result = await session.execute(delete(objects).where(objects.c.host == host,
                                                         objects.c.is_local.is_(False)))
    await session.execute(delete(follows).where(or_(follows.c.follower.in_(remote_actors),
                                                    follows.c.followee.in_(remote_actors))))
    await session.execute(delete(actors).where(actors.c.host == host,
                                               actors.c.is_local.is_(False)))
    actor_store.forget(session)
    await session.execute(delete(inbox).where(inbox.c.host == host, inbox.c.state == "pending"))
    await session.execute(delete(deliveries).where(deliveries.c.host == host,
                                                   deliveries.c.state == "pending"))
    return int(getattr(result, "rowcount", 0) or 0)
