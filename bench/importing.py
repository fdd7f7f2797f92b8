"""Import benchmark: ``kennisknoop import`` of N items beside a bare batched insert of its rows.

1. ``kennisknoop init`` makes a node (SQLite file in a temporary folder);
2. an import file of N items is written: the initiatives of ``node/data/demo-fryslan.json`` and
   its items repeated with numbered titles and refs (questions, their answers, stories, guides…,
   with places and themes, by the node and by initiatives), without accepted answers;
3. ``kennisknoop import DIR FILE`` runs as its own process and is timed (start-up included);
4. the baseline: the rows the import wrote to ``objects`` and ``activities`` (the items and
   their signed Create and Announce activities) are inserted again, with plain ``sqlite3``
   ``executemany`` in transactions of 1,000 rows, into a fresh database of the same schema and
   indexes (``kennisknoop init`` of a second node, its node actor's rows kept apart).

The figure is items/s of the import against items/s of the bare insert (issue 13: ratio ≥ 0.3).
Two more figures come from the imported node: **storage**, the database's bytes per item (the
file after a WAL checkpoint, divided by the items) against the item's own JSON-LD (the mean
bytes of ``objects.document``; issue 13: ratio ≤ 2); and **memory** (``bench/memory.py``), the
resident memory of a node process idle and after serving every item once.

With ``--postgres`` both nodes run on PostgreSQL at 127.0.0.1:5432 (a throwaway database each,
created, migrated and dropped), the baseline inserts with plain ``psycopg`` ``executemany``,
storage is the tables' bytes after ``VACUUM FULL`` (as ``bench/storage.py --postgres``), and
memory is measured the same way (the node process's own RSS, not the PostgreSQL server's).

Run: ``nice .venv/bin/python -m bench.importing --items 10000 [--postgres]`` (prints a table);
``bench.run`` calls :func:`measure`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import set_json_loads
from sqlalchemy.engine import make_url

from bench.memory import Memory
from bench.memory import measure as measure_memory
from bench.storage import pg_bytes
from node.store import contexts
from tests import dbs

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "node" / "data" / "demo-fryslan.json"
BATCH = 1_000


@dataclass(frozen=True)
class Measured:
    items: int
    seconds: float  # the import process, start to end
    bare_seconds: float  # the bare batched insert of the same rows
    rows: int  # rows the baseline inserted (objects + activities)
    cpu_seconds: float  # CPU the import process used (all its threads)
    bare_cpu_seconds: float
    database_bytes: int = 0  # the node's SQLite file after the import (WAL checkpointed)
    document_bytes: float = 0.0  # mean bytes of an item's own JSON-LD (objects.document)
    memory: Memory | None = None

    @property
    def bytes_per_item(self) -> float:
        return self.database_bytes / self.items

    @property
    def rate(self) -> float:
        return self.items / self.seconds

    @property
    def bare_rate(self) -> float:
        return self.items / self.bare_seconds

    @property
    def cpu_rate(self) -> float:
        return self.items / self.cpu_seconds

    @property
    def bare_cpu_rate(self) -> float:
        return self.items / self.bare_cpu_seconds


def make_file(items: int) -> dict[str, Any]:
    """An import document with the demo's initiatives and ``items`` items."""
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    templates = demo["items"]
    out: list[dict[str, Any]] = []
    cycle = 0
    while len(out) < items:
        for template in templates:
            if len(out) >= items:
                break
            item = copy.deepcopy(template)
            if "ref" in item:
                item["ref"] = f"{item['ref']}-{cycle}"
            reply = item.get("in_reply_to")
            if isinstance(reply, str) and reply.startswith("ref:"):
                item["in_reply_to"] = f"{reply}-{cycle}"
            if item.get("title"):
                item["title"] = f"{item['title']} ({cycle})"
            else:
                item["content"] = f"{item.get('content', '')} ({cycle})"
            out.append(item)
        cycle += 1
    # an answer cut off from its question by the last cycle's end would fail validation
    refs = {item.get("ref") for item in out}
    out = [i for i in out if not (isinstance(i.get("in_reply_to"), str)
                                  and i["in_reply_to"].startswith("ref:")
                                  and i["in_reply_to"][4:] not in refs)]
    return {"initiatives": demo["initiatives"], "items": out}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cli(*args: str, cwd: Path) -> tuple[float, float]:
    """Run ``kennisknoop ARGS`` in its own process: the seconds it took, wall clock and CPU."""
    start, cpu = time.perf_counter(), _children_cpu()
    process = subprocess.run([sys.executable, "-m", "node.cli", *args], cwd=cwd,
                             capture_output=True, text=True, check=False,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if process.returncode:
        raise RuntimeError(f"kennisknoop {args[0]} failed: {process.stderr[-2000:]}")
    return seconds, cpu


def _init(directory: Path, name: str, database: str | None = None) -> Path:
    """``kennisknoop init`` of a node in ``directory`` (on ``database``, a PostgreSQL URL, or a
    SQLite file there); the SQLite file's path."""
    _cli("init", str(directory), "--url", f"https://{name}.test", "--name", name,
         *(("--database", database) if database else ()), cwd=ROOT)
    return directory / "kennisknoop.db"


def _pg_conninfo(url: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={make_url(url).database}"


def _text(data: str | bytes) -> str:
    return data.decode() if isinstance(data, bytes) else data


def _bare_insert_pg(source: str, target: str) -> tuple[float, float, int]:
    """:func:`_bare_insert` on PostgreSQL: the rows read as stored (JSON columns as their
    text), then ``executemany`` in transactions of ``BATCH`` rows with plain ``psycopg``."""
    tables: Tables = []
    with psycopg.connect(_pg_conninfo(source)) as read:
        set_json_loads(_text, read)  # the stored text, written back as it is
        for table in ("objects", "activities"):
            columns = [r[0] for r in read.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position", (table,))]
            rows = read.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id"
                                ).fetchall()
            tables.append((table, columns, rows))
    with psycopg.connect(_pg_conninfo(target)) as write:
        write.execute("DELETE FROM activities")  # the second node's own rows
        write.commit()

        def batch(sql: str, rows: list[Any]) -> None:
            with write.transaction(), write.cursor() as cursor:
                cursor.executemany(sql, rows)

        return _insert_batches(tables, "%s", batch)


Tables = list[tuple[str, list[str], list[Any]]]  # (table, its columns, its rows)


def _insert_batches(tables: Tables, placeholder: str, batch: Callable[[str, list[Any]], None]
                    ) -> tuple[float, float, int]:
    """``batch(INSERT, rows)`` for every ``BATCH`` rows of ``tables``: (seconds, CPU seconds,
    rows)."""
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    for table, columns, rows in tables:
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join(placeholder for _ in columns)})")
        for at in range(0, len(rows), BATCH):
            batch(sql, rows[at:at + BATCH])
            count += len(rows[at:at + BATCH])
    return time.perf_counter() - start, time.process_time() - cpu, count


