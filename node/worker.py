"""The background worker: claims due rows (inbox, deliveries, jobs) and runs one step each.

Jobs are backfill/anti-entropy passes (``sync``), the hourly ``retention`` job, which drops
finished work past its window (``node.services.retention``), the hourly ``uploads`` job, which
removes uploaded files nothing names past their grace period (``node.services.uploads``),
and, with ``[mail]`` configured, the ``mail`` job every minute (``node.services.mail``).

Federation work is durable rows in the database (DESIGN.md, Storage; STYLE.md rule 6), never
fire-and-forget tasks: a row is leased (``locked_until``) while it is worked, and a worker that
dies leaves rows that come back when the lease runs out; while a worker lives, ``_holding``
renews the lease of the rows it has not finished, so a long round is never taken up twice. Step
functions return outcomes; only this module writes the rows' state. ``run_once`` is what tests
call, with an injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from node.remote import RemoteError
from node.services import (
    aggregator,
    delivery,
    mail,
    murmurations,
    retention,
    subscriptions,
    uploads,
)
from node.services.actors import AGGREGATOR_FOLLOW_JOB
from node.services.apply import RejectedError, apply, parse_stored
from node.services.context import NodeContext
from node.services.sync import sync_followee
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import jobs as job_store
from node.store import queues as queue_store
from node.store import workers as worker_store
from node.store.deliveries import Delivery
from node.store.inbox import InboxRow, Outcome
from node.store.jobs import Job
from protocol.errors import ProtocolError

log = logging.getLogger("kennisknoop.worker")

IDLE_SECONDS = 1.0
BATCH = 50
PER_HOST = 2  # deliveries in flight to one host at a time, within one worker round
INBOX_MAX_ATTEMPTS = 8
DELIVERY_OUTCOMES = {delivery.Sent: "sent", delivery.Retry: "retry", delivery.GiveUp: "gave_up"}
BEAT_SECONDS = 15.0  # /readyz wants a heartbeat within the last minute (services.health)


def _lease(ctx: NodeContext) -> timedelta:
    # Long enough for the slowest step (a delivery hits its 30 s deadline); short enough that a
    # killed worker's rows are not stuck for long.
    return timedelta(seconds=ctx.settings.federation.lease_seconds)


def _renew_every(ctx: NodeContext) -> float:
    """Seconds between lease renewals of a round's unfinished rows: a third of the lease, so
    two renewals may be late before another worker could take the rows."""
    return ctx.settings.federation.lease_seconds / 3


class _Renew(Protocol):
    async def __call__(self, session: AsyncSession, row_ids: Sequence[int], *,
                       now: datetime, lease: timedelta) -> int: ...


class _Held:
    """The rows a round claimed and has not finished; their lease is renewed while it works."""

    def __init__(self, row_ids: Iterable[int]) -> None:
        self.open = set(row_ids)

    def done(self, row_id: int) -> None:
        self.open.discard(row_id)


@asynccontextmanager
async def _holding(ctx: NodeContext, renew: _Renew, row_ids: Iterable[int]
                   ) -> AsyncIterator[_Held]:
    """Renew the lease of the claimed rows ``row_ids`` every ``_renew_every`` seconds until
    the round leaves this block (each row drops out once ``_Held.done`` says it is finished).
    Without it a round that outlasts ``federation.lease_seconds`` (a slow peer, a loaded
    machine) would let another worker claim and send the same rows again."""
    held = _Held(row_ids)

    async def renewing() -> None:
        while True:
            await asyncio.sleep(_renew_every(ctx))
            if not held.open:
                continue
            try:
                async with ctx.db.transaction() as session:
                    await renew(session, sorted(held.open), now=ctx.now(), lease=_lease(ctx))
            except Exception:  # a database hiccup: the next renewal tries again
                log.exception("renewing a lease failed")

    task = asyncio.create_task(renewing())
    try:
        yield held
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_once(ctx: NodeContext, *, batch: int = BATCH) -> int:
    """Claim and work one batch of each kind of due row; the number of steps taken.

    One read first says which queues have a due row, and only those are claimed from (a claim
    is a write transaction): a round with nothing due is that read alone, and a follower that
    applies one activity claims its inbox only. Applying may queue deliveries or jobs, so the
    queues are asked again after inbox work, and they are claimed in this round as before.
    """
    due = await queue_store.due_queues(ctx.db, ctx.now())
    done = 0
    if due.inbox:
        done = await _inbox_batch(ctx, batch)
        if done:
            due = await queue_store.due_queues(ctx.db, ctx.now())
    if due.deliveries:
        done += await _delivery_batch(ctx, batch)
    if due.jobs or _periodic_due(ctx):
        done += await _job_batch(ctx, max(1, batch // 10))
    return done


async def run_until_idle(ctx: NodeContext, *, max_rounds: int = 1000) -> int:
    """Run batches until nothing is due (tests and the demo's seeding)."""
    total = 0
    for _ in range(max_rounds):
        steps = await run_once(ctx)
        total += steps
        if not steps:
            break
    return total


async def _inbox_batch(ctx: NodeContext, batch: int) -> int:
    async with ctx.db.transaction() as session:
        rows = await inbox_store.claim(session, now=ctx.now(), limit=batch, lease=_lease(ctx))
    if not rows:
        return 0
    async with _holding(ctx, inbox_store.renew, (r.id for r in rows)) as held:
        for row in rows:  # in arrival order: a Follow before its Undo
            await _apply_row(ctx, row)
            held.done(row.id)
    return len(rows)


async def _apply_row(ctx: NodeContext, row: InboxRow) -> None:
    try:
        result = await apply(ctx, parse_stored(row.document), sender=row.actor)
    except (RejectedError, ProtocolError) as exc:
        log.info("rejected %s from %s: %s", row.activity_ap_id, row.actor, exc)
        await _finish_inbox(ctx, row, state="failed", last_error=str(exc)[:1000])
        ctx.metrics.received(row.type, "failed")
        return
    except RemoteError as exc:
        await _retry_inbox(ctx, row, f"{exc.reason}: {exc.detail}")
        return
    except Exception as exc:  # a bug must not stop the worker; the row is retried and logged
        log.exception("applying %s failed", row.activity_ap_id)
        await _retry_inbox(ctx, row, repr(exc)[:1000])
        return
    await _finish_inbox(ctx, row, state="done", last_error=result.note or None)
    ctx.metrics.received(row.type, "applied")


async def _finish_inbox(ctx: NodeContext, row: InboxRow, **outcome: Unpack[Outcome]) -> None:
    outcome["attempts"] = row.attempts + 1
    async with ctx.db.transaction() as session:
        await inbox_store.finish(session, row.id, **outcome)


async def _retry_inbox(ctx: NodeContext, row: InboxRow, error: str) -> None:
    attempts = row.attempts + 1
    if attempts >= INBOX_MAX_ATTEMPTS:
        await _finish_inbox(ctx, row, state="failed", last_error=error)
        ctx.metrics.received(row.type, "failed")
        return
    ctx.metrics.received(row.type, "retry")
    delay = delivery.backoff_seconds(ctx, attempts)
    await _finish_inbox(ctx, row, last_error=error,
                        next_attempt_at=ctx.now() + timedelta(seconds=delay))


async def _delivery_batch(ctx: NodeContext, batch: int) -> int:
    async with ctx.db.transaction() as session:
        rows = await delivery_store.claim(session, now=ctx.now(), limit=batch, lease=_lease(ctx))
    if not rows:
        return 0
    prepared = await delivery.prepare(ctx, rows)
    limit = asyncio.Semaphore(ctx.settings.federation.delivery_concurrency)
    # A peer that hangs until the deadline must not hold every slot: each host gets at most
    # PER_HOST of them, taken before a slot, so healthy peers in the same round go ahead.
    per_host: dict[str, asyncio.Semaphore] = {}
    async with _holding(ctx, delivery_store.renew, (r.id for r in rows)) as held:
        outcomes = _Outcomes(ctx, held)

        async def one(row: Delivery) -> None:
            async with per_host.setdefault(row.host, asyncio.Semaphore(PER_HOST)), limit:
                outcome = await delivery.attempt(ctx, row, prepared)
            await outcomes.record(row, outcome)
            ctx.metrics.delivered(DELIVERY_OUTCOMES[type(outcome)])

        await asyncio.gather(*(one(r) for r in rows))
    return len(rows)


class _Outcomes:
    """A round's delivery outcomes, written as they come: the first at once, and those that
    finish while a write runs together in the next one (one transaction, the sent rows in one
    statement). ``record`` returns once its outcome is written."""

    def __init__(self, ctx: NodeContext, held: _Held) -> None:
        self.ctx = ctx
        self.held = held
        self.waiting: list[tuple[Delivery, delivery.Outcome]] = []
        self.writing = asyncio.Lock()

    async def record(self, row: Delivery, outcome: delivery.Outcome) -> None:
        self.waiting.append((row, outcome))
        async with self.writing:
            if not self.waiting:
                return  # the write before took it along
            done, self.waiting = self.waiting, []
            await delivery.record_many(self.ctx, done)
            for row, _ in done:
                self.held.done(row.id)


PERIODIC_CHECK_SECONDS = 300.0
# When each database's periodic jobs were last looked for (monotonic seconds), per engine.
_PERIODIC_CHECKED: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()


def _periodic_due(ctx: NodeContext) -> bool:
    """Whether to look for the periodic jobs in this round: the first round of a process, then
    every ``PERIODIC_CHECK_SECONDS`` (an idle round is then one statement per queue)."""
    checked = _PERIODIC_CHECKED.get(ctx.db.engine.sync_engine)
    return checked is None or time.monotonic() - checked >= PERIODIC_CHECK_SECONDS


async def _job_batch(ctx: NodeContext, batch: int) -> int:
    periodic = _periodic_due(ctx)
    async with ctx.db.transaction() as session:
        if periodic:
            # The periodic retention and upload-sweep jobs exist from the first round on, once
            # per database (looked for again every PERIODIC_CHECK_SECONDS, not every round).
            for kind in (retention.JOB_KIND, uploads.JOB_KIND):
                if await job_store.get(session, kind) is None:
                    await job_store.schedule(session, kind=kind, key=kind, payload={},
                                             now=ctx.now())
            # Notification mail, every minute, only on a node with a mail server configured.
            if ctx.settings.mail.configured and \
                    await job_store.get(session, mail.JOB_KIND) is None:
                await job_store.schedule(session, kind=mail.JOB_KIND, key=mail.JOB_KIND,
                                         payload={}, now=ctx.now())
        rows = await job_store.claim(session, now=ctx.now(), limit=batch, lease=_lease(ctx))
    if periodic:  # committed: they exist
        _PERIODIC_CHECKED[ctx.db.engine.sync_engine] = time.monotonic()
    if not rows:
        return 0
    async with _holding(ctx, job_store.renew, (j.id for j in rows)) as held:
        for job in rows:
            await _run_one_job(ctx, job)
            held.done(job.id)
    return len(rows)


async def _run_one_job(ctx: NodeContext, job: Job) -> None:
    if job.kind == retention.JOB_KIND:
        await _run_periodic(ctx, job, retention.purge, retention.INTERVAL)
    elif job.kind == uploads.JOB_KIND:
        await _run_periodic(ctx, job, uploads.sweep, uploads.INTERVAL)
    elif job.kind == mail.JOB_KIND:
        await _run_periodic(ctx, job, mail.send_due, mail.INTERVAL)
    elif job.kind == AGGREGATOR_FOLLOW_JOB:
        await _run_aggregator_follow(ctx, job)
    elif job.kind == subscriptions.JOB_KIND:
        await _run_feed(ctx, job)
    elif job.kind == murmurations.JOB_KIND:
        await _run_registration(ctx, job)
    else:
        await _run_job(ctx, job)


async def _run_periodic(ctx: NodeContext, job: Job, step: Callable[[NodeContext], Awaitable[object]],
                        interval: timedelta) -> None:
    """A job that comes back every ``interval`` (retention, mail), whatever the outcome."""
    error: str | None = None
    try:
        await step(ctx)
    except Exception as exc:  # a database hiccup: try again next interval, never stop the worker
        log.exception("%s job failed", job.kind)
        error = repr(exc)[:1000]
    async with ctx.db.transaction() as session:
        await job_store.finish(session, job.id, attempts=0 if error is None else job.attempts + 1,
                               last_error=error, next_attempt_at=ctx.now() + interval)


async def _run_feed(ctx: NodeContext, job: Job) -> None:
    """Fetch a subscribed feed; one that fails comes back sooner, with back-off, never later
    than its next regular fetch (docs/bridges.md)."""
    interval = timedelta(seconds=ctx.settings.feeds.poll_seconds)
    try:
        payload = await subscriptions.fetch(ctx, job)
    except Exception as exc:  # a feed that cannot be read, or a database hiccup: try again
        if not isinstance(exc, subscriptions.FeedError):
            log.exception("feed %s crashed", job.key)
        delay = min(timedelta(seconds=delivery.backoff_seconds(ctx, job.attempts + 1)), interval)
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=job.attempts + 1,
                                   last_error=str(exc)[:1000], next_attempt_at=ctx.now() + delay)
        return
    async with ctx.db.transaction() as session:
        await job_store.finish(session, job.id, attempts=0, last_error=None, payload=payload,
                               next_attempt_at=ctx.now() + interval)


