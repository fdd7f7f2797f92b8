"""Federation benchmark: the engine's propagation, delivery, inbox and backfill figures, each
beside a bare baseline measured in the same run (DESIGN.md, "Reference figures": the machine is
shared and noisy, so only figures of one run compare with each other).

1. Propagation: ``create_item`` (by the node actor) on an origin until each of N follower nodes
   (in process over httpx ``ASGITransport``, one SQLite file each, real follows) stores the item,
   driving the workers with ``run_once``; baseline: N × (``sign_request`` + ``verify_request``)
   of the same body.
2. Delivery: the origin's worker draining 1 × N and K × N deliveries over real loopback sockets
   to a real kennisknoop node app under uvicorn (a subprocess of this script) that hosts N
   initiative actors. The origin holds them as accepted followers, cached as ``fetch_actor``
   caches them but without their shared inbox, so each gets its own POST as if on N servers.
   Baselines: unsigned keep-alive httpx POSTs to a no-op route of the same server, signed POSTs
   to the same inboxes without the engine, bare RSA-2048 signs.
3. Inbox: pre-signed ``Create``s from one remote actor whose key is cached, POSTed to ``/inbox``
   through ``ASGITransport`` (half one at a time, half ``delivery_concurrency`` at once),
   baseline: ``verify_request`` (digest + signature) of the same requests; then applied by the
   worker, baseline (issue 13: "bare proof verify + one upsert"): for each activity, its object
   document as received parsed, its proof checked with ``verify_proof`` against its author's
   key, and (IRI, document) upserted into a plain ``sqlite3`` table with a unique IRI
   (``ON CONFLICT DO UPDATE``), committed one by one as the worker applies each activity in its
   own transaction. Both by wall clock and per CPU second of the process.
4. Backfill: a new node follows an origin holding M items (Follow, Accept, then the sync job
   pages the outbox); baseline: ``verify_proof`` (eddsa-jcs-2022) of the same item documents.

The ratio is the engine's cost per unit over the baseline's (1.0: the engine adds nothing); notes
under a row count SQL statements, the engine's chattiness. Figures only, never pass/fail.

Run: ``.venv/bin/python bench/federation.py [--quick] [--only delivery,propagation]
[--followers 10,100] [--postgres]`` — about 3 minutes at a load average of
6–7 (1.6 min of CPU); ``--quick`` about 40 s there (16 s of CPU). ``--postgres``: every node
(and the delivery's receiving server) on PostgreSQL at 127.0.0.1:5432, a throwaway database
each; propagation then goes to 1 and 10 followers (``FULL_PG``: each node holds a pool of
connections).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import cryptography
import httpx
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node import worker
from node.app import create_app
from node.remote import ACCEPT_AP, USER_AGENT
from node.services.actors import create_initiative, ensure_node_actor
from node.services.context import NodeContext
from node.services.follow import follow
from node.services.inputs import InitiativeInput, ItemInput, item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.resolve import _remote_values, fetch_actor
from node.store import activities as activity_store
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store.schema import activities, follows, objects
from node.worker import run_once, run_until_idle
from protocol.httpsig import sign_request, verify_request
from protocol.keys import load_private_pem
from protocol.parse import parse_actor
from protocol.proofs import verify_proof
from protocol.vocab import ACTIVITY_JSON
from tests import dbs
from tests.federation.harness import Node, federation, node_settings, postgres
from tests.keys import pool_keygen

T = TypeVar("T")
HEADERS = {"User-Agent": USER_AGENT, "Content-Type": ACTIVITY_JSON, "Accept": ACCEPT_AP}
TEXT = ("De dorpscoöperatie wekt sinds 2019 haar eigen stroom op met 1.200 panelen op het dak van "
        "de oude zuivelfabriek. **Wat werkte:** vroeg beginnen met ledenwerving, een lening van de "
        "provincie en een vaste avond per maand in het dorpshuis. *Wat we anders zouden doen:* de "
        "netaansluiting eerder aanvragen; de wachttijd was veertien maanden.\n\n"
        "- statuten en ledenreglement staan in de bijlage\n- vragen? mail het bestuur\n")


@dataclass(frozen=True)
class Sizes:
    followers: tuple[int, ...]  # section 1
    reps: int  # propagation repetitions (best counts)
    inboxes: int  # section 2
    many_seconds: float  # target length of the K × N delivery run
    posts: int  # unsigned / signed baseline POSTs
    items: int  # sections 3 and 4
    seconds: float  # per bare-rate measurement


FULL = Sizes((1, 10, 100), 3, 100, 20.0, 1000, 1000, 1.0)
QUICK = Sizes((1, 10), 2, 10, 2.0, 300, 200, 0.3)
# On PostgreSQL every node is a database of its own with its own connection pool: 100 follower
# nodes would need more connections than a shared server gives (max_connections, 100 by
# default), so propagation stops at 10 there.
FULL_PG = replace(FULL, followers=(1, 10))
QUICK_PG = replace(QUICK, followers=(1, 3))
TINY = Sizes((1,), 1, 2, 0.2, 10, 6, 0.05)  # tests/test_bench.py: every row, nothing measured

# Where each node keeps its data: (node directory, name) -> database URL; None: a SQLite file.
Databases = Callable[[Path, str], str] | None


@dataclass(frozen=True)
class Row:
    measure: str
    value: float
    unit: str  # "ms" (lower is better) or "/s"
    baseline_name: str = ""
    baseline: float = 0.0

    @property
    def ratio(self) -> float | None:
        if not self.baseline or not self.value:
            return None
        return self.value / self.baseline if self.unit == "ms" else self.baseline / self.value


def _note(text: str) -> Row:
    """A line of text under the row above."""
    return Row(text, 0.0, "")


def _rate(fn: Callable[[T], object], items: Sequence[T], seconds: float) -> float:
    """Calls per second of ``fn`` over ``items`` (cycled, at least once) for about ``seconds``."""
    count, start = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        count += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return count / elapsed


class _Statements:
    """Counts the SQL statements the watched nodes send: how chatty the engine is per unit."""

    def __init__(self) -> None:
        self.count = 0
        self._paused = False

    def watch(self, ctx: NodeContext) -> None:
        event.listen(ctx.db.engine.sync_engine, "before_cursor_execute", self._hit)

    def _hit(self, *_: Any) -> None:
        self.count += not self._paused

    @contextmanager
    def paused(self) -> Iterator[None]:
        self._paused = True
        try:
            yield
        finally:
            self._paused = False


async def _timed(awaitable: Awaitable[T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = await awaitable
    return result, time.perf_counter() - start


@dataclass(frozen=True)
class Posted:
    rate: float  # requests/s
    failed: list[int]  # indexes of the requests answered with an error (or raising)
    reasons: set[str]  # what went wrong, e.g. "HTTP 500", "OperationalError: database is locked"
    slowest: float  # seconds, the slowest single request


async def _post_many(client: httpx.AsyncClient, count: int, concurrency: int,
                     make: Callable[[int], tuple[str, dict[str, str], bytes]]) -> Posted:
    """POST ``count`` requests built by ``make`` from ``concurrency`` tasks."""
    numbers = iter(range(count))
    failed: list[int] = []
    reasons: set[str] = set()
    slowest = 0.0

    async def worker() -> None:
        nonlocal slowest
        for i in numbers:  # one shared iterator: each request is sent once
            url, headers, body = make(i)
            start = time.perf_counter()
            try:
                response = await client.post(url, headers=headers, content=body)
                reason = f"HTTP {response.status_code}" if response.status_code >= 300 else ""
            except Exception as exc:  # an in-process app's exception surfaces here
                reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
            slowest = max(slowest, time.perf_counter() - start)
            if reason:
                failed.append(i)
                reasons.add(reason)

    _, seconds = await _timed(asyncio.gather(*(worker() for _ in range(concurrency))))
    return Posted(count / seconds, sorted(failed), reasons, slowest)


def _all_ok(posted: Posted) -> float:
    if posted.failed:
        raise RuntimeError(f"{len(posted.failed)} POSTs failed: {sorted(posted.reasons)}")
    return posted.rate


async def _node_key(ctx: NodeContext) -> tuple[rsa.RSAPrivateKey, str, str, Any]:
    """The node actor's RSA key (loaded once), key id, IRI and Ed25519 private key."""
    async with ctx.db.sessions() as session:
        node = await actor_store.get_node(session)
    assert node is not None and node.rsa_private_pem and node.rsa_key_id and node.ed_private_pem
    key = load_private_pem(node.rsa_private_pem)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key, node.rsa_key_id, node.ap_id, load_private_pem(node.ed_private_pem)


