"""Paths benchmark: issue 13's create, read and inbox figures, each beside a bare baseline.

In process (httpx ``ASGITransport``, so the application and the database, not the network), on
SQLite files, with the federation harness's nodes (``origin.test`` and ``ontvanger.test``):

- create: ``POST /api/items`` one at a time (an item with a place and two themes: signed, stored,
  its Create and the Announces of the node actor and the theme feeds signed and stored); baseline
  a bare Starlette endpoint that parses the same body, signs an item (same ``@context``) and its
  Create with ``add_proof`` and inserts both rows with ``sqlite3`` in one transaction.
- read: ``GET`` an item as API JSON, as ActivityPub JSON and as the HTML page (anonymous), and
  its ``Create`` as ActivityPub JSON, each also with ``If-None-Match`` holding its ETag (answered
  304); baseline a bare Starlette GET that selects the item's stored JSON by key with ``sqlite3``
  and returns it. The same items are read over and over (300 GETs of a random sample), so what
  the node holds in memory (docs/performance.md, "Rendered bytes held") answers most of them.
- outbox: the initiative's outbox pages as ActivityPub JSON (``OrderedCollectionPage``s of 20
  activities, the newest and every older one by its ``max_id`` cursor, 300 GETs in a random
  order) beside a bare GET of the same pages' bytes by key.
- inbox: signed ``Create``s (RFC 9421-less cavage, RSA-2048, as Mastodon sends) POSTed to
  ``/inbox`` → 202 (stored, not yet applied), one at a time and eight in flight (where group
  commit counts); baseline a bare Starlette endpoint that checks the digest and the signature
  (``verify_request``) and inserts one row, at the same concurrency.

Each figure is measured ``--reps`` times, ours and the baseline alternately (which goes first
alternates too), and the medians count. Each is given per second of wall clock (issue 13's
figure) and, marked ``[CPU]``, per second of CPU this process used: on a shared machine the
load moves the first a lot and the second little, so before/after comparisons use ``[CPU]``.
Figures only, never pass/fail.

Run: ``python -m bench.paths`` (about 2 minutes on 2 busy cores), ``--quick`` for a smoke run,
``--only inbox`` (or ``create``, ``read``, ``outbox``) for some figures only;
``make bench`` runs it with the other scripts and writes ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.results import Figure, Run, paired, table
from node.services.documents import private_key
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.resolve import fetch_actor
from node.services.users import add_user, create_token
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store.schema import activities
from protocol.context import build_context
from protocol.httpsig import sign_request, verify_request
from protocol.keys import generate_ed25519
from protocol.proofs import add_proof
from protocol.vocab import ACTIVITY_JSON, PUBLIC
from tests.federation.harness import Federation, federation, postgres

AS_JSON = {"Accept": ACTIVITY_JSON}
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
INBOX_HEADERS = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON}
THEMES = ("energy-generation", "meals", "neighbour-help", "broadband", "village-hall",
          "local-food", "housing", "dementia", "mobility", "education")
WORDS = ("dorp", "molen", "coöperatie", "zorg", "vrijwilligers", "energie", "dorpshuis",
         "glasvezel", "buurtbus", "subsidie", "gemeente", "bewoners", "plan", "samen")
INITIATIVE = "dorpsmolen-reduzum"
UNLIMITED = {"limits__inbox_rate_per_host": 0, "limits__inbox_rate_total": 0}
PARTS = ("create", "read", "outbox", "inbox")
INBOX_IN_FLIGHT = (1, 8)  # requests in flight at once: one after the other; eight (group commit)


@dataclass(frozen=True)
class Sizes:
    reps: int
    creates: int  # per repetition
    reads: int  # per repetition and representation
    inbox: int  # per repetition


FULL = Sizes(reps=5, creates=60, reads=300, inbox=60)
QUICK = Sizes(reps=3, creates=10, reads=40, inbox=10)


def item_body(i: int, rng: random.Random) -> dict[str, Any]:
    """An API item body about 4 KB of Markdown long, with a place (floats) and two themes."""
    words = " ".join(rng.choice(WORDS) for _ in range(500))
    return {
        "kind": "story", "initiative": INITIATIVE,
        "title": f"Kennisitem {i}: {rng.choice(WORDS)} en {rng.choice(WORDS)}",
        "content": f"## Wat we deden\n\n{words}\n\n- eerste stap\n- tweede stap\n",
        "summary": f"Samenvatting van item {i}.",
        "themes": rng.sample(THEMES, 2),
        "place": {"name": "Reduzum", "latitude": 53.12, "longitude": 5.78,
                  "province_code": "PV21"},
    }


Rate = tuple[float, float]  # per wall-clock second, per CPU second of this process


async def _rate(count: int, job: Callable[[int], Awaitable[None]], *, in_flight: int = 1
                ) -> Rate:
    """``count`` jobs, ``in_flight`` at a time (one after the other by default): per second of
    wall clock, and per second of CPU used by this process (all its threads: aiosqlite's too),
    which the machine's load hardly moves."""
    numbers = iter(range(count))

    async def one_after_the_other() -> None:
        for i in numbers:
            await job(i)

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one_after_the_other() for _ in range(in_flight)))
    return count / (time.perf_counter() - start), count / (time.process_time() - cpu)


