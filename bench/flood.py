"""Flood benchmark: a node over real sockets under minutes of mixed inbox traffic, and a bare baseline.

On 127.0.0.1, each in its own process (``kennisknoop serve``, worker included, SQLite): the
target node, three honest peers and one noisy peer. This script is the network around them:

- honest peers: one task each, sending new valid signed ``Create``s at ``--honest-rate`` per
  second (Mastodon-style cavage/RSA for one, RFC 9421/Ed25519 for the others), honouring
  ``Retry-After`` on 429/503 and sending the very same activity again, as a real server does;
- the flood: ``--connections`` keep-alive connections posting as fast as they are answered, a
  mix of valid activities from the noisy peer (more than its limit), bad signatures, altered
  bodies, malformed JSON, wrong content types, oversized bodies, unsigned requests and keys on
  ever-new made-up hosts (closed loopback ports, so each admitted one costs a failing fetch).

Requests are written by a small HTTP/1.1 client on asyncio streams (httpx would cap this one
process at ~800 requests/s, measuring the client). Every 10 s it prints the flood's requests/s
(accepted, refused by a limit, rejected as invalid), the honest peers' accepted/s and latency,
the target's resident memory (flat: the limiter map is bounded) and its inbox backlog. Then it
waits for the worker, counts what was stored, stops everything, and measures a bare baseline:
the same flood against a bare Starlette endpoint (reads the body, answers 202) under the same
uvicorn settings, and prints the ratio. Figures only, never pass/fail; compare within one run.

Run: ``.venv/bin/python bench/flood.py`` (``--seconds 120`` by default, then ~15 s of baseline);
``--seconds 60`` for a shorter run. It always stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from node.cli import init_node
from node.remote import Signer
from protocol.httpsig import sign_request
from protocol.keys import load_private_pem

HONEST = (("fryslan", "cavage"), ("overijssel", "rfc9421"), ("lvkk", "rfc9421"))
NOISY = "zeeland"
FLOOD = {"noisy_valid": 20, "bad_signature": 12, "tampered_body": 10, "malformed_json": 12,
         "wrong_content_type": 10, "oversized": 1, "unsigned": 15, "made_up_host": 20}
REPORT_SECONDS = 10.0
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- processes -----------------------------------------------------------------------------------

@dataclass
class Served:
    """One server process on a loopback port (a node, or the bare baseline)."""

    name: str
    port: int
    command: list[str]
    log: Path
    environ: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
        env.update(self.environ)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                            env=env)

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited; see {self.log}")
            with suppress(OSError):
                conn = Conn(self.port)
                status, _, _ = await conn.request("GET", "/", {})
                await conn.close()
                if status < 500:
                    return
            await asyncio.sleep(0.2)
        raise SystemExit(f"{self.name} did not answer within {timeout:.0f} s; see {self.log}")

    def rss_mb(self) -> float:
        assert self.process is not None
        with suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def node_process(base: Path, handle: str, environ: dict[str, str]) -> Served:
    port = free_port()
    directory = base / handle
    directory.mkdir()
    init_node(directory, url=f"http://127.0.0.1:{port}", name=handle.title(), handle=handle,
              allow_private_network=True, environ={})
    return Served(handle, port, [sys.executable, "-m", "node.cli", "serve", str(directory),
                                 "--port", str(port)], directory / "serve.log", environ)


def bare_process(base: Path) -> Served:
    port = free_port()
    return Served("bare", port, [sys.executable, __file__, "--bare-server", str(port)],
                  base / "bare.log")


def serve_bare(port: int) -> None:
    """The baseline: a bare Starlette endpoint under the uvicorn settings ``serve`` uses."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def inbox(request: Request) -> Response:
        await request.body()
        return Response(status_code=202)

    async def home(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/inbox", inbox, methods=["POST"]), Route("/", home)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", proxy_headers=True)


# --- a small HTTP/1.1 client -------------------------------------------------------------------

class Conn:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b""
                      ) -> tuple[int, dict[str, str], bytes]:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            try:
                async with asyncio.timeout(30):  # a stuck server cannot stop the benchmark
                    if self.writer is None:
                        self.reader, self.writer = await asyncio.open_connection("127.0.0.1",
                                                                                 self.port)
                    self.writer.write(data)
                    await self.writer.drain()
                    return await self._response()
            except TimeoutError:
                await self.close()  # an answer may still come: this connection is out of step
                raise
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None
        status = int((await self.reader.readuntil(b"\r\n")).split()[1])
        headers: dict[str, str] = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


