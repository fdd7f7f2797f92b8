"""The outgoing delivery queue under faults: retry policy, peer health, leases, fan-out.

DESIGN.md "Federation semantics" and "Reference figures": one durable row per (activity, inbox),
shared inboxes deduplicated; ``Retry-After`` honoured; 410 and other final 4xx give up at once,
401/408/429 and 5xx retry with growing, jittered delays for at least three days; a peer failing on
three distinct days is probed slowly and resumed by its first success; a dead peer never holds up
the others; a crashed worker's leased rows come back when the lease runs out. Faults are injected
by the network of ``tests/federation/harness.py``; time moves only through ``fed.clock``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from node import worker
from node.services import delivery
from node.services.actors import create_initiative
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.resolve import node_actor, signer_of
from node.store import deliveries as delivery_store
from node.store import inbox as inbox_store
from node.store import jobs as job_store
from node.store import peers as peer_store
from node.store.deliveries import Delivery
from node.store.objects import StoredObject
from node.store.schema import feed
from node.worker import run_once
from tests.federation.harness import (
    Federation,
    activities_of,
    delivery_rows,
    federation,
    postgres,
    stored,
)

INITIAL = 30.0  # federation.retry_initial_seconds in the harness (the default too)
MAX_DELAY = 21_600.0  # federation.retry_max_seconds default


@pytest.fixture(autouse=True)
def _seeded_jitter() -> None:
    random.seed(1)  # the engine's backoff jitter uses the random module


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, str], str] | None]:
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make


async def _followed(fed: Federation, follower: str = "fryslan", followee: str = "drenthe"
                    ) -> None:
    await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(followee))
    await fed.settle()


async def _publish(fed: Federation, name: str = "drenthe", title: str = "Nieuws") -> StoredObject:
    return await create_item(fed[name].ctx, item_input(kind="story", title=title,
                                                      content="Tekst."), SYSTEM)


async def _item_rows(fed: Federation, host: str = "fryslan.test") -> list[Delivery]:
    """Drenthe's deliveries to ``host`` of the items published by ``_publish``, oldest first."""
    node = await node_actor(fed["drenthe"].ctx)
    creates = {a.ap_id for a in await activities_of(fed["drenthe"], node.ap_id, "Create")}
    return [r for r in await delivery_rows(fed["drenthe"], host=host)
            if r.activity_ap_id in creates]


def _lease(fed: Federation) -> timedelta:
    return timedelta(seconds=fed["drenthe"].ctx.settings.federation.lease_seconds)


def _seconds_until(fed: Federation, when: datetime) -> float:
    """Seconds from the engine's now (whole seconds) to ``when``."""
    return (when - fed["drenthe"].ctx.now()).total_seconds()


def _move_to(fed: Federation, when: datetime) -> None:
    """Move the clock to ``when`` (never back), rounded up: the engine's now has whole seconds."""
    whole = when.replace(microsecond=0)
    fed.clock.now = max(fed.clock.now, whole if whole == when else whole + timedelta(seconds=1))


