"""Key rotation with two nodes: the peer that cached the old key refetches it and keeps accepting."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.keys import rotate_keys
from node.services.permissions import SYSTEM
from node.store import actors as actor_store
from node.store.schema import inbox
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.federation.harness import federation, stored


async def test_after_rotation_the_peer_that_cached_the_old_key_keeps_accepting(
        tmp_path: Path, database: Callable[[Path, str], str] | None) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"], database=database) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        actor_id = drenthe.ctx.urls.actor("drenthe")
        # Given Fryslân follows Drenthe and holds an item of it, signed with the old key
        await follow(fryslan.ctx, "drenthe@drenthe.test")
        await fed.settle()
        old_item = await create_item(drenthe.ctx, item_input(
            kind="story", title="Voor de wissel", content="Oude sleutel."), SYSTEM)
        await fed.settle()
        async with fryslan.ctx.db.sessions() as session:
            cached = await actor_store.get(session, actor_id)
        assert cached is not None and cached.rsa_public_pem
        # When Drenthe's node actor gets new keys
        rotation = await rotate_keys(drenthe.ctx, "drenthe")
        assert rotation.actor.rsa_public_pem != cached.rsa_public_pem
        assert rotation.actor.rsa_key_id == cached.rsa_key_id  # same key ids, new keys
        assert rotation.resigned >= 2  # the old item and its Create, at least
        await fed.settle()
        # Then Fryslân accepted the Update signed with the new key, after refetching the actor
        async with fryslan.ctx.db.sessions() as session:
            refreshed = await actor_store.get(session, actor_id)
            updates = (await session.execute(select(inbox.c.state).where(
                inbox.c.actor == actor_id, inbox.c.type == "Update"))).scalars().all()
        assert refreshed is not None
        assert refreshed.rsa_public_pem == rotation.actor.rsa_public_pem
        assert refreshed.ed_public_multibase == rotation.actor.ed_public_multibase
        assert list(updates) == ["done"]
        # And a new signed delivery is accepted as well
        new_item = await create_item(drenthe.ctx, item_input(
            kind="story", title="Na de wissel", content="Nieuwe sleutel."), SYSTEM)
        await fed.settle()
        got = await stored(fryslan, new_item.ap_id)
        assert got is not None and got.title == "Na de wissel"
        # And the item from before the rotation now carries a proof by the new key
        served = await stored(drenthe, old_item.ap_id)
        assert served is not None and rotation.actor.ed_public_multibase
        verify_proof(served.document, multikey_decode(rotation.actor.ed_public_multibase))
