"""Deliveries aggregate: the durable outgoing queue, one row per (activity, inbox).

Rows are claimed with a lease (``locked_until``) so a crashed worker's rows come back by
themselves: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite one ``UPDATE … RETURNING``
statement, which SQLite runs under its single write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import _claim
from node.store._rows import to_dataclass
from node.store._upsert import insert_ignore
from node.store.db import wake_after_commit
from node.store.schema import deliveries


@dataclass(frozen=True)
class Delivery:
    id: int
    activity_ap_id: str
    inbox_url: str
    host: str
    signer: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    locked_until: datetime | None
    last_status: int | None
    last_error: str | None
    sent_at: datetime | None


async def enqueue(session: AsyncSession, *, activity_ap_id: str, signer: str,
                  inboxes: list[tuple[str, str]], now: datetime) -> int:
    """Queue ``activity_ap_id`` for each ``(inbox_url, host)``; duplicates are ignored."""
    queued = rows(activity_ap_id=activity_ap_id, signer=signer, inboxes=inboxes, now=now)
    if queued:
        wake_after_commit(session)
    return await insert_ignore(session, deliveries, queued, ["activity_ap_id", "inbox_url"])


def rows(*, activity_ap_id: str, signer: str, inboxes: list[tuple[str, str]], now: datetime
         ) -> list[dict[str, object]]:
    """The rows :func:`enqueue` writes (for :func:`enqueue_rows`)."""
    return [{"activity_ap_id": activity_ap_id, "inbox_url": url, "host": host, "signer": signer,
             "state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now}
            for url, host in dict.fromkeys(inboxes)]


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, object]], *,
                       chunk: int = 500) -> int:
    """Queue many deliveries (rows as ``enqueue`` makes them), ``chunk`` rows per statement;
    duplicates are ignored."""
    done = 0
    if rows:
        wake_after_commit(session)
    for at in range(0, len(rows), chunk):
        done += await insert_ignore(session, deliveries, rows[at:at + chunk],
                                    ["activity_ap_id", "inbox_url"])
    return done


async def claim(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta
                ) -> list[Delivery]:
    """Lease up to ``limit`` due rows to this worker; other workers skip them."""
    rows = await _claim.claim(session, deliveries, now=now, limit=limit, lease=lease,
                              order_by=[deliveries.c.next_attempt_at, deliveries.c.id])
    return [to_dataclass(Delivery, r) for r in rows]


async def renew(session: AsyncSession, row_ids: Sequence[int], *, now: datetime,
                lease: timedelta) -> int:
    """Extend the lease of the rows ``row_ids`` this worker is still working."""
    return await _claim.renew(session, deliveries, row_ids, now=now, lease=lease)


async def finish(session: AsyncSession, delivery_id: int, **outcome: Unpack[_claim.DeliveryOutcome]) -> None:
    """Release the lease on the row and write the step's outcome."""
    await _claim.finish(session, deliveries, delivery_id, outcome)


async def finish_sent(session: AsyncSession, delivery_ids: list[int], *, sent_at: datetime,
                      last_status: int) -> None:
    """Release the leases on the rows ``delivery_ids`` (each leased to this worker) and mark
    them sent, one more attempt each: the outcomes of one round in one statement."""
    await session.execute(_FINISH_SENT, {"w_ids": delivery_ids, "w_sent_at": sent_at,
                                         "w_status": last_status})


def _finish_sent() -> Any:
    """``finish_sent``'s statement, built once (the ids an expanding parameter): a round's
    outcomes do not build, coerce and walk a new ``UPDATE`` every time."""
    c = deliveries.c
    return update(deliveries).where(c.id.in_(bindparam("w_ids", expanding=True))).values(
        locked_until=None, state="sent",
        sent_at=bindparam("w_sent_at", type_=c.sent_at.type), attempts=c.attempts + 1,
        last_status=bindparam("w_status", type_=c.last_status.type), last_error=None)


_FINISH_SENT = _finish_sent()


async def resume_host(session: AsyncSession, host: str, now: datetime) -> int:
    """Everything waiting for ``host`` becomes due now (the peer answered again)."""
    c = deliveries.c
    result = await session.execute(update(deliveries).where(
        c.host == host, c.state == "pending", c.next_attempt_at > now).values(next_attempt_at=now))
    resumed = int(getattr(result, "rowcount", 0) or 0)
    if resumed:
        wake_after_commit(session)
    return resumed


async def counts(session: AsyncSession) -> dict[str, int]:
    c = deliveries.c
    rows = await session.execute(select(c.state, func.count()).group_by(c.state))
    return {str(state): int(n) for state, n in rows}


async def delete_finished(session: AsyncSession, *, finished_before: datetime) -> int:
    """Delete sent and given-up deliveries that finished before then.

    A sent row finished at ``sent_at``; a given-up one at its last ``next_attempt_at``.
    """
    c = deliveries.c
    result = await session.execute(delete(deliveries).where(
        c.state.in_(("sent", "failed")),
        func.coalesce(c.sent_at, c.next_attempt_at) < finished_before))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class HostQueue:
    """What waits for one host: how many deliveries, and since when the oldest."""

    host: str
    waiting: int
    oldest: datetime


async def waiting_by_host(session: AsyncSession) -> dict[str, HostQueue]:
    """The pending deliveries per host (the admin's peer page)."""
    c = deliveries.c
    rows = await session.execute(select(c.host, func.count(), func.min(c.created_at))
                                 .where(c.state == "pending").group_by(c.host))
    return {str(host): HostQueue(str(host), int(n), oldest) for host, n, oldest in rows}


async def failed(session: AsyncSession, *, limit: int) -> list[Delivery]:
    """The deliveries given up on, newest first."""
    c = deliveries.c
    query = (select(deliveries).where(c.state == "failed")
             .order_by(c.next_attempt_at.desc(), c.id.desc()).limit(limit))
    return [to_dataclass(Delivery, r) for r in (await session.execute(query)).mappings()]


async def retry_failed(session: AsyncSession, now: datetime, *, delivery_id: int | None = None,
                       host: str | None = None) -> int:
    """Put given-up deliveries (one, or all of a host) back in the queue, due now."""
    c = deliveries.c
    query = update(deliveries).where(c.state == "failed")
    if delivery_id is not None:
        query = query.where(c.id == delivery_id)
    if host is not None:
        query = query.where(c.host == host)
    result = await session.execute(query.values(state="pending", next_attempt_at=now,
                                                locked_until=None))
    retried = int(getattr(result, "rowcount", 0) or 0)
    if retried:
        wake_after_commit(session)
    return retried
