"""Two ``kennisknoop worker`` processes share one PostgreSQL queue (issue 14, "Scale past one
process"): every delivery is sent, none twice while both live, none lost when one is killed.

Deliveries are claimed with ``FOR UPDATE SKIP LOCKED`` (``node.store._claim``); a worker killed
with SIGKILL leaves its leased rows, which come back when the lease (here 15 s) runs out. What it
had in flight at the kill may arrive twice (sent, but the kill came before the row was written):
the receiving inbox drops such a duplicate by its activity id, so the test bounds the duplicates
by one worker batch and requires every inbox to have its delivery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from node.cli import init_node, load, open_context
from node.services.outbox import publish_activity
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store.schema import deliveries
from node.worker import BATCH
from tests import dbs
from tests.servers import serve_in_thread

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# The issue asks for 5,000; on the shared 2-core test machine two workers send about 7 a second
# (measured: 400 in 60 s with the kill and the 3 s lease), so the default is 400 and
# KK_SCALE_DELIVERIES=5000 runs the full figure (docs/operations.md, "Several processes").
DELIVERIES = int(os.environ.get("KK_SCALE_DELIVERIES", "400"))
RECEIVERS = 4  # loopback ports, so four hosts share the work (PER_HOST limits one host)
DEADLINE = max(240.0, DELIVERIES * 0.25)  # seconds per wait; ~7 deliveries/s measured here


class Inboxes:
    """What the loopback inboxes received: one count per inbox path."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: Counter[str] = Counter()

    def app(self) -> Starlette:
        async def inbox(request: Request) -> Response:
            await request.body()
            with self.lock:
                self.received[request.url.path] += 1
            return Response(status_code=202)
        return Starlette(routes=[Route("/inbox/{n}", inbox, methods=["POST"])])

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


@pytest.fixture
def database() -> Iterator[str]:
    dbs.require_postgres()
    url = dbs.create_pg_database("kk_scale")
    yield url
    dbs.drop_pg_database(url)


async def _queue(directory: Path, urls: list[str]) -> None:
    """One signed activity of the node actor, queued for every inbox in ``urls``."""
    async with open_context(load(directory)) as ctx, ctx.db.transaction() as session:
        node = await actor_store.get_node(session)
        assert node is not None
        stored = await publish_activity(ctx, session, actor=node, type="Update",
                                        obj=node.document or {}, followers=False)
        await delivery_store.enqueue(session, activity_ap_id=stored.ap_id,
                                     signer=node.ap_id, inboxes=[
                                         (u, u.split("/")[2]) for u in urls], now=ctx.now())


async def _states(directory: Path) -> dict[str, int]:
    async with open_context(load(directory)) as ctx, ctx.db.sessions() as session:
        rows = await session.execute(select(deliveries.c.state, func.count())
                                     .group_by(deliveries.c.state))
        return {state: n for state, n in rows}


def _worker(directory: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "node.cli", "worker", str(directory)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait(condition: object, what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)  # a real process: poll, bounded
    pytest.fail(f"{what} within {DEADLINE:.0f} s:\n" + "\n".join(
        p.read_text(errors="replace")[-2000:] for p in logs))


def test_two_worker_processes_deliver_everything_and_a_killed_one_loses_nothing(
        tmp_path: Path, database: str) -> None:
    # Given a node on PostgreSQL with DELIVERIES deliveries queued to loopback inboxes
    directory = tmp_path / "node"
    init_node(directory, url="http://127.0.0.1:9", name="Schaal", handle="schaal",
              database=database, allow_private_network=True, environ={})
    config = directory / "kennisknoop.toml"
    # Short, so the killed worker's rows come back soon; a live worker renews its rows' lease
    # every third of it (without renewal a CI run under load sent 57 of 400 twice).
    config.write_text(config.read_text().replace("lease_seconds = 300", "lease_seconds = 15"))
    inboxes = Inboxes()
    with ExitStack() as stack:
        bases = [stack.enter_context(serve_in_thread(inboxes.app())) for _ in range(RECEIVERS)]
        urls = [f"{bases[n % RECEIVERS]}/inbox/{n}" for n in range(DELIVERIES)]
        asyncio.run(_queue(directory, urls))
        # When two worker processes drain the queue, and one is killed with SIGKILL halfway
        logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
        workers = [_worker(directory, log) for log in logs]
        started = time.monotonic()
        try:
            _wait(lambda: inboxes.total() >= DELIVERIES // 2, "half the deliveries", logs)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            _wait(lambda: asyncio.run(_states(directory)) == {"sent": DELIVERIES},
                  "every delivery sent", logs)
            elapsed = time.monotonic() - started
        finally:
            for process in workers:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
    # Then every inbox got its delivery, and only what the killed worker had in flight twice
    paths = {f"/inbox/{n}" for n in range(DELIVERIES)}
    assert set(inboxes.received) == paths
    duplicates = sum(count - 1 for count in inboxes.received.values())
    assert duplicates <= BATCH, duplicates
    print(f"{DELIVERIES} deliveries by 2 worker processes (one killed halfway) in "
          f"{elapsed:.1f} s; {duplicates} sent twice")
