"""Floods: per-host and per-process token buckets, the per-host backlog cap, a sustained load.

The issue "Hardening" (node/services/ratelimit.py): a host past its bucket gets 429 with
``Retry-After`` and ``{"error": "rate_limited", …}`` before any key is fetched; its bucket refills
with the node's clock; other hosts are not affected; a host with too many activities waiting
for the worker gets 503; the map of buckets stays bounded under made-up hosts. Then a sustained
mixed load from several real peer nodes (in process, ``tests/federation/harness.py``): every
valid activity is stored exactly once, the invalid ones add nothing, memory stays flat and the
node still answers its pages.
"""

from __future__ import annotations

import gc
import heapq
import random
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import func, select

from node.config import build_settings
from node.remote import Signer
from node.services.inbox import read_signature
from node.services.ratelimit import InboxLimits, TokenBuckets, claimed_host, startup_line
from node.services.resolve import ed_signer_of, node_actor, signer_of
from node.store.schema import actors, inbox, objects, peers
from node.worker import run_until_idle
from protocol.httpsig import sign_request
from protocol.vocab import PUBLIC
from tests.federation.harness import Federation, Node, federation

AS = "https://www.w3.org/ns/activitystreams"
TARGET = "drenthe"
PEERS = ("fryslan", "overijssel", "lvkk")
SMALL_BODY_LIMIT = 64_000  # "oversized" bodies need not be megabytes to be refused


@asynccontextmanager
async def _network(tmp_path: Path, **limits: Any) -> AsyncIterator[tuple[Federation, Sender]]:
    """The target node and its peers, with ``limits.*`` overrides on the target."""
    overrides = {f"limits__{key}": value for key, value in limits.items()}
    async with federation(tmp_path, [TARGET, *PEERS], overrides={TARGET: overrides}) as fed:
        sender = Sender(fed)
        async with sender.client:
            yield fed, sender


@dataclass
class Peer:
    """A peer node's actor, signing POSTs to the target's shared inbox."""

    node: Node
    signer: Signer
    actor: str
    flavour: str = "cavage"
    sent: int = 0

    @classmethod
    async def of(cls, node: Node, flavour: str = "cavage") -> Peer:
        """Signing as Mastodon does (cavage, RSA) or with RFC 9421 and the Ed25519 key."""
        actor = await node_actor(node.ctx)
        signer = signer_of(actor) if flavour == "cavage" else ed_signer_of(actor)
        return cls(node, signer, actor.ap_id, flavour)

    @property
    def origin(self) -> str:
        return self.node.url

    def create(self, tag: str = "") -> dict[str, Any]:
        """A new valid ``Create`` of a ``Note`` by this actor."""
        self.sent += 1
        n = f"{tag}{self.sent}"
        return {"@context": AS, "id": f"{self.origin}/activities/flood-{n}", "type": "Create",
                "actor": self.actor, "to": [PUBLIC],
                "object": {"id": f"{self.origin}/items/flood-{n}", "type": "Note",
                           "attributedTo": self.actor, "content": f"<p>Bericht {n}</p>",
                           "published": "2026-11-27T08:00:00Z", "to": [PUBLIC]}}


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


class Sender:
    """Posts to the target's shared inbox, signing with the federation's clock.

    POSTs go straight to the ASGI app (what ``httpx.ASGITransport`` does, without the client's
    per-request cost, which would be most of this test's time); pages are read with httpx.
    """

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self.target = fed[TARGET]
        self.url = f"{self.target.url}/inbox"
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.target.app),
                                        base_url=self.target.url)

    def signed(self, body: bytes, signer: Signer, *, key_id: str | None = None,
               content_type: str = "application/activity+json", flavour: str = "cavage"
               ) -> dict[str, str]:
        headers = {"Content-Type": content_type, "Host": self.target.ctx.urls.host}
        headers.update(sign_request("POST", self.url, headers, body, signer.private_key,
                                    key_id or signer.key_id, now=self.fed.clock(),
                                    flavour="rfc9421" if flavour == "rfc9421" else "cavage"))
        return headers

    async def post(self, body: bytes, headers: dict[str, str]) -> Reply:
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        raw.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "https", "path": "/inbox", "raw_path": b"/inbox",
                 "query_string": b"", "root_path": "", "headers": raw,
                 "client": ("192.0.2.1", 40000), "server": (self.target.ctx.urls.host, 443)}
        incoming = [{"type": "http.request", "body": body, "more_body": False}]
        status, answer, chunks = 0, dict[str, str](), list[bytes]()

        async def receive() -> MutableMapping[str, Any]:
            return incoming.pop() if incoming else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answer.update((k.decode().lower(), v.decode()) for k, v in message["headers"])
            else:
                chunks.append(message.get("body", b""))

        await self.target.app(scope, receive, send)
        return Reply(status, answer, b"".join(chunks))

    async def activity(self, peer: Peer, doc: dict[str, Any]) -> Reply:
        body = orjson.dumps(doc)
        return await self.post(body, self.signed(body, peer.signer, flavour=peer.flavour))


