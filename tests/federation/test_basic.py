"""Two and three nodes in process: follow, accept, deliver, backfill, update, delete."""

from __future__ import annotations

from pathlib import Path

from node.services.actors import create_initiative
from node.services.follow import follow
from node.services.inputs import InitiativeInput, Patch, item_input
from node.services.items import create_item, delete_item, update_item
from node.services.permissions import SYSTEM
from node.store import follows as follow_store
from node.store import objects as object_store
from tests.federation.harness import federation


async def _item(node, ap_id):  # type: ignore[no-untyped-def]
    async with node.ctx.db.sessions() as session:
        return await object_store.get(session, ap_id)


async def test_follow_is_accepted_and_items_arrive(tmp_path: Path) -> None:
    async with federation(tmp_path, ["fryslan", "drenthe"]) as fed:
        fryslan, drenthe = fed["fryslan"], fed["drenthe"]
        # Given an initiative in Fryslân with one item published before anyone follows
        await create_initiative(fryslan.ctx, InitiativeInput(handle="dorpsmolen-reduzum",
                                                             name="Dorpsmolen Reduzum"), SYSTEM)
        old = await create_item(fryslan.ctx, item_input(
            kind="story", title="De molen draait", content="Sinds 2004.",
            initiative="dorpsmolen-reduzum"), SYSTEM)
        # When Drenthe's node follows Fryslân's node
        await follow(drenthe.ctx, "fryslan@fryslan.test")
        await fed.settle()
        async with drenthe.ctx.db.sessions() as session:
            row = await follow_store.get(session, drenthe.ctx.urls.actor("drenthe"),
                                         fryslan.ctx.urls.actor("fryslan"))
        assert row is not None and row.state == "accepted"
        # Then the backfill brought the old item
        got = await _item(drenthe, old.ap_id)
        assert got is not None and got.title == "De molen draait" and not got.is_local
        # And a new item arrives by delivery
        new = await create_item(fryslan.ctx, item_input(
            kind="question", title="Hoe financieren?", content="Wie weet raad?",
            initiative="dorpsmolen-reduzum"), SYSTEM)
        await fed.settle()
        got = await _item(drenthe, new.ap_id)
        assert got is not None and got.kind == "question"
        # Updates and deletes follow
        await update_item(fryslan.ctx, new.ap_id, Patch({"title": "Hoe financieren wij?"}),
                          SYSTEM)
        await fed.settle()
        got = await _item(drenthe, new.ap_id)
        assert got is not None and got.title == "Hoe financieren wij?" and got.version == 2
        await delete_item(fryslan.ctx, new.ap_id, SYSTEM)
        await fed.settle()
        got = await _item(drenthe, new.ap_id)
        assert got is not None and got.deleted
