"""How costs grow: delivery time against follower inboxes, memory against corpus size.

Issue 13 asks ``make bench`` to print, beside its figures, how each cost grows:

1. Delivery: one item by the node actor, delivered by one worker (``run_until_idle``) over
   real loopback sockets to 10, 100 and 1,000 follower inboxes — initiative actors of one real
   node app under uvicorn (the receiving server of ``bench/federation.py``, in its own process),
   held by the origin without their shared inbox, so each is its own POST as on that many
   servers. Followers are added between rows (10, then 90 more, then 900 more); each row is the
   wall-clock time from the worker's first claim to the last ``sent`` outcome, and the CPU the
   sending process used for it. Last row: the same 1,000 followers *with* their shared inbox
   (as they are: one server), which delivery de-duplicates to one POST.
2. Memory: a node made by ``kennisknoop import`` of 1,000 and of 10,000 items
   (``bench/importing.py``), its process's RSS idle and after serving every item once
   (``bench/memory.py``), with the import rate and the database bytes per item of each.

No baselines: these are growth lines, not ratios. Run:
``.venv/bin/python -m bench.growth [--quick] [--inboxes 10,100,1000] [--items 1000,10000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import federation, importing
from bench.peer import serve_node
from bench.results import Figure, table
from node.app import create_app
from node.services.actors import ensure_node_actor
from node.services.context import NodeContext
from node.services.items import create_item
from node.services.permissions import SYSTEM
from node.services.resolve import _remote_values
from node.store import actors as actor_store
from node.store import deliveries as delivery_store
from node.store.schema import deliveries, follows
from node.worker import run_until_idle
from protocol.parse import parse_actor
from tests import dbs
from tests.federation.harness import Node, node_settings
from tests.keys import pool_keygen
from tests.servers import free_port

SOURCE = "bench/growth.py"
INBOXES = (10, 100, 1000)
ITEMS = (1000, 10_000)
QUICK_INBOXES = (3, 10)
QUICK_ITEMS = (100, 300)


async def _followers(ctx: NodeContext, documents: Sequence[dict[str, Any]], *,
                     shared: bool) -> None:
    """``documents``' actors as accepted followers of the node actor (a follow row made once),
    cached as ``fetch_actor`` caches them, with or without their shared inbox."""
    now = ctx.now()
    async with ctx.db.transaction() as session:
        node = await actor_store.get_node(session)
        assert node is not None
        known = set((await session.execute(select(follows.c.follower).where(
            follows.c.followee == node.ap_id))).scalars())
        for document in documents:
            values = _remote_values(parse_actor(document), now)
            if not shared:
                values["shared_inbox"] = None
            await actor_store.upsert_remote(session, document["id"], **values)
        new = [d["id"] for d in documents if d["id"] not in known]
        if new:
            await session.execute(insert(follows), [
                {"follower": ap_id, "followee": node.ap_id, "state": "accepted",
                 "created_at": now, "updated_at": now} for ap_id in new])


async def _deliver_one(ctx: NodeContext, i: int) -> tuple[int, float, float]:
    """One item delivered to every follower: (POSTs sent, seconds, CPU seconds of this
    process); every delivery must end ``sent``."""
    async with ctx.db.sessions() as session:
        before = (await delivery_store.counts(session)).get("sent", 0)
    await create_item(ctx, federation._item(i), SYSTEM)
    async with ctx.db.sessions() as session:
        waiting = int((await session.execute(select(func.count()).select_from(deliveries).where(
            deliveries.c.state != "sent"))).scalar_one())
    start, cpu = time.perf_counter(), time.process_time()
    await run_until_idle(ctx)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    async with ctx.db.sessions() as session:
        counts = await delivery_store.counts(session)
    if counts.get("sent", 0) - before != waiting or len(counts) != 1:
        raise RuntimeError(f"deliveries after draining: {counts}, expected {waiting} more sent")
    return waiting, seconds, cpu


async def delivery(tmp: Path, counts: Sequence[int]) -> list[Figure]:
    """Delivery time of one item to each of ``counts`` follower inboxes, then to the largest
    count sharing one inbox."""
    port, template = free_port(), dbs.sqlite_template(tmp)
    directory = tmp / "growth-origin"
    directory.mkdir()
    app = create_app(node_settings(directory, "https://origin.test", "Oorsprong", "origin",
                                   dbs.fresh_sqlite(template, directory)), keygen=pool_keygen())
    figures = []
    async with app.router.lifespan_context(app):  # its own httpx client: real sockets
        origin = Node("origin", app, app.state.ctx)
        await ensure_node_actor(origin.ctx)
        receiver, database_url, documents = await federation._prepare_receiver(
            tmp, port, max(counts), origin,
            lambda directory, _name: dbs.fresh_sqlite(template, directory))
        server = serve_node(receiver, port, database_url)
        try:
            await federation._wait_ready(f"http://127.0.0.1:{port}", server.popen, server.log)
            for i, n in enumerate(sorted(counts)):
                await _followers(origin.ctx, documents[:n], shared=False)
                figures += _delivery_figures(f"{n:,} follower inboxes", n,
                                             *await _deliver_one(origin.ctx, i))
            n = max(counts)
            await _followers(origin.ctx, documents[:n], shared=True)
            figures += _delivery_figures(f"{n:,} followers on one server (shared inbox)", 1,
                                         *await _deliver_one(origin.ctx, len(counts)))
        finally:
            server.stop()
    return figures


def _delivery_figures(label: str, expected: int, posts: int, seconds: float, cpu: float
                      ) -> list[Figure]:
    if posts != expected:
        raise RuntimeError(f"{label}: {posts} POSTs, expected {expected}")
    name = f"growth: delivery of 1 item to {label}, {posts:,} POST{'s' if posts > 1 else ''}"
    return [Figure(name, seconds * 1e3, "ms", source=SOURCE),
            Figure(f"{name} [CPU of the sender]", cpu * 1e3, "ms", source=SOURCE)]


def memory(sizes: Sequence[int]) -> list[Figure]:
    """Per corpus size: RSS idle and after serving every item; import rate; bytes per item."""
    figures = []
    for items in sizes:
        m = importing.measure(items)
        assert m.memory is not None
        label = f"{m.items:,} items"
        figures += [
            Figure(f"growth: memory, RSS of a node process idle, {label}", m.memory.idle_mib,
                   "MiB", source=SOURCE),
            Figure(f"growth: memory, RSS after serving all {label} once", m.memory.served_mib,
                   "MiB", source=SOURCE),
            Figure(f"growth: memory, peak RSS (VmHWM), {label}", m.memory.peak_mib, "MiB",
                   source=SOURCE),
            Figure(f"growth: `kennisknoop import` items/s, {label}", m.rate, "items/s",
                   source=SOURCE),
            Figure(f"growth: SQLite bytes per item, {label}", m.bytes_per_item, "B",
                   source=SOURCE)]
    return figures


def measure(inboxes: Sequence[int], items: Sequence[int]) -> list[Figure]:
    figures = []
    if inboxes:
        with tempfile.TemporaryDirectory(prefix="kk-bench-growth-") as name:
            figures += asyncio.run(delivery(Path(name), inboxes))
    if items:
        figures += memory(items)
    return figures


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.replace("_", "").split(",") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--inboxes", type=_sizes, help="follower inbox counts (empty: none)")
    parser.add_argument("--items", type=_sizes, help="corpus sizes for memory (empty: none)")
    args = parser.parse_args(argv)
    inboxes = args.inboxes if args.inboxes is not None else (
        QUICK_INBOXES if args.quick else INBOXES)
    items = args.items if args.items is not None else QUICK_ITEMS if args.quick else ITEMS
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    figures = measure(inboxes, items)
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print(table(figures))


if __name__ == "__main__":
    main()
