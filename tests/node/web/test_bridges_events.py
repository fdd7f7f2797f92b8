"""Events as Mobilizon and the WordPress ActivityPub plugin read them: ``location`` a ``Place``
with a schema.org ``address``, ``startTime``/``endTime``, ``isOnline``, ``joinMode``,
``timezone`` — declared terms (offline JSON-LD expansion), signed, served over HTTP."""

from __future__ import annotations

import httpx
from pyld import jsonld

from node.services.context import NodeContext
from node.services.inputs import Patch
from node.services.items import update_item
from node.services.permissions import SYSTEM
from node.store import actors as actor_store
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.jsonld import expansion_problems, offline_loader
from tests.node.web import AS_JSON, make_initiative, make_item

ANLOO = {"name": "Anloo", "latitude": 53.04, "longitude": 6.69, "province_code": "PV22"}
MZ = "https://joinmobilizon.org/ns#"
SCHEMA = "http://schema.org#"


async def test_event_carries_what_mobilizon_reads(client: httpx.AsyncClient,
                                                  ctx: NodeContext) -> None:
    await make_initiative(ctx)
    event = await make_item(ctx, kind="event", title="Burendag", place=ANLOO,
                            start_time="2026-12-12T10:00:00+01:00",
                            end_time="2026-12-12T16:00:00+01:00")
    doc = (await client.get(event.ap_id, headers=AS_JSON)).json()
    assert doc["type"] == "Event"
    assert doc["startTime"] == "2026-12-12T10:00:00+01:00"
    assert doc["endTime"] == "2026-12-12T16:00:00+01:00"
    assert doc["isOnline"] is False and doc["joinMode"] == "free"
    assert doc["timezone"] == "Europe/Amsterdam"
    assert doc["location"]["type"] == "Place" and doc["location"]["name"] == "Anloo"
    assert doc["location"]["address"] == {"type": "PostalAddress", "addressCountry": "NL",
                                          "addressLocality": "Anloo",
                                          "addressRegion": "Drenthe"}
    assert expansion_problems(doc) == []
    (expanded,) = jsonld.expand(doc, {"documentLoader": offline_loader})
    assert expanded[MZ + "joinMode"] == [{"@value": "free"}]
    assert expanded[MZ + "isOnline"] == [{"@value": False}]
    (place,) = expanded["https://www.w3.org/ns/activitystreams#location"]
    (address,) = place[SCHEMA + "address"]
    assert address["@type"] == [SCHEMA + "PostalAddress"]
    assert address[SCHEMA + "addressLocality"] == [{"@value": "Anloo"}]
    async with ctx.db.sessions() as session:
        author = await actor_store.get(session, event.attributed_to)
    assert author is not None and author.ed_public_multibase
    assert verify_proof(doc, multikey_decode(author.ed_public_multibase))


async def test_online_event_says_so_and_can_change(client: httpx.AsyncClient,
                                                   ctx: NodeContext) -> None:
    await make_initiative(ctx)
    event = await make_item(ctx, kind="event", title="Webinar",
                            start_time="2026-12-12T20:00:00+01:00", online=True)
    doc = (await client.get(event.ap_id, headers=AS_JSON)).json()
    assert doc["isOnline"] is True and "location" not in doc
    updated = await update_item(ctx, event.ap_id, Patch({"online": False}), SYSTEM)
    assert updated.document["isOnline"] is False and updated.version == 2


async def test_online_is_a_field_of_events_only(client: httpx.AsyncClient,
                                                auth: dict[str, str]) -> None:
    await client.post("/api/initiatives", json={"handle": "molen", "name": "Molen"},
                      headers=auth)
    response = await client.post("/api/items", headers=auth, json={
        "kind": "story", "title": "Verhaal", "content": "Tekst", "initiative": "molen",
        "online": True})
    assert response.status_code == 422
    response = await client.post("/api/items", headers=auth, json={
        "kind": "event", "title": "Webinar", "content": "Tekst", "initiative": "molen",
        "start_time": "2026-12-12T20:00:00+01:00", "online": "ja"})
    assert response.status_code == 422 and response.json()["field"] == "online"
    response = await client.post("/api/items", headers=auth, json={
        "kind": "event", "title": "Webinar", "content": "Tekst", "initiative": "molen",
        "start_time": "2026-12-12T20:00:00+01:00", "online": True})
    assert response.status_code == 201 and response.json()["online"] is True
