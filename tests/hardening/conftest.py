"""Fixtures of the hardening suite: one real node, hostile peers served in process, and the checks
that a refused request left no trace.

- ``world``: a node at ``https://drenthe.test`` (``create_app`` on a migrated SQLite copy, or
  PostgreSQL for tests parametrised with ``hardening_db=["postgres"]``) whose outbound client
  goes through ``Network``. The network serves the node itself and two remote hosts made of
  canned answers: ``evil.test`` (Mallory, the attacker) and ``victim.test`` (Alice, whose
  identity and objects Mallory tries to borrow). Every answer can be made to lie — redirect,
  serve another ``id``, another content type, a key naming an owner that does not list it —
  and every outbound request is logged.
- ``World.sign`` builds a valid, freshly signed POST (a ``Wire``) which a test then mutates;
  ``World.send`` hands it to the ASGI app as raw as HTTP allows (any headers, any chunks, a
  lying ``Content-Length``).
- ``refused``: sends a ``Wire`` and asserts the documented status and stable reason code, an
  ``{"error", "detail"}`` body, exactly one log line from the ``kennisknoop`` loggers, row
  counts of every table unchanged, and no outbound request beyond the ones named as allowed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from sqlalchemy import func, select
from starlette.applications import Starlette

from node.app import create_app
from node.config import build_settings
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.store import inbox as inbox_store
from node.store import objects as object_store
from node.store.objects import StoredObject
from node.store.schema import metadata
from node.worker import run_until_idle
from protocol.actors import build_actor
from protocol.errors import DocumentError
from protocol.httpsig import sign_request
from protocol.keys import generate_ed25519, generate_rsa, public_pem
from protocol.origin import authority_of
from protocol.proofs import add_proof
from protocol.vocab import PUBLIC
from tests import dbs
from tests.keys import pool_keygen

NODE = "https://drenthe.test"
NODE_HOST = "drenthe.test"
AS = "https://www.w3.org/ns/activitystreams"
ACTIVITY_JSON = "application/activity+json"
PUBLISHED = "2026-11-27T08:55:00Z"


@cache
def peer_keys() -> tuple[tuple[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey], ...]:
    """Keys of the remote actors, made once per session and never shared with the node."""
    return tuple((generate_rsa(), generate_ed25519()) for _ in range(3))


# --- the remote side ----------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class RemoteActor:
    """An actor on a remote host, with the private keys the tests sign with."""

    ap_id: str
    rsa: rsa.RSAPrivateKey
    ed: ed25519.Ed25519PrivateKey

    @property
    def origin(self) -> str:
        return self.ap_id.split("/actors/")[0]

    @property
    def key_id(self) -> str:
        return f"{self.ap_id}#main-key"

    @property
    def ed_key_id(self) -> str:
        return f"{self.ap_id}#ed25519-key"

    def document(self, **changes: Any) -> dict[str, Any]:
        doc = build_actor(ap_id=self.ap_id, type="Person",
                          preferred_username=self.ap_id.rsplit("/", 1)[1], name="Iemand",
                          inbox=f"{self.ap_id}/inbox", outbox=f"{self.ap_id}/outbox",
                          followers=f"{self.ap_id}/followers",
                          following=f"{self.ap_id}/following",
                          rsa_public_pem=public_pem(self.rsa),
                          ed25519_public_key=self.ed.public_key())
        doc.update(changes)
        return doc


class Host:
    """A remote host made of canned answers (path and query -> answer); 404 for anything else."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.answers: dict[str, Answer] = {}

    @property
    def origin(self) -> str:
        return f"https://{self.name}"

    def _key(self, url: str) -> str:
        parts = httpx.URL(url)
        return parts.raw_path.decode()

    def serve(self, url: str, document: dict[str, Any] | bytes, *,
              content_type: str = ACTIVITY_JSON, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        body = document if isinstance(document, bytes) else orjson.dumps(document)
        self.answers[self._key(url)] = Answer(
            status, {"Content-Type": content_type, **(headers or {})}, body)

    def redirect(self, url: str, location: str, status: int = 302) -> None:
        self.answers[self._key(url)] = Answer(status, {"Location": location}, b"")

    def forget(self, url: str) -> None:
        self.answers.pop(self._key(url), None)

    def answer(self, request: httpx.Request) -> httpx.Response:
        found = self.answers.get(request.url.raw_path.decode())
        if found is None:
            found = Answer(404, {"Content-Type": "application/json"}, b'{"error":"not_found"}')
        # A streamed body, as a real transport gives: the guarded client reads it itself.
        return httpx.Response(found.status, headers=found.headers,
                              stream=httpx.ByteStream(found.body), request=request)


class Network(httpx.AsyncBaseTransport):
    """Routes the node's outbound requests by normalised host (as DNS would: case and a trailing
    dot do not matter) and logs every one of them as ``(method, url)``."""

    def __init__(self) -> None:
        self.hosts: dict[str, Host] = {}
        self.apps: dict[str, httpx.ASGITransport] = {}
        self.log: list[tuple[str, str]] = []

    def add(self, host: Host) -> Host:
        self.hosts[authority_of(host.origin)] = host
        return host

    def requested(self, url: str) -> bool:
        return any(u.split("#")[0] == url.split("#")[0] for _, u in self.log)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.log.append((request.method, url))
        try:
            host = authority_of(url)
        except DocumentError as exc:
            raise httpx.ConnectError(f"no route to {url}", request=request) from exc
        if host in self.apps:
            return await self.apps[host].handle_async_request(request)
        if host in self.hosts:
            return self.hosts[host].answer(request)
        raise httpx.ConnectError(f"cannot reach {host}", request=request)


# --- the wire -----------------------------------------------------------------------------------

@dataclass
class Wire:
    """One request as it reaches the node: tests mutate it after signing."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    chunks: list[bytes] | None = None  # the body in these pieces (no Content-Length added)

    def set(self, name: str, value: str) -> Wire:
        self.drop(name)
        self.headers[name] = value
        return self

    def drop(self, name: str) -> Wire:
        for key in [k for k in self.headers if k.lower() == name.lower()]:
            del self.headers[key]
        return self

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Sent:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def error(self) -> str | None:
        return self.json().get("error") if self.status >= 400 else None


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    app: Starlette
    ctx: NodeContext
    clock: Clock
    net: Network
    evil: Host
    victim: Host
    mallory: RemoteActor
    alice: RemoteActor
    extra: dict[str, Any] = field(default_factory=dict)

    # documents ------------------------------------------------------------------------------

    def note(self, author: RemoteActor | None = None, n: str = "1", **changes: Any
             ) -> dict[str, Any]:
        author = author or self.mallory
        doc: dict[str, Any] = {
            "@context": AS, "id": f"{author.origin}/notes/{n}", "type": "Note",
            "attributedTo": author.ap_id, "content": "<p>Hallo Drenthe</p>",
            "published": PUBLISHED, "to": [PUBLIC]}
        doc.update(changes)
        return {k: v for k, v in doc.items() if v is not None}

    def activity(self, type: str = "Create", obj: Any = None, *,
                 actor: RemoteActor | None = None, n: str = "1", **changes: Any
                 ) -> dict[str, Any]:
        actor = actor or self.mallory
        doc: dict[str, Any] = {
            "@context": AS, "id": f"{actor.origin}/activities/{type.lower()}-{n}", "type": type,
            "actor": actor.ap_id, "object": obj if obj is not None else self.note(actor, n),
            "to": [PUBLIC]}
        doc.update(changes)
        return {k: v for k, v in doc.items() if v is not None}

    def genuine_note(self, n: str = "1", **changes: Any) -> dict[str, Any]:
        """Alice's note as her origin serves it (with her proof), served at its id."""
        note = add_proof(self.note(self.alice, n, **changes), self.alice.ed,
                         self.alice.ed_key_id, created=self.clock())
        self.victim.serve(note["id"], note)
        return note

    # requests -------------------------------------------------------------------------------

    def sign(self, document: dict[str, Any] | bytes, *, signer: RemoteActor | None = None,
             key: Any = None, key_id: str | None = None, path: str = "/inbox",
             method: str = "POST", flavour: str = "cavage",
             content_type: str | None = ACTIVITY_JSON, now: datetime | None = None,
             host: str = NODE_HOST) -> Wire:
        """A valid POST of ``document``, signed now by ``signer`` (Mallory) with its RSA key
        (cavage) or Ed25519 key (``flavour="rfc9421"``)."""
        signer = signer or self.mallory
        if key is None:
            key = signer.rsa if flavour == "cavage" else signer.ed
            key_id = key_id or (signer.key_id if flavour == "cavage" else signer.ed_key_id)
        assert key_id is not None
        body = document if isinstance(document, bytes) else orjson.dumps(document)
        headers = {"Host": host}
        if content_type is not None:
            headers["Content-Type"] = content_type
        headers.update(sign_request(method, f"https://{host}{path}", headers, body, key, key_id,
                                    flavour=flavour,  # type: ignore[arg-type]
                                    now=now or self.clock()))
        headers["Content-Length"] = str(len(body))
        return Wire("POST", path, headers, body)

    async def send(self, wire: Wire) -> Sent:
        """Hand ``wire`` to the app through ASGI, exactly as given."""
        path, _, query = wire.path.partition("?")
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": wire.method, "scheme": "https", "path": path,
            "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in wire.headers.items()],
            "client": ("203.0.113.7", 50000), "server": (NODE_HOST, 443), "state": {},
        }
        chunks = wire.chunks if wire.chunks is not None else [wire.body]
        messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)]
        status = 0
        headers: dict[str, str] = {}
        body: list[bytes] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.update({k.decode(): v.decode() for k, v in message["headers"]})
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Sent(status, headers, b"".join(body))

    async def post(self, document: dict[str, Any] | bytes, **sign: Any) -> Sent:
        return await self.send(self.sign(document, **sign))

    # state ----------------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        """Rows in every table of the schema."""
        async with self.ctx.db.sessions() as session:
            return {table.name: int((await session.execute(
                select(func.count()).select_from(table))).scalar_one())
                for table in metadata.sorted_tables}

    async def stored(self, ap_id: str) -> StoredObject | None:
        async with self.ctx.db.sessions() as session:
            return await object_store.get(session, ap_id)

    async def inbox_state(self, activity_id: str) -> str | None:
        async with self.ctx.db.sessions() as session:
            return await inbox_store.state_of(session, activity_id)

    async def work(self) -> None:
        """Let the worker apply everything received."""
        await run_until_idle(self.ctx)


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def hardening_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dbs.sqlite_template(tmp_path_factory.mktemp("hardening-schema"))


