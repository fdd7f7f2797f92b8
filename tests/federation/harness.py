"""In-process federations: several real node apps wired by httpx ``ASGITransport``.

Apps, signatures and databases are real; only the socket is missing. Every outgoing request of
every node goes through one ``FaultyNetwork`` transport that can drop, fail, rate-limit, delay,
duplicate or partition traffic — faults are injected in the transport, never by patching code.
Each node has its own client over that network, so the network knows who is calling: a
partitioned host can neither be reached nor reach anyone. Time is one shared ``Clock``; the
worker runs through ``run_once``; delayed requests are released as the clock passes their time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import select
from starlette.applications import Starlette

from node.app import create_app
from node.config import Settings, build_settings
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.store import activities as activity_store
from node.store import objects as object_store
from node.store._rows import to_dataclass
from node.store.activities import StoredActivity
from node.store.deliveries import Delivery
from node.store.inbox import InboxRow
from node.store.objects import StoredObject
from node.store.schema import deliveries, inbox
from node.worker import run_once
from tests import dbs
from tests.clock import Clock
from tests.keys import pool_keygen


@dataclass
class Faults:
    """What the network does to a request (POSTs; partitions cut every request)."""

    drop_rate: float = 0.0  # connection errors
    error_rate: float = 0.0  # 500 answers
    throttle_rate: float = 0.0  # 429 with Retry-After
    duplicate_rate: float = 0.0  # the request arrives twice
    delay_rate: float = 0.0  # the request is held and arrives later (the sender sees 202)
    max_delay_seconds: float = 900.0  # a delayed request arrives within this much clock time
    lost_reply_rate: float = 0.0  # the request arrives but the sender sees a timeout
    partitioned: set[str] = field(default_factory=set)  # hosts cut off: nobody in, nothing out
    links_down: set[frozenset[str]] = field(default_factory=set)  # host pairs cut from each other
    answers: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)  # host -> answer
    hanging: set[str] = field(default_factory=set)  # POSTs wait for ``release_hanging``
    hold: bool = False  # every POST is held (202) until released by the test
    seed: int = 0
    rng: random.Random = field(init=False)
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def clear(self) -> None:
        self.drop_rate = self.error_rate = self.throttle_rate = self.duplicate_rate = 0.0
        self.delay_rate = self.lost_reply_rate = 0.0
        self.partitioned.clear()
        self.links_down.clear()
        self.answers.clear()
        self.hanging.clear()
        self.hold = False

    def cut(self, source: str | None, target: str) -> bool:
        """Whether ``source`` (None: the test itself) cannot reach ``target``."""
        if target in self.partitioned or (source is not None and source in self.partitioned):
            return True
        return source is not None and frozenset((source, target)) in self.links_down


NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass
class Held:
    """A POST the network holds back; it arrives when the clock reaches ``release_at``."""

    release_at: datetime
    source: str | None
    target: str
    request: httpx.Request

    @property
    def document(self) -> dict[str, Any]:
        return dict(orjson.loads(self.request.content))


class FaultyNetwork(httpx.AsyncBaseTransport):
    """Routes by host to node apps, injecting ``faults`` into POSTs (and partitions into all)."""

    def __init__(self, faults: Faults, clock: Clock | None = None) -> None:
        self.faults = faults
        self.clock = clock or Clock()
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.requests = 0
        self.history: list[tuple[str | None, str, str]] = []  # (source, method, url)
        self.held: list[Held] = []
        self.answered: dict[str, int] = {}  # host -> POSTs its app answered
        self._hang: asyncio.Event | None = None
        self._waiters: list[tuple[str, int, asyncio.Future[None]]] = []

    def add(self, host: str, app: Starlette) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    def client_for(self, source: str) -> httpx.AsyncBaseTransport:
        """The transport of one node's outbound client (requests tagged with their source)."""
        return _FromHost(self, source)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.route(request, None)

    async def route(self, request: httpx.Request, source: str | None) -> httpx.Response:
        self.requests += 1
        host = request.url.netloc.decode().lower()
        self.history.append((source, request.method, str(request.url)))
        f = self.faults
        target = self.apps.get(host)
        if target is None or f.cut(source, host):
            f.log.append(("unreachable", request.method, str(request.url)))
            raise httpx.ConnectError(f"cannot reach {host}", request=request)
        if request.method == "POST":
            return await self._post(request, source, host, target)
        return await target.handle_async_request(request)

    async def _post(self, request: httpx.Request, source: str | None, host: str,
                    target: httpx.ASGITransport) -> httpx.Response:
        f = self.faults
        url = str(request.url)
        if host in f.answers:
            status, headers = f.answers[host]
            f.log.append((str(status), request.method, url))
            return _answer(request, status, headers)
        if host in f.hanging:
            # A peer that accepts the connection and never answers, until the test lets go.
            if self._hang is None:
                self._hang = asyncio.Event()
            f.log.append(("hang", request.method, url))
            await self._hang.wait()
            raise httpx.ConnectError(f"{host} never answered", request=request)
        roll = f.rng.random()
        if roll < f.drop_rate:
            f.log.append(("drop", request.method, url))
            raise httpx.ConnectError("connection dropped", request=request)
        roll -= f.drop_rate
        if roll < f.error_rate:
            f.log.append(("500", request.method, url))
            return _answer(request, 500)
        roll -= f.error_rate
        if roll < f.throttle_rate:
            f.log.append(("429", request.method, url))
            return _answer(request, 429, {"Retry-After": "120"})
        await request.aread()
        if f.hold or (f.delay_rate and f.rng.random() < f.delay_rate):
            # Held by the test: released only by the test itself (or by ``heal``).
            release_at = (NEVER if f.hold else
                          self.clock() + timedelta(seconds=f.rng.uniform(0, f.max_delay_seconds)))
            f.log.append(("hold" if f.hold else "delay", request.method, url))
            self.held.append(Held(release_at, source, host, _copy(request)))
            return _answer(request, 202)
        if f.rng.random() < f.duplicate_rate:
            f.log.append(("duplicate", request.method, url))
            await target.handle_async_request(_copy(request))
        response = await target.handle_async_request(request)
        self._note_answer(host)
        if f.lost_reply_rate and f.rng.random() < f.lost_reply_rate:
            f.log.append(("lost_reply", request.method, url))
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    def _note_answer(self, host: str) -> None:
        self.answered[host] = self.answered.get(host, 0) + 1
        for waiter in list(self._waiters):
            if waiter[0] == host and self.answered[host] >= waiter[1]:
                self._waiters.remove(waiter)
                if not waiter[2].done():
                    waiter[2].set_result(None)

    async def wait_answered(self, host: str, count: int) -> None:
        """Return once ``host`` has answered ``count`` POSTs in all (for concurrent rounds)."""
        if self.answered.get(host, 0) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((host, count, future))
        await future

    def release_hanging(self) -> None:
        """Every hanging POST fails now (as a connection that finally times out)."""
        if self._hang is not None:
            self._hang.set()
            self._hang = None

    async def deliver(self, held: Held) -> httpx.Response | None:
        """Let one held POST arrive (unless its path is cut by then); its answer, if any."""
        if held in self.held:
            self.held.remove(held)
        if self.faults.cut(held.source, held.target):
            self.faults.log.append(("lost", "POST", str(held.request.url)))
            return None
        return await self.replay(held)

    async def replay(self, held: Held) -> httpx.Response:
        """Send the very same signed POST again (it stays held): a duplicate delivery."""
        response = await self.apps[held.target].handle_async_request(_copy(held.request))
        await response.aread()
        self._note_answer(held.target)
        return response

    async def release_due(self, *, everything: bool = False) -> int:
        """Deliver the held POSTs whose time has come, in random order (reordering)."""
        now = self.clock()
        due = [h for h in self.held if everything or h.release_at <= now]
        self.faults.rng.shuffle(due)
        for held in due:
            await self.deliver(held)
        return len(due)


