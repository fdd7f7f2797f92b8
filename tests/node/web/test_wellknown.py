"""Discovery: WebFinger (RFC 7033), host-meta (RFC 6415) and NodeInfo 2.1."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from node.services.actors import delete_initiative
from node.services.context import NodeContext
from node.services.items import delete_item
from node.services.permissions import SYSTEM
from protocol.nodeinfo import NODEINFO_REL, parse_discovery, parse_nodeinfo
from protocol.webfinger import parse_jrd
from tests.node.web import make_initiative, make_item

NODE_ACTOR = "https://drenthe.test/actors/drenthe"


async def test_webfinger_acct_answers_jrd_naming_the_actor(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:drenthe@drenthe.test"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jrd+json")
    jrd = parse_jrd(response.content)
    assert jrd.subject == "acct:drenthe@drenthe.test"
    assert jrd.actor_url() == NODE_ACTOR
    assert jrd.profile_url() == NODE_ACTOR


async def test_webfinger_finds_an_initiative(client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx)
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:dorpsmolen@drenthe.test"})
    assert parse_jrd(response.content).actor_url() == "https://drenthe.test/actors/dorpsmolen"


async def test_webfinger_accepts_the_actor_iri_as_resource(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger", params={"resource": NODE_ACTOR})
    assert response.status_code == 200
    assert response.json()["subject"] == "acct:drenthe@drenthe.test"


async def test_webfinger_handle_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:Drenthe@Drenthe.test"})
    assert response.json()["subject"] == "acct:drenthe@drenthe.test"


@pytest.mark.parametrize("host", ["drenthe.test.", "DRENTHE.TEST", "ＤＲＥＮＴＨＥ.test"])
async def test_webfinger_host_is_compared_normalised(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": f"acct:drenthe@{host}"})
    assert response.json()["subject"] == "acct:drenthe@drenthe.test"


async def test_webfinger_unknown_handle_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:nobody@drenthe.test"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_webfinger_for_another_host_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:drenthe@fryslan.test"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_webfinger_for_a_foreign_iri_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "https://fryslan.test/actors/drenthe"})
    assert response.status_code == 404


async def test_webfinger_malformed_resource_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger", params={"resource": "acct:no-at-sign"})
    assert response.status_code == 400


async def test_webfinger_without_resource_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/webfinger")
    assert response.status_code == 400


async def test_webfinger_deleted_initiative_is_410(client: httpx.AsyncClient,
                                                   ctx: NodeContext) -> None:
    await make_initiative(ctx)
    await delete_initiative(ctx, "dorpsmolen", SYSTEM)
    response = await client.get("/.well-known/webfinger",
                                params={"resource": "acct:dorpsmolen@drenthe.test"})
    assert response.status_code == 410


async def test_host_meta_is_xrd_with_the_webfinger_template(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    root = ET.fromstring(response.content)
    link = root.find("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link is not None
    assert link.attrib["rel"] == "lrdd"
    assert link.attrib["template"] == "https://drenthe.test/.well-known/webfinger?resource={uri}"


async def test_nodeinfo_discovery_points_at_nodeinfo_2_1(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.json()["links"][0]["rel"] == NODEINFO_REL
    assert parse_discovery(response.content) == "https://drenthe.test/nodeinfo/2.1"


async def test_nodeinfo_has_the_2_1_schema_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/nodeinfo/2.1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "nodeinfo.diaspora.software/ns/schema/2.1" in response.headers["content-type"]
    doc = response.json()
    assert doc["version"] == "2.1"
    assert doc["software"]["name"] == "kennisknoop"
    assert doc["software"]["version"]
    assert doc["protocols"] == ["activitypub"]
    assert set(doc["services"]) == {"inbound", "outbound"}
    assert doc["openRegistrations"] is False
    assert set(doc["usage"]["users"]) == {"total", "activeMonth", "activeHalfyear"}
    assert doc["metadata"] == {"nodeName": "BOKD Drenthe", "role": "provincial",
                               "provinceCode": "PV22"}
    assert parse_nodeinfo(response.content).speaks_activitypub


async def test_nodeinfo_counts_node_and_initiatives_as_users_and_local_items_as_posts(
        client: httpx.AsyncClient, ctx: NodeContext) -> None:
    await make_initiative(ctx, "dorpsmolen")
    await make_initiative(ctx, "zorgcoop", name="Zorgcoöperatie")
    await make_item(ctx, "dorpsmolen")
    await make_item(ctx, None)
    gone = await make_item(ctx, "zorgcoop")
    await delete_item(ctx, gone.ap_id, SYSTEM)

    usage = (await client.get("/nodeinfo/2.1")).json()["usage"]

    assert usage["users"]["total"] == 3
    assert usage["localPosts"] == 2