@pytest.fixture(scope="session")
def hardening_pg_url() -> Iterable[str]:
    dbs.require_postgres()
    url = dbs.create_pg_database("kk_hardening")
    yield url
    dbs.drop_pg_database(url)


@pytest.fixture
def hardening_db(request: pytest.FixtureRequest, tmp_path: Path, hardening_template: Path) -> str:
    """SQLite by default; ``@pytest.mark.parametrize("hardening_db", ["postgres"],
    indirect=True)`` (with the ``postgres`` marker) runs on PostgreSQL."""
    if getattr(request, "param", "sqlite") == "sqlite":
        return dbs.fresh_sqlite(hardening_template, tmp_path)
    url: str = request.getfixturevalue("hardening_pg_url")
    dbs.truncate_pg(url)
    return url


@pytest.fixture
def node_overrides() -> dict[str, Any]:
    """Settings of the node as ``section__name`` keys; parametrise to change them."""
    return {}


@pytest.fixture
async def world(tmp_path: Path, hardening_db: str, node_overrides: dict[str, Any]
                ) -> AsyncIterator[World]:
    values: dict[tuple[str, str], Any] = {
        ("node", "url"): NODE, ("node", "name"): "BOKD Drenthe", ("node", "handle"): "drenthe",
        ("node", "province_code"): "PV22", ("node", "allow_private_network"): True,
        ("database", "url"): hardening_db,
    }
    for key, value in node_overrides.items():
        section, _, name = key.partition("__")
        values[(section, name)] = value
    settings = build_settings(tmp_path, values, environ={})
    clock = Clock()
    net = Network()
    async with httpx.AsyncClient(transport=net) as http:
        app = create_app(settings, http=http, clock=clock, keygen=pool_keygen())
        async with app.router.lifespan_context(app):
            ctx: NodeContext = app.state.ctx
            await ensure_node_actor(ctx)
            net.apps[NODE_HOST] = httpx.ASGITransport(app=app)
            evil, victim = net.add(Host("evil.test")), net.add(Host("victim.test"))
            (m_rsa, m_ed), (a_rsa, a_ed), _ = peer_keys()
            mallory = RemoteActor(f"{evil.origin}/actors/mallory", m_rsa, m_ed)
            alice = RemoteActor(f"{victim.origin}/actors/alice", a_rsa, a_ed)
            evil.serve(mallory.ap_id, mallory.document())
            victim.serve(alice.ap_id, alice.document())
            yield World(app, ctx, clock, net, evil, victim, mallory, alice)


