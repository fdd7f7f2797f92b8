"""Moving an initiative to another node: followers on our nodes follow the new actor (Move)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from node.services.actors import create_initiative
from node.services.errors import ValidationError
from node.services.follow import follow
from node.services.inputs import InitiativeInput
from node.services.moves import add_alias, move_actor
from node.services.outbox import publish_activity
from node.services.permissions import SYSTEM
from node.store import actors as actor_store
from node.store import follows as follow_store
from node.store.schema import inbox
from tests.federation.harness import Federation, federation

OLD = "https://drenthe.test/actors/dorpshuis"
NEW = "https://overijssel.test/actors/dorpshuis"


async def _setup(fed: Federation) -> None:
    """Dorpshuis lives on Drenthe's node and Fryslân's node follows it; Overijssel hosts its
    new actor."""
    for name in ("drenthe", "overijssel"):
        await create_initiative(fed[name].ctx, InitiativeInput(handle="dorpshuis",
                                                               name="Dorpshuis"), SYSTEM)
    await follow(fed["fryslan"].ctx, OLD)
    await fed.settle()


async def _fryslan_follows(fed: Federation, followee: str) -> str | None:
    ctx = fed["fryslan"].ctx
    async with ctx.db.sessions() as session:
        row = await follow_store.get(session, ctx.urls.actor("fryslan"), followee)
    return row.state if row else None


async def test_a_move_makes_our_followers_follow_the_new_actor(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "overijssel", "fryslan"]) as fed:
        await _setup(fed)
        assert await _fryslan_follows(fed, OLD) == "accepted"
        # Given the new actor lists the old one in alsoKnownAs
        await add_alias(fed["overijssel"].ctx, "dorpshuis", OLD)
        # When the old one moves
        moved = await move_actor(fed["drenthe"].ctx, "dorpshuis", NEW)
        assert moved.document is not None and moved.document["movedTo"] == NEW
        await fed.settle()
        # Then Fryslân's node follows the new actor and no longer the old one
        assert await _fryslan_follows(fed, NEW) == "accepted"
        assert await _fryslan_follows(fed, OLD) is None
        async with fed["overijssel"].ctx.db.sessions() as session:
            new = await actor_store.get(session, NEW)
        assert new is not None and new.document is not None
        assert new.document["alsoKnownAs"] == [OLD]


async def test_moving_to_an_actor_that_does_not_list_the_old_one_is_refused(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "overijssel", "fryslan"]) as fed:
        await _setup(fed)
        with pytest.raises(ValidationError) as refused:
            await move_actor(fed["drenthe"].ctx, "dorpshuis", NEW)
        assert refused.value.reason == "not_aliased"


async def test_a_received_move_to_an_unaliased_actor_changes_no_follow(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "overijssel", "fryslan"]) as fed:
        await _setup(fed)
        # Given a Move sent without the new actor's consent (no alsoKnownAs)
        ctx = fed["drenthe"].ctx
        async with ctx.db.transaction() as session:
            old = await actor_store.get(session, OLD)
            assert old is not None
            await publish_activity(ctx, session, actor=old, type="Move", obj=OLD,
                                   extra={"target": NEW})
        await fed.settle()
        # Then Fryslân refused to apply it and still follows the old actor only
        fryslan = fed["fryslan"].ctx
        async with fryslan.db.sessions() as session:
            states = (await session.execute(select(inbox.c.state, inbox.c.last_error).where(
                inbox.c.type == "Move"))).all()
        assert [s for s, _ in states] == ["failed"] and "alsoKnownAs" in states[0][1]
        assert await _fryslan_follows(fed, OLD) == "accepted"
        assert await _fryslan_follows(fed, NEW) is None


def test_mastodon_move_parses_with_its_target() -> None:
    import orjson

    from protocol.parse import parse_activity

    raw = orjson.loads((Path(__file__).resolve().parents[1] / "data" / "as2" /
                        "mastodon_move.json").read_bytes())
    move = parse_activity(raw)
    assert (move.type, move.object_id, move.target) == (
        "Move", "https://mastodon.example/users/anneke", "https://nieuw.example/users/anneke")
