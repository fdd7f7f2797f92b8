"""Notifications across nodes, every request delivered twice (issue 11): an initiative on Fryslân
follows one on Drenthe, answers its question and endorses its bottleneck; Drenthe's editor sees
each once. Drenthe accepts the answer; Fryslân's editor sees that once. Then anti-entropy runs
over everything again, and still each is there once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from node.services import notifications
from node.services.bottlenecks import endorse
from node.services.follow import follow
from node.services.inputs import EndorsementInput, Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM
from tests.federation.harness import Faults, federation, postgres
from tests.node.services.test_notifications import editor_of
from tests.node.web import make_initiative, make_item

MOLEN = "https://drenthe.test/actors/dorpsmolen"
MUNE = "https://fryslan.test/actors/mune"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[Callable[[Path, str], str] | None]:
    if request.param == "sqlite":
        yield None
        return
    with postgres() as make:
        yield make


async def test_each_notification_once_when_every_activity_arrives_twice(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database,
                          faults=Faults(duplicate_rate=1.0)) as fed:
        drenthe, fryslan = fed["drenthe"].ctx, fed["fryslan"].ctx
        await make_initiative(drenthe, "dorpsmolen")
        await make_initiative(fryslan, "mune", name="Mûne Reduzum")
        molenaar = await editor_of(drenthe, "molenaar", "dorpsmolen")
        muner = await editor_of(fryslan, "muner", "mune")
        question = await make_item(drenthe, "dorpsmolen", kind="question", title="Hoe begin je?")
        bottleneck = await make_item(drenthe, "dorpsmolen", kind="bottleneck",
                                     title="Netcongestie", regulation="Energiewet")
        # Given: Mûne follows Dorpsmolen, so it holds copies of its question and bottleneck.
        await follow(fryslan, MOLEN, as_handle="mune")
        await fed.settle()
        # When: it answers the question and endorses the bottleneck (each request twice).
        answer = await make_item(fryslan, "mune", kind="answer", title=None, content="Zo.",
                                 in_reply_to=question.ap_id)
        await endorse(fryslan, EndorsementInput.model_validate(
            {"item": bottleneck.ap_id, "as": "mune", "note": "Wij ook"}), SYSTEM)
        await fed.settle()
        # Then: Drenthe's editor has one of each.
        found = await notifications.list_for(drenthe, molenaar)
        assert sorted((n.event.kind, n.event.actor) for n in found) == [
            ("answer", MUNE), ("endorsement", MUNE), ("follower", MUNE)]
        assert await notifications.unread_count(drenthe, molenaar) == 3
        # When: Dorpsmolen accepts the answer; the Update reaches the follower's node.
        await update_item(drenthe, question.ap_id, Patch({"accepted_answer": answer.ap_id}),
                          SYSTEM)
        await fed.settle()
        # Then: Mûne's editor is told once.
        assert [(n.event.kind, n.event.recipient, n.event.subject)
                for n in await notifications.list_for(fryslan, muner)] == [
            ("accepted", MUNE, question.ap_id)]
        # And anti-entropy passes over it all again without adding any.
        await fed.heal(hours=3)
        assert len(await notifications.list_for(drenthe, molenaar)) == 3
        assert len(await notifications.list_for(fryslan, muner)) == 1
