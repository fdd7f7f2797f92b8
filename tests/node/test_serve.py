"""``kennisknoop serve`` as a real process on a loopback port (as datasette's ``wait_until_responds``).

The node is initialised in-process (faster), then served by a subprocess that is polled until it
answers, within a bounded time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from node.cli import init_node
from tests.servers import free_port, wait_until_responds

HANDLE = "fryslan"
START_TIMEOUT = 30.0


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(directory: Path, *extra: str) -> Server:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    init_node(directory, url=url, name="Doarpswurk", handle=HANDLE, province="PV21",
              allow_private_network=True, environ={})
    log = directory / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", str(directory), "--port", str(port),
             *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(url, process, log)
    wait_until_responds(url + "/", process, name="serve", log=server.output,
                        timeout=START_TIMEOUT)
    return server


def stop_server(server: Server) -> int:
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve") / "node", "--no-worker")
    yield running
    if running.process.poll() is None:
        stop_server(running)


def test_home_page_is_served(server: Server) -> None:
    response = httpx.get(server.url + "/", headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_node_actor_is_served_as_activity_json(server: Server) -> None:
    response = httpx.get(f"{server.url}/actors/{HANDLE}",
                         headers={"Accept": "application/activity+json"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["id"] == f"{server.url}/actors/{HANDLE}"
    assert response.json()["type"] == "Organization"


def test_sigterm_stops_the_server_and_its_worker_cleanly(tmp_path: Path) -> None:
    server = start_server(tmp_path / "node")
    assert stop_server(server) == 0
    assert "Traceback" not in server.output()
    assert "Finished server process" in server.output()
    assert "worker stopped" in server.output()