async def _create_documents(ctx: NodeContext, ap_ids: Sequence[str] | None
                            ) -> list[dict[str, Any]]:
    """The signed ``Create`` activities of ``ap_ids`` in that order (None: all, oldest first)."""
    query = select(activities.c.object_ap_id, activities.c.ap_id).where(
        activities.c.type == "Create").order_by(activities.c.id)
    if ap_ids is not None:
        query = query.where(activities.c.object_ap_id.in_(ap_ids))
    async with ctx.db.sessions() as session:
        rows = [(obj, (await activity_store.get(session, ap_id)).document)  # type: ignore[union-attr]
                for obj, ap_id in (await session.execute(query)).all()]
    if ap_ids is None:
        return [r[1] for r in rows]
    by_object = {r[0]: r[1] for r in rows}
    return [by_object[a] for a in ap_ids]


async def _stored(ctx: NodeContext, ap_ids: Sequence[str]) -> int:
    async with ctx.db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(objects).where(
            objects.c.ap_id.in_(ap_ids), objects.c.deleted_at.is_(None)))).scalar_one())


def _item(i: int) -> ItemInput:
    return item_input(kind="story", title=f"Zonnedak op de zuivelfabriek ({i})", content=TEXT,
                     themes=("energy-generation",))


# --- 1. propagation ----------------------------------------------------------------------------