def _storage_pg(url: str) -> tuple[int, float]:
    """:func:`_storage` on PostgreSQL: the tables' bytes after ``VACUUM FULL`` (TOAST and
    indexes included, as ``bench/storage.py --postgres`` counts them), and the mean bytes of
    an item's JSON-LD as served."""
    with psycopg.connect(_pg_conninfo(url)) as conn:
        mean = statistics.fmean(len(contexts.unpack(text).encode()) for (text,) in conn.execute(
            "SELECT document::text FROM objects"))
    return pg_bytes(url), float(mean)


def _bare_insert(source: Path, target: Path) -> tuple[float, float, int]:
    """Insert the items and activities of ``source`` into ``target`` as plain batched
    ``executemany``: (seconds, CPU seconds, rows)."""
    read = sqlite3.connect(source)
    write = sqlite3.connect(target)
    write.execute("PRAGMA journal_mode=WAL")
    write.execute("PRAGMA synchronous=NORMAL")
    tables = []
    for table in ("objects", "activities"):
        columns = [r[1] for r in read.execute(f"PRAGMA table_info({table})")]
        rows = read.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
        tables.append((table, columns, rows))
    write.execute("DELETE FROM activities")  # the second node's own rows (none for objects)
    write.commit()

    def batch(sql: str, rows: list[Any]) -> None:
        with write:
            write.executemany(sql, rows)

    seconds, cpu, count = _insert_batches(tables, "?", batch)
    read.close()
    write.close()
    return seconds, cpu, count