Refuse = Callable[..., Awaitable[Sent]]


@pytest.fixture
def refused(world: World, caplog: pytest.LogCaptureFixture) -> Refuse:
    """``await refused(wire, status, reason, allowed=(urls the check may fetch,))``."""

    async def check(wire: Wire, status: int, reason: str, *, allowed: Iterable[str] = ()
                    ) -> Sent:
        before = await world.counts()
        world.net.log.clear()
        caplog.clear()
        caplog.set_level(logging.INFO, logger="kennisknoop")
        sent = await world.send(wire)
        assert (sent.status, sent.error) == (status, reason), sent.body[:500]
        body = sent.json()
        assert sorted(body) == ["detail", "error"] and isinstance(body["detail"], str)
        assert sent.headers.get("content-type", "").startswith("application/json")
        # One diagnostic line per refusal; the access log's line per request comes on top.
        lines = [r for r in caplog.records if r.name.startswith("kennisknoop")
                 and r.name != "kennisknoop.access" and r.levelno >= logging.INFO]
        assert len(lines) == 1, [r.getMessage() for r in lines]
        assert await world.counts() == before
        permitted = {url.split("#")[0] for url in allowed}
        unexpected = [(m, u) for m, u in world.net.log if m != "GET" or u not in permitted]
        assert unexpected == [], unexpected
        return sent

    return check
