"""Backfill benchmark: a new follower pages a 10,000-item outbox, beside a bare baseline.

In process (tests/federation/harness.py: two nodes over ``httpx.ASGITransport``, one SQLite
file each): the origin holds N stories by its node actor (made with the batched writer of
``node.services.bulk``, as an import makes them: signed, with their Create activities); a new
node follows it and its worker pages the whole outbox (``sync_followee``), both workers in turn
until idle. Figures: items/s from ``follow()`` to all stored (both nodes' work: the origin
serving pages too), and items per second of the follower's worker alone.

Baseline (issue 13): a bare proof verify + insert of the same items — ``verify_proof`` of each
item document against its author's key, and a plain ``sqlite3`` ``executemany`` of
(IRI, document) into a table with a unique IRI, 500 rows per transaction (the batch the
follower uses).

Run: ``nice .venv/bin/python -m bench.backfill --items 10000``; ``bench.run`` calls
:func:`measure`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from sqlalchemy import func, select

from node.services import bulk, sync
from node.services.follow import follow
from node.services.inputs import item_input
from node.services.permissions import SYSTEM
from node.services.resolve import ed25519_key, resolve_key
from node.store.schema import objects
from node.worker import run_once
from protocol.proofs import verify_proof
from tests.federation.harness import federation

TEXT = ("De dorpscoöperatie wekt sinds 2019 haar eigen stroom op met 1.200 panelen op het dak van "
        "de oude zuivelfabriek. **Wat werkte:** vroeg beginnen met ledenwerving en een vaste avond "
        "per maand in het dorpshuis.\n\n- statuten staan in de bijlage\n")


@dataclass(frozen=True)
class Measured:
    items: int
    total_seconds: float  # follow() → all stored, both nodes
    worker_seconds: float  # the follower's worker
    worker_cpu: float  # CPU of the whole process while the follower's worker ran
    bare_seconds: float
    bare_cpu: float

    @property
    def rate(self) -> float:
        return self.items / self.total_seconds

    @property
    def worker_rate(self) -> float:
        return self.items / self.worker_seconds

    @property
    def worker_cpu_rate(self) -> float:
        return self.items / self.worker_cpu

    @property
    def bare_rate(self) -> float:
        return self.items / self.bare_seconds

    @property
    def bare_cpu_rate(self) -> float:
        return self.items / self.bare_cpu


def _bare(documents: list[bytes], key: object, path: Path) -> tuple[float, float]:
    """Verify each document's proof and insert it: (seconds, CPU seconds)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, ap_id TEXT NOT NULL UNIQUE, "
               "document TEXT NOT NULL)")
    start, cpu = time.perf_counter(), time.process_time()
    rows: list[tuple[str, str]] = []
    for raw in documents:
        document = orjson.loads(raw)  # as received
        verify_proof(document, key)  # type: ignore[arg-type]
        rows.append((document["id"], raw.decode()))
        if len(rows) == sync.BATCH:
            with db:
                db.executemany("INSERT INTO items (ap_id, document) VALUES (?, ?)", rows)
            rows = []
    with db:
        db.executemany("INSERT INTO items (ap_id, document) VALUES (?, ?)", rows)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return seconds, cpu


async def _measure(items: int, tmp: Path) -> Measured:
    async with federation(tmp, ["origin", "nieuwkomer"]) as fed:
        origin, newcomer = fed["origin"], fed["nieuwkomer"]
        for at in range(0, items, 1_000):
            await bulk.create_items(origin.ctx, [
                bulk.NewItem(bulk.new_item_iri(origin.ctx), item_input(
                    kind="story", title=f"Zonnedak op de zuivelfabriek ({n})", content=TEXT,
                    themes=("energy-generation",)))
                for n in range(at, min(items, at + 1_000))], SYSTEM)
        async with origin.ctx.db.sessions() as session:
            documents = [orjson.dumps(d) for d in (await session.execute(
                select(objects.c.document).where(objects.c.is_local.is_(True)))).scalars()]
        key = ed25519_key(await resolve_key(origin.ctx, orjson.loads(documents[0])["proof"][
            "verificationMethod"]))
        bare_seconds, bare_cpu = _bare(documents, key, tmp / "bare.db")
        start, worker, cpu = time.perf_counter(), 0.0, 0.0
        await follow(newcomer.ctx, "origin@origin.test")
        for _ in range(10_000):  # the two workers in turn until both are idle
            steps = 0
            for node_ in (origin, newcomer):
                began, began_cpu = time.perf_counter(), time.process_time()
                steps += await run_once(node_.ctx)
                if node_ is newcomer:
                    worker += time.perf_counter() - began
                    cpu += time.process_time() - began_cpu
            if not steps:
                break
        total = time.perf_counter() - start
        async with newcomer.ctx.db.sessions() as session:
            held = (await session.execute(select(func.count()).select_from(objects).where(
                objects.c.host == "origin.test"))).scalar_one()
        if held != items:
            raise RuntimeError(f"the backfill stored {held} of {items} items")
        return Measured(items, total, worker, cpu, bare_seconds, bare_cpu)


def measure(items: int) -> Measured:
    with tempfile.TemporaryDirectory(prefix="kk-backfill-") as name:
        return asyncio.run(_measure(items, Path(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    m = measure(args.items)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"backfill of {m.items} items, follow() → all stored: {m.total_seconds:.1f} s, "
          f"{m.rate:,.1f} items/s")
    print(f"  the follower's worker: {m.worker_seconds:.1f} s, {m.worker_rate:,.1f} items/s; "
          f"{m.worker_cpu:.1f} s of CPU, {m.worker_cpu_rate:,.1f} items per CPU second")
    print(f"bare verify_proof + insert: {m.bare_seconds:.2f} s, {m.bare_rate:,.0f} items/s; "
          f"{m.bare_cpu:.2f} s of CPU, {m.bare_cpu_rate:,.0f} items per CPU second")
    print(f"ratio {m.rate / m.bare_rate:.3f} (follower's worker {m.worker_rate / m.bare_rate:.3f}"
          f", per CPU second {m.worker_cpu_rate / m.bare_cpu_rate:.3f})")


if __name__ == "__main__":
    main()
