"""Agenda benchmark: the bottleneck ranking (``node.services.agenda.ranking``) at many bottlenecks.

Builds a migrated database (a SQLite file, and a fresh PostgreSQL database on 127.0.0.1:5432
when it runs), fills ``objects`` with N bottlenecks carrying random tallies (as their origins
published them) among 4·N other items, then times one page of 20 — the count and the ranked rows,
the tally read with JSON path expressions — without filters and with status + theme filters.
Figures only, never pass/fail: the machine is shared and noisy; compare within one run.

Run: ``python -m bench.bottlenecks`` (1,000 and 10,000 bottlenecks, SQLite and PostgreSQL);
``--sizes 1000`` / ``--engines sqlite`` to choose.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.config import build_settings
from node.services.agenda import AgendaQuery, ranking
from node.services.context import NodeContext
from node.services.documents import tally_fields
from node.store.db import Database
from node.store.migrate import upgrade
from node.store.schema import objects
from protocol import themes

PROVINCES = list(themes.PROVINCES)
THEMES = [t.id for t in themes.all_themes()]
STATUSES = list(themes.BOTTLENECK_STATUSES)


def _rows(n: int, rng: random.Random) -> list[dict[str, object]]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(5 * n):
        bottleneck = i % 5 == 0
        fields: dict[str, object] = {}
        if bottleneck:
            count = min(int(rng.paretovariate(1.5)) - 1, 400)
            fields = {"bottleneck_status": rng.choice(STATUSES),
                      "endorsements": tally_fields(count, rng.sample(PROVINCES, min(count, 12)),
                                                   rng.randrange(5))}
        rows.append({
            "ap_id": f"https://node{i % 12}.example/items/{i}", "is_local": False,
            "host": f"node{i % 12}.example", "kind": "bottleneck" if bottleneck else "story",
            "type": "Article", "attributed_to": f"https://node{i % 12}.example/actors/a",
            "title": f"Item {i}", "themes": rng.sample(THEMES, 2), "fields": fields,
            "version": 1, "published": start + timedelta(minutes=i), "updated": start,
            "received_at": start, "document": {}})
    return rows


async def _measure(url: str, n: int, rounds: int) -> dict[str, float]:
    settings = build_settings(Path(tempfile.mkdtemp()), {
        ("database", "url"): url, ("node", "url"): "https://lvkk.example",
        ("node", "name"): "LVKK", ("node", "handle"): "lvkk"}, environ={})
    db = Database.connect(settings.database_url)
    ctx = NodeContext(settings=settings, db=db)
    rows = _rows(n, random.Random(7))
    async with db.transaction() as session:
        for start in range(0, len(rows), 1000):
            await session.execute(objects.insert(), rows[start:start + 1000])
    out = {}
    for name, query in (("all", AgendaQuery()),
                        ("status+theme", AgendaQuery(bottleneck_status="open",
                                                     theme="care-wellbeing"))):
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            await ranking(ctx, query, limit=20)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        out[f"{name} p50"] = statistics.median(times)
        out[f"{name} p95"] = times[int(len(times) * 0.95) - 1]
    await db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    for engine in args.engines:
        for n in args.sizes:
            if engine == "sqlite":
                path = Path(tempfile.mkdtemp()) / "bench.db"
                upgrade(f"sqlite:///{path}")
                url = f"sqlite+aiosqlite:///{path}"
            else:
                from tests import dbs
                if not dbs.pg_available():
                    print("postgresql: not running, skipped")
                    continue
                url = dbs.create_pg_database("kk_bench_agenda")
            figures = asyncio.run(_measure(url, n, args.rounds))
            if engine != "sqlite":
                dbs.drop_pg_database(url)
            shown = ", ".join(f"{k} {v:.1f} ms" for k, v in figures.items())
            print(f"{engine:10} {n:>6} bottlenecks (+{4 * n} items): {shown}")


if __name__ == "__main__":
    main()
