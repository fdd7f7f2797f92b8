"""Scale benchmark: delivery and inbox throughput of 1, 2 and 4 ``kennisknoop worker`` processes.

For each configuration — 1, 2 and 4 workers on PostgreSQL, 1 on SQLite — a fresh node is
initialised and the workers are started as real processes; the clock runs from the first
finished row (start-up excluded) until every row is finished. Two kinds of work:

- deliveries: ``--deliveries`` deliveries of one signed activity queued to loopback inboxes
  (``--receivers`` bare Starlette endpoints in one separate uvicorn process each, answering 202),
  done when every delivery row is ``sent``;
- inbox: ``--inbox`` received ``Create`` activities (each embedding a new ``Note`` of a remote
  actor, so applying one stores an object, its search entry and its feeds, with no network)
  stored as inbox rows, done when every row is ``done``.

Printed: rows per second per configuration and the ratio to one PostgreSQL worker. Figures
only, never pass/fail; compare within one run.

Run: ``.venv/bin/python bench/scale.py`` (``--deliveries 400 --inbox 400`` by default; 0 skips
a kind; PostgreSQL on 127.0.0.1:5432 with trust auth, as the tests use). On a 2-core machine
the ratios flatten beyond two workers: each step is CPU work (RSA signing or parsing, JSON, the
database round trips) in the worker, and the receivers and PostgreSQL share the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import func, select

# Run as a script, bench/ is sys.path[0] and its node.py would shadow the package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from node.cli import init_node, load, open_context  # noqa: E402
from node.services.outbox import publish_activity  # noqa: E402
from node.store import actors as actor_store  # noqa: E402
from node.store import deliveries as delivery_store  # noqa: E402
from node.store import inbox as inbox_store  # noqa: E402
from node.store.schema import deliveries, inbox  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
RECEIVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def inbox(request):
    await request.body()
    return Response(status_code=202)
app = Starlette(routes=[Route("/inbox/{n}", inbox, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"receiver on port {port} did not start")


async def _queue(directory: Path, urls: list[str]) -> None:
    async with open_context(load(directory)) as ctx, ctx.db.transaction() as session:
        node = await actor_store.get_node(session)
        assert node is not None
        stored = await publish_activity(ctx, session, actor=node, type="Update",
                                        obj=node.document or {}, followers=False)
        await delivery_store.enqueue(session, activity_ap_id=stored.ap_id, signer=node.ap_id,
                                     inboxes=[(u, u.split("/")[2]) for u in urls], now=ctx.now())


async def _receive(directory: Path, total: int) -> None:
    """``total`` inbox rows as the inbox stores them: verified, waiting to be applied."""
    actor = "https://fryslan.test/actors/bron"
    public = ["https://www.w3.org/ns/activitystreams#Public"]
    async with open_context(load(directory)) as ctx, ctx.db.transaction() as session:
        for n in range(total):
            ap_id = f"https://fryslan.test/activities/{n}"
            note = {"id": f"https://fryslan.test/objects/{n}", "type": "Note",
                    "attributedTo": actor, "name": f"Bericht {n}", "content": f"Bericht {n}",
                    "published": "2026-01-01T00:00:00Z", "to": public}
            activity = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Create",
                        "id": ap_id, "actor": actor, "object": note, "to": public}
            await inbox_store.add(session, activity_ap_id=ap_id, actor=actor,
                                  type="Create", recipient=None, document=activity,
                                  now=ctx.now(), host="fryslan.test")


DONE = {"deliveries": deliveries.c.state == "sent", "inbox": inbox.c.state == "done"}


async def _finished(directory: Path, kind: str) -> int:
    async with open_context(load(directory)) as ctx, ctx.db.sessions() as session:
        query = select(func.count()).where(DONE[kind])
        return int((await session.execute(query)).scalar() or 0)


def run_one(kind: str, database: str, workers: int, total: int, receivers: list[int],
            work: Path) -> float:
    """Rows of ``kind`` per second of ``workers`` worker processes on ``database`` ("" =
    SQLite)."""
    directory = work / f"node-{uuid.uuid4().hex[:8]}"
    init_node(directory, url="http://127.0.0.1:9", name="Schaal", handle="schaal",
              database=database or None, allow_private_network=True, environ={})
    if kind == "deliveries":
        urls = [f"http://127.0.0.1:{receivers[n % len(receivers)]}/inbox/{n}"
                for n in range(total)]
        asyncio.run(_queue(directory, urls))
    else:
        asyncio.run(_receive(directory, total))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    launched = time.monotonic()
    processes = [subprocess.Popen([sys.executable, "-m", "node.cli", "worker", str(directory)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                 for _ in range(workers)]
    try:
        # The clock starts at the first finished row: process start-up (imports, connecting)
        # is not throughput, and on a loaded machine it would dominate.
        started, first = None, 0
        while (done := asyncio.run(_finished(directory, kind))) < total:
            if started is None and done:
                started, first = time.monotonic(), done
            if time.monotonic() - launched > 900:
                raise SystemExit("not done within 15 minutes")
            time.sleep(0.1)
        if started is None:
            started, first = launched, 0
        elapsed = max(time.monotonic() - started, 1e-3)
        total -= first
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
    return total / elapsed


def _pg_database() -> str:
    name = f"kk_bench_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--deliveries", type=int, default=400)
    parser.add_argument("--inbox", type=int, default=400)
    parser.add_argument("--receivers", type=int, default=4)
    args = parser.parse_args()
    sizes = {"deliveries": args.deliveries, "inbox": args.inbox}
    ports = [_free_port() for _ in range(args.receivers)]
    servers = [subprocess.Popen([sys.executable, "-c", RECEIVER, str(p)]) for p in ports]
    try:
        for port in ports:
            _wait_for_port(port, time.monotonic() + 30)
        results: dict[str, list[tuple[str, float]]] = {}
        with tempfile.TemporaryDirectory(prefix="kk-bench-scale-") as tmp:
            for kind, total in sizes.items():
                if total <= 0:
                    continue
                results[kind] = rows = []
                for label, workers in (("postgresql", 1), ("postgresql", 2), ("postgresql", 4),
                                       ("sqlite", 1)):
                    url = _pg_database() if label == "postgresql" else ""
                    try:
                        rate = run_one(kind, url, workers, total, ports, Path(tmp))
                    finally:
                        if url:
                            _drop(url)
                    rows.append((f"{label}, {workers} worker{'s' if workers > 1 else ''}", rate))
                    print(f"{kind:<10} {rows[-1][0]:<24} {rate:8.1f} rows/s", flush=True)
        print(f"\n{os.cpu_count()} cores")
        for kind, rows in results.items():
            what = (f"{args.deliveries} deliveries to {args.receivers} loopback inboxes"
                    if kind == "deliveries" else f"{args.inbox} inbox rows applied (Create Note)")
            print(f"\n{what}")
            base = rows[0][1]
            for label, rate in rows:
                print(f"{label:<24} {rate:8.1f}/s  x{rate / base:.2f}")
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
