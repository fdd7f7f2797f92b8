"""Memory benchmark: resident memory of one node process, idle and after serving every item.

Run on a node directory that holds items (``bench/importing.py`` makes one with
``kennisknoop import``): this script starts a process that builds the node app from the
directory's settings (``create_app``, lifespan started, as ``kennisknoop serve`` does, without
the worker), reads its resident set size (``VmRSS``) once idle, then GETs every local item once
as ActivityPub JSON in process (``httpx.ASGITransport``, no sockets) and reads it again, with
the peak (``VmHWM``). Issue 13's targets: under 120 MB idle, under 300 MB after serving 100,000
items. No baseline: the figure is absolute.

The node may be on SQLite or PostgreSQL (its ``database.url``); on PostgreSQL the figure is the
node process's memory only, not the database server's.

Run: ``nice .venv/bin/python -m bench.memory NODE_DIR`` (prints one JSON line).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
_MIB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    idle_mib: float
    served_mib: float  # after serving every item once
    peak_mib: float
    served: int  # items GET (200)


def _status(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / _MIB
    raise RuntimeError(f"no {field} in /proc/self/status")


_ITEMS = "SELECT ap_id FROM objects WHERE is_local ORDER BY id"


def _local_items(url: str) -> list[str]:
    """The node's local items, read before the app starts (SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(str(parsed.database)) as conn:
            return [row[0] for row in conn.execute(_ITEMS)]
    import psycopg

    with psycopg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                         user=parsed.username or "postgres", dbname=parsed.database) as pg:
        return [row[0] for row in pg.execute(_ITEMS)]


async def _serve_all(directory: Path) -> Memory:
    import httpx

    from node.app import create_app
    from node.config import load_settings
    from node.remote import ACCEPT_AP

    settings = load_settings(directory, environ={})
    ids = _local_items(settings.database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.node.url) as client:
            await client.get("/.well-known/nodeinfo")
            gc.collect()
            idle = _status("VmRSS")
            served = 0
            for ap_id in ids:
                response = await client.get(ap_id, headers={"Accept": ACCEPT_AP})
                served += response.status_code == 200
            gc.collect()
            return Memory(idle, _status("VmRSS"), _status("VmHWM"), served)


def measure(directory: Path) -> Memory:
    """Run the measuring process on ``directory``; its figures."""
    process = subprocess.run([sys.executable, "-m", "bench.memory", str(directory)], cwd=ROOT,
                             capture_output=True, text=True, check=False,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    if process.returncode:
        raise RuntimeError(f"bench.memory failed: {process.stderr[-2000:]}")
    return Memory(**json.loads(process.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", type=Path, help="a node directory holding items")
    args = parser.parse_args()
    m = asyncio.run(_serve_all(args.directory))
    print(json.dumps({"idle_mib": round(m.idle_mib, 1), "served_mib": round(m.served_mib, 1),
                      "peak_mib": round(m.peak_mib, 1), "served": m.served}))


if __name__ == "__main__":
    main()