async def _count(node: Node, table: Any, *where: Any) -> int:
    async with node.ctx.db.sessions() as session:
        query = select(func.count()).select_from(table)
        return int((await session.execute(query.where(*where) if where else query)).scalar_one())


# --- focused: the buckets -------------------------------------------------------------------------

async def test_host_past_its_burst_gets_429_with_retry_after(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_per_host=1, inbox_burst_per_host=5) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])
        # Given a host that sent its whole burst at once
        for _ in range(5):
            assert (await sender.activity(peer, peer.create())).status_code == 202
        # When it sends one more in the same instant
        refused = peer.create()
        response = await sender.activity(peer, refused)
        # Then it is refused for now, saying when to come back, and nothing was stored
        assert response.status_code == 429
        assert response.headers["retry-after"] == "1"
        body = response.json()
        assert body["error"] == "rate_limited" and "fryslan.test" in body["detail"]
        assert await _count(fed[TARGET], inbox, inbox.c.activity_ap_id == refused["id"]) == 0


async def test_refusal_comes_before_any_key_fetch(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_per_host=1, inbox_burst_per_host=1) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])
        other = await Peer.of(fed["lvkk"])
        assert (await sender.activity(peer, peer.create())).status_code == 202
        # Given fryslan's bucket is empty
        # When a request comes with a key on fryslan's host the node has never seen
        fetches_before = len(fed.network.history)
        body = orjson.dumps(peer.create())
        headers = sender.signed(body, other.signer, key_id=f"{peer.origin}/keys/nieuw")
        response = await sender.post(body, headers)
        # Then it is refused without the node fetching that key
        assert response.status_code == 429
        assert len(fed.network.history) == fetches_before


async def test_bucket_refills_with_the_clock(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_per_host=2, inbox_burst_per_host=2) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])
        for _ in range(2):
            await sender.activity(peer, peer.create())
        late = peer.create()
        response = await sender.activity(peer, late)
        assert response.status_code == 429
        # When the sender waits as long as Retry-After says and sends the same activity again
        fed.clock.advance(float(response.headers["retry-after"]))
        again = await sender.activity(peer, late)
        # Then it is accepted and stored once
        assert again.status_code == 202
        assert await _count(fed[TARGET], inbox, inbox.c.activity_ap_id == late["id"]) == 1


async def test_other_hosts_are_not_affected(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_per_host=1, inbox_burst_per_host=3) as (fed, sender):
        noisy, quiet = await Peer.of(fed["fryslan"]), await Peer.of(fed["overijssel"])
        # Given one host that keeps sending after its bucket ran dry
        statuses = [(await sender.activity(noisy, noisy.create())).status_code for _ in range(20)]
        assert statuses.count(202) == 3 and statuses.count(429) == 17
        # Then another host, in the same instant, is served as usual
        assert (await sender.activity(quiet, quiet.create())).status_code == 202


async def test_known_peers_are_not_starved_by_strangers(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_total=1, inbox_burst_total=5) as (fed, sender):
        known, stranger = await Peer.of(fed["fryslan"]), await Peer.of(fed["lvkk"])
        # Given a peer that has sent a verified activity before
        assert (await sender.activity(known, known.create())).status_code == 202
        # When made-up hosts use up the bucket the strangers share
        for n in range(10):
            body = orjson.dumps(known.create())
            await sender.post(body, sender.signed(body, known.signer,
                                                  key_id=f"https://nep{n}.test/k"))
        # Then the known peer is still served, held only to its own bucket
        assert (await sender.activity(known, known.create())).status_code == 202
        # And a peer never seen before waits, like every stranger
        response = await sender.activity(stranger, stranger.create())
        assert response.status_code == 429
        assert "unknown hosts" in response.json()["detail"]


