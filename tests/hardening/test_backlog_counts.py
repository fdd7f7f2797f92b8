"""The backlog cap counted in the database only every few admissions (``PendingCounts``,
docs/performance.md "Inbox accept in-line"): exact with one web process, within
``RECOUNT_EVERY - 1`` per further process with several, whatever the order of requests and of
the worker's applying."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from node.services import ratelimit
from node.services.ratelimit import RECOUNT_EVERY, BacklogFullError, InboxLimits, admit_inbox
from protocol.httpsig import SignedRequest

HOST = "peer.example"


class Backlog:
    """The ``inbox`` table's pending rows of one host, and how often they were counted."""

    def __init__(self) -> None:
        self.rows = 0
        self.peak = 0  # the most rows ever pending
        self.counts = 0

    async def count(self, db: Any, host: str, *, limit: int) -> int:
        self.counts += 1
        return min(self.rows, limit)


def _signature() -> SignedRequest:
    signed = mock.Mock(spec=SignedRequest)
    signed.key_id = f"https://{HOST}/actors/a#main-key"
    return signed


# A step: ("post", process) a request of HOST to that process (stored when admitted), or
# ("apply", n) the worker applies up to n of the host's rows.
steps = st.lists(st.one_of(st.tuples(st.just("post"), st.integers(0, 3)),
                           st.tuples(st.just("apply"), st.integers(1, 40))), max_size=300)


def _run(processes: int, cap: int, plan: list[tuple[str, int]]) -> tuple[Backlog, list[str]]:
    """Run ``plan`` against ``processes`` web processes' limits: the backlog, and each post's
    outcome ("admitted at N" / "refused at N", N the rows pending before it)."""
    backlog = Backlog()
    limits = [InboxLimits(rate_per_host=0, burst_per_host=0, rate_total=0, burst_total=0,
                          pending_per_host=cap) for _ in range(processes)]
    ctx = SimpleNamespace(clock=lambda: datetime.now(UTC), db=None)
    signature = _signature()
    outcomes: list[str] = []

    async def run() -> None:
        for kind, n in plan:
            if kind == "apply":
                backlog.rows = max(0, backlog.rows - n)
                continue
            before = backlog.rows
            try:
                await admit_inbox(ctx, limits[n % processes], signature)  # type: ignore[arg-type]
            except BacklogFullError:
                outcomes.append(f"refused at {before}")
            else:
                backlog.rows += 1
                outcomes.append(f"admitted at {before}")
            backlog.peak = max(backlog.peak, backlog.rows)

    with mock.patch.object(ratelimit.inbox_store, "count_pending", backlog.count), \
            mock.patch.object(ratelimit, "uncommitted_from", lambda ctx, host: 0):
        asyncio.run(run())
    return backlog, outcomes


@settings(max_examples=150, deadline=None)
@given(plan=steps, cap=st.integers(1, 40))
def test_one_process_refuses_exactly_when_the_backlog_is_at_the_cap(
        plan: list[tuple[str, int]], cap: int) -> None:
    _backlog, outcomes = _run(1, cap, plan)
    for outcome in outcomes:
        kind, _, before = outcome.split()
        assert (kind == "refused") == (int(before) >= cap), outcomes


@settings(max_examples=150, deadline=None)
@given(plan=steps, cap=st.integers(1, 40), processes=st.integers(2, 4))
def test_several_processes_stay_within_the_documented_bound(
        plan: list[tuple[str, int]], cap: int, processes: int) -> None:
    backlog, outcomes = _run(processes, cap, plan)
    assert backlog.peak <= cap + (RECOUNT_EVERY - 1) * (processes - 1), outcomes
    # and a refusal is always a count in the database that found the cap reached
    assert all(int(o.split()[-1]) >= cap for o in outcomes if o.startswith("refused"))


def test_the_database_is_counted_once_every_recount_every_admissions() -> None:
    backlog, outcomes = _run(1, 1_000, [("post", 0)] * (3 * RECOUNT_EVERY))
    assert all(o.startswith("admitted") for o in outcomes)
    assert backlog.counts == 3


def test_at_the_cap_every_request_is_counted_and_refused_only_then() -> None:
    # One count (0 pending), four admitted on the figure (1..4 < 5), then the figure is at the
    # cap: the sixth and seventh are counted and refused; once the worker applied one, the
    # eighth is counted and admitted.
    backlog, outcomes = _run(1, 5, [("post", 0)] * 7 + [("apply", 1), ("post", 0)])
    assert [o.split()[0] for o in outcomes] == ["admitted"] * 5 + ["refused"] * 2 + ["admitted"]
    assert backlog.counts == 4