def _storage(database: Path) -> tuple[int, float]:
    """The database file's bytes after a WAL checkpoint, and the mean bytes of an item's
    JSON-LD as served (stored with its ``@context`` by number: ``node.store.contexts``)."""
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        mean = statistics.fmean(len(contexts.unpack(text).encode())
                                for (text,) in conn.execute("SELECT document FROM objects"))
    wal = database.with_name(database.name + "-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0), float(mean)


def measure(items: int, workdir: Path | None = None, *, memory: bool = True,
            pg: bool = False) -> Measured:
    """Import ``items`` items and measure; ``pg``: both nodes on PostgreSQL at 127.0.0.1:5432
    (a throwaway database each, dropped afterwards), the baseline's insert with ``psycopg``."""
    with tempfile.TemporaryDirectory(prefix="kk-import-") as name, ExitStack() as stack:
        tmp = workdir or Path(name)
        node_dir, bare_dir = tmp / "node", tmp / "bare"
        urls = [stack.enter_context(_pg_database(f"kk_import_{n}")) if pg else None
                for n in ("node", "bare")]
        database = _init(node_dir, "import", urls[0])
        bare_database = _init(bare_dir, "bare", urls[1])
        document = make_file(items)
        path = tmp / "import.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        seconds, cpu = _cli("import", str(node_dir), str(path), cwd=tmp)
        if urls[0] and urls[1]:
            bare_seconds, bare_cpu, rows = _bare_insert_pg(urls[0], urls[1])
            database_bytes, document_bytes = _storage_pg(urls[0])
        else:
            bare_seconds, bare_cpu, rows = _bare_insert(database, bare_database)
            database_bytes, document_bytes = _storage(database)
        return Measured(len(document["items"]), seconds, bare_seconds, rows, cpu, bare_cpu,
                        database_bytes, document_bytes,
                        measure_memory(node_dir) if memory else None)


@contextmanager
def _pg_database(prefix: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (its URL), dropped afterwards."""
    url = dbs.create_pg_database(prefix)
    try:
        yield url
    finally:
        dbs.drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true",
                        help="both nodes on PostgreSQL at 127.0.0.1:5432 (a database each)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    m = measure(args.items, pg=args.postgres)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(f"kennisknoop import of {m.items} items: {m.seconds:.1f} s, {m.rate:,.1f} items/s; "
          f"{m.cpu_seconds:.1f} s of CPU, {m.cpu_rate:,.1f} items per CPU second")
    print(f"bare batched insert of the same {m.rows} rows: {m.bare_seconds:.2f} s, "
          f"{m.bare_rate:,.0f} items/s; {m.bare_cpu_seconds:.2f} s of CPU, "
          f"{m.bare_cpu_rate:,.0f} items per CPU second")
    print(f"ratio {m.rate / m.bare_rate:.3f} (per CPU second {m.cpu_rate / m.bare_cpu_rate:.3f})")
    print(f"storage: {m.bytes_per_item:,.0f} database bytes per item, the item's JSON-LD "
          f"{m.document_bytes:,.0f} bytes: ratio {m.bytes_per_item / m.document_bytes:.2f}")
    if m.memory:
        print(f"memory: {m.memory.idle_mib:.0f} MiB idle, {m.memory.served_mib:.0f} MiB after "
              f"serving {m.memory.served:,} items (peak {m.memory.peak_mib:.0f} MiB)")


if __name__ == "__main__":
    main()
