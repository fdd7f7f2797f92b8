"""The federation policy holds on every path (docs/security.md, "Federation policy").

Drenthe runs in allowlist mode (only ``fryslan.test``) or, for the block-later cases, open; the
host it refuses is ``evil.test``. Content of a refused host must neither be fetched nor stored,
whichever allowed peer relays it: an ``Announce`` of an IRI, of an embedded object or activity
(whose proof key lives on the refused host), or the followee's outbox read by backfill. A block
added later hides what is stored at once (lists, search, feeds, theme outboxes, the API) and
stops deliveries; unblocking shows it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from node.services import policy
from node.services.collections import PageRequest, read_collection
from node.services.errors import PermissionDeniedError
from node.services.feeds import feed_page
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.items import ItemQuery, create_item, list_items
from node.services.outbox import publish_activity
from node.services.permissions import SYSTEM
from node.services.resolve import node_actor
from node.store import activities as activity_store
from node.store.objects import StoredObject
from node.store.schema import activities
from tests.federation.harness import Federation, Node, delivery_rows, federation, inbox_rows, stored

ALLOWLIST = {"drenthe": {"federation__mode": "allowlist", "federation__allow": ["fryslan.test"]}}


async def _follow(fed: Federation, follower: str, followee: str) -> None:
    await follow(fed[follower].ctx, fed[followee].ctx.urls.actor(followee))
    await fed.settle()


async def _story(node: Node, title: str, **extra: Any) -> StoredObject:
    return await create_item(node.ctx, item_input(kind="story", title=title, content="Tekst.",
                                                 **extra), SYSTEM)


async def _announce(node: Node, obj: dict[str, Any] | str) -> None:
    """``node``'s node actor announces ``obj`` (an IRI or a document) to its followers."""
    ctx = node.ctx
    async with ctx.db.transaction() as session:
        await publish_activity(ctx, session, actor=await node_actor(ctx), type="Announce",
                               obj=obj)


def _requests_to(fed: Federation, source: str, host: str) -> list[str]:
    return [u for s, _, u in fed.network.history if s == source and f"://{host}/" in u]


async def _create_activity(node: Node, item: StoredObject) -> dict[str, Any]:
    async with node.ctx.db.sessions() as session:
        ap_id = (await session.execute(select(activities.c.ap_id).where(
            activities.c.object_ap_id == item.ap_id, activities.c.type == "Create"))).scalar_one()
        create = await activity_store.get(session, ap_id)
    assert create is not None
    return create.document


# --- allowlist bypass through an allowed relay ------------------------------------------------

async def test_announce_of_an_iri_on_a_host_outside_the_allowlist_is_never_fetched(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "evil"], overrides=ALLOWLIST) as fed:
        drenthe, fryslan, evil = fed["drenthe"], fed["fryslan"], fed["evil"]
        await _follow(fed, "drenthe", "fryslan")
        item = await _story(evil, "Van buiten de lijst")
        # When allowed Fryslân announces the IRI of an evil.test item
        await _announce(fryslan, item.ap_id)
        await fed.settle()
        # Then Drenthe neither asked evil.test for it nor stored it
        assert _requests_to(fed, "drenthe.test", "evil.test") == []
        assert await stored(drenthe, item.ap_id) is None
        (row,) = [r for r in await inbox_rows(drenthe) if r.type == "Announce"]
        assert row.state == "failed" and "host_not_allowed" in (row.last_error or "")


async def test_announce_of_an_embedded_object_from_outside_the_allowlist_is_not_stored(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "evil"], overrides=ALLOWLIST) as fed:
        drenthe, fryslan, evil = fed["drenthe"], fed["fryslan"], fed["evil"]
        await _follow(fed, "drenthe", "fryslan")
        item = await _story(evil, "Ingebed en ondertekend")
        create = await _create_activity(evil, item)
        # When Fryslân relays the signed object, and the signed Create around it, embedded
        await _announce(fryslan, item.document)
        await _announce(fryslan, create)
        await fed.settle()
        # Then Drenthe fetched nothing from evil.test (not even the proof's key) and kept nothing
        assert _requests_to(fed, "drenthe.test", "evil.test") == []
        assert await stored(drenthe, item.ap_id) is None
        rows = [r for r in await inbox_rows(drenthe) if r.type == "Announce"]
        assert len(rows) == 2 and all(r.state == "failed" for r in rows)


async def test_backfill_of_an_allowed_followee_skips_what_it_relayed_from_a_refused_host(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "fryslan", "evil"], overrides=ALLOWLIST) as fed:
        drenthe, fryslan, evil = fed["drenthe"], fed["fryslan"], fed["evil"]
        # Given Fryslân's outbox relays two evil.test items (by IRI and embedded) and one own
        bad_iri, bad_embedded = await _story(evil, "Een"), await _story(evil, "Twee")
        await _announce(fryslan, bad_iri.ap_id)
        await _announce(fryslan, bad_embedded.document)
        own = await _story(fryslan, "Eigen verhaal")
        await fed.settle()
        # When Drenthe follows Fryslân and backfills its outbox
        await _follow(fed, "drenthe", "fryslan")
        await fed.settle()
        # Then Fryslân's own item arrived, the relayed ones did not, and evil.test was not asked
        assert await stored(drenthe, own.ap_id) is not None
        assert await stored(drenthe, bad_iri.ap_id) is None
        assert await stored(drenthe, bad_embedded.ap_id) is None
        assert _requests_to(fed, "drenthe.test", "evil.test") == []


