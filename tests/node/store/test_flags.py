"""The flags store: a report is stored once per Flag activity, listed newest first."""

from __future__ import annotations

from node.services.context import NodeContext
from node.store import flags


async def test_a_report_is_stored_once_and_listed_newest_first(ctx: NodeContext) -> None:
    now = ctx.now()
    async with ctx.db.transaction() as session:
        for n in (1, 2, 1):
            await flags.add(session, activity_ap_id=f"https://fryslan.test/flags/{n}",
                            actor="https://fryslan.test/actors/fryslan",
                            objects=["https://drenthe.test/items/x"], content="spam", now=now)
        assert not await flags.add(session, activity_ap_id="https://fryslan.test/flags/2",
                                   actor="https://fryslan.test/actors/fryslan", objects=[],
                                   content="", now=now)
        listed = await flags.recent(session, limit=10)
    assert [f.activity_ap_id for f in listed] == ["https://fryslan.test/flags/2",
                                                  "https://fryslan.test/flags/1"]
    assert (listed[0].objects, listed[0].state, listed[0].received_at) == (
        ["https://drenthe.test/items/x"], "open", now)