async def test_retry_after_of_a_429_is_honoured(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        # Given a follower whose server answers 429 with Retry-After: 120
        await _followed(fed)
        fed.faults.answers["fryslan.test"] = (429, {"Retry-After": "120"})
        # When an item is published and the worker tries to deliver it
        await _publish(fed)
        await run_once(fed["drenthe"].ctx)
        # Then the next attempt is exactly Retry-After from now (no backoff, no jitter)
        (row,) = await _item_rows(fed)
        assert row.state == "pending" and row.attempts == 1 and row.last_status == 429
        assert row.next_attempt_at == fed.clock.now + timedelta(seconds=120)
        # And it is attempted again at that time, not before
        fed.clock.advance(119)
        await run_once(fed["drenthe"].ctx)
        assert (await _item_rows(fed))[0].attempts == 1
        fed.clock.advance(1)
        await run_once(fed["drenthe"].ctx)
        assert (await _item_rows(fed))[0].attempts == 2


async def test_410_gives_up_that_recipient_at_once(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        # Given two followers, one of whose inbox is gone (410)
        await _followed(fed, "fryslan")
        await _followed(fed, "lvkk")
        fed.faults.answers["fryslan.test"] = (410, {})
        # When an item is delivered
        item = await _publish(fed)
        await run_once(fed["drenthe"].ctx)
        # Then that recipient is given up after one attempt, the other one is served
        (gone,) = await _item_rows(fed)
        assert (gone.state, gone.attempts, gone.last_status) == ("failed", 1, 410)
        (ok,) = await _item_rows(fed, "lvkk.test")
        assert ok.state == "sent"
        await fed.settle()
        assert await stored(fed["lvkk"], item.ap_id) is not None


@pytest.mark.parametrize("status", [400, 403, 404, 405, 422])
async def test_final_4xx_gives_up_at_once(tmp_path: Path, status: int) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        # Given a follower whose server refuses the request for good
        await _followed(fed)
        fed.faults.answers["fryslan.test"] = (status, {})
        # When an item is delivered
        await _publish(fed)
        await run_once(fed["drenthe"].ctx)
        # Then the delivery failed after one attempt and is never tried again
        (row,) = await _item_rows(fed)
        assert (row.state, row.attempts, row.last_status) == ("failed", 1, status)
        fed.clock.advance(86_400)
        await run_once(fed["drenthe"].ctx)
        assert (await _item_rows(fed))[0].attempts == 1


@pytest.mark.parametrize("status", [401, 408, 429, 500, 502, 503, None])
async def test_transient_failures_retry_with_growing_jittered_delays(tmp_path: Path,
                                                                     status: int | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        # Given a follower answering a transient failure (None: the connection drops)
        await _followed(fed)
        if status is None:
            fed.faults.drop_rate = 1.0
        else:
            fed.faults.answers["fryslan.test"] = (status, {})  # no Retry-After
        await _publish(fed)
        # When the worker tries six times, each time when the row is due
        delays = []
        for attempt in range(1, 7):
            await run_once(fed["drenthe"].ctx)
            (row,) = await _item_rows(fed)
            # Then each failure schedules a retry: 30 s doubling per attempt, ±25 % jitter
            assert row.state == "pending" and row.attempts == attempt
            assert row.last_status == status
            delay = _seconds_until(fed, row.next_attempt_at)
            base = INITIAL * 2 ** (attempt - 1)
            assert 0.75 * base <= delay <= 1.25 * base
            delays.append(delay)
            _move_to(fed, row.next_attempt_at)
        assert all(later > earlier for earlier, later in itertools.pairwise(delays))


async def test_retry_delays_are_jittered(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        # Given a failing follower and ten items failing at the same moment
        await _followed(fed)
        fed.faults.answers["fryslan.test"] = (500, {})
        for n in range(10):
            await _publish(fed, title=f"Bericht {n}")
        await run_once(fed["drenthe"].ctx)
        # Then their first retries are spread over 30 s ±25 %, not all at one instant
        delays = [_seconds_until(fed, r.next_attempt_at)
                  for r in await _item_rows(fed)]
        assert len(delays) == 10 and all(22.5 <= d <= 37.5 for d in delays)
        assert len(set(delays)) >= 5


async def test_delivery_retries_for_days_then_fails_after_give_up_hours(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        # Given default retry settings and a follower that answers 500 for a week
        await _followed(fed)
        give_up = float(fed["drenthe"].ctx.settings.federation.give_up_after_hours)
        fed.faults.answers["fryslan.test"] = (500, {})
        await _publish(fed)
        (row,) = await _item_rows(fed)
        created = row.created_at
        # When the worker runs whenever the row is due
        attempts_at = []
        while row.state == "pending" and fed.clock.now < created + timedelta(days=7):
            _move_to(fed, row.next_attempt_at)
            if await run_once(fed["drenthe"].ctx):
                attempts_at.append(fed.clock.now)
            (row,) = await _item_rows(fed)
        # Then it was still retrying after three days
        assert give_up >= 72
        assert any(t >= created + timedelta(days=3) for t in attempts_at)
        # And it failed for good once the next retry would pass give_up_after_hours
        assert row.state == "failed" and row.last_error and row.last_error.startswith("expired")
        deadline = created + timedelta(hours=give_up)
        assert attempts_at[-1] <= deadline
        assert attempts_at[-1] + timedelta(seconds=1.25 * MAX_DELAY) > deadline
        assert row.attempts == len(attempts_at)


async def test_peer_failing_on_three_days_is_probed_slowly_and_resumed(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe = fed["drenthe"]
        # Given a follower whose server fails every request
        await _followed(fed)
        fed.faults.answers["fryslan.test"] = (503, {})
        await _publish(fed, title="Eerste")
        # When deliveries keep failing until failures fall on three distinct days
        days_seen: list[int] = []
        while True:
            (row,) = await _item_rows(fed)
            _move_to(fed, row.next_attempt_at)
            await run_once(drenthe.ctx)
            async with drenthe.ctx.db.sessions() as session:
                peer = await peer_store.get(session, "fryslan.test")
            assert peer is not None
            days_seen.append(len(peer.failure_days))
            # Then the peer is unavailable exactly from the failure on its third day
            assert (peer.unavailable_since is not None) == (len(peer.failure_days) >= 3)
            if peer.unavailable_since is not None:
                break
        # And from then on it is probed slowly: no retry sooner than retry_max_seconds
        (row,) = await _item_rows(fed)
        assert _seconds_until(fed, row.next_attempt_at) >= MAX_DELAY
        for title in ("Tweede", "Derde"):  # published minutes apart: even a first failure
            fed.clock.advance(300)
            await _publish(fed, title=title)
            await run_once(drenthe.ctx)
            newest = (await _item_rows(fed))[-1]
            assert newest.attempts == 1
            assert _seconds_until(fed, newest.next_attempt_at) >= MAX_DELAY
        waiting = await _item_rows(fed)
        # When the peer recovers and the earliest probe succeeds
        del fed.faults.answers["fryslan.test"]
        first = min(waiting, key=lambda r: r.next_attempt_at)
        _move_to(fed, first.next_attempt_at)
        assert await run_once(drenthe.ctx) >= 1
        # Then the peer is healthy again and everything waiting for it is due at once
        async with drenthe.ctx.db.sessions() as session:
            peer = await peer_store.get(session, "fryslan.test")
        assert peer is not None and peer.unavailable_since is None and peer.failure_days == []
        rows = await _item_rows(fed)
        assert [r.state for r in rows].count("sent") == 1
        assert all(r.next_attempt_at <= fed.clock.now for r in rows if r.state == "pending")
        await run_once(drenthe.ctx)
        assert {r.state for r in await _item_rows(fed)} == {"sent"}


async def test_dead_peer_does_not_delay_healthy_peers_in_the_same_round(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe = fed["drenthe"]
        # Given two followers, one of which accepts connections and never answers, and more
        # items waiting than the worker sends at once
        await _followed(fed, "fryslan")
        await _followed(fed, "lvkk")
        concurrency = drenthe.ctx.settings.federation.delivery_concurrency
        items = concurrency + 4
        for n in range(items):
            await _publish(fed, title=f"Bericht {n}")
        before = fed.network.answered.get("fryslan.test", 0)
        fed.faults.hanging.add("lvkk.test")
        # When one worker round runs
        round_ = asyncio.create_task(run_once(drenthe.ctx))
        try:
            # Then every delivery to the healthy peer completes while the dead one still hangs
            # (the timeout only guards the test: a blocked round would wait for the deadline)
            async with asyncio.timeout(10):
                await fed.network.wait_answered("fryslan.test", before + items)
        finally:
            fed.faults.hanging.clear()  # the rest of the round finds the peer plainly down
            fed.faults.partitioned.add("lvkk.test")
            fed.network.release_hanging()
            await round_
        healthy = await _item_rows(fed)
        assert [r.state for r in healthy].count("sent") == items
        dead = [r for r in await _item_rows(fed, "lvkk.test") if r.attempts]
        assert dead and all(r.state == "pending" for r in dead)


async def test_crashed_worker_loses_no_delivery(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe = fed["drenthe"]
        await _followed(fed)
        item = await _publish(fed)
        # Given a worker that claimed the delivery and died before recording anything
        async with drenthe.ctx.db.transaction() as session:
            claimed = await delivery_store.claim(session, now=drenthe.ctx.now(), limit=50,
                                                 lease=_lease(fed))
        assert len(claimed) == 1
        # When another worker runs while the lease holds
        await run_once(drenthe.ctx)
        # Then it leaves the leased row alone
        (row,) = await _item_rows(fed)
        assert row.state == "pending" and row.attempts == 0
        # And once the lease has run out the row is delivered
        fed.clock.advance(_lease(fed).total_seconds())
        await run_once(drenthe.ctx)
        (row,) = await _item_rows(fed)
        assert row.state == "sent" and row.attempts == 1
        await fed.settle()
        assert await stored(fed["fryslan"], item.ap_id) is not None


async def _fill_queue(ctx: NodeContext, queue: str, rows: int) -> None:
    now = ctx.now()
    async with ctx.db.transaction() as session:
        for n in range(rows):
            if queue == "inbox":
                await inbox_store.add(session, activity_ap_id=f"https://a.test/activities/{n}",
                                      actor="https://a.test/actors/a", type="Create",
                                      recipient=None, document={}, now=now)
            elif queue == "deliveries":
                await delivery_store.enqueue(session, activity_ap_id=f"{ctx.urls.base}/a/{n}",
                                             signer=ctx.urls.actor("drenthe"),
                                             inboxes=[("https://a.test/inbox", "a.test")],
                                             now=now)
            else:
                await job_store.schedule(session, kind="sync", key=f"sync:{n}", payload={},
                                         now=now)


@pytest.mark.parametrize("queue", ["inbox", "deliveries", "jobs"])
async def test_a_claim_leases_at_most_its_batch(
        tmp_path: Path, database: Callable[[Path, str], str] | None, queue: str) -> None:
    store = {"inbox": inbox_store, "deliveries": delivery_store, "jobs": job_store}[queue]
    async with federation(tmp_path, ["drenthe"], database=database) as fed:
        ctx = fed["drenthe"].ctx
        # Given seven due rows in a queue
        await _fill_queue(ctx, queue, 7)
        # When two workers claim three each, one after the other
        claims = []
        for _ in range(2):
            async with ctx.db.transaction() as session:
                claims.append(await store.claim(session, now=ctx.now(), limit=3,
                                                lease=_lease(fed)))
        # Then each got three rows and no row twice (on PostgreSQL a semi join once leased all)
        assert [len(c) for c in claims] == [3, 3]
        assert len({r.id for c in claims for r in c}) == 6


async def test_a_round_longer_than_the_lease_keeps_its_delivery(
        tmp_path: Path, database: Callable[[Path, str], str] | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "_renew_every", lambda ctx: 0.01)  # real seconds, not the clock
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe = fed["drenthe"]
        await _followed(fed)
        await _publish(fed)
        # Given a worker round stuck on a peer that never answers, past its whole lease
        fed.faults.hanging.add("fryslan.test")
        round_ = asyncio.create_task(run_once(drenthe.ctx))
        try:
            async with asyncio.timeout(10):  # guards the test only
                while not any(entry[0] == "hang" for entry in fed.faults.log):
                    await asyncio.sleep(0.01)
                _move_to(fed, fed.clock.now + _lease(fed) + timedelta(seconds=1))
                while (locked := (await _item_rows(fed))[0].locked_until) is None \
                        or locked <= fed.clock.now:
                    await asyncio.sleep(0.01)
            # When another worker claims at that time
            async with drenthe.ctx.db.transaction() as session:
                theirs = await delivery_store.claim(session, now=drenthe.ctx.now(), limit=50,
                                                    lease=_lease(fed))
            # Then the live round's row is not taken (it would be sent twice)
            assert theirs == []
        finally:
            fed.faults.hanging.clear()
            fed.faults.partitioned.add("fryslan.test")
            fed.network.release_hanging()
            await round_
        # And the round records its outcome and lets go of the row
        (row,) = await _item_rows(fed)
        assert row.attempts == 1 and row.state == "pending" and row.locked_until is None


@pytest.mark.parametrize("queue", ["inbox", "deliveries", "jobs"])
async def test_a_live_worker_renews_only_the_rows_it_has_not_finished(
        tmp_path: Path, database: Callable[[Path, str], str] | None, queue: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = {"inbox": inbox_store, "deliveries": delivery_store, "jobs": job_store}[queue]
    monkeypatch.setattr(worker, "_renew_every", lambda ctx: 0.01)
    async with federation(tmp_path, ["drenthe"], database=database) as fed:
        ctx = fed["drenthe"].ctx
        # Given a worker that claimed two rows and finished one of them
        await _fill_queue(ctx, queue, 2)
        async with ctx.db.transaction() as session:
            first, second = await store.claim(session, now=ctx.now(), limit=2, lease=_lease(fed))
        async with worker._holding(ctx, store.renew, [first.id, second.id]) as held:
            held.done(first.id)
            # When the lease runs out while it still works the other
            _move_to(fed, fed.clock.now + _lease(fed) + timedelta(seconds=1))
            async with asyncio.timeout(10):  # guards the test only
                while True:
                    async with ctx.db.transaction() as session:
                        taken = await store.claim(session, now=ctx.now(), limit=2,
                                                  lease=timedelta(0))
                    if [r.id for r in taken] == [first.id]:
                        break  # the renewal ran: only the finished row came free
                    await asyncio.sleep(0.01)
        # Then the unfinished row stays its own, and is free once the worker is gone
        _move_to(fed, fed.clock.now + _lease(fed) + timedelta(seconds=1))
        async with ctx.db.transaction() as session:
            again = await store.claim(session, now=ctx.now(), limit=2, lease=_lease(fed))
        assert sorted(r.id for r in again) == sorted([first.id, second.id])


async def test_outcomes_write_their_peers_in_host_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two workers writing the same hosts' health in different orders deadlocked on PostgreSQL
    # (one transaction aborted: its sent rows went out again after the lease).
    async with federation(tmp_path, ["drenthe"]) as fed:
        ctx = fed["drenthe"].ctx
        hosts = ["c.test", "a.test", "b.test"]
        async with ctx.db.transaction() as session:
            await delivery_store.enqueue(session, activity_ap_id=f"{ctx.urls.base}/a/1",
                                         signer=ctx.urls.actor("drenthe"),
                                         inboxes=[(f"https://{h}/inbox", h) for h in hosts],
                                         now=ctx.now())
            rows = await delivery_store.claim(session, now=ctx.now(), limit=10,
                                              lease=_lease(fed))
        # Given outcomes that finished in an order other than their hosts'
        done = sorted(rows, key=lambda r: hosts.index(r.host))
        written: list[str] = []
        set_values = peer_store.set_values

        async def spy(session: AsyncSession, host: str, **values: Any) -> None:
            written.append(host)
            await set_values(session, host, **values)

        monkeypatch.setattr(peer_store, "set_values", spy)
        # When they are recorded together
        await delivery.record_many(ctx, [(r, delivery.Sent(202)) for r in done])
        # Then the peers are written in host order
        assert written == sorted(hosts)


@pytest.mark.postgres
async def test_concurrent_claims_never_share_a_row_on_postgres(tmp_path: Path) -> None:
    with postgres() as make:
        async with federation(tmp_path, ["drenthe", "fryslan"], database=make) as fed:
            drenthe = fed["drenthe"]
            await _followed(fed)
            for n in range(6):
                await _publish(fed, title=f"Bericht {n}")
            # Given one worker holding its claim transaction open
            now = drenthe.ctx.now()
            async with drenthe.ctx.db.transaction() as first:
                mine = await delivery_store.claim(first, now=now, limit=3, lease=_lease(fed))
                # When a second worker claims at the same moment (SKIP LOCKED)
                async with drenthe.ctx.db.transaction() as second:
                    theirs = await delivery_store.claim(second, now=now, limit=50,
                                                        lease=_lease(fed))
            # Then they got disjoint rows that together are all of them
            assert len(mine) == 3 and len(theirs) == 3
            assert not {r.id for r in mine} & {r.id for r in theirs}


async def test_shared_inbox_gets_one_delivery_for_two_followers(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        fryslan = fed["fryslan"]
        # Given two actors on one server following the same actor
        await create_initiative(fryslan.ctx, InitiativeInput(handle="ried-reduzum",
                                                             name="Ried Reduzum"), SYSTEM)
        await _followed(fed)
        await follow(fryslan.ctx, fed["drenthe"].ctx.urls.actor("drenthe"),
                     as_handle="ried-reduzum")
        await fed.settle()
        # When that actor publishes an item
        item = await _publish(fed)
        # Then one delivery goes to the server's shared inbox
        drenthe_node = await node_actor(fed["drenthe"].ctx)
        create = (await activities_of(fed["drenthe"], drenthe_node.ap_id, "Create"))[-1]
        assert create.object_ap_id == item.ap_id
        (row,) = await delivery_rows(fed["drenthe"], activity=create.ap_id)
        assert row.inbox_url == "https://fryslan.test/inbox"
        # And both followers see the item
        await fed.settle()
        assert await stored(fryslan, item.ap_id) is not None
        async with fryslan.ctx.db.sessions() as session:
            owners = set((await session.execute(select(feed.c.owner).where(
                feed.c.object_ap_id == item.ap_id))).scalars())
        assert owners == {fryslan.ctx.urls.actor("fryslan"),
                          fryslan.ctx.urls.actor("ried-reduzum")}


async def test_signer_key_is_parsed_once_per_actor(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe"]) as fed:
        # Given the node actor (parsing its RSA-2048 PEM costs ~45 ms of CPU)
        actor = await node_actor(fed["drenthe"].ctx)
        # When two deliveries are signed by it
        # Then the private key is parsed once and reused
        assert signer_of(actor).private_key is signer_of(actor).private_key
