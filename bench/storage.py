"""Storage benchmark: database bytes per item, beside the item's own JSON-LD (issue 13).

One node of the federation harness (in process) with an initiative; ``--items`` items created
through ``POST /api/items`` one at a time (``bench.paths.item_body``: about 4 KB of Markdown, a
place and two themes, so the node actor and two or three theme feeds announce each one). Then:

- SQLite: the WAL checkpointed and the file ``VACUUM``ed; its size / items;
- PostgreSQL (``--postgres``): ``pg_total_relation_size`` summed over the tables (TOAST and
  indexes included), after ``VACUUM FULL``; / items;
- baseline: the mean size of an item's own signed JSON-LD as served (``objects.document``
  with its ``@context`` put back, ``node.store.contexts``);
- and where the bytes are: the JSON text each table's ``document`` column holds, per item.

Run: ``python -m bench.storage --items 500 [--postgres]``. Figures only; the ratio is
database bytes / JSON-LD bytes, issue 13's target ≤ 2.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import LargeBinary, Table, Text, cast, func, literal_column, select
from sqlalchemy.engine import make_url

from bench.paths import INITIATIVE, _client, item_body
from bench.results import Figure, table
from node.services.users import add_user, create_token
from node.store import contexts
from node.store.schema import metadata, objects
from tests.federation.harness import federation, postgres

UNLIMITED = {"limits__api_rate_per_minute": 0}


def _length(table_: Table, dialect: str) -> Any:
    """The length in bytes of a row's ``document`` JSON text."""
    if dialect == "sqlite":
        return func.length(cast(table_.c.document, LargeBinary))
    return func.octet_length(literal_column(f"{table_.name}.document::text"))


async def _create(items: int, tmp: Path, database: Any) -> dict[str, Any]:
    async with federation(tmp, ["origin"], database=database) as fed:
        origin = fed["origin"]
        await add_user(origin.ctx, "bench", "correct horse battery", "admin")
        auth = {"Authorization": f"Bearer {await create_token(origin.ctx, 'bench')}"}
        rng = random.Random(13)
        async with _client(origin.app, origin.url) as client:
            (await client.post("/api/initiatives", headers=auth, json={
                "handle": INITIATIVE, "name": "Dorpsmolen Reduzum"})).raise_for_status()
            for i in range(items):
                (await client.post("/api/items", headers=auth, json=item_body(i, rng))
                 ).raise_for_status()
        engine = origin.ctx.db.engine
        dialect = engine.dialect.name
        async with origin.ctx.db.sessions() as session:
            served = (await session.execute(select(cast(objects.c.document, Text)).where(
                objects.c.is_local.is_(True), objects.c.deleted_at.is_(None)))).scalars().all()
            own = statistics.fmean(len(contexts.unpack(text).encode()) for text in served)
            columns: dict[str, float] = {}
            for table_ in metadata.sorted_tables:
                if "document" in table_.c:
                    total = (await session.execute(select(func.coalesce(func.sum(
                        _length(table_, dialect)), 0)).select_from(table_))).scalar_one()
                    columns[table_.name] = float(total) / items
        url = str(engine.url.render_as_string(hide_password=False))
    return {"dialect": dialect, "url": url, "own": own, "columns": columns}


def _sqlite_bytes(url: str) -> int:
    path = make_url(url).database
    assert path
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return Path(path).stat().st_size


def pg_bytes(url: str) -> int:
    name = make_url(url).database
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={name}",
                         autocommit=True) as conn:
        conn.execute("VACUUM FULL")
        row = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = 'public' AND c.relkind = 'r'").fetchone()
    return int(row[0]) if row else 0


def measure(items: int, *, pg: bool) -> tuple[list[Figure], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="kk-bench-storage-") as name, ExitStack() as stack:
        database = stack.enter_context(postgres()) if pg else None
        found = asyncio.run(_create(items, Path(name), database))
        size = pg_bytes(found["url"]) if pg else _sqlite_bytes(found["url"])
    label = "PostgreSQL" if pg else "SQLite"
    figure = Figure(f"storage: database bytes per item ({label}, {items} items)", size / items,
                    "bytes", "the item's own JSON-LD (objects.document)", found["own"],
                    {"ratio_max": 2.0}, source="bench/storage.py")
    return [figure], found["columns"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    args = parser.parse_args(argv)
    figures, columns = measure(args.items, pg=args.postgres)
    print(table(figures))
    print("document JSON per item, by table: " + ", ".join(
        f"{name} {value:,.0f} B" for name, value in columns.items() if value))


if __name__ == "__main__":
    main()
