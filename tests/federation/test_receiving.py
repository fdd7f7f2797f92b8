"""Receiving across nodes: idempotence, version order, tombstones, relays, moderation, follows.

DESIGN.md "Federation semantics": receiving is idempotent by activity id; an older or equal
version never overwrites a newer one; a tombstoned id stays dead; a relayed copy (``Announce``)
counts only through its author's proof or a fetch from its origin; follow approval, the
allowlist, ``Undo``, ``Flag`` and answers re-announced by the question's author. Requests are
real signed POSTs between in-process nodes; the test holds, replays and reorders them in the
network of ``tests/federation/harness.py``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from node.services.actors import create_initiative
from node.services.follow import follow, unfollow
from node.services.inputs import InitiativeInput, Patch, item_input
from node.services.items import create_item, delete_item, update_item
from node.services.outbox import publish_activity
from node.services.permissions import SYSTEM
from node.services.resolve import fetch_actor, node_actor
from node.store import follows as follow_store
from node.store import inbox as inbox_store
from node.store.objects import StoredObject
from node.store.schema import flags, follows, objects
from node.worker import run_once
from protocol.proofs import add_proof
from tests.federation.harness import (
    Federation,
    Held,
    Node,
    activities_of,
    delivery_rows,
    federation,
    inbox_rows,
    stored,
)


async def _follow(fed: Federation, follower: str, followee: str, *, as_handle: str | None = None,
                  handle: str | None = None) -> None:
    """``follower``'s node actor (or ``as_handle``) follows ``followee``'s node (or ``handle``)."""
    await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(handle or followee),
                 as_handle=as_handle)
    await fed.settle()


async def _story(node: Node, title: str = "De molen draait", *,
                 initiative: str | None = None, **extra: Any) -> StoredObject:
    return await create_item(node.ctx, item_input(kind=extra.pop("kind", "story"), title=title,
                                                 content="Sinds 2004.", initiative=initiative,
                                                 **extra), SYSTEM)


def _held(fed: Federation, type: str, version: int | None = None) -> Held:
    """The one held POST carrying a ``type`` activity (of the object at ``version``)."""
    found = [h for h in fed.network.held if h.document["type"] == type and (
        version is None or h.document["object"].get("version") == version)]
    assert len(found) == 1, [h.document["type"] for h in fed.network.held]
    return found[0]


async def _object_rows(node: Node, ap_id: str) -> int:
    async with node.ctx.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(objects).where(
            objects.c.ap_id == ap_id))).scalar_one())


async def test_duplicate_delivery_stores_once(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        fryslan = fed["fryslan"]
        await _follow(fed, "fryslan", "drenthe")
        # Given one signed delivery of a new item, caught on the wire
        fed.faults.hold = True
        item = await _story(fed["drenthe"])
        await fed.run_workers(names=["drenthe"])
        (held,) = fed.network.held
        # When the very same signed POST arrives twice
        first = await fed.network.replay(held)
        second = await fed.network.replay(held)
        fed.network.held.clear()
        await fed.settle()
        # Then both are answered 202, and one inbox row and one object exist
        assert (first.status_code, second.status_code) == (202, 202)
        assert len(await inbox_rows(fryslan, held.document["id"])) == 1
        assert await _object_rows(fryslan, item.ap_id) == 1
        got = await stored(fryslan, item.ap_id)
        assert got is not None and got.version == 1


async def test_out_of_order_update_keeps_the_newest_version(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        await _follow(fed, "fryslan", "drenthe")
        # Given an item created and updated twice while its deliveries are held back
        fed.faults.hold = True
        item = await _story(drenthe)
        await update_item(drenthe.ctx, item.ap_id, Patch({"title": "Versie twee"}), SYSTEM)
        await update_item(drenthe.ctx, item.ap_id, Patch({"title": "Versie drie"}), SYSTEM)
        await fed.run_workers(names=["drenthe"])
        # When they arrive as Create, then version 3, then version 2
        for held in (_held(fed, "Create"), _held(fed, "Update", 3), _held(fed, "Update", 2)):
            response = await fed.network.deliver(held)
            assert response is not None and response.status_code == 202
            await fed.settle()
        # Then the receiver keeps version 3
        got = await stored(fryslan, item.ap_id)
        assert got is not None and (got.version, got.title) == (3, "Versie drie")


async def test_delete_then_late_create_and_update_stays_a_tombstone(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        await _follow(fed, "fryslan", "drenthe")
        # Given an item created, updated and deleted, each sent while the network holds it
        fed.faults.hold = True
        item = await _story(drenthe)
        await update_item(drenthe.ctx, item.ap_id, Patch({"title": "Later"}), SYSTEM)
        await fed.run_workers(names=["drenthe"])
        gone = await delete_item(drenthe.ctx, item.ap_id, SYSTEM)
        await fed.run_workers(names=["drenthe"])
        # When the Delete arrives first and the Update and Create after it
        for held in (_held(fed, "Delete"), _held(fed, "Update"), _held(fed, "Create")):
            await fed.network.deliver(held)
            await fed.settle()
        # Then the receiver holds a tombstone at the origin's version, no content
        got = await stored(fryslan, item.ap_id)
        assert got is not None and got.deleted and got.version == gone.version == 3
        assert got.content is None


async def test_announce_by_the_node_actor_is_accepted_through_its_proof(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        # Given Drenthe follows Fryslân's node actor (not its initiatives)
        await create_initiative(fryslan.ctx, InitiativeInput(handle="dorpsmolen-reduzum",
                                                             name="Dorpsmolen Reduzum"), SYSTEM)
        await _follow(fed, "drenthe", "fryslan")
        # When an initiative there publishes an item
        item = await _story(fryslan, initiative="dorpsmolen-reduzum")
        await fed.settle()
        # Then it reached Drenthe only as the node actor's Announce
        received = {(r.type, r.actor) for r in await inbox_rows(drenthe)}
        assert ("Announce", fryslan.url + "/actors/fryslan") in received
        assert not any(t == "Create" for t, _ in received)
        # And it was stored from the embedded copy, verified by its proof, without a fetch
        got = await stored(drenthe, item.ap_id)
        assert got is not None and got.attributed_to.endswith("/actors/dorpsmolen-reduzum")
        assert got.title == "De molen draait"
        assert not [u for src, m, u in fed.network.history
                    if src == "drenthe.test" and m == "GET" and u == item.ap_id]


async def _announce_by_fryslan(fed: Federation, obj: dict[str, Any]) -> None:
    """Fryslân's node actor announces ``obj`` (as given) to its followers."""
    ctx = fed["fryslan"].ctx
    async with ctx.db.transaction() as session:
        await publish_activity(ctx, session, actor=await node_actor(ctx), type="Announce",
                               obj=obj)
    await fed.settle()


