"""The schema built by the Alembic migrations is the schema the code declares (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from node.store.migrate import downgrade, sync_url, upgrade
from node.store.schema import metadata
from tests import dbs


def _declared(obj: object, name: str | None, type_: str, reflected: bool,
              compare_to: object) -> bool:
    # The search index's engine-specific parts cannot be declared in SQLAlchemy Core: the
    # SQLite FTS5 virtual table (and its shadow tables) and the PostgreSQL GIN index.
    return not (name or "").startswith(("search_fts", "ix_search_docs_tsv"))


def _diff(url: str) -> list[object]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _declared})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _diff(url) == []


@pytest.mark.postgres
def test_postgres_migrations_match_models() -> None:
    dbs.require_postgres()
    url = dbs.create_pg_database("kk_migr")
    try:
        assert _diff(url) == []
    finally:
        dbs.drop_pg_database(url)


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(url)
    assert _diff(url) == []



def test_upgrade_fills_in_the_province_of_items_without_one(tmp_path: Path) -> None:
    # Given a database at 0004 holding items without a province (issue 8)
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0004")
    actor_table = sa.table("actors", *(sa.column(c) for c in (
        "ap_id", "is_local", "kind", "host", "type", "version", "published", "updated")),
        sa.column("profile", sa.JSON), sa.column("document", sa.JSON))
    object_table = sa.table("objects", *(sa.column(c) for c in (
        "ap_id", "is_local", "host", "kind", "type", "attributed_to", "province_code", "version",
        "published", "updated", "received_at")), *(sa.column(c, sa.JSON) for c in (
            "themes", "fields", "document")))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    common = {"version": 1, "published": now, "updated": now}
    actors_rows = [
        ("https://drenthe.test/actors/drenthe", True, "node", {"province_code": "PV22"},
         {"provinceCode": "PV22"}),
        ("https://drenthe.test/actors/molen", True, "initiative",
         {"place": {"province_code": "PV21"}}, {"location": {"provinceCode": "PV21"}}),
        ("https://drenthe.test/actors/nergens", True, "initiative", {}, {}),
        ("https://overijssel.test/actors/ommen", False, "remote", {},
         {"location": {"type": "Place", "provinceCode": "PV23"}}),
    ]
    items = {"node": ("drenthe", None), "molen": ("molen", None), "placed": ("molen", "PV20"),
             "nergens": ("nergens", None)}
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for ap_id, local, kind, profile, document in actors_rows:
                conn.execute(actor_table.insert().values(
                    ap_id=ap_id, is_local=local, kind=kind, host=ap_id.split("/")[2],
                    type="Organization", profile=profile, document=document, **common))
            rows = [(f"https://drenthe.test/items/{name}", True,
                     f"https://drenthe.test/actors/{author}", code)
                    for name, (author, code) in items.items()]
            rows += [("https://overijssel.test/items/1", False,
                      "https://overijssel.test/actors/ommen", None),
                     ("https://mastodon.test/notes/1", False, "https://mastodon.test/users/a",
                      None)]
            for ap_id, local, author, code in rows:
                conn.execute(object_table.insert().values(
                    ap_id=ap_id, is_local=local, host=ap_id.split("/")[2], kind="story",
                    type="Article", attributed_to=author, province_code=code, themes=[],
                    fields={}, document={"id": ap_id}, received_at=now, **common))
        # When it is upgraded
        upgrade(url)
        # Then each item has its author's province, else (local ones) the node's
        with engine.connect() as conn:
            found = dict(conn.execute(sa.text("SELECT ap_id, province_code FROM objects")).all())
    finally:
        engine.dispose()
    assert found == {
        "https://drenthe.test/items/node": "PV22",
        "https://drenthe.test/items/molen": "PV21",
        "https://drenthe.test/items/placed": "PV20",
        "https://drenthe.test/items/nergens": "PV22",
        "https://overijssel.test/items/1": "PV23",
        "https://mastodon.test/notes/1": None,
    }
