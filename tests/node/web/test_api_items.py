"""JSON API, knowledge items: create, read, update, delete of every kind, and the integrity proof."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from node.services.context import NodeContext
from protocol.errors import ProofError
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.node.conftest import BASE_URL
from tests.node.web.api_helpers import HANDLE, create_initiative, create_item, row_counts

ITEM_BODIES: dict[str, dict[str, Any]] = {
    "story": {"title": "Een molen vol energie", "content": "Het *verhaal*."},
    "guide": {"title": "Zo start je een energiecoöperatie", "content": "1. Begin.",
              "attachments": [{"url": "https://example.org/stappenplan.pdf", "name": "Stappenplan",
                               "media_type": "application/pdf"}]},
    "template": {"title": "Modelstatuten coöperatie", "content": "Statuten.",
                 "attachments": [{"url": "https://example.org/statuten.docx"}]},
    "question": {"title": "Hoe regel je de verzekering?", "content": "Wie weet het?",
                 "question_category": "organisational"},
    "bottleneck": {"title": "Netcongestie", "content": "Geen aansluiting.",
                   "regulation": "Energiewet", "bottleneck_status": "raised"},
    "event": {"title": "Leerkring energie", "content": "Welkom.",
              "start_time": "2026-12-03T19:30:00+01:00", "end_time": "2026-12-03T21:30:00+01:00"},
}
KIND_FIELDS = {
    "story": {},
    "guide": {"attachments": [{"url": "https://example.org/stappenplan.pdf",
                               "name": "Stappenplan", "media_type": "application/pdf"}]},
    "template": {"attachments": [{"url": "https://example.org/statuten.docx"}]},
    "question": {"question_category": "organisational", "accepted_answer": None},
    "bottleneck": {"regulation": "Energiewet", "bottleneck_status": "raised"},
    "event": {"start_time": "2026-12-03T19:30:00+01:00", "end_time": "2026-12-03T21:30:00+01:00"},
}


@pytest.fixture
async def initiative(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    return await create_initiative(client, auth, themes=["energy-generation"])


async def test_create_item_answers_201_with_its_iri_and_location(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any]) -> None:
    response = await client.post("/api/items", headers=auth, json={
        "kind": "story", "title": "Een molen vol energie", "content": "Het verhaal.",
        "initiative": HANDLE})
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == f"{BASE_URL}/items/{body['local_id']}"
    assert response.headers["location"] == f"/api/items/{body['local_id']}"
    assert body["initiative"] == initiative["id"]
    assert body["initiative_handle"] == HANDLE
    assert (body["version"], body["local"], body["deleted"]) == (1, True, False)
    assert body["origin"] == "drenthe.test"


@pytest.mark.parametrize("kind", sorted(ITEM_BODIES))
async def test_every_kind_reads_back_with_its_own_fields(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any],
        kind: str) -> None:
    created = await create_item(client, auth, kind=kind, initiative=HANDLE, **ITEM_BODIES[kind])
    read = (await client.get(f"/api/items/{created['local_id']}")).json()
    assert read == created
    assert read["kind"] == kind
    assert {k: read[k] for k in KIND_FIELDS[kind]} == KIND_FIELDS[kind]
    other_kind_fields = {f for fields in KIND_FIELDS.values() for f in fields} - set(
        KIND_FIELDS[kind])
    assert not other_kind_fields & set(read)


async def test_an_answer_replies_to_its_question(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any]) -> None:
    question = await create_item(client, auth, kind="question", initiative=HANDLE,
                                 title="Wie weet raad?", content="Vraag.")
    answer = await create_item(client, auth, kind="answer", initiative=HANDLE, title=None,
                               content="Zo doe je dat.", in_reply_to=question["id"])
    assert answer["kind"] == "answer"
    assert answer["in_reply_to"] == question["id"]
    assert answer["title"] is None


async def test_item_fields_mirror_the_input(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any]) -> None:
    item = await create_item(
        client, auth, initiative=initiative["id"], summary="Kort.", themes=["energy-generation"],
        language="fy", license="CC0-1.0", content="# Kop\n\nTekst met <script>x</script>.",
        place={"name": "Reduzum", "latitude": 53.123456, "longitude": 5.789012,
               "province_code": "PV21"})
    assert item["content"] == "# Kop\n\nTekst met <script>x</script>."
    assert "<h1>Kop</h1>" in item["content_html"]
    assert "<script" not in item["content_html"]
    assert (item["summary"], item["themes"], item["language"], item["license"]) == (
        "Kort.", ["energy-generation"], "fy", "CC0-1.0")
    assert item["place"]["latitude"] == 53.12  # village precision unless exact
    assert item["place"]["province_code"] == "PV21"


async def test_item_without_initiative_is_by_the_node_actor(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    assert item["initiative"] == f"{BASE_URL}/actors/drenthe"
    assert item["initiative_handle"] == "drenthe"


async def test_item_reads_the_same_by_iri_and_by_local_id(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any]) -> None:
    item = await create_item(client, auth, initiative=HANDLE)
    by_id = await client.get("/api/items/by-id", params={"id": item["id"]})
    by_local = await client.get(f"/api/items/{item['local_id']}")
    assert by_id.status_code == by_local.status_code == 200
    assert by_id.json() == by_local.json() == item


async def test_reading_an_unknown_item_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/items/0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_patch_changes_only_the_given_fields_and_adds_one_to_version(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any],
        clock: Any) -> None:
    item = await create_item(client, auth, initiative=HANDLE, summary="Oud.")
    clock.advance(60)
    response = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                  json={"title": "Nieuwe titel", "themes": ["local-food"]})
    assert response.status_code == 200
    patched = response.json()
    assert patched["version"] == item["version"] + 1
    assert (patched["title"], patched["themes"], patched["summary"]) == (
        "Nieuwe titel", ["local-food"], "Oud.")
    assert patched["updated"] > item["updated"]
    assert patched["published"] == item["published"]
    assert (await client.get(f"/api/items/{item['local_id']}")).json() == patched


async def test_every_patch_adds_exactly_one_to_version(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    for expected in (2, 3, 4):
        response = await client.patch("/api/items/by-id", params={"id": item["id"]},
                                      headers=auth, json={"summary": f"Versie {expected}"})
        assert response.json()["version"] == expected


@pytest.mark.parametrize("change", [
    {"title": "Een molen vol energie"},                          # the value it already has
    {"summary": None},                                           # clearing what is not set
    {"place": {"name": "Reduzum", "province_code": "PV21"}},     # a structured field again
    {"themes": ["energy-generation"], "content": "Hoe het dorp zijn **molen** terugkocht."},
])
async def test_a_patch_that_changes_nothing_makes_no_version_and_no_activity(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext,
        change: dict[str, Any]) -> None:
    item = await create_item(client, auth, themes=["energy-generation"],
                             place={"name": "Reduzum", "province_code": "PV21"})
    before = await row_counts(ctx)
    response = await client.patch(f"/api/items/{item['local_id']}", headers=auth, json=change)
    assert response.status_code == 200
    assert response.json() == item
    assert await row_counts(ctx) == before


async def test_a_repeated_patch_of_the_accepted_answer_makes_one_version(
        client: httpx.AsyncClient, auth: dict[str, str], ctx: NodeContext) -> None:
    question = await create_item(client, auth, **{"kind": "question", **ITEM_BODIES["question"]})
    answer = await create_item(client, auth, kind="answer", title=None, content="Bij de gemeente.",
                               in_reply_to=question["id"])
    versions = []
    for _ in range(3):
        response = await client.patch(f"/api/items/{question['local_id']}", headers=auth,
                                      json={"accepted_answer": answer["id"]})
        assert response.status_code == 200, response.text
        versions.append(response.json()["version"])
        if len(versions) == 1:
            after_first = await row_counts(ctx)
    assert versions == [2, 2, 2]
    assert await row_counts(ctx) == after_first


async def test_concurrent_patches_never_publish_one_version_twice(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    url = f"/api/items/{item['local_id']}"
    published = [1]
    for n in range(5):
        # Two editors save at the same moment, both starting from the same version
        answers = await asyncio.gather(*(client.patch(url, headers=auth,
                                                      json={"summary": f"Ronde {n} door {who}"})
                                         for who in ("Anne", "Bauke")))
        # Each either made a new version of its own or is told its copy is stale (409)
        for response in answers:
            assert response.status_code in (200, 409), response.text
            if response.status_code == 409:
                assert response.json()["error"] == "edit_conflict"
            else:
                published.append(response.json()["version"])
    assert sorted(published) == list(range(1, len(published) + 1))
    assert (await client.get(url)).json()["version"] == max(published)


async def test_patch_with_null_clears_a_field(client: httpx.AsyncClient,
                                              auth: dict[str, str]) -> None:
    item = await create_item(client, auth, summary="Weg ermee.",
                             place={"name": "Reduzum", "province_code": "PV21"})
    response = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                  json={"summary": None, "place": None})
    assert (response.json()["summary"], response.json()["place"]) == (None, None)


async def test_patch_accepts_merge_patch_media_type(client: httpx.AsyncClient,
                                                    auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    response = await client.patch(
        f"/api/items/{item['local_id']}", content=b'{"title": "Samengevoegd"}',
        headers={**auth, "Content-Type": "application/merge-patch+json"})
    assert response.status_code == 200
    assert response.json()["title"] == "Samengevoegd"


async def test_patching_event_end_before_stored_start_is_refused(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    event = await create_item(client, auth, **{"kind": "event", **ITEM_BODIES["event"]})
    response = await client.patch(f"/api/items/{event['local_id']}", headers=auth,
                                  json={"end_time": "2026-12-03T18:00:00+01:00"})
    assert response.status_code == 422
    assert response.json()["error"] == "bad_value"


async def test_deleted_item_answers_410(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    response = await client.delete(f"/api/items/{item['local_id']}", headers=auth)
    assert response.status_code == 204
    for url, params in ((f"/api/items/{item['local_id']}", {}),
                        ("/api/items/by-id", {"id": item["id"]})):
        gone = await client.get(url, params=params)
        assert gone.status_code == 410
        assert gone.json()["error"] == "gone"


async def test_deleted_item_cannot_be_patched_or_deleted_again(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    await client.delete("/api/items/by-id", params={"id": item["id"]}, headers=auth)
    patched = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                 json={"title": "Terug"})
    deleted = await client.delete(f"/api/items/{item['local_id']}", headers=auth)
    assert (patched.status_code, deleted.status_code) == (410, 410)


async def test_deleted_item_leaves_the_list(client: httpx.AsyncClient,
                                            auth: dict[str, str]) -> None:
    keep = await create_item(client, auth, title="Blijft")
    drop = await create_item(client, auth, title="Gaat weg")
    await client.delete(f"/api/items/{drop['local_id']}", headers=auth)
    listed = (await client.get("/api/items")).json()["items"]
    assert [i["id"] for i in listed] == [keep["id"]]


AS_JSON = {"Accept": "application/activity+json"}


async def _signed_document_and_key(client: httpx.AsyncClient, item: dict[str, Any]
                                   ) -> tuple[dict[str, Any], Ed25519PublicKey, str]:
    """The item's document as its IRI serves it, and its author's Ed25519 key as the actor's IRI
    publishes it (``assertionMethod``, FEP-521a)."""
    document = await client.get(item["id"], headers=AS_JSON)
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("application/activity+json")
    actor = (await client.get(item["initiative"], headers=AS_JSON)).json()
    method = actor["assertionMethod"][0]
    return document.json(), multikey_decode(method["publicKeyMultibase"]), method["id"]


async def test_api_item_is_the_signed_document_its_iri_serves(
        client: httpx.AsyncClient, auth: dict[str, str], initiative: dict[str, Any]) -> None:
    # Given an item created and read through the API
    created = await create_item(client, auth, initiative=HANDLE, themes=["energy-generation"])
    item = (await client.get("/api/items/by-id", params={"id": created["id"]})).json()
    # When its IRI is fetched as ActivityStreams JSON, with the author's published key
    document, key, key_id = await _signed_document_and_key(client, item)
    # Then the proof verifies and the document says what the API says
    assert verify_proof(document, key) == key_id
    assert (document["id"], document["name"], document["version"]) == (
        item["id"], item["title"], item["version"])
    assert document["attributedTo"] == item["initiative"]
    assert document["content"] == item["content_html"]
    assert document["source"]["content"] == item["content"]


async def test_patched_item_is_served_re_signed_with_the_new_version(
        client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    patched = (await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                  json={"title": "Tweede versie"})).json()
    document, key, key_id = await _signed_document_and_key(client, patched)
    assert verify_proof(document, key) == key_id
    assert (document["name"], document["version"]) == ("Tweede versie", 2)


async def test_a_changed_byte_breaks_the_items_proof(client: httpx.AsyncClient,
                                                     auth: dict[str, str]) -> None:
    item = await create_item(client, auth)
    document, key, _ = await _signed_document_and_key(client, item)
    tampered = {**document, "name": document["name"] + "!"}
    with pytest.raises(ProofError, match="signature does not verify"):
        verify_proof(tampered, key)
