"""The image's entry point (deploy/entrypoint.sh) run on this machine as in the container.

The container runs ``docker-entrypoint serve --no-worker`` (web) and ``docker-entrypoint worker``
with ``KENNISKNOOP_DIR``, ``KENNISKNOOP_SERVER_HOST``/``PORT`` and the first-start variables set;
here the same script runs under ``/bin/sh`` with a temporary directory, SQLite and a loopback
port, and ``deploy/healthcheck.py`` is the healthcheck the image runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_until_responds

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"
START_TIMEOUT = 30.0
READY_TIMEOUT = 30.0


def container_env(directory: Path, port: int) -> dict[str, str]:
    """The environment of the image (Dockerfile ENV) and of compose.yaml, on loopback."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KENNISKNOOP_", "INIT_", "WAIT_FOR_INIT"))}
    bin_dir = str(Path(sys.executable).parent)  # where `kennisknoop` is, as /usr/local/bin
    env.update({
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "KENNISKNOOP_DIR": str(directory),
        "KENNISKNOOP_SERVER_HOST": "127.0.0.1",
        "KENNISKNOOP_SERVER_PORT": str(port),
        "KENNISKNOOP_NODE_URL": "https://kennis.example.nl",
        "KENNISKNOOP_NODE_NAME": "Voorbeeld Dorpen",
        "INIT_HANDLE": "voorbeeld",
        "INIT_PROVINCE_CODE": "PV22",
        "WAIT_FOR_INIT_SECONDS": "20",
    })
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(["/bin/sh", str(ENTRYPOINT), *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)  # what `docker stop` sends; exec made it the node
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def healthcheck(url: str, env: dict[str, str]) -> int:
    return subprocess.run([sys.executable, str(HEALTHCHECK), url], env=env,
                          capture_output=True, timeout=15).returncode


def wait_for_status(url: str, status: int, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, timeout=5)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], str]]:
    port = free_port()
    directory = tmp_path / "data"
    directory.mkdir()
    yield directory, container_env(directory, port), f"http://127.0.0.1:{port}"


def test_web_then_worker_start_a_node_that_becomes_ready(
        node: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    directory, env, url = node
    web = start(["serve", "--no-worker"], env, tmp_path / "web.log")
    worker = None
    try:
        wait_until_responds(url + "/healthz", web, name="entrypoint serve",
                            log=lambda: (tmp_path / "web.log").read_text(errors="replace"),
                            timeout=START_TIMEOUT)
        # The first start initialised the node from the environment and migrated it.
        config = (directory / "kennisknoop.toml").read_text(encoding="utf-8")
        assert 'url = "https://kennis.example.nl"' in config
        assert 'handle = "voorbeeld"' in config and 'province_code = "PV22"' in config
        assert httpx.get(url + "/healthz", timeout=5).json() == {"status": "ok"}
        assert healthcheck(url + "/healthz", env) == 0
        # Without a worker the node is alive but not ready: the compose healthcheck says so.
        readyz = httpx.get(url + "/readyz", timeout=5)
        assert readyz.status_code == 503
        assert readyz.json()["checks"]["worker"]["ok"] is False
        assert healthcheck(url + "/readyz", env) == 1

        worker = start(["worker"], env, tmp_path / "worker.log")
        ready = wait_for_status(url + "/readyz", 200, READY_TIMEOUT)
        assert ready.status_code == 200, (tmp_path / "worker.log").read_text(errors="replace")
        assert healthcheck(url + "/readyz", env) == 0
        # The account the actor is served under is the one named at the first start.
        actor = httpx.get(url + "/actors/voorbeeld", headers={
            "Accept": "application/activity+json"}, timeout=5)
        assert actor.status_code == 200
        assert actor.json()["id"] == "https://kennis.example.nl/actors/voorbeeld"
    finally:
        if worker is not None:
            assert stop(worker) == 0
        assert stop(web) == 0
    assert healthcheck(url + "/healthz", env) == 1  # nothing listens any more

    # A later start (a new image, other first-start values) neither re-initialises nor fails.
    again = start(["serve", "--no-worker"], {**env, "INIT_HANDLE": "anders"},
                  tmp_path / "web2.log")
    try:
        wait_until_responds(url + "/healthz", again, name="entrypoint serve again",
                            log=lambda: (tmp_path / "web2.log").read_text(errors="replace"),
                            timeout=START_TIMEOUT)
    finally:
        assert stop(again) == 0
    assert (directory / "kennisknoop.toml").read_text(encoding="utf-8") == config


def test_any_other_command_runs_as_given(node: tuple[Path, dict[str, str], str]) -> None:
    _, env, _ = node
    result = subprocess.run(["/bin/sh", str(ENTRYPOINT), "kennisknoop", "user", "add", "--help"],
                            env=env, capture_output=True, timeout=30)
    assert result.returncode == 0 and b"--password-stdin" in result.stdout


def test_the_first_start_without_a_url_says_what_is_missing(
        node: tuple[Path, dict[str, str], str]) -> None:
    directory, env, _ = node
    del env["KENNISKNOOP_NODE_URL"]
    result = subprocess.run(["/bin/sh", str(ENTRYPOINT), "serve"], env=env,
                            capture_output=True, timeout=30)
    assert result.returncode == 64
    assert b"set KENNISKNOOP_NODE_URL and KENNISKNOOP_NODE_NAME" in result.stderr
    assert not (directory / "kennisknoop.toml").exists()


def test_a_worker_without_a_node_gives_up_after_waiting(
        node: tuple[Path, dict[str, str], str]) -> None:
    _, env, _ = node
    result = subprocess.run(["/bin/sh", str(ENTRYPOINT), "worker"],
                            env={**env, "WAIT_FOR_INIT_SECONDS": "0"},
                            capture_output=True, timeout=30)
    assert result.returncode == 69
    assert b"start the web service first" in result.stderr


def test_the_entry_point_is_executable_and_posix_sh() -> None:
    assert os.access(ENTRYPOINT, os.X_OK) and os.access(HEALTHCHECK, os.X_OK)
    assert ENTRYPOINT.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    result = subprocess.run(["/bin/sh", "-n", str(ENTRYPOINT)], capture_output=True, timeout=10)
    assert result.returncode == 0, result.stderr