async def test_a_follow_of_a_host_outside_the_allowlist_is_refused_without_a_request(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "evil"], overrides=ALLOWLIST) as fed:
        for target in ("evil@evil.test", "https://evil.test/actors/evil"):
            with pytest.raises(PermissionDeniedError) as refused:
                await follow(fed["drenthe"].ctx, target)
            assert refused.value.reason == "host_not_allowed"
        assert _requests_to(fed, "drenthe.test", "evil.test") == []


# --- a block added later ----------------------------------------------------------------------

async def _visible(node: Node, item: StoredObject, client: httpx.AsyncClient) -> dict[str, bool]:
    """Where ``item`` shows on ``node``: lists, search, the node's feed, the API, theme outbox."""
    ctx = node.ctx
    listed = await list_items(ctx, ItemQuery())
    found = await list_items(ctx, ItemQuery(q="Zuivelfabriek"))
    feed = await feed_page(ctx, ctx.settings.node.handle, limit=20)
    api = await client.get(f"{node.url}/api/items/by-id", params={"id": item.ap_id})
    outbox = await read_collection(ctx, "zorg", "outbox", PageRequest())
    relays = [a for a in outbox.entries if isinstance(a, dict) and isinstance(
        a.get("object"), dict) and a["object"].get("id") == item.ap_id]
    return {"list": any(i.ap_id == item.ap_id for i in listed.items),
            "search": any(i.ap_id == item.ap_id for i in found.items),
            "feed": any(i.ap_id == item.ap_id for i in feed.items),
            "api": api.status_code == 200, "theme_outbox": bool(relays)}


async def test_blocking_later_hides_stored_content_at_once_and_unblocking_shows_it(
        tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "evil"]) as fed:
        drenthe, evil = fed["drenthe"], fed["evil"]
        await _follow(fed, "drenthe", "evil")
        item = await _story(evil, "Zuivelfabriek heropend", themes=("care-wellbeing",))
        await fed.settle()
        everywhere = {"list": True, "search": True, "feed": True, "api": True,
                      "theme_outbox": True}
        assert await _visible(drenthe, item, fed.http) == everywhere
        # When an admin blocks evil.test
        host, added, purged = await policy.block(drenthe.ctx, "Evil.Test.")
        assert (host, added, purged) == ("evil.test", True, 0)
        # Then the item is gone from every listing at once, though still stored
        assert await _visible(drenthe, item, fed.http) == dict.fromkeys(everywhere, False)
        assert await stored(drenthe, item.ap_id) is not None
        # And when the block is lifted, it shows again
        assert await policy.unblock(drenthe.ctx, "evil.test") == ("evil.test", True)
        assert await _visible(drenthe, item, fed.http) == everywhere


async def test_blocking_later_stops_deliveries_to_the_host(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "evil"]) as fed:
        drenthe = fed["drenthe"]
        await _follow(fed, "evil", "drenthe")
        accepted = len(await delivery_rows(drenthe, host="evil.test"))  # the Accept, sent
        before = len(fed.network.history)
        # Given an item whose delivery to evil.test is queued, not yet sent
        await _story(drenthe, "Voor de blokkade")
        # When evil.test is blocked, and another item follows
        await policy.block(drenthe.ctx, "evil.test")
        await _story(drenthe, "Na de blokkade")
        await fed.settle()
        # Then the queued delivery gave up without a request, and no new one was queued
        rows = (await delivery_rows(drenthe, host="evil.test"))[accepted:]
        assert [(r.state, r.last_error) for r in rows] == [("failed", "host_not_allowed")]
        # And evil.test's actor is no longer listed among Drenthe's followers
        followers = await read_collection(drenthe.ctx, "drenthe", "followers", PageRequest())
        assert (followers.total, followers.entries) == (0, [])
        assert [u for s, m, u in fed.network.history[before:]
                if s == "drenthe.test" and m == "POST" and "evil.test" in u] == []


async def test_a_blocked_host_is_refused_at_the_inbox(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "evil"]) as fed:
        drenthe, evil = fed["drenthe"], fed["evil"]
        await _follow(fed, "evil", "drenthe")
        await _follow(fed, "drenthe", "evil")
        await policy.block(drenthe.ctx, "evil.test")
        earlier = len(await delivery_rows(evil, host="drenthe.test"))
        # When evil.test publishes
        item = await _story(evil, "Na de blokkade")
        await fed.settle()
        # Then Drenthe refused it at the inbox (403) and stored nothing
        assert await stored(drenthe, item.ap_id) is None
        sent = (await delivery_rows(evil, host="drenthe.test"))[earlier:]
        assert sent and all((r.state, r.last_status) == ("failed", 403) for r in sent)


async def test_purge_deletes_what_was_stored_from_the_host(tmp_path: Path) -> None:
    async with federation(tmp_path, ["drenthe", "evil"]) as fed:
        drenthe, evil = fed["drenthe"], fed["evil"]
        await _follow(fed, "drenthe", "evil")
        item = await _story(evil, "Zuivelfabriek", themes=("care-wellbeing",))
        await fed.settle()
        # When evil.test is blocked with purge
        _, _, purged = await policy.block(drenthe.ctx, "evil.test", purge=True)
        # Then its item, its actor's follows and the theme feed's relay of it are gone
        assert purged == 1
        assert await stored(drenthe, item.ap_id) is None
        async with drenthe.ctx.db.sessions() as session:
            zorg = drenthe.ctx.urls.actor("zorg")
            relays = await activity_store.page_by_actor(session, zorg, limit=50)
        assert [a for a in relays if a.object_ap_id == item.ap_id] == []
        assert (await policy.unblock(drenthe.ctx, "evil.test"))[1] is True
        assert await stored(drenthe, item.ap_id) is None
