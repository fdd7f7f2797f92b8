"""Group commit: the writes of concurrent requests that wait at the same time, in one transaction.

A request hands its write to ``GroupCommit.submit`` and awaits its outcome. One task per
committer takes every write waiting, runs them together in one transaction (``write(session,
items)``, one outcome per item, in order) and commits once; then it takes what arrived while it
was committing. A write alone starts at once: there is no timer, nothing waits for company;
with an in-line writer (``inline``), a write alone is written by its request's own task.

- An outcome is answered only once its transaction has committed (durable, as before).
- When the transaction of a group fails, none of it was committed: each write of the group is
  then run again alone, in its own transaction, so a write that fails fails only its own request
  and the others still commit. A write must therefore be harmless to run twice when its first
  commit's fate is unknown (the inbox's insert skips an id already stored).
- A request cancelled before its write was taken is dropped; once taken, the write is committed
  (like a request cancelled after its own commit). A write alone written in-line by its own
  task is taken when its transaction begins (the in-line write does not await after that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from node.store.db import Database

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Writes of ``T`` answered with ``R``, grouped while a transaction is under way."""

    def __init__(self, db: Database,
                 write: Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R]]], *,
                 inline: Callable[[Sequence[T]], Awaitable[Sequence[R] | None]] | None = None
                 ) -> None:
        """``write`` runs a group in a session's transaction; ``inline``, when given, is tried
        first and either writes and commits the group itself (its outcomes) or writes nothing
        (None: then ``write`` runs). A group that fails in either is retried alone, as below."""
        self._db = db
        self._write = write
        self._inline = inline
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writing: list[T] = []
        self._task: asyncio.Task[None] | None = None

    def uncommitted(self) -> Iterator[T]:
        """The writes handed in and not committed yet (waiting, or in the running transaction)."""
        yield from self._writing
        yield from (item for item, future in self._waiting if not future.done())

    async def submit(self, item: T) -> R:
        """Write ``item`` (with whatever else is waiting); its outcome once committed."""
        loop = asyncio.get_running_loop()
        if self._inline is not None and not self._busy(loop):
            alone = await self._alone(item, loop)
            if alone is not None:
                return alone[0]
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if not self._busy(loop):
            self._task = loop.create_task(self._drain())
        return await future

    def _busy(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Whether a group is being written (by the committer, or a write alone in its
        request's task): what arrives now waits for it."""
        return bool(self._writing) or (self._task is not None and not self._task.done()
                                       and self._task.get_loop() is loop)

    async def _alone(self, item: T, loop: asyncio.AbstractEventLoop) -> tuple[R] | None:
        """``item`` written in-line by the request's own task, when nothing else is being
        written: no committer task, no future, no hand-off (about a tenth of an accept's CPU:
        docs/performance.md, "Inbox accept: orjson's own bytes, contexts in one pass, a write
        alone in its own task"). None when the in-line write declined (nothing written: the
        committer writes it through a session). What arrives meanwhile waits, and is written as
        one group once this one is done. Cancelled while it waits for the write lock, nothing of
        it is written (the write itself never awaits)."""
        assert self._inline is not None
        self._writing = [item]
        try:
            outcomes = await self._inline([item])
        finally:
            self._writing = []
            if self._waiting and not self._busy(loop):
                self._task = loop.create_task(self._drain())
        return None if outcomes is None else (outcomes[0],)

    async def _drain(self) -> None:
        try:
            while True:
                group = [(item, future) for item, future in self._waiting if not future.done()]
                self._waiting.clear()
                if not group:
                    return
                self._writing = [item for item, _ in group]
                try:
                    await self._commit(group)
                finally:
                    self._writing = []
        except BaseException:  # cancelled (the loop is closing): no request may wait forever
            for _, future in self._waiting:
                future.cancel()
            self._waiting.clear()
            raise

    async def _commit(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        items = [item for item, _ in group]
        try:
            outcomes = None if self._inline is None else await self._inline(items)
            if outcomes is None:
                async with self._db.transaction() as session:
                    outcomes = await self._write(session, items)
        except Exception as exc:
            if len(group) > 1:  # rolled back whole: each write again, alone
                for one in group:
                    await self._commit([one])
            elif not group[0][1].done():
                group[0][1].set_exception(exc)
            return
        except BaseException:
            for _, future in group:
                future.cancel()
            raise
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)
