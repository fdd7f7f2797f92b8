"""What the deliveries of one worker round share (docs/performance.md, "Delivery rounds").

A round reads each activity, signer and host once and serialises each body once (every
recipient gets the same bytes; only the signature, which covers the target, is made per
delivery); outcomes that finish together are written in one transaction, the sent rows in one
statement.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from node.services import delivery
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.worker import run_once
from tests.federation.harness import Federation, delivery_rows, federation
from tests.statements import counted, held_long

pytestmark = pytest.mark.usefixtures(held_long.__name__)
__all__ = ["held_long"]  # the fixture, imported for pytest

FOLLOWERS = ["fryslan", "groningen", "lvkk"]


async def _publish(fed: Federation, title: str) -> None:
    await create_item(fed["drenthe"].ctx, item_input(kind="story", title=title,
                                                     content="Tekst."), SYSTEM)


async def test_a_round_reads_and_serialises_each_activity_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with federation(tmp_path, ["drenthe", *FOLLOWERS]) as fed:
        drenthe = fed["drenthe"]
        for name in FOLLOWERS:
            await follow(fed[name].ctx, drenthe.ctx.urls.actor("drenthe"))
        await fed.settle()
        # Given one item queued for three followers on three servers
        await _publish(fed, "Nieuws")
        bodies: list[bytes] = []
        real_post = drenthe.ctx.remote.post

        async def post(url: str, body: bytes, **kwargs: object) -> int:
            bodies.append(body)
            return await real_post(url, body, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(drenthe.ctx.remote, "post", post)
        # When one worker round sends them
        with counted(drenthe.ctx) as sent:
            assert await run_once(drenthe.ctx) == len(FOLLOWERS)
        # Then the activity was read once and its body made once: the same bytes for each
        assert sum(s.startswith("SELECT activities.") for s in sent) == 1, str(sent)
        assert len(bodies) == len(FOLLOWERS) and all(b is bodies[0] for b in bodies)
        assert {r.state for r in await delivery_rows(drenthe)} == {"sent"}


async def test_outcomes_written_together_mark_the_sent_rows_in_one_statement(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe = fed["drenthe"]
        await follow(fed["fryslan"].ctx, drenthe.ctx.urls.actor("drenthe"))
        await fed.settle()
        await _publish(fed, "Eerste")
        await fed.settle()  # the peer is known and held in memory
        # Given three deliveries to one server answered at the same time
        for n in range(3):
            await _publish(fed, f"Bericht {n}")
        rows = [r for r in await delivery_rows(drenthe) if r.state == "pending"]
        assert len(rows) == 3
        # When their outcomes are written together
        with counted(drenthe.ctx) as sent:
            await delivery.record_many(drenthe.ctx, [(r, delivery.Sent(202)) for r in rows])
        # Then it is one statement for the rows and one for the peer's health
        assert len(sent) == 2, str(sent)
        after = {r.id: r for r in await delivery_rows(drenthe)}
        assert all(after[r.id].state == "sent" and after[r.id].attempts == 1
                   and after[r.id].locked_until is None and after[r.id].last_status == 202
                   for r in rows)