async def _propagate(origin: Node, followers: list[Node], i: int, sql: _Statements
                     ) -> tuple[float, float, float, float, int]:
    """create_item → every follower stores it: (total, create, origin worker, follower workers)
    seconds and the SQL statements all nodes sent for it."""
    before = sql.count
    start = time.perf_counter()
    item = await create_item(origin.ctx, _item(i), SYSTEM)
    created = time.perf_counter() - start
    deliver = apply = 0.0
    waiting = followers
    for _ in range(100):
        deliver += (await _timed(run_once(origin.ctx)))[1]
        mark, still = time.perf_counter(), []
        for node in waiting:
            await run_once(node.ctx)
            with sql.paused():  # the benchmark's own check is not the engine's work
                if not await _stored(node.ctx, [item.ap_id]):
                    still.append(node)
        apply += time.perf_counter() - mark
        waiting = still
        if not waiting:
            return (time.perf_counter() - start, created, deliver, apply, sql.count - before)
    raise RuntimeError(f"{len(waiting)} followers never stored {item.ap_id}")


async def _propagate_live(origin: Node, followers: list[Node], i: int
                          ) -> tuple[float, float, float]:
    """create_item with every node's worker running (``worker.run``, as ``serve`` runs it, woken
    by the work it is given): (median, slowest) seconds until a follower has applied the item,
    and the CPU seconds the process used until the last one had (every node's work, the idle
    workers' polls included)."""
    stop, applied = asyncio.Event(), asyncio.get_running_loop().create_future()
    times: list[float] = []
    start = 0.0

    def watch(node: Node) -> None:
        counted = node.ctx.metrics.received

        def received(activity_type: str, outcome: str) -> None:
            counted(activity_type, outcome)
            if activity_type == "Create" and outcome == "applied" and start:
                times.append(time.perf_counter() - start)
                if len(times) == len(followers) and not applied.done():
                    applied.set_result(None)

        node.ctx.metrics.received = received  # type: ignore[method-assign]

    for node in followers:
        watch(node)
    workers = [asyncio.create_task(worker.run(node.ctx, stop)) for node in [origin, *followers]]
    try:
        await asyncio.sleep(0.5)  # the workers' first rounds (heartbeat, periodic jobs) are done
        start, cpu = time.perf_counter(), time.process_time()
        await create_item(origin.ctx, _item(i), SYSTEM)
        async with asyncio.timeout(600):
            await applied
        cpu = time.process_time() - cpu
    finally:
        stop.set()
        await asyncio.gather(*workers)
        for node in followers:
            del node.ctx.metrics.received
    times.sort()
    return times[(len(times) - 1) // 2], times[-1], cpu


def _signed_posts_seconds(urls: list[str], body: bytes, key: rsa.RSAPrivateKey, key_id: str,
                          now: datetime, seconds: float) -> float:
    """Seconds for ``len(urls)`` × (sign_request + verify_request) of ``body``."""
    public = key.public_key()

    def signed_posts(_: object) -> None:
        for url in urls:
            added = sign_request("POST", url, HEADERS, body, key, key_id, now=now)
            verify_request("POST", url, {**HEADERS, **added}, body, public, now=now)

    return 1.0 / _rate(signed_posts, [None], seconds)


async def propagation(tmp: Path, sizes: Sizes, database: Databases = None) -> list[Row]:
    names = ["origin", *(f"volger{i:03d}" for i in range(max(sizes.followers)))]
    rows: list[Row] = []
    (tmp / "s1").mkdir()
    async with AsyncExitStack() as stack:
        unlimited = {"limits__inbox_rate_per_host": 0, "limits__inbox_rate_total": 0}
        fed, made = await _timed(stack.enter_async_context(federation(
            tmp / "s1", names, database=database,
            overrides={name: unlimited for name in names})))
        rows.append(Row(f"start one in-process node (of {len(names)})", made / len(names) * 1e3,
                        "ms"))
        origin, sql = fed["origin"], _Statements()
        for node in fed.nodes.values():
            sql.watch(node.ctx)
        key, key_id, _, _ = await _node_key(origin.ctx)
        following, handshake = 0, 0.0
        for n in sizes.followers:
            start = time.perf_counter()
            for name in names[1 + following:1 + n]:
                await follow(fed[name].ctx, "origin@origin.test")
            await fed.settle()
            handshake += time.perf_counter() - start
            following = n
            followers = [fed[name] for name in names[1:1 + n]]
            reps = sizes.reps if n < 100 else max(1, sizes.reps - 1)
            best = min([await _propagate(origin, followers, n * 10 + r, sql)
                        for r in range(reps)])
            body = orjson.dumps((await _create_documents(origin.ctx, None))[-1])
            bare = _signed_posts_seconds([f"{f.url}/inbox" for f in followers], body, key,
                                         key_id, fed.clock(), sizes.seconds)
            rows.append(Row(f"propagate 1 item to {n:>3} follower nodes (best of {reps})",
                            best[0] * 1e3, "ms", f"{n} × sign+verify", bare * 1e3))
            rows.append(_note(f"  create {best[1] * 1e3:.0f} ms, origin worker (with the "
                              f"followers' POST /inbox) {best[2] * 1e3:.0f} ms, follower workers "
                              f"{best[3] * 1e3:.0f} ms; {best[4] / n:.0f} SQL statements per "
                              "follower"))
            live = min([await _propagate_live(origin, followers, n * 10 + reps + r)
                        for r in range(reps)])
            rows.append(Row(f"propagate 1 item to {n:>3} follower nodes, workers running: "
                            f"p50 follower (best of {reps})", live[0] * 1e3, "ms",
                            f"{n} × sign+verify", bare * 1e3))
            rows.append(_note(f"  the last follower {live[1] * 1e3:.0f} ms; the process's CPU "
                              f"until then {live[2] * 1e3:.0f} ms"))
        rows.insert(1, Row("follow() → accepted and backfilled, per follower node",
                           handshake / following * 1e3, "ms"))
    return rows


# --- 2. delivery over loopback -----------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Hosts(httpx.AsyncBaseTransport):
    """Routes requests to in-process apps by host (setup of section 2 only)."""

    def __init__(self, apps: dict[str, httpx.ASGITransport]) -> None:
        self.apps = apps

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.apps[request.url.netloc.decode()].handle_async_request(request)


def _receiver_settings(directory: Path, port: int, database_url: str) -> Any:
    # Delivery throughput is measured, not the receiver's flood limits (bench/flood.py does those).
    return node_settings(directory, f"http://127.0.0.1:{port}", "Ontvanger", "ontvanger",
                         database_url, limits__inbox_rate_per_host=0,
                         limits__inbox_rate_total=0)


def serve(directory: Path, port: int, database_url: str) -> None:
    """The receiving server of section 2: the node app plus ``POST /bench/sink`` (202, no work)."""
    import uvicorn
    from starlette.responses import Response

    node_app = create_app(_receiver_settings(directory, port, database_url))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/bench/sink":
            while (await receive()).get("more_body"):
                pass
            await Response(status_code=202)(scope, receive, send)
            return
        await node_app(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _prepare_receiver(tmp: Path, port: int, n: int, origin: Node,
                            database: Callable[[Path, str], str]
                            ) -> tuple[Path, str, list[dict[str, Any]]]:
    """The receiver's database: node actor, ``n`` initiatives, the origin's actor cached."""
    directory = tmp / "s2-receiver"
    directory.mkdir()
    database_url = database(directory, "receiver")
    network = _Hosts({origin.ctx.urls.host: httpx.ASGITransport(app=origin.app)})
    async with httpx.AsyncClient(transport=network) as http:
        app = create_app(_receiver_settings(directory, port, database_url), http=http,
                         keygen=pool_keygen())
        async with app.router.lifespan_context(app):
            ctx: NodeContext = app.state.ctx
            await ensure_node_actor(ctx)
            documents = []
            for k in range(n):
                actor = await create_initiative(ctx, InitiativeInput(
                    handle=f"dorp-{k:03d}", name=f"Dorpscoöperatie {k}"), SYSTEM)
                assert actor.document is not None
                documents.append(actor.document)
            await fetch_actor(ctx, origin.ctx.urls.actor("origin"))
    return directory, database_url, documents


async def _add_followers(ctx: NodeContext, documents: list[dict[str, Any]]) -> None:
    """The receiver's initiatives as accepted followers of the origin's node actor, cached as
    ``fetch_actor`` would cache them but without a shared inbox, so each gets its own POST (as
    ``n`` separate servers would)."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        node = await actor_store.get_node(session)
        assert node is not None
        for document in documents:
            values = {**_remote_values(parse_actor(document), now), "shared_inbox": None}
            await actor_store.upsert_remote(session, document["id"], **values)
            await session.execute(follows.insert().values(
                follower=document["id"], followee=node.ap_id, state="accepted",
                created_at=now, updated_at=now))


async def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{base}/.well-known/nodeinfo")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


async def _drain(ctx: NodeContext, queued: int, expected: int) -> float:
    """Deliveries sent per second by ``run_until_idle`` (``queued`` of them); all ``expected``
    (of this and earlier drains) must then be sent."""
    _, seconds = await _timed(run_until_idle(ctx))
    async with ctx.db.sessions() as session:
        counts = await delivery_store.counts(session)
    if counts.get("sent", 0) != expected:
        raise RuntimeError(f"deliveries after draining: {counts}, expected {expected} sent")
    return queued / seconds


async def delivery(tmp: Path, sizes: Sizes, database: Databases = None) -> list[Row]:
    n, port = sizes.inboxes, _free_port()
    base = f"http://127.0.0.1:{port}"
    template = dbs.sqlite_template(tmp)
    make = database or (lambda directory, _name: dbs.fresh_sqlite(template, directory))
    async with AsyncExitStack() as stack:
        directory = tmp / "s2-origin"
        directory.mkdir()
        settings = node_settings(directory, "https://origin.test", "Oorsprong", "origin",
                                 make(directory, "origin"))
        app = create_app(settings, keygen=pool_keygen())  # its own httpx client: real sockets
        await stack.enter_async_context(app.router.lifespan_context(app))
        origin = Node("origin", app, app.state.ctx)
        await ensure_node_actor(origin.ctx)
        receiver_dir, database_url, documents = await _prepare_receiver(tmp, port, n, origin,
                                                                         make)
        await _add_followers(origin.ctx, documents)
        log = tmp / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen([sys.executable, __file__, "--serve", str(receiver_dir),
                                        str(port), database_url], stdout=out, stderr=out)
        try:
            await _wait_ready(base, process, log)
            return await _delivery_rows(origin, base, documents, sizes)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    raise AssertionError("unreachable")


async def _delivery_rows(origin: Node, base: str, documents: list[dict[str, Any]],
                         sizes: Sizes) -> list[Row]:
    n, ctx, sql = len(documents), origin.ctx, _Statements()
    concurrency = ctx.settings.federation.delivery_concurrency
    key, key_id, _, _ = await _node_key(ctx)
    first = await create_item(ctx, _item(0), SYSTEM)
    body = orjson.dumps((await _create_documents(ctx, [first.ap_id]))[0])
    inboxes = [str(d["inbox"]) for d in documents]
    message = body[:360].ljust(360, b" ")  # about as long as a cavage signature base
    bare_sign = _rate(lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA256()), [message],
                      sizes.seconds)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pem_load = _rate(load_private_pem, [pem], sizes.seconds)
    async with httpx.AsyncClient() as client:
        raw = _all_ok(await _post_many(client, sizes.posts, concurrency, lambda i: (
            f"{base}/bench/sink", HEADERS, body)))

        def signed(i: int) -> tuple[str, dict[str, str], bytes]:
            url = inboxes[i % n]
            return url, {**HEADERS, **sign_request("POST", url, HEADERS, body, key, key_id)}, body

        cpu = time.process_time()
        signed_rate = _all_ok(await _post_many(client, sizes.posts // 2, concurrency, signed))
        signed_cpu = (sizes.posts // 2) / (time.process_time() - cpu)
    one = await _drain(ctx, n, n)
    many = max(2, min(50, round(sizes.many_seconds * one / n)))
    for i in range(many):
        await create_item(ctx, _item(i + 1), SYSTEM)
    sql.watch(ctx)
    cpu = time.process_time()
    many_rate = await _drain(ctx, n * many, n * (many + 1))
    many_cpu = n * many / (time.process_time() - cpu)
    return [
        Row(f"run_once: 1 activity × {n} inboxes", one, "/s", "unsigned keep-alive POSTs", raw),
        Row(f"run_once: {many} activities × {n} inboxes", many_rate, "/s",
            "unsigned keep-alive POSTs", raw),
        Row("  same, against signed POSTs without the engine", many_rate, "/s",
            "sign_request + POST", signed_rate),
        Row("  same, against bare RSA-2048 signs", many_rate, "/s", "RSA-2048 PKCS#1 sign",
            bare_sign),
        # The receiver (another process) sets the wall-clock pace of both loops on a loaded
        # machine; the sender's own CPU per POST is what the engine adds.
        Row("  same, per CPU second of the sending process [CPU]", many_cpu, "/s",
            "sign_request + POST", signed_cpu),
        _note(f"  {sql.count / (n * many):.1f} SQL statements per delivery; load_private_pem "
              f"(RSA-2048) takes {1e3 / pem_load:.0f} ms, so signer_of must load a key only once"),
    ]


# --- 3. inbox and 4. backfill ------------------------------------------------------------------

async def inbox_and_backfill(tmp: Path, sizes: Sizes, database: Databases = None
                             ) -> list[Row]:
    m, sql = sizes.items, _Statements()
    rows: list[Row] = []
    (tmp / "s34").mkdir()
    unlimited = {"limits__inbox_rate_per_host": 0, "limits__inbox_rate_total": 0}
    async with federation(tmp / "s34", ["origin", "ontvanger", "nieuwkomer"], database=database,
                          overrides={name: unlimited for name in ("origin", "ontvanger",
                                                                  "nieuwkomer")}) as fed:
        origin, receiver, newcomer = fed["origin"], fed["ontvanger"], fed["nieuwkomer"]
        start = time.perf_counter()
        ap_ids = [(await create_item(origin.ctx, _item(i), SYSTEM)).ap_id for i in range(m)]
        rows.append(Row("create_item on the origin (sign, store, outbox)",
                        m / (time.perf_counter() - start), "/s"))
        documents = await _create_documents(origin.ctx, ap_ids)
        key, key_id, origin_iri, ed_key = await _node_key(origin.ctx)
        for node in fed.nodes.values():
            sql.watch(node.ctx)
        rows += await _inbox_rows(fed.clock(), receiver, origin_iri, key, key_id, documents,
                                  sizes, sql, ed_key.public_key(), tmp / "s34")
        if await _stored(receiver.ctx, ap_ids) != m:
            raise RuntimeError("the inbox did not store every item")
        proofs = _rate(lambda d: verify_proof(d, ed_key.public_key()),
                       [d["object"] for d in documents], sizes.seconds)
        before, start, worker = sql.count, time.perf_counter(), 0.0
        await follow(newcomer.ctx, "origin@origin.test")
        for _ in range(200):  # the two workers in turn until both are idle
            steps = 0
            for node in (origin, newcomer):
                done, seconds = await _timed(run_once(node.ctx))
                steps += done
                worker += seconds if node is newcomer else 0.0
            if not steps:
                break
        total, statements = time.perf_counter() - start, sql.count - before
        if await _stored(newcomer.ctx, ap_ids) != m:
            raise RuntimeError("the backfill did not store every item")
        rows.append(Row(f"backfill {m} items: follow() → all stored", m / total, "/s",
                        "verify_proof (eddsa-jcs-2022)", proofs))
        rows.append(Row("  same, the follower's worker time only", m / worker, "/s",
                        "verify_proof (eddsa-jcs-2022)", proofs))
        rows.append(_note(f"  {statements / m:.1f} SQL statements per backfilled item (both "
                          "nodes)"))
    return rows


def _bare_apply(objects: list[bytes], public: ed25519.Ed25519PublicKey, path: Path
                ) -> tuple[float, float]:
    """Issue 13's apply baseline, "bare proof verify + one upsert": each object document as
    received is parsed, its proof verified (``verify_proof``) and (IRI, document) upserted into
    a plain ``sqlite3`` table with a unique IRI, committed one by one (as the worker applies
    each activity in its own transaction). (seconds, CPU seconds) for all of them."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # as the node's
    db.execute("CREATE TABLE objects (id INTEGER PRIMARY KEY, ap_id TEXT NOT NULL UNIQUE, "
               "document TEXT NOT NULL)")
    upsert = ("INSERT INTO objects (ap_id, document) VALUES (?, ?) "
              "ON CONFLICT (ap_id) DO UPDATE SET document = excluded.document")
    start, cpu = time.perf_counter(), time.process_time()
    for raw in objects:
        document = orjson.loads(raw)
        verify_proof(document, public)
        db.execute("BEGIN IMMEDIATE")  # a write transaction, as the worker's
        db.execute(upsert, (document["id"], raw.decode()))
        db.execute("COMMIT")
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return seconds, cpu


async def _inbox_rows(now: datetime, receiver: Node, origin_iri: str, key: rsa.RSAPrivateKey,
                      key_id: str, documents: list[dict[str, Any]], sizes: Sizes,
                      sql: _Statements, author_key: ed25519.Ed25519PublicKey, tmp: Path
                      ) -> list[Row]:
    """Half the Creates POSTed one at a time, half ``delivery_concurrency`` at once (as a busy
    peer sends them; what fails is re-sent one at a time), then the worker applies them all."""
    ctx = receiver.ctx
    await fetch_actor(ctx, origin_iri)  # the sender's key is cached, as for any known peer
    url = f"{ctx.settings.node.url}/inbox"
    requests = []
    for document in documents:
        body = orjson.dumps(document)
        requests.append((url, {**HEADERS, **sign_request("POST", url, HEADERS, body, key, key_id,
                                                         now=now)}, body))
    public = key.public_key()
    bare = _rate(lambda r: verify_request("POST", r[0], r[1], r[2], public, now=now), requests,
                 sizes.seconds)
    bare_seconds, bare_cpu = _bare_apply([orjson.dumps(d["object"]) for d in documents],
                                         author_key, tmp / "bare-apply.db")
    concurrency, m = ctx.settings.federation.delivery_concurrency, len(requests)
    half = m // 2
    before = sql.count
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app)) as client:
        serial = await _post_many(client, half, 1, lambda i: requests[i])
        accepting = (sql.count - before) / half
        burst = await _post_many(client, m - half, concurrency, lambda i: requests[half + i])
        _all_ok(serial)
        _all_ok(await _post_many(client, len(burst.failed), 1,
                                 lambda i: requests[half + burst.failed[i]]))
    middle, cpu = sql.count, time.process_time()
    _, apply_seconds = await _timed(run_until_idle(ctx))
    apply_cpu = time.process_time() - cpu
    applied, bare_applied = m / apply_seconds, m / bare_seconds
    name, bare_name = "verify_request (digest+sig)", "verify_proof + one upsert (sqlite3)"
    failures = (f"{len(burst.failed)} of {m - half} failed ({'; '.join(sorted(burst.reasons))})"
                if burst.failed else "none failed")
    return [
        Row(f"inbox: POST /inbox → 202, one at a time ({half})", serial.rate, "/s", name, bare),
        Row(f"inbox: POST /inbox → 202, {concurrency} at once ({m - half})", burst.rate, "/s",
            name, bare),
        _note(f"  at once: {failures}; slowest request {burst.slowest:.1f} s (one at a time: "
              f"{serial.slowest:.2f} s)"),
        Row(f"inbox: the worker applies all {m}", applied, "/s", bare_name, bare_applied),
        Row("  same, per CPU second of the process", m / apply_cpu, "/s", bare_name,
            m / bare_cpu),
        Row("inbox: accepted (one at a time) and applied", 1 / (1 / serial.rate + 1 / applied),
            "/s", "verify_request, then the bare apply", 1 / (1 / bare + 1 / bare_applied)),
        _note(f"  SQL statements per activity: {accepting:.1f} accepting, "
              f"{(sql.count - middle) / m:.1f} applying"),
    ]