class _FromHost(httpx.AsyncBaseTransport):
    def __init__(self, network: FaultyNetwork, source: str) -> None:
        self.network = network
        self.source = source

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.network.route(request, self.source)


def _answer(request: httpx.Request, status: int, headers: dict[str, str] | None = None
            ) -> httpx.Response:
    # A streamed (unread) empty body, as a real transport gives: the client reads it itself.
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(b""),
                          request=request)


def _copy(request: httpx.Request) -> httpx.Request:
    return httpx.Request(request.method, request.url, headers=request.headers,
                         content=request.content)


@dataclass
class Node:
    name: str
    app: Starlette
    ctx: NodeContext

    @property
    def url(self) -> str:
        return self.ctx.settings.node.url


@dataclass
class Federation:
    clock: Clock
    faults: Faults
    network: FaultyNetwork
    http: httpx.AsyncClient
    nodes: dict[str, Node] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    def host(self, name: str) -> str:
        return self.nodes[name].ctx.urls.host

    async def run_workers(self, rounds: int = 1, *, names: list[str] | None = None) -> int:
        """One worker round on every node (or ``names``, in that order), ``rounds`` times, after
        letting due delayed requests arrive; the number of steps taken."""
        steps = 0
        for _ in range(rounds):
            steps += await self.network.release_due()
            for name in names if names is not None else list(self.nodes):
                steps += await run_once(self.nodes[name].ctx)
        return steps

    async def settle(self, *, max_rounds: int = 200, step_seconds: float = 0.0) -> int:
        """Run workers until nothing is due (moving the clock ``step_seconds`` per round)."""
        total = 0
        for _ in range(max_rounds):
            steps = await self.run_workers()
            total += steps
            if not steps and not step_seconds:
                return total
            self.clock.advance(step_seconds)
        return total

    async def heal(self, *, hours: float = 100, step_seconds: float = 1800) -> None:
        """Clear all faults, then let time pass until every retry, sync and backfill is done."""
        self.faults.clear()
        await self.network.release_due(everything=True)
        for _ in range(int(hours * 3600 / step_seconds)):
            await self.run_workers()
            self.clock.advance(step_seconds)
        await self.settle()