async def _run_registration(ctx: NodeContext, job: Job) -> None:
    """Register an initiative's profile with the Murmurations index (the admin chose it), then
    again daily; an index that fails is retried with back-off. Without an index configured
    nothing is sent: the job waits (docs/bridges.md)."""
    try:
        payload = await murmurations.register(ctx, job)
    except (murmurations.NotConfiguredError, RemoteError) as exc:
        not_configured = isinstance(exc, murmurations.NotConfiguredError)
        delay = murmurations.REFRESH if not_configured else min(
            timedelta(seconds=delivery.backoff_seconds(ctx, job.attempts + 1)),
            murmurations.REFRESH)
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=job.attempts + (not not_configured),
                                   last_error=str(exc)[:1000], next_attempt_at=ctx.now() + delay)
        return
    async with ctx.db.transaction() as session:
        if payload is None:  # the initiative was deleted
            await job_store.delete(session, job.key)
            return
        await job_store.finish(session, job.id, attempts=0, last_error=None, payload=payload,
                               next_attempt_at=ctx.now() + murmurations.REFRESH)


async def _run_aggregator_follow(ctx: NodeContext, job: Job) -> None:
    """Follow the configured nodes; a node that does not answer is tried again with backoff."""
    try:
        await aggregator.follow_configured(ctx, [str(t) for t in job.payload.get("targets", [])])
    except aggregator.FollowIncompleteError as exc:
        delay = delivery.backoff_seconds(ctx, job.attempts + 1)
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=job.attempts + 1,
                                   last_error=str(exc)[:1000],
                                   next_attempt_at=ctx.now() + timedelta(seconds=delay))
        return
    async with ctx.db.transaction() as session:
        await job_store.finish(session, job.id, state="done", last_error=None)


