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

Run: ``nice .venv/bin/python -m bench.importing --items 10000`` (prints a table);
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.memory import Memory
from bench.memory import measure as measure_memory
from node.store import contexts

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


def _init(directory: Path, name: str) -> Path:
    _cli("init", str(directory), "--url", f"https://{name}.test", "--name", name, cwd=ROOT)
    return directory / "kennisknoop.db"


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
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    for table, columns, rows in tables:
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        for at in range(0, len(rows), BATCH):
            with write:
                write.executemany(sql, rows[at:at + BATCH])
            count += len(rows[at:at + BATCH])
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
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


def measure(items: int, workdir: Path | None = None, *, memory: bool = True) -> Measured:
    with tempfile.TemporaryDirectory(prefix="kk-import-") as name:
        tmp = workdir or Path(name)
        node_dir, bare_dir = tmp / "node", tmp / "bare"
        database = _init(node_dir, "import")
        bare_database = _init(bare_dir, "bare")
        document = make_file(items)
        path = tmp / "import.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        seconds, cpu = _cli("import", str(node_dir), str(path), cwd=tmp)
        bare_seconds, bare_cpu, rows = _bare_insert(database, bare_database)
        database_bytes, document_bytes = _storage(database)
        return Measured(len(document["items"]), seconds, bare_seconds, rows, cpu, bare_cpu,
                        database_bytes, document_bytes,
                        measure_memory(node_dir) if memory else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    m = measure(args.items)
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
