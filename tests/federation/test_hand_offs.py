"""Thread hand-offs per unit of work on SQLite (node.store._sqlite_driver; docs/performance.md,
"Thread hand-offs"): short statements run in-line on the event loop, so what goes to
aiosqlite's thread is a write's commit, FTS5 writes and statements that scan.

Steady state as in test_statement_budgets (everything warm, rows held in memory). Before the
in-line path every statement was a hand-off: create 16, one delivery round 24, apply 19
(at dcd7db9, before statements were cut).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.worker import _inbox_batch, run_once
from tests.federation.harness import federation
from tests.federation.test_statement_budgets import _followed, _story
from tests.statements import hand_offs, held_long

pytestmark = pytest.mark.usefixtures(held_long.__name__)
__all__ = ["hand_offs", "held_long"]  # the fixtures, imported for pytest

CREATE = 2  # the search_docs insert (its triggers write FTS5), the commit
DELIVERY = 6  # five commits (claim, the receiver's accept, outcome, ...), the backlog count (a scan)
APPLY = 4  # the commits of the claim, the apply and the finish; the search_docs insert


async def test_hand_offs_per_unit_of_work(tmp_path: Path, hand_offs: list[str]) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"]) as fed:
        await _followed(fed)
        hand_offs.clear()
        await _story(fed, "Tweede")
        assert len(hand_offs) <= CREATE, hand_offs
        hand_offs.clear()
        await run_once(fed["fryslan"].ctx)  # claim, deliver (Drenthe's inbox accepts), outcome
        assert len(hand_offs) <= DELIVERY, hand_offs
        hand_offs.clear()
        assert await _inbox_batch(fed["drenthe"].ctx, 50) == 1
        assert len(hand_offs) <= APPLY, hand_offs