async def _alternate(reps: int, ours: Callable[[int], Awaitable[Rate]],
                     bare: Callable[[int], Awaitable[Rate]]) -> tuple[list[Rate], list[Rate]]:
    """Each repetition measures both; which goes first alternates (the load drifts)."""
    mine: list[Rate] = []
    base: list[Rate] = []
    for rep in range(reps):
        if rep % 2:
            base.append(await bare(rep))
            mine.append(await ours(rep))
        else:
            mine.append(await ours(rep))
            base.append(await bare(rep))
    return mine, base


def _figures(name: str, unit: str, mine: list[Rate], baseline_name: str, base: list[Rate],
             target: dict[str, float] | None) -> list[Figure]:
    """The wall-clock figure (issue 13's, with its target) and the same per CPU second."""
    return [
        paired(name, unit, [m[0] for m in mine], baseline_name, [b[0] for b in base],
               target=target, source="bench/paths.py"),
        paired(f"{name} [CPU]", f"{unit} of CPU", [m[1] for m in mine], baseline_name,
               [b[1] for b in base], source="bench/paths.py"),
    ]


def _sqlite(path: Path) -> sqlite3.Connection:
    """A connection as the node's (WAL, synchronous=NORMAL), in autocommit mode."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _client(app: Starlette, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


# --- bare baselines ----------------------------------------------------------------------------

def bare_create_app(conn: sqlite3.Connection, key: ed25519.Ed25519PrivateKey, actor: str
                    ) -> Starlette:
    """Parse the body, sign an item and its Create, insert both in one transaction."""
    conn.execute("CREATE TABLE objects (id INTEGER PRIMARY KEY, ap_id TEXT UNIQUE, document TEXT)")
    conn.execute("CREATE TABLE activities (id INTEGER PRIMARY KEY, ap_id TEXT UNIQUE, "
                 "document TEXT)")
    numbers = itertools.count()
    key_id = f"{actor}#ed25519-key"

    async def create(request: Request) -> Response:
        body = orjson.loads(await request.body())
        n = next(numbers)
        item = add_proof({
            "@context": build_context(), "id": f"https://bare.test/items/{n}", "type": "Article",
            "attributedTo": actor, "to": [PUBLIC], "name": body["title"],
            "summary": body["summary"], "content": body["content"],
            "source": {"content": body["content"], "mediaType": "text/markdown"},
            "location": {"type": "Place", **body["place"]}, "themes": body["themes"],
        }, key, key_id)
        activity = add_proof({
            "@context": build_context(), "id": f"https://bare.test/activities/{n}",
            "type": "Create", "actor": actor, "object": item, "to": [PUBLIC],
        }, key, key_id)
        conn.execute("BEGIN")
        conn.execute("INSERT INTO objects (ap_id, document) VALUES (?, ?)",
                     (item["id"], orjson.dumps(item)))
        conn.execute("INSERT INTO activities (ap_id, document) VALUES (?, ?)",
                     (activity["id"], orjson.dumps(activity)))
        conn.execute("COMMIT")
        return JSONResponse({"id": item["id"]}, status_code=201)

    return Starlette(routes=[Route("/bare", create, methods=["POST"])])


def bare_read_app(conn: sqlite3.Connection, documents: dict[str, bytes]) -> Starlette:
    """A stored row by key: one SELECT, its bytes returned."""
    conn.execute("CREATE TABLE documents (key TEXT PRIMARY KEY, document BLOB)")
    conn.executemany("INSERT INTO documents VALUES (?, ?)", documents.items())

    async def read(request: Request) -> Response:
        row = conn.execute("SELECT document FROM documents WHERE key = ?",
                           (request.path_params["key"],)).fetchone()
        if row is None:
            return Response(status_code=404)
        return Response(row[0], media_type=ACTIVITY_JSON)

    return Starlette(routes=[Route("/bare/{key}", read, methods=["GET"])])


def bare_inbox_app(conn: sqlite3.Connection, url: str, public: rsa.RSAPublicKey,
                   now: Any) -> tuple[Starlette, Callable[[str], None]]:
    """Digest and signature checked, one row inserted, 202; and a way to start a fresh table."""
    table = ["inbox_0"]

    def fresh(name: str) -> None:
        conn.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, activity_id TEXT UNIQUE, "
                     "body BLOB)")
        table[0] = name

    async def inbox(request: Request) -> Response:
        body = await request.body()
        verify_request("POST", url, request.headers, body, public, now=now)
        conn.execute(f"INSERT INTO {table[0]} (activity_id, body) VALUES (?, ?)",
                     (orjson.loads(body)["id"], body))
        return Response(status_code=202)

    return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])]), fresh


# --- the figures -------------------------------------------------------------------------------

async def _create_figures(fed: Federation, tmp: Path, sizes: Sizes, token: str
                          ) -> tuple[list[Figure], list[str]]:
    origin = fed["origin"]
    auth = {"Authorization": f"Bearer {token}"}
    rng = random.Random(13)
    bodies = [item_body(i, rng) for i in range(sizes.creates * sizes.reps)]
    created: list[str] = []
    bare = bare_create_app(_sqlite(tmp / "bare-create.db"), generate_ed25519(),
                           "https://bare.test/actors/dorpsmolen")
    async with _client(origin.app, origin.url) as client, _client(bare, "https://bare.test") as b:
        async def ours(rep: int) -> Rate:
            async def one(i: int) -> None:
                r = await client.post("/api/items", headers=auth,
                                      json=bodies[rep * sizes.creates + i])
                if r.status_code != 201:
                    raise RuntimeError(f"create failed: {r.status_code} {r.text[:200]}")
                created.append(r.json()["id"])
            return await _rate(sizes.creates, one)

        async def baseline(rep: int) -> Rate:
            async def one(i: int) -> None:
                (await b.post("/bare", json=bodies[rep * sizes.creates + i])).raise_for_status()
            return await _rate(sizes.creates, one)

        mine, base = await _alternate(sizes.reps, ours, baseline)
    figures = _figures("create: items/s through POST /api/items (one at a time)", "items/s",
                       mine, "bare endpoint: sign item + Create, insert both", base,
                       {"ratio_min": 0.5})
    return figures, created


def _reader(client: httpx.AsyncClient, sample: list[str], url: Callable[[str], str],
            headers: dict[str, str], etags: dict[str, str] | None
            ) -> Callable[[int], Awaitable[Rate]]:
    """GETs of ``sample``, each with its ``If-None-Match`` when ``etags`` is given (then 304)."""
    expected = 200 if etags is None else 304

    async def one(i: int) -> None:
        ap_id = sample[i]
        extra = {} if etags is None else {"If-None-Match": etags[ap_id]}
        r = await client.get(url(ap_id), headers={**headers, **extra})
        if r.status_code != expected:
            raise RuntimeError(f"GET {r.url}: {r.status_code}, not {expected}")

    async def ours(rep: int) -> Rate:
        return await _rate(len(sample), one)

    return ours


async def _read_figures(fed: Federation, tmp: Path, sizes: Sizes, ap_ids: list[str]
                        ) -> list[Figure]:
    origin = fed["origin"]
    sample = random.Random(17).choices(ap_ids, k=sizes.reads)
    local = {ap_id: ap_id.rsplit("/", 1)[1] for ap_id in ap_ids}
    figures: list[Figure] = []
    async with origin.ctx.db.sessions() as session:
        creates = dict((await session.execute(
            select(activities.c.object_ap_id, activities.c.ap_id).where(
                activities.c.type == "Create", activities.c.object_ap_id.in_(ap_ids)))).all())
    async with _client(origin.app, origin.url) as client:
        stored = {local[a]: (await client.get(a, headers=AS_JSON)).content for a in ap_ids}
        bare = bare_read_app(_sqlite(tmp / "bare-read.db"), stored)
        async with _client(bare, "https://bare.test") as b:
            async def one_bare(i: int) -> None:
                (await b.get(f"/bare/{local[sample[i]]}")).raise_for_status()

            async def baseline(rep: int) -> Rate:
                return await _rate(len(sample), one_bare)

            representations: list[tuple[str, Callable[[str], str], dict[str, str],
                                        float | None]] = [
                ("API JSON", lambda a: f"/api/items/{local[a]}", {}, 0.6),
                ("AP JSON", lambda a: a, AS_JSON, 0.6),
                ("HTML", lambda a: a, BROWSER, 0.4),
                ("its Create as AP JSON", lambda a: creates[a], AS_JSON, None)]
            for label, url, headers, target in representations:
                tagged = {a: (await client.get(url(a), headers=headers)).headers.get("etag")
                          for a in set(sample)}
                etags = {a: tag for a, tag in tagged.items() if tag is not None}
                # (an older tree, measured for a before/after comparison, has no ETags)
                for tags in (None, etags) if len(etags) == len(tagged) else (None,):
                    mine, base = await _alternate(
                        sizes.reps, _reader(client, sample, url, headers, tags), baseline)
                    figures += _figures(
                        f"read: item GETs/s, {label}"
                        + ("" if tags is None else ", If-None-Match → 304"),
                        "GETs/s", mine, "bare Starlette GET of a stored row by key", base,
                        None if tags or target is None else {"ratio_min": target})
    return figures


async def _outbox_figures(client: httpx.AsyncClient, tmp: Path, sizes: Sizes) -> list[Figure]:
    """GETs of the initiative's outbox pages (``OrderedCollectionPage``, 20 activities each, as
    ActivityPub JSON: the newest and every older one by its ``max_id`` cursor, in a random
    order) beside a bare GET of the same pages' bytes stored by key."""
    pages, url = [], f"/actors/{INITIATIVE}/outbox?page=true"
    while url:
        response = await client.get(url, headers=AS_JSON)
        response.raise_for_status()
        pages.append((url, response.content))
        url = response.json().get("next", "")
    urls = [u for u, _ in pages]
    sample = random.Random(23).choices(range(len(pages)), k=sizes.reads)
    bare = bare_read_app(_sqlite(tmp / "bare-outbox.db"),
                         {str(i): body for i, (_, body) in enumerate(pages)})
    async with _client(bare, "https://bare.test") as b:
        async def one_bare(i: int) -> None:
            (await b.get(f"/bare/{sample[i]}")).raise_for_status()

        async def baseline(rep: int) -> Rate:
            return await _rate(len(sample), one_bare)

        mine, base = await _alternate(
            sizes.reps, _reader(client, [urls[i] for i in sample], lambda u: u, AS_JSON, None),
            baseline)
    return _figures(f"read: outbox page GETs/s, AP JSON ({len(pages)} pages of the "
                    "initiative's outbox)", "GETs/s", mine,
                    "bare Starlette GET of the same page's bytes by key", base, None)