async def _run_job(ctx: NodeContext, job: Job) -> None:
    interval = timedelta(seconds=ctx.settings.federation.sync_interval_seconds)
    try:
        if job.kind != "sync":
            raise RejectedError("unknown_job", job.kind)
        result = await sync_followee(ctx, str(job.payload["followee"]), resume=job.payload)
    except (RemoteError, ProtocolError, RejectedError) as exc:
        delay = delivery.backoff_seconds(ctx, job.attempts + 1)
        log.info("job %s failed (%s); retrying in %.0f s", job.key, exc, delay)
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=job.attempts + 1,
                                   last_error=str(exc)[:1000],
                                   next_attempt_at=ctx.now() + min(
                                       timedelta(seconds=delay), interval))
        return
    except Exception as exc:
        log.exception("job %s crashed", job.key)
        async with ctx.db.transaction() as session:
            await job_store.finish(session, job.id, attempts=job.attempts + 1,
                                   last_error=repr(exc)[:1000],
                                   next_attempt_at=ctx.now() + interval)
        return
    base = {"followee": job.payload["followee"]}
    async with ctx.db.transaction() as session:
        if result.resume is not None:  # a long pass goes on in the next round
            await job_store.finish(session, job.id, attempts=0, last_error=None,
                                   payload={**base, **result.resume}, next_attempt_at=ctx.now())
        elif result.followed:  # anti-entropy: the same job comes back every interval
            await job_store.finish(session, job.id, attempts=0, last_error=None, payload=base,
                                   next_attempt_at=ctx.now() + interval)
        else:
            await job_store.finish(session, job.id, state="done", last_error=None)


