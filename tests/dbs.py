"""Real databases for tests: a migrated SQLite file per test, or a PostgreSQL database per session.

SQLite: the schema is built once per session with Alembic and the file copied for each test.
PostgreSQL (127.0.0.1:5432, trust auth): one database per test session, migrated once, every table
truncated before each test. When ``CI`` is set, a missing PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from node.store.migrate import downgrade, upgrade
from node.store.schema import metadata

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def require_postgres() -> None:
    if pg_available():
        return
    if os.environ.get("CI"):
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (required when CI is set)")
    pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")


def sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    if not path.exists():
        upgrade(f"sqlite:///{path}")
    return path


def fresh_sqlite(template: Path, target_dir: Path) -> str:
    target = target_dir / "node.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


def create_pg_database(prefix: str = "kk_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    upgrade(url)
    return url


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_pg(url: str) -> None:
    """Empty every table. DELETE, not TRUNCATE: on these small tables it is ~10x faster."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}",
                         autocommit=True) as conn, conn.transaction():
        for table in reversed(metadata.sorted_tables):
            conn.execute(f'DELETE FROM "{table.name}"')


def migrated_to(kind: str, revision: str, directory: Path, prefix: str) -> Iterator[str]:
    """A sync URL of a database at ``revision`` (``kind``: sqlite or postgres), for a fixture
    testing the migration after it; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{directory / 'm.db'}"
        upgrade(url, revision)
        yield url
        return
    require_postgres()
    url = create_pg_database(prefix)
    try:
        downgrade(url, revision)
        yield url
    finally:
        drop_pg_database(url)
