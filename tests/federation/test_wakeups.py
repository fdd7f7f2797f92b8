"""Work queued in a process is worked at once by that process's worker, not at its next poll.

``worker.run`` sleeps between rounds; a transaction that queues a delivery, an inbox row or a
job due now wakes the workers of its process on the same database when it commits
(``Database.waiting``). Here the poll interval is an hour, so only a wake-up can move the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from node import worker
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.store import deliveries as delivery_store
from tests.federation.harness import federation, stored
from tests.statements import counted

AN_HOUR = 3600.0


class _Rounds:
    """The steps of every worker round, per node, as ``worker.run`` takes them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps: dict[int, list[int]] = {}
        self.changed = asyncio.Condition()
        real = worker.run_once

        async def counted(ctx: NodeContext, **kwargs: Any) -> int:
            steps = await real(ctx, **kwargs)
            self.steps.setdefault(id(ctx), []).append(steps)
            async with self.changed:
                self.changed.notify_all()
            return steps

        monkeypatch.setattr(worker, "run_once", counted)

    async def until(self, ctx: NodeContext, done: Callable[[list[int]], bool]) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: done(self.steps.get(id(ctx), [])))

    async def idle(self, ctx: NodeContext) -> None:
        """Until ``ctx``'s worker found nothing to do (and so went to sleep)."""
        await self.until(ctx, lambda steps: bool(steps) and steps[-1] == 0)


async def test_a_published_item_is_delivered_and_applied_without_waiting_for_a_poll(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"].ctx, fed["fryslan"].ctx
        await follow(fryslan, drenthe.urls.actor("drenthe"))
        await fed.settle()
        # Given both workers running and asleep, polling only once an hour
        rounds, stop = _Rounds(monkeypatch), asyncio.Event()
        running = [asyncio.create_task(worker.run(ctx, stop, idle_seconds=AN_HOUR))
                   for ctx in (drenthe, fryslan)]
        try:
            # (the timeout only guards the test: without wake-ups both sleep for an hour)
            async with asyncio.timeout(60):
                await rounds.idle(drenthe)
                await rounds.idle(fryslan)
                # When Drenthe publishes an item (its delivery is queued in that transaction)
                item = await create_item(drenthe, item_input(kind="story", title="Nieuws",
                                                             content="Tekst."), SYSTEM)
                # Then Drenthe's worker delivers it and Fryslân's worker, woken by its inbox,
                # stores it, long before either would have looked again
                while await stored(fed["fryslan"], item.ap_id) is None:
                    seen = len(rounds.steps.get(id(fryslan), []))
                    await rounds.until(fryslan, lambda steps, seen=seen: len(steps) > seen)
        finally:
            stop.set()
            await asyncio.gather(*running)
        async with drenthe.db.sessions() as session:
            assert (await delivery_store.counts(session)).get("pending", 0) == 0


async def test_a_rolled_back_transaction_wakes_nobody(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe"]) as fed:
        ctx = fed["drenthe"].ctx

        async def queue(n: int, *, fail: bool) -> None:
            async with ctx.db.transaction() as session:
                await delivery_store.enqueue(
                    session, activity_ap_id=f"https://drenthe.test/activities/{n}",
                    signer=ctx.urls.actor("drenthe"),
                    inboxes=[("https://fryslan.test/inbox", "fryslan.test")], now=ctx.now())
                if fail:
                    raise RuntimeError("rolled back")

        with ctx.db.waiting() as woken:
            # Given a transaction that queues a delivery and then fails
            with pytest.raises(RuntimeError):
                await queue(1, fail=True)
            # Then no worker is woken for it; one that commits wakes them
            assert not woken.is_set()
            await queue(2, fail=False)
            assert woken.is_set()


async def test_an_idle_round_takes_no_write_transaction(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe"]) as fed:
        ctx = fed["drenthe"].ctx
        # Given a worker whose first round made sure the periodic jobs exist
        await worker.run_until_idle(ctx)
        # When it looks again with nothing due
        with counted(ctx) as sent:
            assert await worker.run_once(ctx) == 0
        # Then it claims from no queue: one read (``queues.due_queues``, in-line on SQLite)
        # found nothing due, where each queue's claim was a write transaction (the periodic
        # jobs are looked for again every few minutes, not every round)
        assert len(sent) == 1 and sent[0].startswith("SELECT EXISTS"), str(sent)


async def test_a_round_claims_only_from_the_queue_that_has_due_rows(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe"]) as fed:
        ctx = fed["drenthe"].ctx
        await worker.run_until_idle(ctx)
        # Given one delivery due and nothing else
        async with ctx.db.transaction() as session:
            await delivery_store.enqueue(
                session, activity_ap_id="https://drenthe.test/activities/1",
                signer=ctx.urls.actor("drenthe"),
                inboxes=[("https://fryslan.test/inbox", "fryslan.test")], now=ctx.now())
        # When a round runs
        with counted(ctx) as sent:
            assert await worker.run_once(ctx) == 1
        # Then it claimed deliveries (and wrote the outcome), not the inbox or the jobs
        claims = [s for s in sent if s.startswith("UPDATE") and "locked_until=?" in s
                  and "SELECT" in s]
        assert [c.split()[1] for c in claims] == ["deliveries"], str(sent)
