"""A Fedify peer on loopback, talking to a ``kennisknoop serve`` process over real sockets.

Fedify (the TypeScript ActivityPub framework behind several servers) is installed from the npm
registry into ``.fedify-peer/`` at the repository root, once, and reused while its
``package.json`` and script are unchanged; a failed install FAILS the tests (never skips). The
peer (``peer/fedify/fedify_peer.mjs``) is Fedify left to do federation its own way; the test
drives it through a few ``/control/`` endpoints. Contexts Fedify does not preload come from
Kennisknoop's shipped copies, so nothing leaves loopback.

The two faults a Fedify peer found (issue 8): our ``Accept`` embedded the ``Follow`` whole, with
Fedify's ``@context`` inside ours — invalid JSON-LD, so Fedify answered 400 and never learned
its follow was accepted; and Fedify embeds a signed reply in its ``Create`` without the reply's
``@context``, so the proof fails as embedded and the genuine reply was rejected.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from node.cli import load, open_context
from node.services.inputs import item_input
from node.services.items import create_item
from node.services.permissions import SYSTEM
from protocol.context import CONTEXT_DOCUMENTS
from tests.federation.processes import WAIT_SECONDS, Network, ServedNode
from tests.interop.conftest import clean_environ
from tests.servers import free_port, wait_until_responds

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
PEER_SOURCE = Path(__file__).resolve().parent / "peer" / "fedify"
PEER_DIR = REPO_ROOT / ".fedify-peer"
NPM_TIMEOUT = 600


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "fedify_peer.mjs"):
        digest.update((PEER_SOURCE / name).read_bytes())
    return digest.hexdigest()


def ensure_fedify_peer() -> Path:
    """``.fedify-peer/`` with Fedify installed by npm, (re)built when its sources changed."""
    stamp = PEER_DIR / "kennisknoop-peer.stamp"
    wanted = _fingerprint()
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("the Fedify peer needs node and npm on PATH", pytrace=False)
    with (REPO_ROOT / ".fedify-peer.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == wanted:
            return PEER_DIR
        shutil.rmtree(PEER_DIR, ignore_errors=True)
        PEER_DIR.mkdir()
        for name in ("package.json", "fedify_peer.mjs"):
            shutil.copy(PEER_SOURCE / name, PEER_DIR / name)
        try:
            done = subprocess.run([npm, "install", "--no-audit", "--no-fund",
                                   "--no-package-lock"], cwd=PEER_DIR, capture_output=True,
                                  text=True, timeout=NPM_TIMEOUT, env=clean_environ(), check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm install of the Fedify peer took over {NPM_TIMEOUT} s",
                        pytrace=False)
        if done.returncode != 0:
            pytest.fail(f"npm install of the Fedify peer failed:\n{done.stderr[-3000:]}",
                        pytrace=False)
        stamp.write_text(wanted)  # last, so an interrupted install is never taken for a good one
    return PEER_DIR


@dataclass
class Fedify:
    origin: str
    process: subprocess.Popen[bytes]

    def control(self, action: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{self.origin}/control/{action}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def received(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = self.control("state")["received"]
        return received


@dataclass
class World:
    fedify: Fedify
    node: ServedNode
    net: Network


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    peer_dir = ensure_fedify_peer()
    directory = tmp_path_factory.mktemp("fedify")
    contexts = directory / "contexts.json"
    contexts.write_text(json.dumps({url: dict(doc) for url, doc in CONTEXT_DOCUMENTS.items()}))
    port = free_port()
    log = directory / "fedify.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["node", "fedify_peer.mjs", str(port), str(contexts)],
                                   cwd=peer_dir, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=clean_environ())
    node = ServedNode("drenthe", directory / "drenthe", free_port(),
                      {"KENNISKNOOP_FEDERATION_RETRY_INITIAL_SECONDS": "1",
                       "KENNISKNOOP_FEDERATION_RETRY_MAX_SECONDS": "2"})
    net = Network({"drenthe": node})
    try:
        node.init("BOKD Drenthe", province="PV22")
        node.start()
        fedify = Fedify(f"http://127.0.0.1:{port}", process)
        wait_until_responds(f"{fedify.origin}/users/fedi", process, name="fedify peer",
                            log=lambda: log.read_text(errors="replace")[-4000:],
                            timeout=WAIT_SECONDS)
        node.wait_until_ready()
        yield World(fedify, node, net)
    finally:
        net.stop_all()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_fedify_learns_that_its_follow_was_accepted(world: World) -> None:
    with world.net.explain_failures():
        # When the Fedify actor follows the node actor
        follow_id = world.fedify.control("follow", actor=world.node.actor)["id"]
        # Then the node holds the follow, and Fedify took the Accept (it refuses invalid JSON-LD)
        world.net.wait_for("the follow to be held", lambda: world.node.query(
            "SELECT state FROM follows WHERE activity_ap_id = ?", follow_id) or None)
        accept = world.net.wait_for("Fedify to take the Accept", lambda: next(
            (a for a in world.fedify.received() if a.get("type") == "Accept"), None))
        inner = accept["object"]
        assert (inner["id"] if isinstance(inner, dict) else inner) == follow_id


def test_fedify_reply_with_a_proof_is_stored(world: World) -> None:
    async def question() -> str:
        async with open_context(load(world.node.directory)) as ctx:
            item = await create_item(ctx, item_input(
                kind="question", title="Wie rijdt de buurtbus?", content="Zoeken chauffeurs."),
                SYSTEM)
            return item.ap_id

    with world.net.explain_failures():
        # Given a question on the node
        question_id = asyncio.run(question())
        # When the Fedify actor replies: a signed Note, embedded in its Create
        sent = world.fedify.control("reply", actor=world.node.actor, to=question_id)
        # Then the node stored the reply as an answer to the question
        rows = world.net.wait_for("the reply to be stored", lambda: world.node.query(
            "SELECT kind, in_reply_to FROM objects WHERE ap_id = ?", sent["id"]) or None)
        assert tuple(rows[0]) == ("answer", question_id)