# --- senders -----------------------------------------------------------------------------------

@dataclass
class Peer:
    handle: str
    origin: str
    actor: str
    rsa: Signer
    ed: Signer
    flavour: str
    counter: itertools.count[int] = field(default_factory=itertools.count)

    @classmethod
    def of(cls, node: Served, directory: Path, flavour: str = "cavage") -> Peer:
        actor = f"http://127.0.0.1:{node.port}/actors/{node.name}"
        with closing(sqlite3.connect(directory / "kennisknoop.db")) as db:
            rsa_id, rsa_pem, ed_id, ed_pem = db.execute(
                "SELECT rsa_key_id, rsa_private_pem, ed_key_id, ed_private_pem FROM actors "
                "WHERE ap_id = ?", (actor,)).fetchone()
        return cls(node.name, f"http://127.0.0.1:{node.port}", actor,
                   Signer(rsa_id, load_private_pem(rsa_pem)), Signer(ed_id, load_private_pem(ed_pem)),
                   flavour)

    def create(self) -> dict[str, Any]:
        n = f"{os.getpid()}-{next(self.counter)}"
        return {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{self.origin}/activities/bench-{n}", "type": "Create",
                "actor": self.actor, "to": [PUBLIC],
                "object": {"id": f"{self.origin}/items/bench-{n}", "type": "Note",
                           "attributedTo": self.actor, "content": f"<p>Bericht {n}</p>",
                           "published": "2026-11-27T08:00:00Z", "to": [PUBLIC]}}

    def sign(self, target: Served, body: bytes, *, key_id: str | None = None,
             content_type: str = "application/activity+json", by: Peer | None = None
             ) -> dict[str, str]:
        """Headers of a POST to ``target``'s inbox signed by this peer (or with ``by``'s key)."""
        signing = by or self
        signer = signing.ed if signing.flavour == "rfc9421" else signing.rsa
        headers = {"Content-Type": content_type, "Host": f"127.0.0.1:{target.port}"}
        headers.update(sign_request(
            "POST", f"http://127.0.0.1:{target.port}/inbox", headers, body, signer.private_key,
            key_id or signer.key_id, now=datetime.now(UTC),
            flavour="rfc9421" if signing.flavour == "rfc9421" else "cavage"))
        return headers


@dataclass
class Tally:
    flood: Counter[str] = field(default_factory=Counter)  # accepted | limited | invalid | error
    honest_sent: int = 0
    honest_accepted: int = 0
    honest_limited: int = 0
    latencies: list[float] = field(default_factory=list)  # honest: first send to 202
    accepted_ids: set[str] = field(default_factory=set)
    samples: list[tuple[dict[str, str], bytes]] = field(default_factory=list)  # for the baseline


