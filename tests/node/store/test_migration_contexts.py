"""Migration 0016: documents already stored get their known ``@context`` values by number and an
item's HTML is stored once; every served document stays byte for byte what it was, its proofs
verifying, and the downgrade writes each JSON text and HTML column back exactly as it was."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from node.services.context import NodeContext
from node.store import contexts
from node.store.migrate import alembic_config, downgrade, sync_url, upgrade
from protocol.keys import multikey_decode
from protocol.proofs import verify_proof
from tests.node.web.api_helpers import create_initiative, create_item

REVISION = "0016"
AS_JSON = {"Accept": "application/activity+json"}
TABLES = ("objects", "object_versions", "activities", "actors", "inbox")


def _texts(url: str) -> dict[tuple[str, int], str]:
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            texts = {(table, id_): text for table in TABLES for id_, text in conn.execute(
                sa.text(f"SELECT id, CAST(document AS TEXT) FROM {table}"))
                if text is not None}
            texts.update({("html", id_): html for id_, html in conn.execute(
                sa.text("SELECT id, content_html FROM objects"))})
            return texts
    finally:
        engine.dispose()


async def _api(client: httpx.AsyncClient, auth: dict[str, str], local_id: str) -> bytes:
    response = await client.get(f"/api/items/{local_id}", headers=auth)
    assert response.status_code == 200, response.text
    return response.content


async def _served(client: httpx.AsyncClient, paths: list[str]) -> dict[str, bytes]:
    found = {}
    for path in paths:
        response = await client.get(path, headers=AS_JSON)
        assert response.status_code == 200, (path, response.text)
        found[path] = response.content
    return found


async def test_upgrade_stores_contexts_by_number_and_serves_every_document_as_before(
        client: httpx.AsyncClient, ctx: NodeContext, auth: dict[str, str],
        database_url: str) -> None:
    # Given a node with an initiative's item, relayed and edited once (activities by
    # reference, a kept version), as the application writes them now
    await create_initiative(client, auth)
    item = await create_item(client, auth, initiative="dorpsmolen-reduzum",
                             place={"name": "Reduzum", "latitude": 53.1, "longitude": 5.7},
                             themes=["energy-generation"])
    edited = await client.patch(f"/api/items/{item['local_id']}", headers=auth,
                                json={"title": "Tweede versie"})
    assert edited.status_code == 200, edited.text
    page = (await client.get("/actors/dorpsmolen-reduzum/outbox?page=true", headers=AS_JSON)
            ).json()
    paths = [iri.split("drenthe.test", 1)[1] for iri in (
        item["id"], "https://drenthe.test/actors/dorpsmolen-reduzum",
        *(a["id"] for a in page["orderedItems"]))]
    served = await _served(client, paths)
    api = await _api(client, auth, item["local_id"])
    packed = _texts(database_url)
    [(_, row)] = [key for key in packed if key[0] == "objects"]  # the item's row
    assert packed[("objects", row)].startswith(" ")  # written packed
    assert packed[("html", row)] is None  # the document's content
    assert orjson.loads(api)["content_html"].startswith("<")
    previous = ScriptDirectory.from_config(alembic_config(database_url)).get_revision(
        REVISION).down_revision
    assert isinstance(previous, str)
    try:
        # When the database is taken back to before the migration
        await asyncio.to_thread(downgrade, database_url, previous)
        whole = _texts(database_url)
        # Then every text is whole again, exactly what the packed one stood for, and the
        # item's HTML in its column
        html = whole.pop(("html", row))
        assert whole == {key: contexts.unpack(text) for key, text in packed.items()
                         if key[0] != "html"}
        assert not any(text.startswith(" ") for text in whole.values())
        assert html == orjson.loads(whole[("objects", row)])["content"]
        assert await _served(client, paths) == served
        assert await _api(client, auth, item["local_id"]) == api
        # When it is upgraded
        await asyncio.to_thread(upgrade, database_url)
    finally:
        await asyncio.to_thread(upgrade, database_url)
    # Then it holds what the application writes, a third of the item's document
    assert _texts(database_url) == packed
    item_text = packed[("objects", row)]
    assert len(item_text) < len(contexts.unpack(item_text)) - 4000
    # And every document is served byte for byte as before, its proof verifying
    assert await _served(client, paths) == served
    assert await _api(client, auth, item["local_id"]) == api
    actor = orjson.loads(served[paths[1]])
    key = multikey_decode(actor["assertionMethod"][0]["publicKeyMultibase"])
    document: dict[str, Any] = orjson.loads(served[paths[0]])
    verify_proof(document, key)
    for path in paths[2:]:
        activity = orjson.loads(served[path])
        verify_proof(activity, key)
        verify_proof(activity["object"], key)
