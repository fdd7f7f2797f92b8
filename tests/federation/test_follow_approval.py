"""Approving followers by hand across nodes: Drenthe's node follows an initiative on Fryslân
that approves followers by hand (docs/following.md, "Approving followers by hand"). Real signed
POSTs between in-process nodes, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from node.services import approvals
from node.services.actors import create_initiative
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.resolve import fetch_actor
from node.store import follows as follow_store
from node.store.actors import StoredActor
from tests.federation.harness import Federation, activities_of, federation, stored

HANDLE = "doarpswurk"


async def _state(ctx: NodeContext, follower: str, followee: str) -> str | None:
    async with ctx.db.sessions() as session:
        row = await follow_store.get(session, follower, followee)
    return row.state if row else None


async def _asked(fed: Federation) -> tuple[StoredActor, str]:
    """Given an initiative on Fryslân that approves followers by hand, when Drenthe's node
    follows it: the initiative and the follower's IRI."""
    drenthe, fryslan = fed["drenthe"], fed["fryslan"]
    initiative = await create_initiative(
        fryslan.ctx, InitiativeInput(handle=HANDLE, name="Doarpswurk"), SYSTEM)
    await approvals.set_approval(fryslan.ctx, SYSTEM, HANDLE, True)
    await follow(drenthe.ctx, initiative.ap_id)
    await fed.settle()
    return initiative, drenthe.ctx.urls.actor("drenthe")


async def test_a_follow_waits_for_the_initiative_and_holds_once_accepted(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        initiative, follower = await _asked(fed)
        # Then Drenthe reads the locked actor, and the request waits on both sides
        cached = await fetch_actor(drenthe.ctx, initiative.ap_id)
        assert cached.document is not None
        assert cached.document["manuallyApprovesFollowers"] is True
        assert await _state(drenthe.ctx, follower, initiative.ap_id) == "pending"
        assert await _state(fryslan.ctx, follower, initiative.ap_id) == "pending"
        assert await activities_of(fryslan, initiative.ap_id, "Accept") == []
        # And the initiative's new item does not reach Drenthe
        early = await create_item(fryslan.ctx, item_input(
            kind="story", title="Nog niet voor Drenthe", content="Eerst goedkeuren.",
            initiative=HANDLE), SYSTEM)
        await fed.settle()
        assert await stored(drenthe, early.ap_id) is None
        # When the initiative's editor accepts the waiting request
        (waiting,) = await approvals.pending_requests(fryslan.ctx, SYSTEM)
        assert waiting.follower == follower
        await approvals.answer_request(fryslan.ctx, SYSTEM, waiting.id, accept=True)
        await fed.settle()
        # Then the follow holds on both sides and the next item is delivered
        assert await _state(fryslan.ctx, follower, initiative.ap_id) == "accepted"
        assert await _state(drenthe.ctx, follower, initiative.ap_id) == "accepted"
        later = await create_item(fryslan.ctx, item_input(
            kind="story", title="Welkom, Drenthe", content="Nu wel.", initiative=HANDLE),
            SYSTEM)
        await fed.settle()
        assert await stored(drenthe, later.ap_id) is not None


async def test_a_rejected_follow_is_marked_rejected_at_the_follower(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        initiative, follower = await _asked(fed)
        (waiting,) = await approvals.pending_requests(fryslan.ctx, SYSTEM)
        # When the editor rejects it
        await approvals.answer_request(fryslan.ctx, SYSTEM, waiting.id, accept=False)
        await fed.settle()
        # Then Fryslân forgot the request and Drenthe holds its follow as rejected
        assert await _state(fryslan.ctx, follower, initiative.ap_id) is None
        assert await _state(drenthe.ctx, follower, initiative.ap_id) == "rejected"
        assert len(await activities_of(fryslan, initiative.ap_id, "Reject")) == 1