def worker_id() -> str:
    """A name for one worker run: host, process and a random part (a restarted pid is new)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


async def beat(ctx: NodeContext, name: str) -> None:
    """Write this worker's heartbeat (``/readyz`` and ``kennisknoop restore`` read it)."""
    async with ctx.db.transaction() as session:
        await worker_store.beat(session, name, ctx.now())


async def run(ctx: NodeContext, stop_event: asyncio.Event, *, idle_seconds: float = IDLE_SECONDS
              ) -> None:
    """Work due rows until ``stop_event`` is set; when nothing is due, sleep until work is
    queued in this process (``Database.waiting``: a delivery, an inbox row or a job due now is
    worked at once) or ``idle_seconds`` have passed (work queued by another process, retries
    coming due).

    A heartbeat is written before the first round and then every ``BEAT_SECONDS``.
    """
    name = worker_id()
    log.info("worker %s started for %s", name, ctx.settings.node.url)
    last_beat = -BEAT_SECONDS
    with ctx.db.waiting() as woken:
        while not stop_event.is_set():
            try:
                if time.monotonic() - last_beat >= BEAT_SECONDS:
                    await beat(ctx, name)
                    last_beat = time.monotonic()
                woken.clear()  # what is queued from here on is either claimed now or wakes us
                if await run_once(ctx):
                    continue  # more may be due right away
            except Exception:  # database hiccup: log, back off, go on (never die silently)
                log.exception("worker round failed")
                woken.clear()  # a failing round is not retried at once, however much is queued
            await _idle(stop_event, woken, idle_seconds)
    log.info("worker stopped")


async def _idle(stop_event: asyncio.Event, woken: asyncio.Event, seconds: float) -> None:
    """Until the worker is stopped, woken, or ``seconds`` have passed."""
    waits = [asyncio.ensure_future(stop_event.wait()), asyncio.ensure_future(woken.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