def flood_request(kind: str, target: Served, noisy: Peer, honest: list[Peer],
                  rng: random.Random) -> tuple[dict[str, str], bytes]:
    doc = noisy.create()
    body = orjson.dumps(doc)
    if kind == "noisy_valid":
        return noisy.sign(target, body), body
    if kind == "bad_signature":
        return noisy.sign(target, body, key_id=noisy.rsa.key_id, by=rng.choice(honest)), body
    if kind == "tampered_body":
        return noisy.sign(target, body), body.replace(b"Bericht", b"Bericxt")
    if kind == "malformed_json":
        body = body[: len(body) // 2]
        return noisy.sign(target, body), body
    if kind == "wrong_content_type":
        return noisy.sign(target, body, content_type="text/plain"), body
    if kind == "oversized":
        body = orjson.dumps(doc | {"content": "x" * 1_000_000})
        return noisy.sign(target, body), body
    if kind == "unsigned":
        return {"Content-Type": "application/activity+json"}, body
    port = rng.randrange(20_000, 60_000)  # made_up_host: a closed port is another authority
    return noisy.sign(target, body, key_id=f"http://127.0.0.1:{port}/actors/x#k"), body


async def flood_loop(conn: Conn, target: Served, noisy: Peer, honest: list[Peer], tally: Tally,
                     deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    kinds, weights = list(FLOOD), list(FLOOD.values())
    while time.monotonic() < deadline:
        headers, body = flood_request(rng.choices(kinds, weights)[0], target, noisy, honest, rng)
        if len(tally.samples) < 1_000:
            tally.samples.append((headers, body))
        try:
            status, _, _ = await conn.request("POST", "/inbox", headers, body)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            tally.flood["error"] += 1
            continue
        tally.flood["accepted" if status == 202 else "limited" if status in (429, 503)
                    else "invalid" if 400 <= status < 500 else "error"] += 1


async def honest_loop(peer: Peer, target: Served, rate: float, tally: Tally, deadline: float
                      ) -> None:
    conn = Conn(target.port)
    next_at = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0 / rate
        doc, started = peer.create(), time.monotonic()
        tally.honest_sent += 1
        body = orjson.dumps(doc)
        while time.monotonic() < deadline + 30:  # the last ones may still be retried
            try:
                status, headers, _ = await conn.request("POST", "/inbox",
                                                        peer.sign(target, body), body)
            except (OSError, asyncio.IncompleteReadError, TimeoutError):
                await conn.close()
                status, headers = 0, {"retry-after": "1"}
            if status == 202:
                tally.honest_accepted += 1
                tally.latencies.append(time.monotonic() - started)
                tally.accepted_ids.add(doc["id"])
                break
            if status not in (0, 429, 503):
                raise SystemExit(f"honest {peer.handle} got {status}")
            tally.honest_limited += 1
            await asyncio.sleep(float(headers.get("retry-after", "1")))
    await conn.close()


def pending(target_dir: Path) -> int:
    with closing(sqlite3.connect(f"file:{target_dir / 'kennisknoop.db'}?mode=ro", uri=True,
                                 timeout=10)) as db:
        return int(db.execute("SELECT count(*) FROM inbox WHERE state = 'pending'").fetchone()[0])


async def reporter(target: Served, target_dir: Path, tally: Tally, start: float, deadline: float
                   ) -> None:
    print(f"{'t':>5} {'flood/s':>8} {'accepted':>8} {'limited':>8} {'invalid':>8} {'errors':>6} "
          f"{'honest/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'RSS MB':>7} {'backlog':>7}")
    last, last_honest, seen = Counter(tally.flood), 0, 0
    while time.monotonic() < deadline:
        await asyncio.sleep(min(REPORT_SECONDS, max(0.1, deadline - time.monotonic())))
        now = Counter(tally.flood)
        window = now - last
        lat = sorted(tally.latencies[seen:])
        p50 = 1000 * statistics.median(lat) if lat else float("nan")
        p99 = 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
        print(f"{time.monotonic() - start:5.0f} {sum(window.values()) / REPORT_SECONDS:8.0f} "
              f"{window['accepted'] / REPORT_SECONDS:8.1f} "
              f"{window['limited'] / REPORT_SECONDS:8.0f} "
              f"{window['invalid'] / REPORT_SECONDS:8.0f} {window['error']:6d} "
              f"{(tally.honest_accepted - last_honest) / REPORT_SECONDS:8.1f} {p50:7.0f} "
              f"{p99:7.0f} {target.rss_mb():7.1f} {pending(target_dir):7d}", flush=True)
        last, last_honest, seen = now, tally.honest_accepted, len(tally.latencies)


async def run_node_flood(args: argparse.Namespace, base: Path, target: Served,
                         peers: list[Served]
                         ) -> tuple[float, list[tuple[dict[str, str], bytes]]]:
    servers = [target, *peers]
    try:
        for server in servers:
            server.start()
        for server in servers:
            await server.ready()
        honest = [Peer.of(p, base / p.name, flavour)
                  for p, (_, flavour) in zip(peers, HONEST, strict=False)]
        noisy = Peer.of(peers[-1], base / NOISY)
        tally = Tally()
        start = time.monotonic()
        deadline = start + args.seconds
        conns = [Conn(target.port) for _ in range(args.connections)]
        print(f"node flood: {args.connections} connections, {len(honest)} honest peers at "
              f"{args.honest_rate}/s each, {args.seconds:.0f} s; target pid "
              f"{target.process.pid if target.process else '?'}, RSS at start "
              f"{target.rss_mb():.1f} MB")
        await asyncio.gather(
            reporter(target, base / "drenthe", tally, start, deadline),
            *(honest_loop(p, target, args.honest_rate, tally, deadline) for p in honest),
            *(flood_loop(c, target, noisy, honest, tally, deadline, n)
              for n, c in enumerate(conns)))
        elapsed = time.monotonic() - start
        for conn in conns:
            await conn.close()
        flood_rate = sum(tally.flood.values()) / elapsed
        drained = time.monotonic()
        while pending(base / "drenthe") and time.monotonic() - drained < 60:
            await asyncio.sleep(0.5)
        with closing(sqlite3.connect(base / "drenthe" / "kennisknoop.db")) as db:
            stored = {row[0] for row in db.execute("SELECT activity_ap_id FROM inbox")}
            objects = db.execute("SELECT count(*) FROM objects WHERE is_local = 0").fetchone()[0]
        lat = sorted(tally.latencies)
        print(f"\nflood: {sum(tally.flood.values())} requests in {elapsed:.0f} s = "
              f"{flood_rate:.0f}/s; {dict(tally.flood)}")
        print(f"honest: sent {tally.honest_sent}, accepted {tally.honest_accepted} "
              f"(after {tally.honest_limited} refusals), latency p50 "
              f"{1000 * statistics.median(lat):.0f} ms, p99 "
              f"{1000 * lat[int(0.99 * (len(lat) - 1))]:.0f} ms" if lat else "honest: none")
        print(f"stored: {len(stored)} inbox rows ({len(tally.accepted_ids & stored)} of the "
              f"{len(tally.accepted_ids)} honest activities accepted, each once), {objects} "
              f"remote objects; backlog left {pending(base / 'drenthe')}; target RSS "
              f"{target.rss_mb():.1f} MB")
        return flood_rate, tally.samples
    finally:
        for server in servers:
            server.stop()


async def run_bare(args: argparse.Namespace, base: Path,
                   samples: list[tuple[dict[str, str], bytes]]) -> float:
    bare = bare_process(base)
    bare.start()
    try:
        await bare.ready()
        counts: Counter[str] = Counter()
        deadline = time.monotonic() + args.baseline_seconds

        async def loop(seed: int) -> None:
            # The flood's own requests again: the same bytes on the wire, nothing checked.
            conn, rng = Conn(bare.port), random.Random(seed)
            while time.monotonic() < deadline:
                headers, body = rng.choice(samples)
                status, _, _ = await conn.request("POST", "/inbox", headers, body)
                counts[str(status)] += 1
            await conn.close()

        start = time.monotonic()
        await asyncio.gather(*(loop(n) for n in range(args.connections)))
        rate = sum(counts.values()) / (time.monotonic() - start)
        print(f"\nbare baseline: {sum(counts.values())} POSTs in {args.baseline_seconds:.0f} s = "
              f"{rate:.0f}/s ({dict(counts)}); bare RSS {bare.rss_mb():.1f} MB")
        return rate
    finally:
        bare.stop()


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kk-flood-") as tmp:
        base = Path(tmp)
        limits = {f"KENNISKNOOP_LIMITS_{k.upper()}": str(v) for k, v in (
            ("inbox_rate_per_host", args.rate_per_host), ("inbox_rate_total", args.rate_total))
            if v is not None}
        # init_node runs its own event loop: the nodes are made before ours starts.
        target = node_process(base, "drenthe", limits)
        peers = [node_process(base, handle, {}) for handle, _ in HONEST]
        peers.append(node_process(base, NOISY, {}))
        flood_rate, samples = asyncio.run(run_node_flood(args, base, target, peers))
        bare_rate = asyncio.run(run_bare(args, base, samples))
        print(f"ratio: the node answered the flood at {flood_rate / bare_rate:.2f} × the bare "
              f"endpoint's rate ({flood_rate:.0f}/s vs {bare_rate:.0f}/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="flood duration")
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=16, help="flood connections")
    parser.add_argument("--honest-rate", type=float, default=2.0,
                        help="valid activities per second from each honest peer")
    parser.add_argument("--rate-per-host", type=int, default=None,
                        help="limits.inbox_rate_per_host of the target (default: its default)")
    parser.add_argument("--rate-total", type=int, default=None,
                        help="limits.inbox_rate_total of the target (default: its default)")
    parser.add_argument("--bare-server", type=int, default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.bare_server is not None:
        serve_bare(arguments.bare_server)
    else:
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs")
        main(arguments)