async def test_a_throttled_stranger_does_not_drain_the_strangers_bucket(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_rate_per_host=1, inbox_burst_per_host=2,
                        inbox_rate_total=1, inbox_burst_total=4) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])

        async def claiming(host: str) -> int:
            body = orjson.dumps(peer.create())
            headers = sender.signed(body, peer.signer, key_id=f"https://{host}/k")
            return (await sender.post(body, headers)).status_code

        # Given a made-up host refused 28 times by its own bucket (2 let through: 2 of the 4)
        statuses = [await claiming("nep.test") for _ in range(30)]
        assert statuses.count(401) == 2 and statuses.count(429) == 28
        # Then the strangers' bucket still had the other 2, for other hosts
        assert [await claiming(f"nep{n}.test") for n in range(3)] == [401, 401, 429]


async def test_made_up_hosts_are_stopped_by_the_total(tmp_path: Path) -> None:
    async with _network(tmp_path, inbox_burst_total=10, inbox_rate_total=1) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])
        # Given requests each claiming a key on a host never seen before
        statuses = Counter[int]()
        for n in range(25):
            body = orjson.dumps(peer.create())
            headers = sender.signed(body, peer.signer, key_id=f"https://nep{n}.test/key")
            statuses[(await sender.post(body, headers)).status_code] += 1
        # Then the first ten cost a (failing) key fetch each, the rest nothing at all
        assert statuses == {401: 10, 429: 15}
        assert sum(1 for _, m, u in fed.network.history if "nep" in u and m == "GET") == 10


def test_bucket_map_keeps_only_the_most_recent_hosts() -> None:
    buckets = TokenBuckets(rate=1, burst=1, max_keys=100)
    buckets.take("echt.example", 0.0)  # drained, then kept in use during the flood
    for n in range(10_000):
        buckets.take(f"nep{n}.example", 0.0)
        if n % 50 == 0:
            assert buckets.take("echt.example", 0.0) > 0  # still remembered as empty
    assert len(buckets) == 100


def test_inbox_limits_map_is_bounded_under_made_up_hosts() -> None:
    limits = InboxLimits(rate_per_host=10, burst_per_host=50, rate_total=0, burst_total=0,
                         pending_per_host=0, max_hosts=1_000)
    for n in range(20_000):
        limits.admit(f"nep{n}.example", float(n))
    assert limits.per_host is not None and len(limits.per_host) == 1_000


@pytest.mark.parametrize("key_id", ["https://[x/k", "https://a\uff03b/k", "geen-iri", ""])
def test_an_unreadable_key_id_claims_no_host(key_id: str) -> None:
    signature = (f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date",'
                 'signature="AAAA"')
    assert claimed_host(read_signature({"Signature": signature})) is None


def test_startup_line_multiplies_the_per_process_limits_by_the_web_processes(
        tmp_path: Path) -> None:
    # Given three web processes, and the strangers' bucket turned off
    settings = build_settings(tmp_path, {
        ("node", "url"): "https://drenthe.test", ("node", "name"): "BOKD",
        ("node", "handle"): "drenthe", ("server", "web_processes"): 3,
        ("limits", "inbox_rate_total"): 0}, environ={})
    line = startup_line(settings)
    # Then the line gives the per-process figures, what three processes add up to, and says
    # the backlog cap is shared
    limits = settings.limits
    assert (limits.inbox_rate_per_host, limits.inbox_burst_per_host) == (10, 50)
    assert line.startswith("inbox flood limits are kept per web process: 10/s (bursts of 50) "
                           "per remote host, no limit from hosts not yet verified; "
                           "with server.web_processes = 3 the node accepts up to 30/s (bursts "
                           "of 150) per remote host, no limit from hosts not yet verified")
    assert f"at most {limits.inbox_pending_per_host} activities waiting per host" in line
    assert "holds for all processes together" in line


