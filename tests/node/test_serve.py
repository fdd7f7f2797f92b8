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
import orjson
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


def start_server(directory: Path, *extra: str, config: tuple[str, str] | None = None) -> Server:
    """Init a node in ``directory`` (``config``: one replacement in its file) and serve it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    init_node(directory, url=url, name="Doarpswurk", handle=HANDLE, province="PV21",
              allow_private_network=True, environ={})
    if config:
        path = directory / "kennisknoop.toml"
        text = path.read_text(encoding="utf-8")
        assert config[0] in text
        path.write_text(text.replace(config[0], config[1]), encoding="utf-8")
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


def test_start_up_logs_the_per_process_flood_limits_and_their_multiple(server: Server) -> None:
    # issue 14: the inbox flood limits are per web process; serve says so, with the formula
    lines = [line for line in server.output().splitlines() if "inbox flood limits" in line]
    assert len(lines) == 1, server.output()
    assert "kept per web process: 10/s (bursts of 50) per remote host" in lines[0]
    assert "with server.web_processes = 1 the node accepts up to 10/s" in lines[0]


def test_sigterm_stops_the_server_and_its_worker_cleanly(tmp_path: Path) -> None:
    server = start_server(tmp_path / "node")
    assert stop_server(server) == 0
    assert "Traceback" not in server.output()
    assert "Finished server process" in server.output()
    assert "worker stopped" in server.output()


def test_serve_with_its_worker_is_ready_and_logs_json_lines(tmp_path: Path) -> None:
    # Given a node whose configuration asks for JSON logs
    server = start_server(tmp_path / "node", config=('format = "text"', 'format = "json"'))
    try:
        # When the built-in worker has written its first heartbeat (/readyz is 503 until then)
        wait_until_responds(server.url + "/readyz", server.process, name="serve",
                            log=server.output, timeout=START_TIMEOUT)
        ready = httpx.get(server.url + "/readyz", timeout=10,
                          headers={"X-Request-Id": "probe-0001"})
        assert ready.status_code == 200, ready.text
        assert ready.headers["x-request-id"] == "probe-0001"
        metrics = httpx.get(server.url + "/metrics", timeout=10)
        assert metrics.status_code == 200 and "kennisknoop_http_requests_total" in metrics.text
    finally:
        assert stop_server(server) == 0
    # Then every log line is a JSON object, and the probe's line carries its request id
    lines = [orjson.loads(line) for line in server.output().splitlines() if line.strip()]
    probe = [line for line in lines if line.get("request_id") == "probe-0001"]
    assert probe and probe[-1]["route"] == "/readyz" and probe[-1]["status"] == 200
    assert any(line["logger"] == "kennisknoop.worker" for line in lines)


def test_a_separate_worker_serves_its_counters_on_its_metrics_port(tmp_path: Path) -> None:
    # Given a node whose separate worker exports its counters on a loopback port
    directory = tmp_path / "node"
    init_node(directory, url="http://127.0.0.1:9", name="Doarpswurk", handle=HANDLE,
              allow_private_network=True, environ={})
    port = free_port()
    path = directory / "kennisknoop.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "worker_port = 0", f"worker_port = {port}"), encoding="utf-8")
    log = directory / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "node.cli", "worker", str(directory)],
                                   stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        # When it runs
        url = f"http://127.0.0.1:{port}/metrics"
        wait_until_responds(url, process, name="worker", timeout=START_TIMEOUT,
                            log=lambda: log.read_text(errors="replace"))
        # Then its delivery and inbox counters are there to scrape
        text = httpx.get(url, timeout=10).text
        assert "# TYPE kennisknoop_deliveries_total counter" in text
        assert "# TYPE kennisknoop_inbox_activities_total counter" in text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
