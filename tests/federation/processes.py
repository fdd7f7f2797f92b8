"""Real ``kennisknoop serve`` processes on loopback ports, for federation tests over sockets.

A ``ServedNode`` is a node directory initialised in-process (as ``node.demo`` does) and served by
its own subprocess, which the test can start, SIGKILL, SIGSTOP/SIGCONT and start again on the
same port. Its SQLite database is read directly (read-only) to look at the durable queues. Every
wait is bounded polling with a deadline; a failed wait shows the tail of each node's serve.log.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from node.cli import init_node
from tests.servers import wait_until_responds

T = TypeVar("T")
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.1


def parse_db_time(text: str) -> datetime:
    """A datetime column as SQLite holds it (naive UTC text), made aware."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class ServedNode:
    handle: str
    directory: Path
    port: int
    environ: Mapping[str, str]  # the serve process's KENNISKNOOP_* settings
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def actor(self) -> str:
        return f"{self.url}/actors/{self.handle}"

    @property
    def log(self) -> Path:
        return self.directory / "serve.log"

    def init(self, name: str, *, role: str = "provincial", province: str | None = None) -> None:
        init_node(self.directory, url=self.url, name=name, handle=self.handle, role=role,
                  province=province, allow_private_network=True, environ={})

    def env(self) -> dict[str, str]:
        # Settings meant for some real node in the caller's environment must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
        env.update(self.environ)
        return env

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run one ``kennisknoop`` command on this node; its standard output."""
        done = subprocess.run([sys.executable, "-m", "node.cli", *args], input=stdin,
                              capture_output=True, text=True, env=self.env(), timeout=WAIT_SECONDS)
        if done.returncode != 0:
            pytest.fail(f"kennisknoop {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def start(self) -> None:
        assert not self.running(), f"{self.handle} is already running"
        self.starts += 1
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            out.write(f"\n--- start {self.starts} ---\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node.cli", "serve", str(self.directory),
                 "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT, env=self.env())

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_ready(self, timeout: float = WAIT_SECONDS) -> None:
        assert self.process is not None
        wait_until_responds(self.url + "/", self.process, name=self.handle, log=self.log_tail,
                            timeout=timeout)

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup — leases, open transactions and sockets just end."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_SECONDS)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return f"[{self.handle}: no serve.log]"
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return f"[{self.handle} serve.log, last {len(text)} lines]\n" + "\n".join(text)

    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        """Read this node's SQLite database (read-only; the served node keeps writing)."""
        db = self.directory / "kennisknoop.db"
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(sql, params).fetchall()


@dataclass
class Network:
    nodes: dict[str, ServedNode]

    def __getitem__(self, handle: str) -> ServedNode:
        return self.nodes[handle]

    def log_tails(self) -> str:
        return "\n\n".join(n.log_tail() for n in self.nodes.values())

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS
                 ) -> T:
        """Poll ``probe`` until it returns something other than None/False; fail at the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            result = probe()
            if result is not None and result is not False:
                return result
            if time.monotonic() > deadline:
                # explain_failures() around the test adds the nodes' log tails
                pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(POLL_SECONDS)

    @contextmanager
    def explain_failures(self) -> Iterator[None]:
        """On any failure inside, print every node's log tail (pytest shows it with the failure)."""
        try:
            yield
        except BaseException:
            print(self.log_tails())
            raise

    def stop_all(self) -> None:
        for node in self.nodes.values():
            node.kill()  # SIGKILL also ends a SIGSTOPped process
