"""Fixtures of the interop suite: software nobody here wrote, talking to a Kennisknoop node.

Two kinds of peer:
- in process (fast): fediverse-pasture's own test actor app (``one_actor``, a Quart app) mounted
  at ``http://pasture-one-actor`` — the host the pasture-inputs corpus names — next to an
  in-process node; the pasture's ``ActivitySender`` and bovine's ``BovineActor`` build and sign
  requests through a small aiohttp-shaped adapter over httpx (``HttpxSession``), so their code
  runs unchanged;
- over real sockets (``test_bovine_peer.py``): a bovine-herd server from its own virtualenv,
  ``.venv-interop/`` in the repository root, created here once from ``peer/requirements.txt``
  and reused while that file and the Python version are unchanged. bovine's RFC 9421 parser
  needs http-sf 1.0 while our http-message-signatures needs >= 1.4, and bovine-herd pins its
  own Quart and Tortoise, so the peer never shares our site-packages. A failed creation FAILS
  the tests (never skips): on a fresh machine it needs only PyPI.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fediverse_pasture.data_provider import DataProvider, bovine_actor_for_actor_data
from fediverse_pasture.data_provider.models import ActorData
from fediverse_pasture.server.one_actor_app import app_for_data_provider

from node.services.context import NodeContext
from tests.federation.harness import Federation, federation
from tests.servers import free_port, wait_until_responds

REPO_ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = Path(__file__).resolve().parent / "peer"
PEER_VENV = REPO_ROOT / ".venv-interop"
PEER_REQUIREMENTS = PEER_DIR / "requirements.txt"
PIP_TIMEOUT = 1200  # seconds: a cold pip install of bovine-herd takes about one minute here

PASTURE_ORIGIN = "http://pasture-one-actor"  # the host fediverse-pasture-inputs' examples name
PASTURE_ACTOR = f"{PASTURE_ORIGIN}/actor"


# --- the peer virtualenv ---------------------------------------------------------------------

def _venv_fingerprint() -> str:
    """What the cached virtualenv was built from: requirements and the interpreter version."""
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def _run_setup(command: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=clean_environ(), check=False)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        pytest.fail(f"creating {PEER_VENV}: {what} took longer than {timeout:.0f} s: "
                    f"{stderr[-2000:]}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"creating {PEER_VENV}: {what} failed (exit {done.returncode}):\n"
                    f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}", pytrace=False)


def ensure_peer_venv() -> Path:
    """The interpreter of ``.venv-interop``, created (or rebuilt when stale) on first use."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / "kennisknoop-interop.stamp"
    wanted = _venv_fingerprint()
    lock_path = REPO_ROOT / ".venv-interop.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two pytest processes must not build it at once
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        # The stamp is written last, so an interrupted build is never mistaken for a good one.
        shutil.rmtree(PEER_VENV, ignore_errors=True)
        _run_setup([sys.executable, "-m", "venv", str(PEER_VENV)], "python -m venv", 300)
        _run_setup([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                    "--no-input", "-r", str(PEER_REQUIREMENTS)], "pip install", PIP_TIMEOUT)
        _run_setup([str(python), "-c", "import bovine_herd, hypercorn, quart"],
                   "the import check", 120)
        stamp.write_text(wanted)
    return python


def clean_environ() -> dict[str, str]:
    """Our environment without anything that would leak our packages or settings into theirs."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    return {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith("KENNISKNOOP_")}


@pytest.fixture(scope="session")
def peer_python() -> Path:
    return ensure_peer_venv()


# --- processes on loopback -------------------------------------------------------------------

@dataclass
class Process:
    """A server we started, with its log file (shown when it fails to come up)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def wait_until_responds(self, url: str, timeout: float = 90.0) -> None:
        """Poll ``url`` until it answers below 500; fail with the log if the process dies."""
        wait_until_responds(url, self.popen, name=self.name, log=self.log_tail, timeout=timeout)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def start_process(name: str, command: list[str], *, log: Path, cwd: Path,
                  env: dict[str, str]) -> Process:
    with log.open("wb") as out:  # the child keeps its own descriptor
        popen = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                 stdin=subprocess.DEVNULL)
    return Process(name, popen, log)


@dataclass
class Herd:
    """A running bovine-herd server and the actor registered on it."""

    process: Process
    origin: str
    facts: dict[str, Any]

    @property
    def actor(self) -> dict[str, Any]:
        document: dict[str, Any] = self.facts["actor"]
        return document


@dataclass
class HerdProcess:
    process: Process
    origin: str
    directory: Path