# --- main --------------------------------------------------------------------------------------

def _table(sections: list[tuple[str, list[Row]]]) -> str:
    rows = [r for _, section in sections for r in section if r.unit]
    width = max(len(r.measure) for r in rows)
    base_width = max(len(r.baseline_name) for r in rows)

    def figure(value: float, unit: str) -> str:
        return f"{value:,.1f} ms" if unit == "ms" else f"{value:,.0f} /s"

    lines = [f"{'measure':<{width}}  {'engine':>11}  {'baseline':<{base_width}}  "
             f"{'bare':>11}  {'ratio':>6}"]
    for title, section in sections:
        lines.append(f"== {title}")
        for r in section:
            if not r.unit:  # a note under the row above
                lines.append(r.measure)
                continue
            bare = figure(r.baseline, r.unit) if r.baseline else ""
            ratio = f"{r.ratio:.1f}×" if r.ratio is not None else ""
            lines.append(f"{r.measure:<{width}}  {figure(r.value, r.unit):>11}  "
                         f"{r.baseline_name:<{base_width}}  {bare:>11}  {ratio:>6}")
    return "\n".join(lines)


PARTS = ("propagation", "delivery", "inbox")


async def main(quick: bool, parts: Sequence[str] = PARTS,
               followers: tuple[int, ...] | None = None, pg: bool = False) -> None:
    print(f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
          f"{' (quick)' if quick else ''}{' (PostgreSQL)' if pg else ''}", flush=True)
    sections = await measure(quick, parts, followers, pg=pg)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; ratio = engine cost per unit / "
          "baseline cost per unit\n")
    print(_table(sections))


