"""Group commit of the inbox (docs/performance.md, "Group commit"): verified POSTs that wait to be
stored at the same time go into one transaction, and each is still answered as if alone.

The first group's write is held (``Gate``) so that the requests after it wait together: what
groups is decided by the order of events, never by timing.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store import inbox as inbox_store
from node.store.db import Database
from node.store.schema import inbox
from tests.hardening.conftest import Sent, World

BOTH = pytest.mark.parametrize("hardening_db", [
    "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


class Gate:
    """Holds the first group's insert until ``opened``; records every group's activity ids and
    fails any group holding ``poisoned`` (a database error on that one row).

    Both ways a group is written are held: through a session (``add_many``: PostgreSQL, and
    SQLite when the in-line write cannot run) and in-line (``Database.write_inline`` on SQLite,
    whose work cannot wait: the first group waits before it starts)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, poisoned: str | None = None) -> None:
        self.opened = asyncio.Event()
        self.groups: list[list[str]] = []
        self.started = 0
        self.poisoned = poisoned
        real = inbox_store.add_many
        real_inline = inbox_store.add_many_inline
        real_write_inline = Database.write_inline

        def written(rows: list[dict[str, Any]], stored: set[str]) -> set[str]:
            ids = [str(r["activity_ap_id"]) for r in rows]
            self.groups.append(ids)
            if self.poisoned in ids:  # written, then the transaction fails
                raise RuntimeError(f"cannot store {self.poisoned}")
            return stored

        async def add_many(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
            self.started += 1
            if self.started == 1:
                await self.opened.wait()
            return written(rows, await real(session, rows))

        def add_many_inline(db: Database, conn: sqlite3.Connection,
                            rows: list[dict[str, Any]]) -> set[str]:
            return written(rows, real_inline(db, conn, rows))

        async def write_inline(db: Database, work: Callable[[sqlite3.Connection], Any]) -> Any:
            self.started += 1
            if self.started == 1:
                await self.opened.wait()
            done = await real_write_inline(db, work)
            if done is None:
                self.started -= 1  # not written in-line: the session's write counts instead
            return done

        monkeypatch.setattr(inbox_store, "add_many", add_many)
        monkeypatch.setattr(inbox_store, "add_many_inline", add_many_inline)
        monkeypatch.setattr(Database, "write_inline", write_inline)

    async def hold(self, world: World, numbers: list[int]) -> list[asyncio.Task[Sent]]:
        """POST Mallory's Creates ``numbers``: the first alone, held in its write until all the
        others wait behind it; then let them go."""
        posts = [asyncio.create_task(world.post(world.activity(n=str(numbers[0]))))]
        await until(lambda: self.started == 1)
        posts += [asyncio.create_task(world.post(world.activity(n=str(n))))
                  for n in numbers[1:]]
        await until(lambda: uncommitted(world) == len(numbers))
        self.opened.set()
        return posts


@contextmanager
def commits(world: World) -> Iterator[list[object]]:
    """The transactions the node's engine commits meanwhile."""
    committed: list[object] = []

    def hook(conn: object) -> None:
        committed.append(conn)

    engine = world.ctx.db.engine.sync_engine
    event.listen(engine, "commit", hook)
    try:
        yield committed
    finally:
        event.remove(engine, "commit", hook)


def uncommitted(world: World) -> int:
    writes = world.ctx.inbox_writes
    return 0 if writes is None else len(list(writes.uncommitted()))


async def until(condition: Callable[[], bool]) -> None:
    """Let the requests run until ``condition`` holds (a wait for an event, not a timing)."""
    for _ in range(20_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the requests never got there")


async def stored_ids(world: World) -> list[str]:
    async with world.ctx.db.sessions() as session:
        return sorted(str(i) for i in (await session.execute(
            select(inbox.c.activity_ap_id))).scalars())


def create_id(world: World, n: int) -> str:
    return str(world.activity(n=str(n))["id"])


async def _warm(world: World) -> None:
    """One activity stored first: Mallory's actor is fetched and cached, her host known."""
    assert (await world.post(world.activity(n="0"))).status == 202


@BOTH
async def test_posts_waiting_together_are_stored_in_one_commit(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    await _warm(world)
    gate = Gate(monkeypatch)
    with commits(world) as committed:
        posts = await gate.hold(world, list(range(1, 9)))  # one being written, seven waiting
        sent = await asyncio.gather(*posts)
    assert [s.status for s in sent] == [202] * 8
    assert [len(g) for g in gate.groups] == [1, 7]
    assert len(committed) == 2  # not 8
    assert await stored_ids(world) == sorted(create_id(world, n) for n in range(9))
    assert uncommitted(world) == 0


@BOTH
async def test_a_failing_write_fails_only_its_own_request(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    await _warm(world)
    gate = Gate(monkeypatch, poisoned=create_id(world, 3))
    posts = await gate.hold(world, [1, 2, 3, 4])
    outcomes = await asyncio.gather(*posts, return_exceptions=True)
    statuses = [o if isinstance(o, BaseException) else o.status for o in outcomes]
    assert statuses[:2] == [202, 202] and statuses[3] == 202
    assert isinstance(statuses[2], RuntimeError) or statuses[2] == 500, statuses
    # The group of three was rolled back whole, then each of its requests was written alone.
    assert [len(g) for g in gate.groups] == [1, 3, 1, 1, 1]
    assert await stored_ids(world) == sorted(create_id(world, n) for n in (0, 1, 2, 4))
    # The refused request is stored when its sender tries again.
    gate.poisoned = None
    assert (await world.post(world.activity(n="3"))).status == 202
    assert await stored_ids(world) == sorted(create_id(world, n) for n in range(5))


@BOTH
async def test_a_duplicate_in_a_group_is_stored_once(
        world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    await _warm(world)
    gate = Gate(monkeypatch)
    caplog.set_level(logging.INFO, logger="kennisknoop.inbox")
    # The same new activity twice in one group, and one stored before.
    posts = await gate.hold(world, [1, 2, 2, 0])
    sent = await asyncio.gather(*posts)
    assert [s.status for s in sent] == [202] * 4
    assert [len(g) for g in gate.groups] == [1, 3]
    assert await stored_ids(world) == sorted(create_id(world, n) for n in range(3))
    duplicates = [r.getMessage() for r in caplog.records if "duplicate activity" in r.message]
    assert sorted(duplicates) == sorted(f"duplicate activity {create_id(world, n)} from "
                                        f"{world.mallory.ap_id}" for n in (0, 2))


@pytest.mark.parametrize("node_overrides", [{"limits__inbox_pending_per_host": 3}])
async def test_the_backlog_cap_counts_what_waits_to_be_committed(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = Gate(monkeypatch)
    posts = []
    for n in range(1, 4):  # three accepted, none committed yet
        posts.append(asyncio.create_task(world.post(world.activity(n=str(n)))))
        await until(lambda n=n: uncommitted(world) == n)  # type: ignore[misc]
    refused = await world.post(world.activity(n="4"))
    assert refused.status == 503 and refused.json()["error"] == "inbox_backlog"
    gate.opened.set()
    assert [s.status for s in await asyncio.gather(*posts)] == [202] * 3
    assert await stored_ids(world) == sorted(create_id(world, n) for n in range(1, 4))
