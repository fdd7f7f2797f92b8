"""The three work queues (inbox, deliveries, jobs) lease and finish rows the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from node.store import _claim, deliveries, inbox, jobs, queues
from node.store.db import Database
from tests.clock import Clock

LEASE = timedelta(seconds=60)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    yield database
    await database.dispose()


async def test_a_finished_inbox_row_is_released_and_not_claimed_again(db: Database) -> None:
    now = Clock()()
    async with db.transaction() as session:
        await inbox.add(session, activity_ap_id="https://fryslan.test/a/1",
                        actor="https://fryslan.test/actor", type="Like", recipient=None,
                        document={"id": "https://fryslan.test/a/1"}, now=now)
        (row,) = await inbox.claim(session, now=now, limit=10, lease=LEASE)
        assert row.locked_until == now + LEASE
        await inbox.finish(session, row.id, state="done", attempts=1, last_error=None)
        assert await inbox.claim(session, now=now + LEASE, limit=10, lease=LEASE) == []
        assert await inbox.state_of(session, "https://fryslan.test/a/1") == "done"


async def test_a_retried_delivery_comes_back_when_due_without_a_lease(db: Database) -> None:
    now = Clock()()
    later = now + timedelta(seconds=30)
    async with db.transaction() as session:
        await deliveries.enqueue(session, activity_ap_id="https://drenthe.test/a/1",
                                 signer="https://drenthe.test/actor",
                                 inboxes=[("https://fryslan.test/inbox", "fryslan.test")], now=now)
        (row,) = await deliveries.claim(session, now=now, limit=10, lease=LEASE)
        await deliveries.finish(session, row.id, attempts=1, next_attempt_at=later,
                                last_status=503, last_error="http_503")
        # Due again at ``later``, although the lease it had would have run until ``now + LEASE``.
        (again,) = await deliveries.claim(session, now=later, limit=10, lease=LEASE)
    assert (again.id, again.attempts, again.last_status) == (row.id, 1, 503)


async def test_a_finished_job_keeps_its_new_payload(db: Database) -> None:
    now = Clock()()
    async with db.transaction() as session:
        await jobs.schedule(session, kind="sync", key="sync:x", payload={"followee": "x"}, now=now)
        (job,) = await jobs.claim(session, now=now, limit=10, lease=LEASE)
        await jobs.finish(session, job.id, attempts=0, payload={"followee": "x", "page": "2"},
                          next_attempt_at=now)
        stored = await jobs.get(session, "sync:x")
    assert stored is not None
    assert (stored.locked_until, stored.payload) == (None, {"followee": "x", "page": "2"})


async def test_due_queues_names_the_queues_a_claim_would_lease_from(db: Database) -> None:
    now = Clock()()
    later = now + timedelta(seconds=30)
    assert await queues.due_queues(db, now) == queues.DueQueues(False, False, False)
    async with db.transaction() as session:
        # Given a delivery due now and a job due only later
        await deliveries.enqueue(session, activity_ap_id="https://drenthe.test/a/1",
                                 signer="https://drenthe.test/actor",
                                 inboxes=[("https://fryslan.test/inbox", "fryslan.test")], now=now)
        await jobs.schedule(session, kind="sync", key="sync:x", payload={}, now=now, at=later)
    # Then only the deliveries are due now, and the job too once its time has come
    assert await queues.due_queues(db, now) == queues.DueQueues(False, True, False)
    assert await queues.due_queues(db, later) == queues.DueQueues(False, True, True)
    # And a delivery leased to a live worker is not due, until its lease runs out
    async with db.transaction() as session:
        await deliveries.claim(session, now=now, limit=10, lease=LEASE)
    assert not (await queues.due_queues(db, now)).deliveries
    assert (await queues.due_queues(db, now + LEASE)).deliveries


async def test_finish_is_one_prebuilt_statement_per_table_whatever_the_outcome(
        db: Database) -> None:
    now = Clock()()
    later = now + timedelta(seconds=30)
    async with db.transaction() as session:
        for n in (1, 2):
            await inbox.add(session, activity_ap_id=f"https://fryslan.test/a/{n}",
                            actor="https://fryslan.test/actor", type="Like", recipient=None,
                            document={"id": f"https://fryslan.test/a/{n}"}, now=now)
        first, second = await inbox.claim(session, now=now, limit=10, lease=LEASE)
        await inbox.finish(session, first.id, state="done", attempts=1, last_error=None)
        await inbox.finish(session, second.id, attempts=2, last_error="boom",
                           next_attempt_at=later)
        statement = _claim._FINISH[inbox.inbox]
        assert await inbox.claim(session, now=now, limit=10, lease=LEASE) == []
        (again,) = await inbox.claim(session, now=later, limit=10, lease=LEASE)
    assert _claim._FINISH[inbox.inbox] is statement
    assert await _state(db, "https://fryslan.test/a/1") == "done"
    assert (again.id, again.state, again.attempts, again.last_error) == (
        second.id, "pending", 2, "boom")


async def _state(db: Database, ap_id: str) -> str | None:
    async with db.transaction() as session:
        return await inbox.state_of(session, ap_id)
