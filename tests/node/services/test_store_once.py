"""Each object stored once (issue 13): activities embed their object by reference and are served
byte for byte as signed, their proofs and their object's proofs verifying (node.store.versions).
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import func, select

from node.services.context import NodeContext
from node.services.keys import rotate_keys
from node.store import activities as activity_store
from node.store import objects as object_store
from node.store.schema import activities, object_versions
from protocol.keys import base58btc_decode, multikey_decode
from protocol.proofs import verify_proof
from tests.node.web.api_helpers import create_initiative, create_item

AS_JSON = {"Accept": "application/activity+json"}
PLACE = {"name": "Reduzum", "latitude": 53.1234567, "longitude": 5.7654321}


def spec_verify(document: dict[str, Any], public: ed25519.Ed25519PublicKey) -> None:
    """eddsa-jcs-2022 verification as the W3C spec (and its test vectors) spell it, on
    ``rfc8785``, not on our own code: hash of the proof options, then of the document."""
    proof = dict(document["proof"])
    value = proof.pop("proofValue")
    assert value.startswith("z")
    signature = base58btc_decode(value[1:])
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in unsecured:
        proof["@context"] = unsecured["@context"]
    data = (hashlib.sha256(rfc8785.dumps(proof)).digest()
            + hashlib.sha256(rfc8785.dumps(unsecured)).digest())
    public.verify(signature, data)


class Signed:
    """The bytes of every activity as it was signed, captured when it is stored."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes: dict[str, bytes] = {}
        real = activity_store.insert_all  # what ``insert`` and the outbox store through

        async def insert_all(session: Any, rows: list[Any]) -> Any:
            for document, _, values in rows:
                self.bytes[values["ap_id"]] = orjson.dumps(document)
            return await real(session, rows)

        monkeypatch.setattr(activity_store, "insert_all", insert_all)


async def _served(client: httpx.AsyncClient, ap_id: str) -> bytes:
    response = await client.get(ap_id.split("drenthe.test", 1)[1], headers=AS_JSON)
    assert response.status_code == 200, response.text
    return response.content


class Keys:
    """Local actors' Ed25519 keys as their actor documents publish them, fetched when needed."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client, self.known = client, {}  # type: ignore[var-annotated]

    async def of(self, actor: str) -> ed25519.Ed25519PublicKey:
        if actor not in self.known:
            document = orjson.loads(await _served(self.client, actor))
            [method] = document["assertionMethod"]
            self.known[actor] = multikey_decode(method["publicKeyMultibase"])
        key: ed25519.Ed25519PublicKey = self.known[actor]
        return key


async def _check_every_activity(client: httpx.AsyncClient, signed: Signed) -> int:
    """Each stored activity is served with the bytes signed; it and what it embeds verify."""
    keys = Keys(client)
    for ap_id, body in signed.bytes.items():
        served = await _served(client, ap_id)
        assert served == body, ap_id
        document = orjson.loads(served)
        for doc in (document, document["object"], document["object"].get("object")):
            if isinstance(doc, dict) and "proof" in doc:
                author = doc.get("actor") or doc.get("attributedTo")
                verify_proof(doc, await keys.of(author))
                spec_verify(doc, await keys.of(author))
    return len(signed.bytes)


async def _stored(ctx: NodeContext, only: Any) -> dict[str, tuple[str, str | None, Any]]:
    """The stored activities among ``only`` (ids): type, embeds, document as stored."""
    a = activities.c
    async with ctx.db.sessions() as session:
        rows = await session.execute(select(a.ap_id, a.type, a.embeds, a.document))
        return {r.ap_id: (r.type, r.embeds, r.document) for r in rows if r.ap_id in only}


async def _relayed_item(client: httpx.AsyncClient, auth: dict[str, str],
                        monkeypatch: pytest.MonkeyPatch) -> tuple[Signed, dict[str, Any]]:
    """An initiative's item with a place and a theme (so the node and theme feeds relay it),
    and what was signed from the item's creation on."""
    await create_initiative(client, auth)
    signed = Signed(monkeypatch)
    return signed, await create_item(client, auth, initiative="dorpsmolen-reduzum", place=PLACE,
                                     themes=["energy-generation"])