async def measure(quick: bool, parts: Sequence[str] = PARTS,
                  followers: tuple[int, ...] | None = None, *, pg: bool = False,
                  sizes: Sizes | None = None) -> list[tuple[str, list[Row]]]:
    """Every section's rows (``bench.run`` turns them into figures); ``parts`` and
    ``followers`` (propagation's sizes) narrow a run down to what a change is about. With
    ``pg`` every node runs on PostgreSQL at 127.0.0.1:5432 (a throwaway database each, created
    and migrated, dropped afterwards; the delivery's receiving server too); the baselines
    touch no database and stay the same."""
    sizes = sizes or ((QUICK_PG if quick else FULL_PG) if pg else (QUICK if quick else FULL))
    if followers:
        sizes = replace(sizes, followers=followers)
    sections: list[tuple[str, list[Row]]] = []
    engine = "PostgreSQL, one database per node" if pg else "one SQLite file per node"
    with tempfile.TemporaryDirectory(prefix="kk-bench-") as name, ExitStack() as stack:
        tmp = Path(name)
        database = stack.enter_context(postgres()) if pg else None
        for part, title, run in (
                ("propagation", f"1. propagation, in process (ASGITransport, {engine})",
                 propagation),
                ("delivery", f"2. delivery over loopback to a node app under uvicorn "
                 f"({sizes.inboxes} inboxes)", delivery),
                ("inbox", f"3./4. inbox and backfill, in process ({sizes.items} items)",
                 inbox_and_backfill)):
            if part not in parts:
                continue
            rows, seconds = await _timed(run(tmp, sizes, database))
            sections.append((title, rows))
            print(f"{title}: {seconds:.0f} s", flush=True)
    return sections


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under 30 s")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts (of {', '.join(PARTS)})")
    parser.add_argument("--followers", default="",
                        help="propagation's follower counts, e.g. 10,100")
    parser.add_argument("--postgres", action="store_true",
                        help="every node on PostgreSQL at 127.0.0.1:5432 (a database each)")
    parser.add_argument("--serve", nargs=3, metavar=("DIR", "PORT", "DATABASE_URL"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), int(args.serve[1]), args.serve[2])
    else:
        asyncio.run(main(args.quick, args.only.split(","), tuple(
            int(n) for n in args.followers.split(",") if n) or None, args.postgres))
