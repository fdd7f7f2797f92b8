"""In-process federations: several real node apps wired by httpx ``ASGITransport``.

Apps, signatures and databases are real; only the socket is missing. Every outgoing request of
every node goes through one ``FaultyNetwork`` transport that can drop, fail, rate-limit, delay,
duplicate or partition traffic — faults are injected in the transport, never by patching code.
Time is one shared ``Clock``; the worker runs through ``run_once``.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from node.app import create_app
from node.config import Settings, build_settings
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.worker import run_once
from tests import dbs
from tests.keys import pool_keygen


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Faults:
    """What the network does to a request; ``decide`` may be replaced per test."""

    drop_rate: float = 0.0  # connection errors
    error_rate: float = 0.0  # 500 answers
    throttle_rate: float = 0.0  # 429 with Retry-After
    duplicate_rate: float = 0.0  # the request arrives twice
    partitioned: set[str] = field(default_factory=set)  # hosts nobody can reach
    seed: int = 0
    rng: random.Random = field(init=False)
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def clear(self) -> None:
        self.drop_rate = self.error_rate = self.throttle_rate = self.duplicate_rate = 0.0
        self.partitioned.clear()


class FaultyNetwork(httpx.AsyncBaseTransport):
    """Routes by host to node apps, injecting ``faults`` into POSTs (and partitions into all)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.requests = 0

    def add(self, host: str, app: Starlette) -> None:
        self.apps[host] = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        host = request.url.netloc.decode().lower()
        f = self.faults
        target = self.apps.get(host)
        if target is None or host in f.partitioned:
            f.log.append(("unreachable", request.method, str(request.url)))
            raise httpx.ConnectError(f"cannot reach {host}", request=request)
        if request.method == "POST":
            roll = f.rng.random()
            if roll < f.drop_rate:
                f.log.append(("drop", request.method, str(request.url)))
                raise httpx.ConnectError("connection dropped", request=request)
            roll -= f.drop_rate
            if roll < f.error_rate:
                f.log.append(("500", request.method, str(request.url)))
                return httpx.Response(500, request=request)
            roll -= f.error_rate
            if roll < f.throttle_rate:
                f.log.append(("429", request.method, str(request.url)))
                return httpx.Response(429, headers={"Retry-After": "120"}, request=request)
            if f.rng.random() < f.duplicate_rate:
                f.log.append(("duplicate", request.method, str(request.url)))
                await request.aread()
                copy = httpx.Request(request.method, request.url, headers=request.headers,
                                     content=request.content)
                await target.handle_async_request(copy)
        return await target.handle_async_request(request)


@dataclass
class Node:
    name: str
    app: Starlette
    ctx: NodeContext

    @property
    def url(self) -> str:
        return self.ctx.settings.url


@dataclass
class Federation:
    clock: Clock
    faults: Faults
    network: FaultyNetwork
    http: httpx.AsyncClient
    nodes: dict[str, Node] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    async def run_workers(self, rounds: int = 1) -> int:
        """One worker round on every node, ``rounds`` times; the number of steps taken."""
        steps = 0
        for _ in range(rounds):
            for node in self.nodes.values():
                steps += await run_once(node.ctx)
        return steps

    async def settle(self, *, max_rounds: int = 200, step_seconds: float = 0.0) -> int:
        """Run workers until nothing is due (moving the clock ``step_seconds`` per round)."""
        total = 0
        for _ in range(max_rounds):
            steps = await self.run_workers()
            total += steps
            if not steps:
                if not step_seconds:
                    return total
            self.clock.advance(step_seconds)
        return total

    async def heal(self, *, hours: float = 100, step_seconds: float = 1800) -> None:
        """Clear all faults, then let time pass until every retry, sync and backfill is done."""
        self.faults.clear()
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


@asynccontextmanager
async def federation(tmp_path: Path, names: list[str], *, database: Callable[[Path, str], str]
                     | None = None, faults: Faults | None = None,
                     overrides: dict[str, dict[str, Any]] | None = None
                     ) -> AsyncIterator[Federation]:
    """Start ``names`` (keys of NODE_SPECS or ``name.test``) as one in-process federation."""
    clock = Clock()
    faults = faults or Faults()
    network = FaultyNetwork(faults)
    template = dbs.sqlite_template(tmp_path)
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
            app = create_app(settings, http=http, clock=clock, keygen=keygen)
            await stack.enter_async_context(app.router.lifespan_context(app))
            ctx: NodeContext = app.state.ctx
            await ensure_node_actor(ctx)
            network.add(ctx.urls.host, app)
            fed.nodes[name] = Node(name, app, ctx)
        yield fed