def _forged(document: dict[str, Any], **changes: Any) -> dict[str, Any]:
    forged = {k: v for k, v in document.items() if k != "proof"}
    forged.update(changes)
    return forged


async def test_announced_forgery_of_an_unknown_object_is_not_stored(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe, lvkk = fed["drenthe"], fed["lvkk"]
        await _follow(fed, "drenthe", "fryslan")
        # Given a well-formed object, without proof, claiming to be LVKK's (a third host)
        genuine = await _story(lvkk, "Echt bericht")
        forged = _forged(genuine.document, id=lvkk.url + "/items/verzonnen",
                         url=lvkk.url + "/items/verzonnen", name="Verzonnen bericht")
        # When Fryslân's node announces it to Drenthe
        await _announce_by_fryslan(fed, forged)
        # Then Drenthe asked the origin, which does not know it, and stored nothing
        assert ("drenthe.test", "GET", forged["id"]) in fed.network.history
        assert await stored(drenthe, forged["id"]) is None


async def test_announced_forged_copy_is_replaced_by_the_origin_copy(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe, lvkk = fed["drenthe"], fed["lvkk"]
        await _follow(fed, "drenthe", "fryslan")
        # Given an altered copy of a real LVKK item, its proof removed
        genuine = await _story(lvkk, "Echt bericht")
        forged = _forged(genuine.document, name="Vervalst bericht", content="<p>Onzin.</p>")
        # When Fryslân's node announces the altered copy
        await _announce_by_fryslan(fed, forged)
        # Then Drenthe stored the object as its origin serves it, not the copy
        got = await stored(drenthe, genuine.ap_id)
        assert got is not None and got.title == "Echt bericht"
        assert got.document == genuine.document


async def test_announced_copy_with_a_wrong_proof_stores_the_origin_copy(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe, lvkk = fed["drenthe"], fed["lvkk"]
        await _follow(fed, "drenthe", "fryslan")
        # Given an altered copy of a real LVKK item signed by another key under LVKK's key id
        genuine = await _story(lvkk, "Echt bericht")
        method = genuine.document["proof"]["verificationMethod"]
        forged = add_proof(_forged(genuine.document, name="Vervalst bericht"),
                           ed25519.Ed25519PrivateKey.generate(), method,
                           created=fed.clock.now)
        # When Fryslân's node announces it
        await _announce_by_fryslan(fed, forged)
        # Then the proof counted for nothing: Drenthe asked LVKK and stored LVKK's copy
        assert ("drenthe.test", "GET", genuine.ap_id) in fed.network.history
        got = await stored(drenthe, genuine.ap_id)
        assert got is not None and got.title == "Echt bericht"
        assert got.document == genuine.document


async def test_follow_with_manual_approval_stays_pending(tmp_path: Path) -> None:
    overrides = {"fryslan": {"federation__follow_approval": "manual"}}
    async with federation(tmp_path, ["drenthe", "fryslan"], overrides=overrides) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        # Given Fryslân approves followers by hand
        # When Drenthe follows Fryslân
        await _follow(fed, "drenthe", "fryslan")
        # Then the request is recorded as pending on both sides, and no Accept was sent
        pair = (drenthe.url + "/actors/drenthe", fryslan.url + "/actors/fryslan")
        for node in (drenthe, fryslan):
            async with node.ctx.db.sessions() as session:
                row = await follow_store.get(session, *pair)
            assert row is not None and row.state == "pending"
        assert await activities_of(fryslan, pair[1], "Accept") == []
        # And Fryslân's items are not delivered to Drenthe
        await _story(fryslan)
        assert await delivery_rows(fryslan, host="drenthe.test") == []


async def test_allowlist_refuses_a_post_from_an_unlisted_host(tmp_path: Path) -> None:
    overrides = {"fryslan": {"federation__mode": "allowlist",
                             "federation__allow": ["lvkk.test"]}}
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"], overrides=overrides) as fed:
        # Given Fryslân federates only with LVKK
        # When Drenthe (not listed) sends it a Follow
        await _follow(fed, "drenthe", "fryslan")
        # Then the POST was refused with 403 and nothing was stored
        (row,) = await delivery_rows(fed["drenthe"], host="fryslan.test")
        assert (row.state, row.last_status) == ("failed", 403)
        assert await inbox_rows(fed["fryslan"]) == []


async def test_undo_follow_removes_the_follower(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe = fed["drenthe"]
        followee = drenthe.url + "/actors/drenthe"
        # Given Fryslân follows Drenthe
        await _follow(fed, "fryslan", "drenthe")
        async with drenthe.ctx.db.sessions() as session:
            assert await follow_store.count(session, followee=followee) == 1
        # When Fryslân unfollows (Undo(Follow))
        assert await unfollow(fed["fryslan"].ctx, followee)
        await fed.settle()
        # Then Drenthe no longer lists it, and new items are not delivered there
        async with drenthe.ctx.db.sessions() as session:
            left = (await session.execute(select(func.count()).select_from(follows).where(
                follows.c.followee == followee))).scalar_one()
        assert left == 0
        before = len(await delivery_rows(drenthe, host="fryslan.test"))
        await _story(drenthe)
        assert len(await delivery_rows(drenthe, host="fryslan.test")) == before


async def test_flag_is_stored(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        drenthe, fryslan = fed["drenthe"], fed["fryslan"]
        # Given an item on Fryslân
        item = await _story(fryslan, "Twijfelachtig")
        # When Drenthe's node reports it to Fryslân's node
        target = await fetch_actor(drenthe.ctx, fryslan.url + "/actors/fryslan")
        async with drenthe.ctx.db.transaction() as session:
            report = await publish_activity(drenthe.ctx, session,
                                            actor=await node_actor(drenthe.ctx), type="Flag",
                                            obj=item.ap_id, recipients=[target],
                                            followers=False, to=[target.ap_id], cc=[])
        await fed.settle()
        # Then Fryslân lists an open report by Drenthe's node about the item
        async with fryslan.ctx.db.sessions() as session:
            rows = (await session.execute(select(flags))).mappings().all()
        assert [(r["activity_ap_id"], r["actor"], r["objects"], r["state"]) for r in rows] == [
            (report.ap_id, drenthe.url + "/actors/drenthe", [item.ap_id], "open")]


async def test_answer_from_another_node_is_stored_and_reannounced(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "lvkk"]) as fed:
        drenthe, fryslan, lvkk = fed["drenthe"], fed["fryslan"], fed["lvkk"]
        # Given a question by a Drenthe initiative, which LVKK follows (and Fryslân's node)
        await create_initiative(drenthe.ctx, InitiativeInput(handle="dorpshuis-eext",
                                                             name="Dorpshuis Eext"), SYSTEM)
        await create_initiative(fryslan.ctx, InitiativeInput(handle="ried-reduzum",
                                                             name="Ried Reduzum"), SYSTEM)
        await _follow(fed, "lvkk", "drenthe", handle="dorpshuis-eext")
        await _follow(fed, "fryslan", "drenthe")
        await _follow(fed, "drenthe", "fryslan")
        question = await _story(drenthe, "Hoe regelen jullie de vrijwilligers?",
                                initiative="dorpshuis-eext", kind="question")
        await fed.settle()
        assert await stored(fryslan, question.ap_id) is not None
        # When a Fryslân initiative answers it
        answer = await _story(fryslan, "Met een rooster", initiative="ried-reduzum",
                              kind="answer", in_reply_to=question.ap_id)
        await fed.settle()
        # Then Drenthe stored the answer to its question
        got = await stored(drenthe, answer.ap_id)
        assert got is not None and got.kind == "answer" and got.in_reply_to == question.ap_id
        # And the question's author announced it once to its followers, so LVKK has it too
        author = drenthe.url + "/actors/dorpshuis-eext"
        announces = [a for a in await activities_of(drenthe, author, "Announce")
                     if a.object_ap_id == answer.ap_id]
        assert len(announces) == 1
        relayed = await stored(lvkk, answer.ap_id)
        assert relayed is not None and relayed.version == answer.version


async def test_crashed_worker_loses_no_received_activity(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan"]) as fed:
        fryslan = fed["fryslan"]
        await _follow(fed, "fryslan", "drenthe")
        item = await _story(fed["drenthe"])
        await fed.run_workers(names=["drenthe"])  # delivered: stored raw, not yet applied
        # Given a worker that claimed the received Create and died before applying it
        lease = timedelta(seconds=fryslan.ctx.settings.federation.lease_seconds)
        async with fryslan.ctx.db.transaction() as session:
            claimed = await inbox_store.claim(session, now=fryslan.ctx.now(), limit=50,
                                              lease=lease)
        assert [r.type for r in claimed] == ["Create"]
        # When another worker runs while the lease holds
        await run_once(fryslan.ctx)
        # Then the activity waits
        assert await stored(fryslan, item.ap_id) is None
        # And once the lease has run out it is applied
        fed.clock.advance(lease.total_seconds())
        await run_once(fryslan.ctx)
        assert await stored(fryslan, item.ap_id) is not None
        assert [r.state for r in await inbox_rows(fryslan, claimed[0].activity_ap_id)] == ["done"]
