"""Scale benchmark: delivery throughput of 1, 2 and 4 ``kennisknoop worker`` processes.

For each configuration — 1, 2 and 4 workers on PostgreSQL, 1 on SQLite — a fresh node is
initialised, ``--deliveries`` deliveries of one signed activity are queued to loopback inboxes
(``--receivers`` bare Starlette endpoints in one separate uvicorn process each, answering 202),
then the workers are started as real processes; the clock runs from the first sent delivery
(start-up excluded) until every delivery row is ``sent``. Printed: deliveries per second per
configuration and the ratio to one PostgreSQL worker. Figures only, never pass/fail; compare
within one run.

Run: ``.venv/bin/python bench/scale.py`` (``--deliveries 400`` by default; PostgreSQL on
127.0.0.1:5432 with trust auth, as the tests use). On a 2-core machine the ratios flatten beyond
two workers: each delivery is CPU work (RSA signing, JSON, the database round trips) in the
worker, and the receivers and PostgreSQL share the same two cores.
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
from node.store.schema import deliveries  # noqa: E402

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


async def _sent(directory: Path) -> int:
    async with open_context(load(directory)) as ctx, ctx.db.sessions() as session:
        query = select(func.count()).where(deliveries.c.state == "sent")
        return int((await session.execute(query)).scalar() or 0)


def run_one(database: str, workers: int, total: int, receivers: list[int], work: Path) -> float:
    """Deliveries per second of ``workers`` worker processes on ``database`` ("" = SQLite)."""
    directory = work / f"node-{uuid.uuid4().hex[:8]}"
    init_node(directory, url="http://127.0.0.1:9", name="Schaal", handle="schaal",
              database=database or None, allow_private_network=True, environ={})
    urls = [f"http://127.0.0.1:{receivers[n % len(receivers)]}/inbox/{n}" for n in range(total)]
    asyncio.run(_queue(directory, urls))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    launched = time.monotonic()
    processes = [subprocess.Popen([sys.executable, "-m", "node.cli", "worker", str(directory)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
                 for _ in range(workers)]
    try:
        # The clock starts at the first sent delivery: process start-up (imports, connecting)
        # is not delivery throughput, and on a loaded machine it would dominate.
        started, first = None, 0
        while (sent := asyncio.run(_sent(directory))) < total:
            if started is None and sent:
                started, first = time.monotonic(), sent
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
    parser.add_argument("--receivers", type=int, default=4)
    args = parser.parse_args()
    ports = [_free_port() for _ in range(args.receivers)]
    servers = [subprocess.Popen([sys.executable, "-c", RECEIVER, str(p)]) for p in ports]
    try:
        for port in ports:
            _wait_for_port(port, time.monotonic() + 30)
        results: list[tuple[str, float]] = []
        with tempfile.TemporaryDirectory(prefix="kk-bench-scale-") as tmp:
            for label, workers in (("postgresql", 1), ("postgresql", 2), ("postgresql", 4),
                                   ("sqlite", 1)):
                url = _pg_database() if label == "postgresql" else ""
                try:
                    rate = run_one(url, workers, args.deliveries, ports, Path(tmp))
                finally:
                    if url:
                        _drop(url)
                results.append((f"{label}, {workers} worker{'s' if workers > 1 else ''}", rate))
                print(f"{results[-1][0]:<24} {rate:8.1f} deliveries/s", flush=True)
        base = results[0][1]
        print(f"\n{args.deliveries} deliveries to {args.receivers} loopback inboxes; "
              f"{os.cpu_count()} cores")
        for label, rate in results:
            print(f"{label:<24} {rate:8.1f}/s  x{rate / base:.2f}")
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