@pytest.fixture(scope="module")
def herd_process(peer_python: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[HerdProcess]:
    """bovine-herd started (not yet waited for), so it boots while other servers start."""
    directory = tmp_path_factory.mktemp("herd")
    port = free_port()
    process = start_process("bovine-herd", [str(peer_python), str(PEER_DIR / "herd_server.py"),
                                            str(port), str(directory), "kees"],
                            log=directory / "herd.log", cwd=directory, env=clean_environ())
    try:
        yield HerdProcess(process, f"http://127.0.0.1:{port}", directory)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def herd(herd_process: HerdProcess) -> Herd:
    """bovine-herd 0.5 on 127.0.0.1, answering, with one registered actor, ``kees``."""
    herd_process.process.wait_until_responds(f"{herd_process.origin}/.well-known/nodeinfo")
    facts = json.loads((herd_process.directory / "actor.json").read_text())
    return Herd(herd_process.process, herd_process.origin, facts)


# --- the in-process pasture peer ---------------------------------------------------------------

class HttpxResponse:
    """The part of ``aiohttp.ClientResponse`` that bovine and the pasture use."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.headers = response.headers

    def raise_for_status(self) -> None:
        """Never raises: the tests read every status from ``HttpxSession.responses``."""

    async def text(self) -> str:
        return self.response.text

    async def json(self) -> Any:
        return self.response.json()


class HttpxSession:
    """The part of ``aiohttp.ClientSession`` bovine's signed client calls, over one httpx client.

    bovine builds and signs every header itself (``bovine.clients.signed_http_methods``); this
    only carries the request, so in-process ASGI apps can stand in for the network. Every
    response is kept in ``responses`` for the tests to read.
    """

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.responses: list[httpx.Response] = []

    async def get(self, url: str, headers: dict[str, str] | None = None,
                  allow_redirects: bool = True) -> HttpxResponse:
        response = await self.http.get(url, headers=headers,
                                       follow_redirects=allow_redirects)
        self.responses.append(response)
        return HttpxResponse(response)

    async def post(self, url: str, data: str | bytes, headers: dict[str, str] | None = None
                   ) -> HttpxResponse:
        response = await self.http.post(url, content=data, headers=headers)
        self.responses.append(response)
        return HttpxResponse(response)

    async def close(self) -> None:
        return None


@pytest.fixture(scope="session")
def pasture_actor_data() -> ActorData:
    """The pasture's one test actor (its RSA key is made once per session)."""
    return DataProvider.generate(with_possible_actors=False).one_actor


@dataclass
class PastureWorld:
    """One in-process node (``https://drenthe.test``) and the pasture's test actor host."""

    fed: Federation
    actor_data: ActorData
    session: HttpxSession

    @property
    def ctx(self) -> NodeContext:
        return self.fed["drenthe"].ctx

    @property
    def http(self) -> httpx.AsyncClient:
        return self.fed.http

    @property
    def key_id(self) -> str:
        return f"{PASTURE_ACTOR}#{self.actor_data.key_pairs[0].name}"

    @property
    def private_pem(self) -> str:
        return str(self.actor_data.key_pairs[0].private)

    async def bovine_actor(self) -> Any:
        """bovine's ``BovineActor`` for the pasture actor, sending through this world."""
        actor, _ = bovine_actor_for_actor_data(PASTURE_ACTOR, self.actor_data)
        await actor.init(session=self.session)
        return actor


@asynccontextmanager
async def _open_pasture_world(tmp_path: Path, actor_data: ActorData
                              ) -> AsyncIterator[PastureWorld]:
    # The corpus arrives as one burst from one host: the flood limits are not what is tested.
    async with federation(tmp_path, ["drenthe"],
                          overrides={"drenthe": {"limits__inbox_rate_per_host": 0}}) as fed:
        # bovine signs with the real clock (``get_gmt_now``) and so must our verifier check.
        fed.clock.now = datetime.now(UTC)
        pasture_app = app_for_data_provider(DataProvider(one_actor=actor_data,
                                                         possible_actors=[]))
        fed.network.add("pasture-one-actor", pasture_app)
        yield PastureWorld(fed, actor_data, HttpxSession(fed.http))


OpenWorld = Callable[[Path, ActorData], AbstractAsyncContextManager[PastureWorld]]


@pytest.fixture(scope="session")
def open_pasture_world() -> OpenWorld:
    """Factory: ``async with open_pasture_world(tmp_path, pasture_actor_data) as world``."""
    return _open_pasture_world