def test_a_clock_stepping_back_mints_no_tokens() -> None:
    buckets = TokenBuckets(rate=10, burst=2)
    assert buckets.take("a", 100.0) == 0 and buckets.take("a", 100.0) == 0
    assert buckets.take("a", 50.0) > 0
    assert buckets.take("a", 100.0) > 0


# --- focused: the backlog cap ---------------------------------------------------------------------

async def test_host_with_a_full_backlog_gets_503_until_the_worker_catches_up(tmp_path: Path
                                                                             ) -> None:
    async with _network(tmp_path, inbox_pending_per_host=3) as (fed, sender):
        peer = await Peer.of(fed["fryslan"])
        other = await Peer.of(fed["overijssel"])
        # Given three activities of one host waiting for the worker
        for _ in range(3):
            assert (await sender.activity(peer, peer.create())).status_code == 202
        # When it sends a fourth
        waiting = peer.create()
        response = await sender.activity(peer, waiting)
        # Then it is refused for now (other hosts are not), and nothing was stored
        assert response.status_code == 503
        assert response.json()["error"] == "inbox_backlog"
        assert int(response.headers["retry-after"]) > 0
        assert (await sender.activity(other, other.create())).status_code == 202
        assert await _count(fed[TARGET], inbox, inbox.c.activity_ap_id == waiting["id"]) == 0
        # And once the worker applied the backlog the same activity is accepted
        await run_until_idle(fed[TARGET].ctx)
        assert (await sender.activity(peer, waiting)).status_code == 202


# --- the sustained load -----------------------------------------------------------------------------

KINDS = {  # what a request is, and how often (weights)
    "valid": 32, "duplicate": 6, "bad_signature": 8, "tampered_body": 6, "malformed_json": 8,
    "oversized": 4, "wrong_content_type": 6, "unsigned": 6, "wrong_actor": 6, "made_up_host": 10,
}
INVALID_STATUSES = {"bad_signature": 401, "tampered_body": 401, "malformed_json": 400,
                    "oversized": 413, "wrong_content_type": 415, "unsigned": 401,
                    "wrong_actor": 403, "made_up_host": 401}


