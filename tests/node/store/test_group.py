"""``node.store.group.GroupCommit``: writes waiting together share a transaction; a write alone
starts at once; a failed group is written again one by one; nobody waits forever.

The first group is held (``Held``) until the others wait behind it: what groups is decided by
events, never by timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.store.db import Database
from node.store.group import GroupCommit

meta = MetaData()
things = Table("things", meta, Column("id", Integer, primary_key=True),
               Column("name", String, unique=True))


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database.connect(f"sqlite:///{tmp_path / 'd.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield database
    await database.dispose()


class Held:
    """A write of names into ``things``; the first group waits for ``opened``; a group holding
    ``bad`` fails after writing."""

    def __init__(self, bad: str | None = None) -> None:
        self.opened = asyncio.Event()
        self.groups: list[list[str]] = []
        self.bad = bad

    async def __call__(self, session: AsyncSession, names: Sequence[str]) -> list[str]:
        self.groups.append(list(names))
        if len(self.groups) == 1:
            await self.opened.wait()
        await session.execute(insert(things), [{"name": n} for n in names])
        if self.bad in names:
            raise ValueError(self.bad)
        return [n.upper() for n in names]


async def names(db: Database) -> list[str]:
    async with db.sessions() as session:
        return sorted((await session.execute(select(things.c.name))).scalars())


async def until(condition: object) -> None:
    for _ in range(20_000):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("never got there")


async def _behind_the_first(commit: GroupCommit[str, str], held: Held, rest: list[str]
                            ) -> list[asyncio.Task[str]]:
    tasks = [asyncio.create_task(commit.submit("a"))]
    await until(lambda: len(held.groups) == 1)
    tasks += [asyncio.create_task(commit.submit(n)) for n in rest]
    await until(lambda: len(list(commit.uncommitted())) == 1 + len(rest))
    return tasks


async def test_a_write_alone_is_its_own_group(db: Database) -> None:
    held = Held()
    held.opened.set()
    commit: GroupCommit[str, str] = GroupCommit(db, held)
    assert await commit.submit("a") == "A"
    assert await commit.submit("b") == "B"
    assert held.groups == [["a"], ["b"]]
    assert await names(db) == ["a", "b"]


async def test_writes_waiting_together_share_one_transaction(db: Database) -> None:
    held = Held()
    commit: GroupCommit[str, str] = GroupCommit(db, held)
    tasks = await _behind_the_first(commit, held, ["b", "c", "d"])
    assert sorted(commit.uncommitted()) == ["a", "b", "c", "d"]
    held.opened.set()
    assert await asyncio.gather(*tasks) == ["A", "B", "C", "D"]
    assert held.groups == [["a"], ["b", "c", "d"]]
    assert await names(db) == ["a", "b", "c", "d"]
    assert list(commit.uncommitted()) == []


async def test_a_failing_group_is_written_again_one_by_one(db: Database) -> None:
    held = Held(bad="c")
    commit: GroupCommit[str, str] = GroupCommit(db, held)
    tasks = await _behind_the_first(commit, held, ["b", "c", "d"])
    held.opened.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[:2] == ["A", "B"] and outcomes[3] == "D"
    assert isinstance(outcomes[2], ValueError)
    assert held.groups == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]
    assert await names(db) == ["a", "b", "d"]  # the group's rows were rolled back, then written


async def test_a_request_cancelled_while_waiting_is_not_written(db: Database) -> None:
    held = Held()
    commit: GroupCommit[str, str] = GroupCommit(db, held)
    tasks = await _behind_the_first(commit, held, ["b", "c"])
    tasks[1].cancel()
    held.opened.set()
    assert await tasks[0] == "A" and await tasks[2] == "C"
    assert held.groups == [["a"], ["c"]]
    assert await names(db) == ["a", "c"]


async def test_a_committer_stopped_before_its_commit_writes_nothing_and_answers_everyone(
        db: Database) -> None:
    held = Held()
    commit: GroupCommit[str, str] = GroupCommit(db, held)
    tasks = await _behind_the_first(commit, held, ["b", "c"])
    assert commit._task is not None
    commit._task.cancel()  # the process stops with a group under way
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert await names(db) == []  # not answered 202: the senders send again
    held.opened.set()
    assert await commit.submit("b") == "B"  # a new committer starts
    assert await names(db) == ["b"]


class HeldInline:
    """An in-line writer (no session): records each group and the task that wrote it; the
    first group waits for ``opened``; declines (None) every group holding ``declined``."""

    def __init__(self, declined: str | None = None) -> None:
        self.opened = asyncio.Event()
        self.groups: list[list[str]] = []
        self.tasks: list[asyncio.Task[object] | None] = []
        self.declined = declined

    async def __call__(self, names: Sequence[str]) -> list[str] | None:
        self.groups.append(list(names))
        self.tasks.append(asyncio.current_task())
        if len(self.groups) == 1:
            await self.opened.wait()
        if self.declined in names:
            return None
        return [n.upper() for n in names]


async def test_a_write_alone_is_written_in_line_by_its_own_task(db: Database) -> None:
    inline = HeldInline()
    inline.opened.set()
    commit: GroupCommit[str, str] = GroupCommit(db, Held(), inline=inline)
    assert await commit.submit("a") == "A"
    assert inline.groups == [["a"]]
    assert inline.tasks == [asyncio.current_task()]  # no committer task, no hand-off
    assert commit._task is None


async def test_writes_arriving_during_a_write_alone_wait_and_go_as_one_group(
        db: Database) -> None:
    # Given a write alone held in its request's task
    inline = HeldInline()
    commit: GroupCommit[str, str] = GroupCommit(db, Held(), inline=inline)
    first = asyncio.create_task(commit.submit("a"))
    await until(lambda: len(inline.groups) == 1)
    # When three more arrive meanwhile
    rest = [asyncio.create_task(commit.submit(n)) for n in ("b", "c", "d")]
    await until(lambda: len(list(commit.uncommitted())) == 4)
    assert sorted(commit.uncommitted()) == ["a", "b", "c", "d"]  # the backlog cap counts them
    assert len(inline.groups) == 1  # nothing written beside the held one
    inline.opened.set()
    # Then they are written together, once the first is done
    assert await asyncio.gather(first, *rest) == ["A", "B", "C", "D"]
    assert inline.groups == [["a"], ["b", "c", "d"]]
    assert inline.tasks[0] is first and inline.tasks[1] is commit._task
    assert list(commit.uncommitted()) == []


async def test_a_declined_write_alone_goes_through_a_session(db: Database) -> None:
    held = Held()
    held.opened.set()
    inline = HeldInline(declined="a")
    inline.opened.set()
    commit: GroupCommit[str, str] = GroupCommit(db, held, inline=inline)
    assert await commit.submit("a") == "A"
    assert inline.groups == [["a"], ["a"]]  # alone, then by the committer: declined twice
    assert held.groups == [["a"]]
    assert await names(db) == ["a"]


async def test_a_write_alone_cancelled_before_its_write_leaves_no_one_waiting(
        db: Database) -> None:
    inline = HeldInline()
    commit: GroupCommit[str, str] = GroupCommit(db, Held(), inline=inline)
    first = asyncio.create_task(commit.submit("a"))
    await until(lambda: len(inline.groups) == 1)
    second = asyncio.create_task(commit.submit("b"))
    await until(lambda: len(list(commit.uncommitted())) == 2)
    first.cancel()  # the sender went away while its write waited (for the write lock)
    assert await second == "B"
    assert first.cancelled()
    assert inline.groups == [["a"], ["b"]]
