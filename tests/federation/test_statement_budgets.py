"""Issue 13's statement budgets, counted on SQLite and PostgreSQL (docs/performance.md).

Steady state: the sender, the peer and the node's own actors were seen before, so the rows held
in memory (``node.store._memo``) answer. A signed activity accepted by the inbox costs at most
two statements (the backlog cap's count and the insert); recording a delivery's outcome at most
two (the delivery row and the peer's health).

Creating an item (two themes, a follower) costs at most five (issue 13's budget; four now: the
item, its search entry — the index's triggers do the rest —, its Create and both theme feeds'
Announces in one ``INSERT``, the delivery). Applying a received Create with two themes costs
at most four (issue 13's budget): the claim, the object, one ``INSERT`` into the
``batched_writes`` view for its search entry, the theme feeds' Announces and the feed entries
(``node.store.batched``), and the finish.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from node.services import delivery
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.worker import _inbox_batch, run_once
from tests.federation.harness import Federation, delivery_rows, federation
from tests.statements import counted, held_long

pytestmark = pytest.mark.usefixtures(held_long.__name__)
__all__ = ["held_long"]  # the fixture, imported for pytest

INBOX_ACCEPT = 2
DELIVERY_OUTCOME = 2
APPLY = 4  # issue 13's budget (4 on both)
CREATE = 5  # issue 13's budget (4 on both)


async def _followed(fed: Federation) -> None:
    """Drenthe follows Fryslân's node actor, and one item has travelled (everything warm)."""
    await follow(fed["drenthe"].ctx, "fryslan@fryslan.test")
    await fed.settle()
    await _story(fed, "Eerste")
    await fed.settle()


async def _story(fed: Federation, title: str) -> None:
    await create_item(fed["fryslan"].ctx, item_input(
        kind="story", title=title, content="Sinds 2004.", themes=["meals", "broadband"],
        place={"name": "Reduzum", "latitude": 53.12, "longitude": 5.78}), SYSTEM)


async def test_inbox_accepts_a_signed_activity_in_two_statements(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"], database=database) as fed:
        await _followed(fed)
        drenthe = fed["drenthe"]
        await _story(fed, "Tweede")  # one Create for Drenthe's shared inbox
        before = fed.network.answered.get(drenthe.ctx.urls.host, 0)
        with counted(drenthe.ctx) as sent:
            await run_once(fed["fryslan"].ctx)  # Fryslân delivers; Drenthe's inbox accepts
        assert fed.network.answered[drenthe.ctx.urls.host] == before + 1
        assert sent.within(INBOX_ACCEPT), str(sent)
        assert any("INSERT INTO inbox" in s for s in sent), str(sent)  # it was stored


@pytest.mark.parametrize("outcome", [delivery.Sent(202), delivery.GiveUp("gone", 410),
                                     delivery.Retry(30.0, "http_503", 503)],
                         ids=["sent", "gave_up", "retry"])
async def test_a_delivery_outcome_is_two_statements(
        tmp_path: Path, database: Callable[[Path, str], str] | None,
        outcome: delivery.Outcome) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"], database=database) as fed:
        await _followed(fed)
        fryslan = fed["fryslan"]
        await _story(fed, "Tweede")
        row = next(r for r in await delivery_rows(fryslan) if r.state == "pending")
        with counted(fryslan.ctx) as sent:
            await delivery.record(fryslan.ctx, row, outcome)
        assert sent.within(DELIVERY_OUTCOME), str(sent)
        after = next(r for r in await delivery_rows(fryslan) if r.id == row.id)
        assert after.attempts == 1 and after.locked_until is None
        assert after.state == {"sent": "sent", "gave_up": "failed", "retry": "pending"}[
            type(outcome).__name__.lower().replace("giveup", "gave_up")]


async def test_applying_a_received_create_costs_at_most_four_statements(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"], database=database) as fed:
        await _followed(fed)
        drenthe = fed["drenthe"]
        await _story(fed, "Tweede")
        await run_once(fed["fryslan"].ctx)  # delivered: waiting in Drenthe's inbox
        with counted(drenthe.ctx) as sent:
            assert await _inbox_batch(drenthe.ctx, 50) == 1  # claim, apply, finish
        assert sent.within(APPLY), str(sent)
        assert any("INSERT INTO objects" in s for s in sent), str(sent)
        assert any("INSERT INTO batched_writes" in s for s in sent), str(sent)


async def test_creating_an_item_costs_at_most_five_statements(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"], database=database) as fed:
        await _followed(fed)  # a follower: the Create is queued for delivery too
        with counted(fed["fryslan"].ctx) as sent:
            await _story(fed, "Tweede")
        assert sent.within(CREATE), str(sent)
        assert any("INSERT INTO deliveries" in s for s in sent), str(sent)