async def test_a_create_and_its_announces_hold_no_copy_of_the_item_and_serve_it_as_signed(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an initiative's item with a place, relayed by the node and the theme feeds
    signed, item = await _relayed_item(client, auth, monkeypatch)
    stored = await _stored(ctx, signed.bytes)
    # Then the Create and both Announces store the item by reference, not a copy
    kinds = sorted((t, e) for t, e, _ in stored.values())
    assert kinds[-1] == ("Create", "object") and len(kinds) >= 3  # the node and the feeds
    assert set(kinds[:-1]) == {("Announce", "object")}
    assert all(doc["object"] is None for _, _, doc in stored.values())
    assert all(doc["@context"] is None for _, _, doc in stored.values())  # the item's context
    # And each is served byte for byte as signed, its proof and the item's verifying
    assert await _check_every_activity(client, signed) == len(kinds)
    # And the item itself is served as stored, the bytes signed: not built from a parsed row
    async def unparsed(*_: Any, **__: Any) -> None:
        raise AssertionError("the item's row was read and parsed to serve it")

    with monkeypatch.context() as patched:
        patched.setattr(object_store, "get", unparsed)
        served_item = await _served(client, item["id"])
    assert served_item == orjson.dumps(orjson.loads(served_item))  # compact, as orjson writes
    verify_proof(orjson.loads(served_item), await Keys(client).of(
        "https://drenthe.test/actors/dorpsmolen-reduzum"))
    # And the outbox page embeds them whole too
    page = (await client.get("/actors/dorpsmolen-reduzum/outbox?page=true",
                             headers=AS_JSON)).json()
    assert [a["object"]["id"] for a in page["orderedItems"]] == [item["id"]]
    [create] = page["orderedItems"]
    assert orjson.dumps(create) == signed.bytes[create["id"]]


async def test_edits_keep_every_earlier_activity_as_signed_and_delete_leaves_no_version(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    signed, item = await _relayed_item(client, auth, monkeypatch)
    # When it is edited twice
    for title in ("Tweede versie", "Derde versie"):
        response = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                      json={"title": title})
        assert response.status_code == 200, response.text
    stored = await _stored(ctx, signed.bytes)
    # Then the Create (and its announces) and the first Update refer to kept versions, the
    # newest Update to the item, and an Update's announces to the Update itself
    announces = [e for t, e, _ in stored.values() if t == "Announce"]
    per_activity = len(announces) // 3
    assert per_activity >= 2  # the node and the feeds
    embeds = sorted((t, e) for t, e, _ in stored.values())
    assert embeds == sorted([("Create", "version"), *[("Announce", "version")] * per_activity,
                             ("Update", "version"), ("Update", "object"),
                             *[("Announce", "activity")] * (2 * per_activity)])
    async with ctx.db.sessions() as session:
        kept = (await session.execute(select(object_versions.c.version)
                                      .order_by(object_versions.c.version))).scalars().all()
    assert kept == [1, 2]  # one copy of each earlier version
    # And every activity, old and new, is served as signed and verifies
    assert await _check_every_activity(client, signed) == 3 + 3 * per_activity
    # When the item is deleted, its history goes, with the versions only it held
    response = await client.delete(f"/api/items/{item['local_id']}", headers=auth)
    assert response.status_code in (200, 204), response.text
    async with ctx.db.sessions() as session:
        left = (await session.execute(select(func.count()).select_from(object_versions))
                ).scalar_one()
    assert left == 0
    assert {t for t, _, _ in (await _stored(ctx, signed.bytes)).values()} == {"Delete", "Announce"}


async def test_rotating_keys_re_signs_the_authors_activities_and_keeps_the_relays(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    signed, item = await _relayed_item(client, auth, monkeypatch)
    await client.patch(f"/api/items/{item['local_id']}", headers=auth, json={"title": "Nieuw"})
    before = {ap_id: doc for ap_id, (t, _, doc) in (await _stored(ctx, signed.bytes)).items()
              if t == "Announce"}
    relayed = {ap_id: await _served(client, ap_id) for ap_id in before}
    initiative = "https://drenthe.test/actors/dorpsmolen-reduzum"
    old_key = await Keys(client).of(initiative)
    # When the initiative's keys are rotated
    await rotate_keys(ctx, "dorpsmolen-reduzum")
    new_key = await Keys(client).of(initiative)
    # Then the node's and the feed's announces still serve what they signed (old proofs)
    for ap_id, body in relayed.items():
        assert await _served(client, ap_id) == body
    # And the initiative's own activities verify with its new key, their item included
    stored = await _stored(ctx, signed.bytes)
    own = [ap_id for ap_id, (_, _, doc) in stored.items() if doc["actor"] == initiative]
    assert own
    for ap_id in own:
        document = orjson.loads(await _served(client, ap_id))
        verify_proof(document, new_key)
        if document["type"] in ("Create", "Update") and "proof" in document["object"]:
            spec_verify(document["object"], new_key)
    assert old_key.public_bytes_raw() != new_key.public_bytes_raw()
    # And the item's current version is still stored once: the newest Update refers to it
    assert any(e == "object" for _, e, _ in stored.values())
