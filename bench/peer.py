"""A peer: the same signed activities POSTed to bovine-herd's inbox and to ours, over loopback.

Issue 13's last row: ``bovine-herd`` (benchmark-only, on loopback) beside our inbox in the same
run; target ours ≥ herd's. Three servers on 127.0.0.1, nothing in process on either inbox side:

- the peer: bovine-herd 0.5.19 (bovine-store on SQLite, Quart under Hypercorn, one process),
  started from its own virtualenv ``.venv-interop/`` exactly as the interop test starts it
  (``tests/interop/peer/herd_server.py``; the virtualenv is built on first use from
  ``tests/interop/peer/requirements.txt``);
- ours: the node app under uvicorn, one web process, a real SQLite file, no worker (accepted
  means stored, ``POST /inbox`` → 202) — the receiving server of ``bench/federation.py``, with its
  flood limits off;
- the sender: a Kennisknoop node served by uvicorn inside this script, so that both inboxes
  fetch its node actor (and key) over HTTP like any remote sender's.

The activities are that node's signed ``Create``s of its own items (≈ 8 KB each, an item with a
place and a theme, eddsa-jcs-2022 proofs), each signed (cavage, RSA-2048, ``Digest``, as
Mastodon signs) once for each inbox's URL just before a batch is sent; the same bodies go to
both. One warm-up POST to each first, so each side has fetched the sender's actor; then batches
alternate (ours, herd; herd, ours; …) at the same concurrency from one httpx client. Figures:
activities accepted per second of wall clock (first POST to last answer) and per CPU second of
the server process (all its threads, counted until it is idle again, so work deferred past the
answers counts too; this machine is shared, so the CPU figure is the steadier one), medians of
the repetitions; the ratio is ours / herd's.

Run: ``.venv/bin/python -m bench.peer [--quick] [--count N] [--reps R] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import federation
from bench.federation import HEADERS, Posted, _create_documents, _item, _node_key, _post_many
from bench.results import Figure, paired, table
from node.app import create_app
from node.services.actors import ensure_node_actor
from node.services.items import create_item
from node.services.permissions import SYSTEM
from protocol.httpsig import sign_request
from tests import dbs
from tests.federation.harness import Node, node_settings
from tests.keys import pool_keygen
from tests.servers import free_port

# How the interop suite builds the herd's virtualenv and starts processes, imported by name: mypy
# would follow the module into fediverse_pasture, which ships no type information.
interop: Any = importlib.import_module("tests.interop.conftest")
SOURCE = "bench/peer.py"
HERD = "bovine-herd 0.5.19 inbox (Hypercorn, bovine-store on SQLite)"


@dataclass(frozen=True)
class Sizes:
    count: int  # activities per batch
    reps: int  # batches per side
    concurrency: int  # POSTs in flight


FULL = Sizes(100, 5, 8)
QUICK = Sizes(20, 2, 8)


@dataclass(frozen=True)
class Inbox:
    name: str
    url: str
    pid: int


@dataclass
class Samples:
    wall: list[float]
    cpu: list[float]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all its threads (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _until_idle(pid: int, timeout: float = 30.0) -> float:
    """The process's CPU seconds once it has stopped working (under 10 ms of CPU in 250 ms):
    work a server defers past its answer is counted with the batch that caused it."""
    last, deadline = cpu_seconds(pid), time.monotonic() + timeout
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return now
        last = now
    return last


def _signed(documents: list[bytes], url: str, key: rsa.RSAPrivateKey, key_id: str
            ) -> list[tuple[str, dict[str, str], bytes]]:
    return [(url, {**HEADERS, **sign_request("POST", url, HEADERS, body, key, key_id)}, body)
            for body in documents]


async def _batch(client: httpx.AsyncClient, inbox: Inbox,
                 requests: list[tuple[str, dict[str, str], bytes]], concurrency: int
                 ) -> tuple[float, float]:
    """Accepted/s of wall clock and per CPU second of the server taking ``requests``."""
    cpu = cpu_seconds(inbox.pid)
    posted: Posted = await _post_many(client, len(requests), concurrency, requests.__getitem__)
    used = await _until_idle(inbox.pid) - cpu
    if posted.failed:
        raise RuntimeError(f"{inbox.name}: {len(posted.failed)} of {len(requests)} POSTs "
                           f"failed: {sorted(posted.reasons)}")
    return posted.rate, len(requests) / used if used else 0.0


@asynccontextmanager
async def _sender(tmp: Path, template: Path) -> AsyncIterator[Node]:
    """A node on 127.0.0.1 under uvicorn in this process: both inboxes fetch its actor."""
    port = free_port()
    directory = tmp / "sender"
    directory.mkdir()
    settings = node_settings(directory, f"http://127.0.0.1:{port}", "Oorsprong", "origin",
                             dbs.fresh_sqlite(template, directory))
    app = create_app(settings, keygen=pool_keygen())
    async with app.router.lifespan_context(app):
        await ensure_node_actor(app.state.ctx)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        try:
            yield Node("origin", app, app.state.ctx)
        finally:
            server.should_exit = True
            await task


def _start_herd(tmp: Path) -> tuple[Any, str, Path]:
    """bovine-herd with one actor, ``kees``, as the interop test starts it (not yet waited for)."""
    directory = tmp / "herd"
    directory.mkdir()
    port = free_port()
    process = interop.start_process(
        "bovine-herd", [str(interop.ensure_peer_venv()),
                        str(interop.PEER_DIR / "herd_server.py"), str(port), str(directory),
                        "kees"],
        log=directory / "herd.log", cwd=directory, env=interop.clean_environ())
    return process, f"http://127.0.0.1:{port}", directory


def serve_node(directory: Path, port: int, database_url: str) -> Any:
    """``bench/federation.py --serve``: the node app of ``directory`` under uvicorn in its own
    process, as an interop ``Process`` (``.popen``, ``.log``, ``.stop()``)."""
    log = directory.parent / f"{directory.name}-serve.log"
    return interop.start_process(
        "kennisknoop (uvicorn)", [sys.executable, federation.__file__, "--serve",
                                  str(directory), str(port), database_url],
        log=log, cwd=directory, env=dict(os.environ))


async def _start_ours(tmp: Path, template: Path) -> tuple[Any, str]:
    """Our node under uvicorn (``bench/federation.py --serve``), its node actor created first."""
    port = free_port()
    directory = tmp / "ours"
    directory.mkdir()
    database_url = dbs.fresh_sqlite(template, directory)
    app = create_app(federation._receiver_settings(directory, port, database_url),
                     keygen=pool_keygen())
    async with app.router.lifespan_context(app):
        await ensure_node_actor(app.state.ctx)
    return serve_node(directory, port, database_url), f"http://127.0.0.1:{port}"


async def _documents(sender: Node, count: int) -> list[bytes]:
    ap_ids = [(await create_item(sender.ctx, _item(i), SYSTEM)).ap_id for i in range(count)]
    return [orjson.dumps(d) for d in await _create_documents(sender.ctx, ap_ids)]


async def compare(sizes: Sizes) -> tuple[Samples, Samples]:
    """(ours, herd's) accepted/s, wall clock and per server CPU second, one sample per batch."""
    with tempfile.TemporaryDirectory(prefix="kk-bench-peer-") as name:
        tmp = Path(name)
        template = dbs.sqlite_template(tmp)
        herd, herd_base, herd_dir = _start_herd(tmp)  # boots while the rest is set up
        ours, ours_base = await _start_ours(tmp, template)
        try:
            async with _sender(tmp, template) as sender:
                key, key_id, _, _ = await _node_key(sender.ctx)
                documents = await _documents(sender, 1 + sizes.count * sizes.reps)
                await federation._wait_ready(ours_base, ours.popen, ours.log)
                await asyncio.to_thread(herd.wait_until_responds,
                                        f"{herd_base}/.well-known/nodeinfo")
                facts = json.loads((herd_dir / "actor.json").read_text())
                inboxes = [Inbox("ours", f"{ours_base}/inbox", ours.popen.pid),
                           Inbox("bovine-herd", str(facts["actor"]["inbox"]), herd.popen.pid)]
                return await _alternate(inboxes, documents, key, key_id, sizes)
        finally:
            herd.stop()
            ours.stop()
    raise AssertionError("unreachable")


async def _alternate(inboxes: list[Inbox], documents: list[bytes], key: rsa.RSAPrivateKey, key_id: str,
                     sizes: Sizes) -> tuple[Samples, Samples]:
    samples = {inbox.name: Samples([], []) for inbox in inboxes}
    async with httpx.AsyncClient(timeout=60.0) as client:
        for inbox in inboxes:  # warm-up: each side fetches the sender's actor once
            await _batch(client, inbox, _signed(documents[:1], inbox.url, key, key_id), 1)
        for rep in range(sizes.reps):
            batch = documents[1 + rep * sizes.count:1 + (rep + 1) * sizes.count]
            for inbox in inboxes if rep % 2 == 0 else inboxes[::-1]:
                requests = _signed(batch, inbox.url, key, key_id)
                wall, cpu = await _batch(client, inbox, requests, sizes.concurrency)
                samples[inbox.name].wall.append(wall)
                samples[inbox.name].cpu.append(cpu)
                print(f"  {inbox.name:<12} batch {rep + 1}: {wall:7.1f} /s, {cpu:7.1f} per CPU "
                      "second", flush=True)
    return samples["ours"], samples["bovine-herd"]


def figures(ours: Samples, herd: Samples, sizes: Sizes) -> list[Figure]:
    name = (f"a peer: signed Creates accepted/s, {sizes.concurrency} at once, our inbox "
            "(uvicorn, SQLite) against bovine-herd's, same activities over loopback")
    return [paired(name, "activities/s", ours.wall, HERD, herd.wall, target={"ratio_min": 1.0},
                   source=SOURCE),
            paired(f"{name} [CPU]", "activities/s", ours.cpu, HERD, herd.cpu, source=SOURCE)]


def measure(sizes: Sizes) -> list[Figure]:
    return figures(*asyncio.run(compare(sizes)), sizes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small batches: a smoke run")
    parser.add_argument("--count", type=int, help="activities per batch")
    parser.add_argument("--reps", type=int, help="batches per side")
    parser.add_argument("--concurrency", type=int, help="POSTs in flight")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else FULL
    sizes = Sizes(args.count or base.count, args.reps or base.reps,
                  args.concurrency or base.concurrency)
    start = time.perf_counter()
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    result = measure(sizes)
    print(f"load average {os.getloadavg()[0]:.1f} at the end, "
          f"{time.perf_counter() - start:.0f} s\n")
    print(table(result))


if __name__ == "__main__":
    main()