async def _signed_creates(fed: Federation, count: int, url: str
                          ) -> tuple[list[tuple[bytes, dict[str, str]]], rsa.RSAPublicKey]:
    """``count`` Creates by the origin's node actor, each signed for a POST to ``url``."""
    origin = fed["origin"]
    rng = random.Random(19)
    for i in range(count):
        body = item_body(i, rng)
        del body["initiative"]  # by the node actor, whose RSA key signs the requests
        await create_item(origin.ctx, item_input(**body), SYSTEM)
    async with origin.ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
        assert node is not None and node.rsa_private_pem and node.rsa_key_id
        documents = [(await activity_store.get(session, ap_id)).document  # type: ignore[union-attr]
                     for ap_id in (await session.execute(
                         select(activities.c.ap_id).where(activities.c.type == "Create",
                                                          activities.c.actor == node.ap_id)
                         .order_by(activities.c.id))).scalars().all()]
    key = private_key(node.rsa_private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    await fetch_actor(fed["ontvanger"].ctx, node.ap_id)  # the sender's key is cached
    requests = []
    for document in documents[-count:]:
        content = orjson.dumps(document)
        requests.append((content, {**INBOX_HEADERS, **sign_request(
            "POST", url, INBOX_HEADERS, content, key, node.rsa_key_id, now=fed.clock())}))
    return requests, key.public_key()


async def _inbox_figures(fed: Federation, tmp: Path, sizes: Sizes) -> list[Figure]:
    receiver = fed["ontvanger"]
    url = f"{receiver.url}/inbox"
    per_variant = sizes.inbox * sizes.reps
    requests, public = await _signed_creates(fed, per_variant * len(INBOX_IN_FLIGHT), url)
    now = fed.clock()
    bare, fresh = bare_inbox_app(_sqlite(tmp / "bare-inbox.db"), url, public, now)
    figures: list[Figure] = []
    async with _client(receiver.app, receiver.url) as client, _client(bare, receiver.url) as b:
        for variant, in_flight in enumerate(INBOX_IN_FLIGHT):
            def request(rep: int, i: int, variant: int = variant) -> tuple[bytes, dict[str, str]]:
                return requests[variant * per_variant + rep * sizes.inbox + i]

            async def ours(rep: int, in_flight: int = in_flight,
                           request: Callable[[int, int], Any] = request) -> Rate:
                async def one(i: int) -> None:
                    body, headers = request(rep, i)
                    r = await client.post("/inbox", content=body, headers=headers)
                    if r.status_code != 202:
                        raise RuntimeError(f"inbox: {r.status_code} {r.text[:200]}")
                return await _rate(sizes.inbox, one, in_flight=in_flight)

            async def baseline(rep: int, in_flight: int = in_flight,
                               request: Callable[[int, int], Any] = request) -> Rate:
                fresh(f"inbox_{in_flight}_{rep}")

                async def one(i: int) -> None:
                    body, headers = request(rep, i)
                    (await b.post("/inbox", content=body, headers=headers)).raise_for_status()
                return await _rate(sizes.inbox, one, in_flight=in_flight)

            mine, base = await _alternate(sizes.reps, ours, baseline)
            how = "one at a time" if in_flight == 1 else f"{in_flight} in flight"
            figures += _figures(
                f"inbox: signed Creates accepted/s (POST /inbox → 202, {how})", "activities/s",
                mine, f"bare endpoint: digest + signature verify + insert, {how}", base,
                {"ratio_min": 0.5})
    return figures


async def measure(sizes: Sizes, *, pg: bool = False, parts: tuple[str, ...] = PARTS
                  ) -> list[Figure]:
    """The figures of ``parts`` (every figure of this script by default); with ``pg`` the nodes
    run on PostgreSQL (a throwaway database each, dropped afterwards), the bare baselines still
    on SQLite files."""
    with tempfile.TemporaryDirectory(prefix="kk-bench-paths-") as name, ExitStack() as stack:
        tmp = Path(name)
        (tmp / "nodes").mkdir()
        database = stack.enter_context(postgres()) if pg else None
        async with federation(tmp / "nodes", ["origin", "ontvanger"], database=database,
                              overrides={"origin": UNLIMITED, "ontvanger": UNLIMITED}) as fed:
            origin = fed["origin"]
            await add_user(origin.ctx, "bench", "correct horse battery", "admin")
            token = await create_token(origin.ctx, "bench")
            async with _client(origin.app, origin.url) as client:
                (await client.post("/api/initiatives", headers={
                    "Authorization": f"Bearer {token}"}, json={
                        "handle": INITIATIVE, "name": "Dorpsmolen Reduzum"})).raise_for_status()
            figures: list[Figure] = []
            if {"create", "read", "outbox"} & set(parts):  # the reads read what was created
                created_figures, created = await _create_figures(fed, tmp, sizes, token)
                figures += created_figures if "create" in parts else []
                figures += await _read_figures(fed, tmp, sizes, created) if "read" in parts else []
            if "outbox" in parts:
                async with _client(origin.app, origin.url) as client:
                    figures += await _outbox_figures(client, tmp, sizes)
            if "inbox" in parts:
                figures += await _inbox_figures(fed, tmp, sizes)
    if pg:  # issue 13's targets are set for SQLite; these rows show how PostgreSQL compares
        figures = [replace(f, name=f"{f.name} (PostgreSQL)", target=None) for f in figures]
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per figure")
    parser.add_argument("--postgres", action="store_true",
                        help="the nodes on PostgreSQL at 127.0.0.1:5432 (bare baselines: SQLite)")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"a comma-separated subset of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = tuple(part.strip() for part in args.only.split(",") if part.strip())
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    if args.reps:
        sizes = Sizes(args.reps, sizes.creates, sizes.reads, sizes.inbox)
    run = Run()
    run.figures = asyncio.run(measure(sizes, pg=args.postgres, parts=parts))
    print(table(run.figures))


if __name__ == "__main__":
    main()
