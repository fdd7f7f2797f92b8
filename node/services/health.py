"""Liveness, readiness and metrics of a node (``/healthz``, ``/readyz``, ``/metrics``;
docs/operations.md).

Ready means: the database answers, its schema is at the migrations' head, and a worker wrote
a heartbeat within ``HEARTBEAT_FRESH`` (``node.worker`` beats every ``worker.BEAT_SECONDS``).
Each check reports ``ok`` and a short reason, so an operator sees which one failed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from node.services.context import NodeContext
from node.store import workers as worker_store

log = logging.getLogger("kennisknoop.health")

HEARTBEAT_FRESH = timedelta(minutes=1)
DATABASE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks.values())


async def readiness(ctx: NodeContext) -> Readiness:
    """Run the three checks; a failing database makes the other two fail too."""
    try:
        return await asyncio.wait_for(_checks(ctx), DATABASE_TIMEOUT)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("readiness: database unreachable: %s", exc)
        down = Check(False, "database unreachable")
        return Readiness({"database": Check(False, f"{type(exc).__name__}"),
                          "migrations": down, "worker": down})


async def _checks(ctx: NodeContext) -> Readiness:
    from node.store import migrate  # imports Alembic: only when a probe asks

    now = ctx.now()
    async with ctx.db.sessions() as session:
        await session.execute(text("SELECT 1"))
        current = await migrate.current_revision(session)
        beat = await worker_store.last_beat(session)
    head = await asyncio.to_thread(migrate.head_revision)  # reads the scripts once, cached
    checks = {"database": Check(True, "reachable")}
    checks["migrations"] = (Check(True, f"at {head}") if current == head else
                            Check(False, f"at {current or 'nothing'}, code expects {head}: "
                                  "run `kennisknoop migrate`"))
    if beat is None:
        checks["worker"] = Check(False, "no worker has ever run")
    else:
        age = (now - beat).total_seconds()
        checks["worker"] = Check(age <= HEARTBEAT_FRESH.total_seconds(),
                                 f"last heartbeat {age:.0f} s ago")
    return Readiness(checks)


async def scrape(ctx: NodeContext) -> bytes:
    """The ``/metrics`` body: the gauges read from the database now, then every collector."""
    async with ctx.db.sessions() as session:
        await ctx.metrics.refresh(session, ctx.now())
    return ctx.metrics.render()
