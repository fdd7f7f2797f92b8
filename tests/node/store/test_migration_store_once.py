"""Migration 0015: activities already stored embed their object by reference afterwards, served
byte for byte as before with their proofs verifying; the downgrade stores them whole again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import create_engine

from node.store import activities as activity_store
from node.store.db import Database
from node.store.migrate import downgrade, sync_url, upgrade
from protocol.proofs import add_proof, verify_proof
from tests import dbs

NOW = datetime(2026, 12, 1, tzinfo=UTC)
BASE = "https://drenthe.test"
ITEM = f"{BASE}/items/molen"
AUTHOR = f"{BASE}/actors/dorpsmolen"
NODE = f"{BASE}/actors/drenthe"
KEY = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def before(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database migrated up to 0014, the revision before 0015."""
    yield from dbs.migrated_to(request.param, "0014", tmp_path, "kk_storeonce")


def _signed(document: dict[str, Any]) -> dict[str, Any]:
    return add_proof(document, KEY, f"{document.get('actor', AUTHOR)}#ed25519-key", created=NOW)


def _item(version: int, title: str) -> dict[str, Any]:
    return _signed({"@context": ["https://www.w3.org/ns/activitystreams"], "id": ITEM,
                    "type": "Article", "attributedTo": AUTHOR, "name": title, "version": version,
                    "location": {"type": "Place", "latitude": 53.1, "longitude": 5.25},
                    "updated": f"2026-12-0{version}T00:00:00Z"})


def _activity(name: str, type: str, actor: str, obj: Any) -> dict[str, Any]:
    return _signed({"@context": ["https://www.w3.org/ns/activitystreams"],
                    "id": f"{BASE}/activities/{name}", "type": type, "actor": actor,
                    "object": obj, "published": "2026-12-01T00:00:00Z"})


def _documents() -> list[dict[str, Any]]:
    v1, v2 = _item(1, "Eerste"), _item(2, "Tweede")
    update = _activity("update", "Update", AUTHOR, v2)
    remote = {"id": "https://fryslan.test/items/x", "type": "Note", "content": "Hoi"}
    return [
        _activity("create", "Create", AUTHOR, v1),
        _activity("announce-create", "Announce", NODE, v1),
        update,
        _activity("announce-update", "Announce", NODE, update),
        _activity("follow", "Follow", NODE, "https://fryslan.test/actors/fryslan"),
        _activity("profile", "Update", AUTHOR, {"id": AUTHOR, "type": "Organization"}),
        _activity("relay-remote", "Announce", NODE, remote),
    ]


def _objects_row() -> dict[str, Any]:
    return {"ap_id": ITEM, "is_local": True, "host": "drenthe.test", "kind": "story",
            "type": "Article", "attributed_to": AUTHOR, "version": 2, "published": NOW,
            "updated": NOW, "received_at": NOW, "themes": [], "fields": {},
            "document": _item(2, "Tweede")}


async def _read(url: str, ids: list[str]) -> dict[str, bytes]:
    db = Database.connect(url)
    try:
        async with db.sessions() as session:
            found = {}
            for ap_id in ids:
                activity = await activity_store.get(session, ap_id)
                assert activity is not None
                found[ap_id] = orjson.dumps(activity.document)
            return found
    finally:
        await db.dispose()


def test_upgrade_stores_each_embedded_object_once_and_downgrade_restores_them(
        before: str) -> None:
    documents = _documents()
    ids = [d["id"] for d in documents]
    activities = sa.table("activities", *(sa.column(c) for c in (
        "ap_id", "actor", "type", "object_ap_id", "published")), sa.column("document", sa.JSON))
    objects = sa.table("objects", *(sa.column(c) for c in (
        "ap_id", "is_local", "host", "kind", "type", "attributed_to", "version", "published",
        "updated", "received_at")), *(sa.column(c, sa.JSON) for c in (
            "themes", "fields", "document")))
    engine = create_engine(sync_url(before))
    try:
        with engine.begin() as conn:
            conn.execute(objects.insert().values(**_objects_row()))
            for d in documents:
                obj = d["object"]
                conn.execute(activities.insert().values(
                    ap_id=d["id"], actor=d["actor"], type=d["type"], published=NOW, document=d,
                    object_ap_id=obj if isinstance(obj, str) else obj["id"]))
        # When it is upgraded
        upgrade(before)
        with engine.connect() as conn:
            stored = {r.ap_id: (r.embeds, r.document) for r in conn.execute(sa.text(
                "SELECT ap_id, embeds, document FROM activities"))}
            kept = conn.execute(sa.text("SELECT ap_id, version FROM object_versions")).all()
            item_text = conn.execute(sa.text("SELECT CAST(document AS TEXT) FROM objects")
                                     ).scalar_one()
        # Then the item's versions are each stored once, the activities refer to them
        embeds = {ap_id.rsplit("/", 1)[1]: e for ap_id, (e, _) in stored.items()}
        assert embeds == {"create": "version", "announce-create": "version", "update": "object",
                          "announce-update": "activity", "follow": None, "profile": None,
                          "relay-remote": None}
        assert [tuple(k) for k in kept] == [(ITEM, 1)]
        # And the item's document is stored as the bytes served (json.dumps wrote it spaced)
        assert item_text.encode() == orjson.dumps(_item(2, "Tweede"))
        # And the 5 KB @context an activity shares with its object is not kept twice either
        shells = [orjson.loads(d) if isinstance(d, str) else d for e, d in stored.values() if e]
        assert len(shells) == 4 and all(d["@context"] is None for d in shells)
        # And every activity reads back with the bytes it had, its proofs verifying
        read = asyncio.run(_read(before, ids))
        for d in documents:
            assert read[d["id"]] == orjson.dumps(d)
            whole = orjson.loads(read[d["id"]])
            verify_proof(whole, KEY.public_key())
            if isinstance(whole["object"], dict) and "proof" in whole["object"]:
                verify_proof(whole["object"], KEY.public_key())
        # When it is downgraded again
        downgrade(before, "0014")
        with engine.connect() as conn:
            back = {r.ap_id: r.document for r in conn.execute(sa.select(
                activities.c.ap_id, activities.c.document))}
            tables = sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
    # Then every activity is whole, as it was
    assert {ap_id: orjson.dumps(doc) for ap_id, doc in back.items()} == {
        d["id"]: orjson.dumps(d) for d in documents}
    assert "object_versions" not in tables
