"""Retention: the worker's periodic job trims finished inbox rows and deliveries, never pending ones.

Time moves with the injected clock; the job runs through ``worker.run_once`` as in production.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from node import worker
from node.services import retention
from node.services.context import NodeContext
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import jobs as job_store
from node.store.schema import deliveries, inbox
from tests.clock import Clock

DAY = 24 * 3600.0
PEER = "https://fryslan.test"


async def _receive(ctx: NodeContext, n: int, *, state: str) -> str:
    ap_id = f"{PEER}/activities/{n}"
    async with ctx.db.transaction() as session:
        await inbox_store.add(session, activity_ap_id=ap_id, actor=f"{PEER}/actors/a", type="Like",
                              recipient=None, document={"id": ap_id, "type": "Like"},
                              now=ctx.now())
        if state != "pending":
            await session.execute(inbox.update().where(inbox.c.activity_ap_id == ap_id)
                                  .values(state=state))
    return ap_id


async def _deliver(ctx: NodeContext, n: int, *, state: str) -> None:
    now = ctx.now()
    async with ctx.db.transaction() as session:
        await delivery_store.enqueue(session, activity_ap_id=f"{ctx.urls.base}/activities/{n}",
                                     signer=ctx.urls.actor("drenthe"),
                                     inboxes=[(f"{PEER}/inbox", "fryslan.test")], now=now)
        # A far-future next attempt keeps the worker from sending it in these tests.
        values: dict[str, Any] = {"state": state, "next_attempt_at": now + timedelta(days=365)}
        if state == "sent":
            values.update(sent_at=now)
        elif state == "failed":
            values.update(next_attempt_at=now)
        await session.execute(deliveries.update().where(
            deliveries.c.activity_ap_id == f"{ctx.urls.base}/activities/{n}").values(**values))


async def _inbox_rows(ctx: NodeContext) -> dict[str, tuple[str, dict[str, Any]]]:
    async with ctx.db.sessions() as session:
        rows = (await session.execute(select(inbox.c.activity_ap_id, inbox.c.state,
                                             inbox.c.document))).all()
    return {ap_id.rsplit("/", 1)[1]: (state, document) for ap_id, state, document in rows}


async def _delivery_states(ctx: NodeContext) -> list[str]:
    async with ctx.db.sessions() as session:
        return sorted((await session.execute(select(deliveries.c.state))).scalars().all())


async def _advance_and_work(ctx: NodeContext, clock: Clock, days: float) -> None:
    clock.advance(days * DAY)
    await worker.run_once(ctx)


async def test_an_applied_inbox_document_is_dropped_after_inbox_days_and_its_id_kept(
        ctx: NodeContext, clock: Clock) -> None:
    # Given a done, a failed and a pending activity received now
    await _receive(ctx, 1, state="done")
    await _receive(ctx, 2, state="failed")
    await _receive(ctx, 3, state="pending")
    await worker.run_once(ctx)  # the pending one is a Like: applied (ignored) now
    await _receive(ctx, 4, state="pending")
    async with ctx.db.transaction() as session:  # one that stays pending (not yet due)
        await session.execute(inbox.update().where(inbox.c.activity_ap_id.endswith("/4"))
                              .values(next_attempt_at=clock.now + timedelta(days=365)))
    # When 13 days pass, nothing is trimmed yet
    await _advance_and_work(ctx, clock, 13)
    assert all(doc for _, doc in (await _inbox_rows(ctx)).values())
    # When the 14 days of retention.inbox_days have passed
    await _advance_and_work(ctx, clock, 1.01)
    rows = await _inbox_rows(ctx)
    # Then the finished rows lost their documents but kept their ids; the pending one is whole
    assert {n: doc for n, (_, doc) in rows.items()} == {
        "1": {}, "2": {}, "3": {}, "4": {"id": f"{PEER}/activities/4", "type": "Like"}}
    # And a duplicate of a trimmed activity is still recognised
    async with ctx.db.transaction() as session:
        assert not await inbox_store.add(
            session, activity_ap_id=f"{PEER}/activities/1", actor=f"{PEER}/actors/a",
            type="Like", recipient=None, document={}, now=ctx.now())


async def test_inbox_ids_go_after_inbox_ids_days_but_pending_rows_never(
        ctx: NodeContext, clock: Clock) -> None:
    await _receive(ctx, 1, state="done")
    await _receive(ctx, 2, state="pending")
    async with ctx.db.transaction() as session:
        await session.execute(inbox.update().where(inbox.c.activity_ap_id.endswith("/2"))
                              .values(next_attempt_at=clock.now + timedelta(days=365)))
    await _advance_and_work(ctx, clock, 89)
    assert set(await _inbox_rows(ctx)) == {"1", "2"}
    await _advance_and_work(ctx, clock, 1.01)
    assert set(await _inbox_rows(ctx)) == {"2"}


async def test_finished_deliveries_are_deleted_after_deliveries_days(
        ctx: NodeContext, clock: Clock) -> None:
    # Given a sent, a given-up and a pending delivery, finished now
    await _deliver(ctx, 1, state="sent")
    await _deliver(ctx, 2, state="failed")
    await _deliver(ctx, 3, state="pending")
    # When six days pass they are all there; after the seven of retention.deliveries_days
    await _advance_and_work(ctx, clock, 6)
    assert await _delivery_states(ctx) == ["failed", "pending", "sent"]
    await _advance_and_work(ctx, clock, 1.01)
    # Then only the pending one is left
    assert await _delivery_states(ctx) == ["pending"]


async def test_the_retention_job_comes_back_every_interval(ctx: NodeContext,
                                                           clock: Clock) -> None:
    await worker.run_once(ctx)
    async with ctx.db.sessions() as session:
        job = await job_store.get(session, retention.JOB_KIND)
    assert job is not None and job.state == "pending"
    assert job.next_attempt_at == clock.now + retention.INTERVAL
    assert job.last_error is None