def node_settings(directory: Path, url: str, name: str, handle: str, database_url: str,
                  **overrides: Any) -> Settings:
    values: dict[tuple[str, str], Any] = {
        ("node", "url"): url,
        ("node", "name"): name,
        ("node", "handle"): handle,
        ("node", "allow_private_network"): True,  # .test hosts never resolve; mounts route them
        ("database", "url"): database_url,
        ("federation", "retry_initial_seconds"): 30,
        ("federation", "sync_interval_seconds"): 3600,
    }
    for key, value in overrides.items():
        section, _, setting = key.partition("__")
        values[(section, setting)] = value
    return build_settings(directory, values, environ={})


NODE_SPECS = {
    "drenthe": ("https://drenthe.test", "BOKD Drenthe", "drenthe", "provincial", "PV22"),
    "fryslan": ("https://fryslan.test", "Doarpswurk", "fryslan", "provincial", "PV21"),
    "lvkk": ("https://lvkk.test", "LVKK", "lvkk", "aggregator", ""),
    "overijssel": ("https://overijssel.test", "OVKK", "overijssel", "provincial", "PV23"),
}


@contextmanager
def postgres() -> Iterator[Callable[[Path, str], str]]:
    """A ``database=`` factory giving each node its own migrated PostgreSQL database (dropped
    afterwards); skips (or fails under CI) when PostgreSQL is not running."""
    dbs.require_postgres()
    urls: list[str] = []

    def make(_directory: Path, name: str) -> str:
        urls.append(dbs.create_pg_database(f"kk_fed_{name}"))
        return urls[-1]

    try:
        yield make
    finally:
        for url in urls:
            dbs.drop_pg_database(url)


_TEMPLATES: list[Path] = []


def _template(tmp_path: Path) -> Path:
    """The migrated SQLite schema, built once per test process and copied for every node."""
    if not _TEMPLATES or not _TEMPLATES[0].exists():
        _TEMPLATES[:] = [dbs.sqlite_template(tmp_path)]
    return _TEMPLATES[0]


@asynccontextmanager
async def federation(tmp_path: Path, names: list[str], *, database: Callable[[Path, str], str]
                     | None = None, faults: Faults | None = None,
                     overrides: dict[str, dict[str, Any]] | None = None
                     ) -> AsyncIterator[Federation]:
    """Start ``names`` (keys of NODE_SPECS or ``name.test``) as one in-process federation."""
    clock = Clock()
    faults = faults or Faults()
    network = FaultyNetwork(faults, clock)
    template = _template(tmp_path)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(transport=network))
        fed = Federation(clock, faults, network, http)
        keygen = pool_keygen()
        for name in names:
            url, title, handle, role, province = NODE_SPECS.get(
                name, (f"https://{name}.test", name.title(), name, "provincial", ""))
            directory = tmp_path / name
            directory.mkdir()
            db_url = (database(directory, name) if database is not None
                      else dbs.fresh_sqlite(template, directory))
            settings = node_settings(directory, url, title, handle, db_url,
                                     node__role=role, node__province_code=province,
                                     **(overrides or {}).get(name, {}))
            node_http = await stack.enter_async_context(httpx.AsyncClient(
                transport=network.client_for(urlsplit(url).netloc.lower())))
            app = create_app(settings, http=node_http, clock=clock, keygen=keygen)
            await stack.enter_async_context(app.router.lifespan_context(app))
            ctx: NodeContext = app.state.ctx
            await ensure_node_actor(ctx)
            network.add(ctx.urls.host, app)
            fed.nodes[name] = Node(name, app, ctx)
        yield fed


# --- reading a node's state (tests assert on rows, through the stores) ----------------------


async def stored(node: Node, ap_id: str) -> StoredObject | None:
    """The object ``ap_id`` as ``node`` holds it."""
    async with node.ctx.db.sessions() as session:
        return await object_store.get(session, ap_id)


async def delivery_rows(node: Node, *, host: str | None = None,
                        activity: str | None = None) -> list[Delivery]:
    """``node``'s outgoing deliveries (to ``host``, of ``activity``), oldest first."""
    query = select(deliveries).order_by(deliveries.c.id)
    if host is not None:
        query = query.where(deliveries.c.host == host)
    if activity is not None:
        query = query.where(deliveries.c.activity_ap_id == activity)
    async with node.ctx.db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(Delivery, r) for r in rows]


async def inbox_rows(node: Node, activity: str | None = None) -> list[InboxRow]:
    """What ``node`` received (the activity ``activity``), oldest first."""
    query = select(inbox).order_by(inbox.c.id)
    if activity is not None:
        query = query.where(inbox.c.activity_ap_id == activity)
    async with node.ctx.db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [to_dataclass(InboxRow, r) for r in rows]


async def activities_of(node: Node, actor: str, type: str | None = None) -> list[StoredActivity]:
    """The activities ``actor`` published on ``node`` (of ``type``), oldest first."""
    async with node.ctx.db.sessions() as session:
        found = await activity_store.all_by_actor(session, actor)
    return [a for a in found if type is None or a.type == type]
