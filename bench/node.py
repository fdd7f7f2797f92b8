"""Node benchmark: the JSON API in-process, against bare baselines measured in the same run.

Sets up a temporary node (SQLite file by default, or a fresh PostgreSQL database with
``--postgres``), migrated with Alembic, and drives ``create_app`` through ``httpx.ASGITransport``
(no sockets, so this measures the application and the database, not the network):

- creates items through ``POST /api/items`` (``--sequential`` of them one by one, the rest with
  ``--concurrency`` requests in flight), each signed (eddsa-jcs-2022), with its Create activity
  and the node's relaying Announces signed and stored in the outboxes;
- reads them back with ``GET /api/items/{local_id}`` and pages through ``GET /api/items``
  (unfiltered, by theme, by word);
- reports the resident memory (VmRSS and peak) after loading;
- measures the bare baselines in the same run: a bare Starlette JSON endpoint (GET, and a POST
  that parses its JSON body) through the same transport, and raw single-row inserts committed
  one by one on the same database engine, and prints our figure as a fraction of each.

Figures only, never pass/fail: the machine is shared and noisy, compare within one run.

Run: ``.venv/bin/python bench/node.py`` (about 3 minutes for 10,000 items on an idle 2-core
machine; creating items dominates);
``--postgres`` to use the PostgreSQL server on 127.0.0.1:5432 (database ``kk_bench_<random>``,
dropped afterwards); ``--items N`` for a quicker run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import random
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# This file is called node.py: drop its folder from the path so ``import node`` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.app import create_app  # noqa: E402
from node.config import build_settings  # noqa: E402
from node.services.actors import ensure_node_actor  # noqa: E402
from node.services.users import add_user, create_token  # noqa: E402
from node.store.migrate import upgrade  # noqa: E402

BASE = "https://bench.test"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
THEMES = ("energy-generation", "meals", "neighbour-help", "broadband", "village-hall",
          "local-food", "housing", "dementia", "mobility", "education")
WORDS = ("dorp", "molen", "coöperatie", "zorg", "vrijwilligers", "energie", "dorpshuis",
         "glasvezel", "buurtbus", "subsidie", "gemeente", "bewoners", "plan", "samen")
READS = 2_000
BASELINE_REQUESTS = 3_000
RAW_INSERTS = 5_000


@dataclass
class Figure:
    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


def _rss_mb() -> tuple[float, float]:
    """(current VmRSS, peak RSS) of this process in MiB."""
    current = 0.0
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return current, peak


def _item_body(i: int, rng: random.Random) -> dict[str, Any]:
    words = " ".join(rng.choice(WORDS) for _ in range(120))
    body: dict[str, Any] = {
        "kind": rng.choice(("story", "guide", "question", "bottleneck")),
        "title": f"Kennisitem {i}: {rng.choice(WORDS)} en {rng.choice(WORDS)}",
        "content": f"## Wat we deden\n\n{words}\n\n- eerste stap\n- tweede stap\n",
        "summary": f"Samenvatting van item {i}.",
        "themes": rng.sample(THEMES, 2),
        "initiative": "dorpsmolen-reduzum",
        "place": {"name": "Reduzum", "latitude": 53.12, "longitude": 5.78,
                  "province_code": rng.choice(("PV21", "PV22", "PV23"))},
    }
    return body


async def _timed(name: str, count: int, run: Callable[[], Awaitable[None]]) -> Figure:
    start = time.perf_counter()
    await run()
    return Figure(name, count, time.perf_counter() - start)


async def _concurrently(n: int, concurrency: int, job: Callable[[int], Awaitable[None]]) -> None:
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:  # the shared iterator hands each index to exactly one worker
            await job(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# --- the node -------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _node(database_url: str, directory: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    settings = build_settings(directory, {
        ("node", "url"): BASE, ("node", "name"): "Bench", ("node", "handle"): "bench",
        ("node", "province_code"): "PV21", ("database", "url"): database_url,
    }, environ={})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        await ensure_node_actor(ctx)
        await add_user(ctx, "bench", "correct horse battery", "admin")
        token = await create_token(ctx, "bench")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield client, token


async def _bench_node(client: httpx.AsyncClient, token: str, n_items: int, n_sequential: int,
                      concurrency: int) -> tuple[list[Figure], list[str], tuple[float, float]]:
    auth = {"Authorization": f"Bearer {token}"}
    response = await client.post("/api/initiatives", headers=auth, json={
        "handle": "dorpsmolen-reduzum", "name": "Dorpsmolen Reduzum"})
    response.raise_for_status()
    rng = random.Random(7)
    bodies = [_item_body(i, rng) for i in range(n_items)]
    local_ids: list[str] = [""] * n_items

    async def create(i: int) -> None:
        r = await client.post("/api/items", headers=auth, json=bodies[i])
        if r.status_code != 201:
            raise RuntimeError(f"create failed: {r.status_code} {r.text}")
        local_ids[i] = r.json()["local_id"]

    half = min(n_sequential, n_items)

    async def sequential() -> None:
        for i in range(half):
            await create(i)

    figures = [await _timed("POST /api/items, sequential", half, sequential)]
    figures.append(await _timed(
        f"POST /api/items, {concurrency} in flight", n_items - half,
        lambda: _concurrently(n_items - half, concurrency, lambda i: create(half + i))))
    memory = _rss_mb()

    sample = random.Random(11).sample(local_ids, min(READS, n_items))

    async def read(i: int) -> None:
        (await client.get(f"/api/items/{sample[i]}")).raise_for_status()

    async def read_all() -> None:
        for i in range(len(sample)):
            await read(i)

    figures.append(await _timed("GET /api/items/{id}, sequential", len(sample), read_all))
    figures.append(await _timed(f"GET /api/items/{{id}}, {concurrency} in flight", len(sample),
                                lambda: _concurrently(len(sample), concurrency, read)))
    for label, params in (("GET /api/items pages of 20", {}),
                          ("GET /api/items?limit=100 pages", {"limit": "100"}),
                          ("GET /api/items?theme=sustainability pages", {"theme": "sustainability"}),
                          ("GET /api/items?q=buurtbus pages", {"q": "buurtbus"})):
        figures.append(await _pages(client, label, params))
    return figures, local_ids, memory


async def _pages(client: httpx.AsyncClient, label: str, params: dict[str, str],
                 max_pages: int = 100) -> Figure:
    pages = 0

    async def walk() -> None:
        nonlocal pages
        url: str | None = "/api/items"
        query: dict[str, str] | None = params
        while url is not None and pages < max_pages:
            r = await client.get(url, params=query)
            r.raise_for_status()
            url, query = r.json()["next"], None
            pages += 1

    start = time.perf_counter()
    await walk()
    return Figure(label, pages, time.perf_counter() - start)


# --- baselines ------------------------------------------------------------------------------------


def _bare_app() -> Starlette:
    async def get(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["id"], "title": "kennis", "version": 1})

    async def post(request: Request) -> Response:
        body = json.loads(await request.body())
        return JSONResponse({"id": "x", "title": body.get("title")}, status_code=201)

    return Starlette(routes=[Route("/bare/{id}", get, methods=["GET"]),
                             Route("/bare", post, methods=["POST"])])


async def _bench_bare(concurrency: int) -> list[Figure]:
    transport = httpx.ASGITransport(app=_bare_app())
    body = _item_body(0, random.Random(1))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        async def get(i: int) -> None:
            (await client.get(f"/bare/{i}")).raise_for_status()

        async def post(i: int) -> None:
            (await client.post("/bare", json=body)).raise_for_status()

        async def seq(job: Callable[[int], Awaitable[None]]) -> None:
            for i in range(BASELINE_REQUESTS):
                await job(i)

        return [
            await _timed("bare Starlette POST (JSON body), sequential", BASELINE_REQUESTS,
                         lambda: seq(post)),
            await _timed("bare Starlette GET, sequential", BASELINE_REQUESTS, lambda: seq(get)),
            await _timed(f"bare Starlette GET, {concurrency} in flight", BASELINE_REQUESTS,
                         lambda: _concurrently(BASELINE_REQUESTS, concurrency, get)),
        ]


def _raw_sqlite_inserts(path: Path, table: str) -> Figure:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, ap_id TEXT UNIQUE, document TEXT)")
    doc = json.dumps(_item_body(0, random.Random(1)))
    start = time.perf_counter()
    for i in range(RAW_INSERTS):
        conn.execute("BEGIN")
        conn.execute(f"INSERT INTO {table} (ap_id, document) VALUES (?, ?)",
                     (f"{BASE}/raw/{i}", doc))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return Figure("raw sqlite3 single-row insert + commit", RAW_INSERTS, seconds)


def _raw_pg_inserts(dsn: str, table: str) -> Figure:
    doc = json.dumps(_item_body(0, random.Random(1)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id SERIAL PRIMARY KEY, ap_id TEXT UNIQUE, "
                     "document JSON)")
        start = time.perf_counter()
        for i in range(RAW_INSERTS):
            conn.execute(f"INSERT INTO {table} (ap_id, document) VALUES (%s, %s)",
                         (f"{BASE}/raw/{i}", doc))
        seconds = time.perf_counter() - start
        conn.execute(f"DROP TABLE {table}")
    return Figure("raw psycopg single-row insert (autocommit)", RAW_INSERTS, seconds)


# --- databases and report -------------------------------------------------------------------------


@contextlib.contextmanager
def _database(postgres: bool, directory: Path
              ) -> Iterator[tuple[str, Callable[[str], Figure]]]:
    """A migrated database URL and the raw-insert baseline for the same engine."""
    if not postgres:
        url = f"sqlite+aiosqlite:///{directory / 'node.db'}"
        upgrade(url)
        yield url, lambda table: _raw_sqlite_inserts(directory / "raw.db", table)
        return
    name = f"kk_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url)
        dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={name}"
        yield url, lambda table: _raw_pg_inserts(dsn, table)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _line(figure: Figure, unit: str = "req/s", rounds: tuple[Figure, Figure] | None = None) -> str:
    line = (f"  {figure.name:<50} {figure.rate:>9,.0f} {unit}  "
            f"({figure.count:,} in {figure.seconds:.1f} s)")
    if rounds is not None:
        line += f"  before/after: {rounds[0].rate:,.0f} / {rounds[1].rate:,.0f}"
    return line


def _pooled(before: Figure, after: Figure) -> Figure:
    return Figure(before.name, before.count + after.count, before.seconds + after.seconds)


def _report(backend: str, node: list[Figure], baselines: list[tuple[Figure, Figure]],
            memory: tuple[float, float], baseline_memory: float, n_items: int) -> None:
    print(f"Kennisknoop node benchmark — {backend}, Python {platform.python_version()}, "
          f"{platform.machine()}, in-process ASGI (no sockets)")
    print("\nAPI")
    for figure in node:
        print(_line(figure, "pages/s" if "pages" in figure.name else "req/s"))
    print("\nbaselines (same run: measured before and after the API, pooled)")
    pooled = [_pooled(*rounds) for rounds in baselines]
    for figure, rounds in zip(pooled, baselines, strict=True):
        print(_line(figure, "rows/s" if "insert" in figure.name else "req/s", rounds))
    bare_post, bare_get, _, raw = pooled
    created = node[0]
    read_seq = next(f for f in node if f.name.startswith("GET /api/items/{id}, sequential"))
    print("\nratios (ours / bare)")
    print(f"  create (sequential) / bare POST:              {created.rate / bare_post.rate:6.3f}")
    print(f"  create (sequential) / raw single-row inserts: {created.rate / raw.rate:6.3f}")
    print(f"  read by id (sequential) / bare GET:           {read_seq.rate / bare_get.rate:6.3f}")
    current, peak = memory
    print(f"\nmemory after loading {n_items:,} items: VmRSS {current:,.0f} MiB, peak RSS "
          f"{peak:,.0f} MiB (before the node started: {baseline_memory:,.0f} MiB; the peak "
          "includes argon2's 64 MiB for the admin's password)")


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true",
                        help="run against a fresh PostgreSQL database on 127.0.0.1:5432")
    parser.add_argument("--items", type=int, default=10_000, help="items to create")
    parser.add_argument("--sequential", type=int, default=2_000,
                        help="of those, created one at a time (the rest concurrently)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    args = parser.parse_args(argv)
    baseline_memory = _rss_mb()[0]
    with tempfile.TemporaryDirectory(prefix="kk-bench-") as tmp, \
            _database(args.postgres, Path(tmp)) as (url, raw_inserts):
        # The machine is shared and its load drifts: baselines run before and after the API.
        before = [*await _bench_bare(args.concurrency), raw_inserts("raw_before")]
        async with _node(url, Path(tmp)) as (client, token):
            node, _, memory = await _bench_node(client, token, args.items, args.sequential,
                                                args.concurrency)
        after = [*await _bench_bare(args.concurrency), raw_inserts("raw_after")]
    _report("PostgreSQL" if args.postgres else "SQLite (WAL, synchronous=NORMAL)", node,
            list(zip(before, after, strict=True)), memory, baseline_memory, args.items)


if __name__ == "__main__":
    asyncio.run(main())
