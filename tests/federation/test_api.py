"""The federation part of the JSON API, between in-process nodes: follow, feed, lists, admin views."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from node.services.actors import create_initiative
from node.services.inputs import InitiativeInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.users import add_user, create_token, grant
from tests.clock import FAST_HASHER
from tests.federation.harness import Federation, federation


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    async with federation(tmp_path, ["fryslan", "drenthe"]) as f:
        for node in f.nodes.values():
            node.ctx.password_hasher = FAST_HASHER
        await create_initiative(f["fryslan"].ctx, InitiativeInput(
            handle="dorpsmolen-reduzum", name="Dorpsmolen Reduzum"), SYSTEM)
        await create_initiative(f["drenthe"].ctx, InitiativeInput(
            handle="zorgcooperatie-sleen", name="Zorgcoöperatie Sleen"), SYSTEM)
        yield f


async def _client(fed: Federation, name: str, role: str = "admin",
                  grant_to: str | None = None) -> httpx.AsyncClient:
    ctx = fed[name].ctx
    await add_user(ctx, f"{role}-{name}", "correct horse battery", role)
    if grant_to:
        await grant(ctx, f"{role}-{name}", grant_to)
    token = await create_token(ctx, f"{role}-{name}")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fed[name].app),
                             base_url=ctx.settings.node.url,
                             headers={"Authorization": f"Bearer {token}"})


async def test_initiative_follows_a_node_and_its_feed_fills(fed: Federation) -> None:
    # Given an editor of a Drenthe initiative
    async with await _client(fed, "drenthe", "editor", "zorgcooperatie-sleen") as api:
        # When the initiative follows Fryslân's node through the API
        response = await api.post("/api/follows", json={"target": "fryslan@fryslan.test",
                                                        "as": "zorgcooperatie-sleen"})
        assert response.status_code == 202, response.text
        assert response.json()["state"] == "pending"
        await fed.settle()
        # And Fryslân publishes an item
        await create_item(fed["fryslan"].ctx, item_input(
            kind="guide", title="Subsidie aanvragen", content="Zo doe je dat.",
            initiative="dorpsmolen-reduzum"), SYSTEM)
        await fed.settle()
        # Then it is in the initiative's feed, and the follow is listed as accepted
        feed = (await api.get("/api/actors/zorgcooperatie-sleen/feed")).json()
        assert [i["title"] for i in feed["items"]] == ["Subsidie aanvragen"]
        assert feed["items"][0]["origin"] == "fryslan.test"
        following = (await api.get("/api/actors/zorgcooperatie-sleen/following")).json()
        assert following["follows"][0]["state"] == "accepted"
    async with await _client(fed, "fryslan") as api:
        followers = (await api.get("/api/actors/fryslan/followers")).json()["follows"]
        assert [f["follower"] for f in followers] == [
            "https://drenthe.test/actors/zorgcooperatie-sleen"]


async def test_editor_may_not_follow_as_the_node(fed: Federation) -> None:
    async with await _client(fed, "drenthe", "editor", "zorgcooperatie-sleen") as api:
        response = await api.post("/api/follows", json={"target": "fryslan@fryslan.test"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_follow_without_token_is_401(fed: Federation) -> None:
    transport = httpx.ASGITransport(app=fed["drenthe"].app)
    async with httpx.AsyncClient(transport=transport, base_url="https://drenthe.test") as api:
        response = await api.post("/api/follows", json={"target": "fryslan@fryslan.test"})
    assert response.status_code == 401


@pytest.mark.parametrize(("body", "reason"), [
    ({}, "missing_field"),
    ({"target": ""}, "missing_field"),
    ({"target": "fryslan@fryslan.test", "extra": 1}, "unknown_field"),
    ({"target": "not a handle"}, "bad_value"),
    ({"target": "fryslan@fryslan.test", "as": 3}, "bad_type"),
])
async def test_bad_follow_bodies_are_422(fed: Federation, body: dict[str, object],
                                         reason: str) -> None:
    async with await _client(fed, "drenthe") as api:
        response = await api.post("/api/follows", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == reason


async def test_unfollow_sends_undo_and_the_follower_is_gone(fed: Federation) -> None:
    async with await _client(fed, "drenthe") as api:
        await api.post("/api/follows", json={"target": "fryslan@fryslan.test"})
        await fed.settle()
        response = await api.delete("/api/follows", params={"target": "fryslan@fryslan.test"})
        assert response.status_code == 204
        await fed.settle()
    async with await _client(fed, "fryslan") as api:
        assert (await api.get("/api/actors/fryslan/followers")).json()["follows"] == []


async def test_admin_views_list_queues_and_refuse_editors(fed: Federation) -> None:
    async with await _client(fed, "drenthe") as api:
        await api.post("/api/follows", json={"target": "fryslan@fryslan.test"})
        await fed.settle()
        status = (await api.get("/api/federation")).json()
        assert status["deliveries"] == {"sent": 1}
        assert [p["host"] for p in status["peers"]] == ["fryslan.test"]
        assert (await api.get("/api/flags")).json() == {"flags": []}
    async with await _client(fed, "drenthe", "editor") as api:
        assert (await api.get("/api/federation")).status_code == 403
        assert (await api.get("/api/flags")).status_code == 403