@dataclass
class Load:
    """A seeded mix of valid and invalid requests from several peers, retrying what is 429'd."""

    sender: Sender
    peers: list[Peer]
    rng: random.Random
    accepted: dict[str, str] = field(default_factory=dict)  # activity id -> object id
    retries: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    made_up: int = 0
    _sequence: int = 0

    async def request(self, kind: str) -> None:
        peer = self.rng.choice(self.peers)
        doc = peer.create()
        body = orjson.dumps(doc)
        s = self.sender
        if kind == "valid":
            await self._valid(peer, doc)
            return
        if kind == "duplicate" and self.accepted:
            first = next(iter(self.accepted))
            origin = first.split("/activities/")[0]
            owner = next(p for p in self.peers if p.origin == origin)
            body = orjson.dumps(owner.create() | {"id": first, "object": self.accepted[first]})
            response = await s.post(body, self._sign(body, owner))
            self.statuses[(kind, response.status_code)] += 1
            return
        if kind == "bad_signature":
            other = self.rng.choice([p for p in self.peers if p is not peer])
            headers = self._sign(body, other, key_id=peer.signer.key_id)
        elif kind == "tampered_body":
            headers = self._sign(body, peer)
            body = body.replace(b"Bericht", b"Bericxt")
        elif kind == "malformed_json":
            body = body[: len(body) // 2]
            headers = self._sign(body, peer)
        elif kind == "oversized":
            body = orjson.dumps(doc | {"content": "x" * SMALL_BODY_LIMIT})
            headers = self._sign(body, peer)
        elif kind == "wrong_content_type":
            headers = self._sign(body, peer, content_type="text/plain")
        elif kind == "unsigned":
            headers = {"Content-Type": "application/activity+json"}
        elif kind == "wrong_actor":
            other = self.rng.choice([p for p in self.peers if p is not peer])
            headers = self._sign(body, other)
        else:  # made_up_host
            self.made_up += 1
            headers = self._sign(body, peer, key_id=f"https://nep{self.made_up}.test/k")
        response = await s.post(body, headers)
        self.statuses[(kind, response.status_code)] += 1

    def _sign(self, body: bytes, by: Peer, **options: Any) -> dict[str, str]:
        return self.sender.signed(body, by.signer, flavour=by.flavour, **options)

    async def _valid(self, peer: Peer, doc: dict[str, Any]) -> None:
        response = await self.sender.activity(peer, doc)
        self.statuses[("valid", response.status_code)] += 1
        if response.status_code == 202:
            self.accepted[doc["id"]] = doc["object"]["id"]
        else:  # a well-behaved sender: after Retry-After, the very same activity again
            assert response.status_code in (429, 503), response.body
            due = self.now() + float(response.headers["retry-after"])
            self._sequence += 1  # ties broken by order of refusal, never by comparing dicts
            heapq.heappush(self.retries, (due, self._sequence, doc))

    def now(self) -> float:
        return self.sender.fed.clock().timestamp()

    async def run(self, requests: int, *, step: float) -> None:
        kinds, weights = list(KINDS), list(KINDS.values())
        for _ in range(requests):
            while self.retries and self.retries[0][0] <= self.now():
                _, _, doc = heapq.heappop(self.retries)
                await self._valid(self._owner(doc), doc)
            await self.request(self.rng.choices(kinds, weights)[0])
            self.sender.fed.clock.advance(step)

    async def drain(self) -> None:
        """Let the senders' retries arrive (time moving on), until none is left."""
        while self.retries:
            due, _, doc = heapq.heappop(self.retries)
            if due > self.now():
                self.sender.fed.clock.advance(due - self.now())
            await self._valid(self._owner(doc), doc)

    def _owner(self, doc: dict[str, Any]) -> Peer:
        return next(p for p in self.peers if p.actor == doc["actor"])


@pytest.mark.slow
async def test_sustained_mixed_flood_stores_every_valid_activity_once(tmp_path: Path) -> None:
    async with _network(tmp_path, max_body_bytes=SMALL_BODY_LIMIT) as (fed, sender):
        target = fed[TARGET]
        remote = [await Peer.of(fed[name], flavour)
                  for name, flavour in zip(PEERS, ("cavage", "rfc9421", "rfc9421"), strict=True)]
        load = Load(sender, remote, random.Random(7))
        # Given a warm node: keys cached, statements compiled, a first round applied
        await load.run(300, step=0.025)
        await load.drain()
        await run_until_idle(target.ctx)
        gc.collect()
        tracemalloc.start()
        try:
            # When 1,700 more requests arrive (2,000 in all, plus the senders' retries) at 40/s,
            # about 11/s under the key of each of three peers (over their 10/s), half of them
            # invalid, then the worker runs
            await load.run(1_700, step=0.025)
            await load.drain()
            await run_until_idle(target.ctx)
            gc.collect()
            grown, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Then the limits did refuse some valid requests, which came through on their retry
        assert load.statuses[("valid", 429)] > 0
        # And every invalid request was refused for its reason (or for the rate), none stored
        for (kind, status), _ in load.statuses.items():
            if kind in INVALID_STATUSES:
                assert status in (INVALID_STATUSES[kind], 429), (kind, status)
            else:
                assert status in (202, 429, 503), (kind, status)
        # And every valid activity is stored exactly once, and nothing else
        ids = set(load.accepted)
        assert await _count(target, inbox) == len(ids) == load.statuses[("valid", 202)]
        assert await _count(target, inbox, inbox.c.state != "done") == 0
        assert await _count(target, objects, objects.c.is_local.is_(False)) == len(ids)
        assert await _count(target, objects, objects.c.ap_id.in_(set(load.accepted.values()))
                            ) == len(ids)
        assert await _count(target, actors, actors.c.host.like("nep%")) == 0
        assert await _count(target, peers, peers.c.host.like("nep%")) == 0
        # And memory is flat: what the run left allocated is bounded (the limiter map included)
        assert grown < 5_000_000, f"{grown / 1e6:.1f} MB still allocated after the run"
        # And the node still answers its pages
        for path in ("/", "/api/items"):
            assert (await sender.client.get(path)).status_code == 200, path
