"""Upgrades: a database made by the first release, with its data, migrates to the current schema
and the node serves the old data afterwards (SQLite and PostgreSQL).

``tests/data/upgrade/first-release.json`` holds every row the first release (commit 098f396,
schema 0002) wrote for a small node; how it was made is in its ``made_by``. The rows are loaded
into a database migrated to that revision, exactly as stored, then ``kennisknoop migrate`` runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from node.app import create_app
from node.cli import migrate_database
from node.services.users import create_token
from node.store.migrate import sync_url, upgrade
from tests import dbs
from tests.clock import FAST_HASHER
from tests.keys import pool_keygen
from tests.node.conftest import make_settings

DATA = json.loads((Path(__file__).resolve().parents[2] / "data" / "upgrade" /
                   "first-release.json").read_text(encoding="utf-8"))
NODE = "https://fryslan.example"
ACCEPT = {"Accept": "application/activity+json"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    dbs.require_postgres()
    name = f"kk_upgrade_{tmp_path.name[-20:].replace('-', '_').lower()}"
    import psycopg

    with psycopg.connect(dbs.PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    dbs.drop_pg_database(url)


def _value(column: sa.Column[Any], value: Any) -> Any:
    """A value as the first release's SQLite file held it, for the same column anywhere."""
    if value is None:
        return None
    if isinstance(column.type, sa.JSON):
        return json.loads(value) if isinstance(value, str) else value
    if isinstance(column.type, sa.DateTime):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(column.type, sa.Boolean):
        return bool(value)
    return value


def load_first_release(url: str) -> None:
    """A database at the first release's schema holding the first release's rows."""
    upgrade(url, DATA["revision"])
    engine = sa.create_engine(sync_url(url))
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.begin() as conn:
            for name, rows in DATA["tables"].items():
                table = meta.tables[name]
                conn.execute(table.insert(), [{k: _value(table.c[k], v) for k, v in row.items()}
                                              for row in rows])
                if engine.dialect.name == "postgresql":  # ids were given: move the sequences on
                    conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT max(id) FROM {name}))"))
    finally:
        engine.dispose()


async def test_the_first_release_database_migrates_and_is_served(
        tmp_path: Path, empty_database: str) -> None:
    # Given a database the first release made, with a node, an initiative, a story and an admin
    load_first_release(empty_database)
    settings = make_settings(tmp_path, empty_database, node__url=NODE, node__name="Doarpswurk",
                             node__handle="fryslan", node__province_code="")
    # When it is migrated as `kennisknoop migrate` does
    await asyncio.to_thread(migrate_database, settings)
    # Then the node serves the old actors with their old keys and the old story
    old_actor = next(a for a in DATA["tables"]["actors"] if a["kind"] == "node")
    old_story = DATA["tables"]["objects"][0]
    app = create_app(settings, keygen=pool_keygen(), password_hasher=FAST_HASHER)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=NODE) as client:
        actor = await client.get("/actors/fryslan", headers=ACCEPT)
        assert actor.status_code == 200
        assert actor.json()["publicKey"]["publicKeyPem"] == old_actor["rsa_public_pem"]
        story = await client.get(old_story["ap_id"], headers=ACCEPT)
        assert story.status_code == 200 and story.json()["name"] == old_story["title"]
        # And the old admin still works, and search found what was stored before the index
        token = await create_token(app.state.ctx, "beheerder")
        auth = {"Authorization": f"Bearer {token}"}
        items = await client.get("/api/items", headers=auth)
        assert items.status_code == 200
        assert old_story["ap_id"] in json.dumps(items.json())
        found = await client.get("/api/search", params={"q": old_story["title"].split()[0]})
        assert found.status_code == 200 and old_story["ap_id"] in json.dumps(found.json())
        # And the old initiative can publish, signed with its old key
        created = await client.post("/api/items", headers=auth, json={
            "kind": "story", "title": "Na de upgrade", "content": "Het werkt nog.",
            "initiative": "dorpsmolen-reduzum"})
        assert created.status_code == 201, created.text
