"""``python -m node.demo --dir DIR``: a local network of demo nodes, filled and served (``make demo``).

Each ``NodeSpec`` becomes a node in ``DIR/<handle>`` at ``http://127.0.0.1:<port>`` on consecutive
ports: Doarpswurk (Fryslân), BOKD (Drenthe) and the national aggregator LVKK. A node that does not
exist yet is initialised (``kennisknoop init`` with ``--allow-private-network``), filled from its
file in ``node/data/`` and given an admin ``beheerder`` with a random password, kept in
``DIR/<handle>/demo-password`` (readable by the owner only) so every later start prints it again.
Every node is then served as its own ``kennisknoop serve`` subprocess, logging to
``DIR/<handle>/serve.log``. Once they answer, freshly created nodes follow each other as their
specs say (the two provinces each other, the aggregator both), so each backfills the others'
knowledge and from then on receives every new item: publish one in Fryslân and it appears in
Drenthe and at the aggregator.

Once every node runs, the demo prints one line per node to click: the node's name, its home
page ``http://127.0.0.1:<port>/`` and the user and password to sign in with (``sign_in_lines``).

Ctrl-C (or SIGTERM) stops every node; the demo exits 0 when all stopped cleanly. A node that
dies on its own, or does not stop when asked, is an error (exit 1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy.exc import SQLAlchemyError

from node.cli import CliError, init_node, load, open_context
from node.config import CONFIG_FILE, ConfigError
from node.remote import RemoteError
from node.services.errors import ServiceError
from node.services.follow import follow
from node.services.transfer import import_file
from node.services.users import add_user
from protocol import themes

DATA = Path(__file__).resolve().parent / "data"
ADMIN = "beheerder"
PASSWORD_FILE = "demo-password"  # in the node's directory: the admin's password, for reprinting
READY_SECONDS = 120.0  # a cheap or busy machine: each node starts a process, migrates and signs
STOP_SECONDS = 30.0  # a node finishing its last deliveries before it exits
CLEAN = (0, -signal.SIGINT, -signal.SIGTERM)  # exit statuses of a node that stopped as asked


@dataclass(frozen=True)
class NodeSpec:
    handle: str
    name: str
    province: str | None  # CBS code; None for the national aggregator
    role: str = "provincial"
    demo_file: str | None = None  # in node/data/
    follows: tuple[str, ...] = ()  # handles of other demo nodes this node's actor follows


NODES: tuple[NodeSpec, ...] = (
    NodeSpec("fryslan", "Doarpswurk", "PV21", demo_file="demo-fryslan.json",
             follows=("drenthe",)),
    NodeSpec("drenthe", "BOKD Drenthe", "PV22", demo_file="demo-drenthe.json",
             follows=("fryslan",)),
    NodeSpec("lvkk", "Landelijke Vereniging Kleine Kernen", None, role="aggregator",
             follows=("fryslan", "drenthe")),
)


@dataclass
class RunningNode:
    spec: NodeSpec
    directory: Path
    url: str
    password: str | None  # the admin's password (None: an older demo that did not keep it)
    process: subprocess.Popen[bytes] | None = None
    created: bool = False  # made by this start (it then follows the others)


def _clean_environ() -> dict[str, str]:
    # A KENNISKNOOP_DATABASE_URL meant for a real node must not make three demo nodes share it.
    return {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}


async def _fill(directory: Path, spec: NodeSpec, password: str) -> None:
    settings = load(directory)
    async with open_context(settings) as ctx:
        if spec.demo_file:
            await import_file(ctx, DATA / spec.demo_file)
        await add_user(ctx, ADMIN, password, "admin")


def _kept_password(directory: Path) -> str | None:
    try:
        return (directory / PASSWORD_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _keep_password(directory: Path, password: str) -> None:
    path = directory / PASSWORD_FILE
    path.touch(mode=0o600)
    path.chmod(0o600)  # a demo on loopback, but still nobody else's to read
    path.write_text(password + "\n", encoding="utf-8")


def prepare(spec: NodeSpec, directory: Path, port: int) -> RunningNode:
    """Initialise and fill the node unless ``directory`` already holds one."""
    if (directory / CONFIG_FILE).exists():
        return RunningNode(spec, directory, load(directory).node.url, _kept_password(directory))
    url = f"http://127.0.0.1:{port}"
    init_node(directory, url=url, name=spec.name, handle=spec.handle, role=spec.role,
              allow_private_network=True, province=spec.province, environ={})
    password = secrets.token_urlsafe(12)
    _keep_password(directory, password)  # before the user exists: never a user without it
    asyncio.run(_fill(directory, spec, password))
    return RunningNode(spec, directory, url, password, created=True)


def start(node: RunningNode) -> None:
    port = node.url.rsplit(":", 1)[1]
    log = (node.directory / "serve.log").open("ab")
    node.process = subprocess.Popen(
        [sys.executable, "-m", "node.cli", "serve", str(node.directory), "--port", port],
        stdout=log, stderr=subprocess.STDOUT, env=_clean_environ())
    log.close()  # the child holds its own descriptor


def wait_until_ready(node: RunningNode, timeout: float = READY_SECONDS) -> None:
    """Poll the node until it answers HTTP; raise if its process exits or time runs out."""
    assert node.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"{node.spec.handle} stopped (exit {node.process.returncode}); "
                               f"see {node.directory / 'serve.log'}")
        try:
            httpx.get(node.url + "/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{node.spec.handle} did not answer within {timeout:.0f} s")


async def _follow_all(node: RunningNode, targets: list[str]) -> None:
    async with open_context(load(node.directory)) as ctx:
        for target in targets:
            await follow(ctx, target)


def federate(nodes: list[RunningNode]) -> None:
    """Let freshly created nodes follow the others (the serve processes deliver the Follows)."""
    by_handle = {n.spec.handle: n for n in nodes}
    for node in nodes:
        if not node.created:  # an existing demo: it followed when it was created
            continue
        targets = [f"{by_handle[h].url}/actors/{h}" for h in node.spec.follows if h in by_handle]
        asyncio.run(_follow_all(node, targets))


def wait_for_federation(nodes: list[RunningNode], timeout: float = READY_SECONDS) -> int:
    """Wait until the aggregator holds items from the provinces; how many it holds."""
    aggregator = next((n for n in nodes if n.spec.role == "aggregator"), None)
    if aggregator is None:
        return 0
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{aggregator.url}/api/items", params={"origin": "remote",
                                                                        "limit": 100}, timeout=2)
            count = len(response.json().get("items", []))
        except (httpx.TransportError, ValueError):
            count = 0
        if count:
            return count
        time.sleep(0.5)
    return count


def stop(nodes: list[RunningNode]) -> list[RunningNode]:
    """Ask every running node to stop and wait for it; the nodes that did not stop cleanly."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
    running = [n for n in nodes if n.process is not None and n.process.poll() is None]
    for node in running:
        assert node.process is not None
        node.process.terminate()
    for node in running:
        assert node.process is not None
        try:
            node.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
    # 0 is `serve` shutting down as asked; a node still starting up dies of the signal itself.
    return [n for n in running if n.process is not None and n.process.returncode not in CLEAN]


def _where(spec: NodeSpec) -> str:
    return themes.PROVINCES[spec.province].nl if spec.province else "national aggregator"


def describe(node: RunningNode) -> str:
    spec, url = node.spec, node.url
    lines = [f"{spec.name} ({spec.handle}, {_where(spec)})",
             f"  home page   {url}/",
             f"  actor JSON  {url}/actors/{spec.handle}  "
             "(Accept: application/activity+json)",
             f"  JSON API    {url}/api/items  (OpenAPI: {url}/api/openapi.json)",
             f"  federated   {url}/api/items?origin=remote  (what arrived from other nodes)"]
    lines.append(f"  sign in     {url}/aanmelden  {_credentials(node)}")
    return "\n".join(lines)


def _credentials(node: RunningNode) -> str:
    if node.password:
        return f"user {ADMIN}, password {node.password}"
    # A demo directory made before the password was kept: only a new user helps.
    return (f"user {ADMIN} (password not kept; add an admin with: kennisknoop user add "
            f"{node.directory} NAME --role admin)")


def sign_in_lines(nodes: list[RunningNode]) -> list[str]:
    """One line per node to click: its name, home page and how to sign in."""
    names = [f"{n.spec.name} ({_where(n.spec)})" for n in nodes]
    width = max(map(len, names), default=0)
    return [f"  {n.url}/  {name:<{width}}  sign in: {_credentials(n)}"
            for n, name in zip(nodes, names, strict=True)]


class StopRequestedError(Exception):
    """Ctrl-C (SIGINT) or SIGTERM: stop the nodes; not a failure."""


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequestedError(signal.Signals(signum).name)  # unwinds into main, which stops the nodes


def watch(nodes: list[RunningNode]) -> RunningNode:
    """Block until one node's process ends; that node."""
    while True:
        for node in nodes:
            if node.process is not None and node.process.poll() is not None:
                return node
        time.sleep(0.5)


def run(args: argparse.Namespace, nodes: list[RunningNode]) -> int:
    """Prepare, start and federate the nodes, then serve until one stops; the exit status."""
    for index, spec in enumerate(NODES):
        print(f"preparing {spec.name} …", flush=True)
        nodes.append(prepare(spec, args.dir / spec.handle, args.base_port + index))
    for node in nodes:
        start(node)
    for node in nodes:
        wait_until_ready(node)
    federate(nodes)
    received = wait_for_federation(nodes)
    print(f"\nKennisknoop demo: every node is running and federating (the aggregator "
          f"holds {received} items from the provinces so far). Ctrl-C stops them.\n")
    print("\n\n".join(describe(n) for n in nodes))
    print(f"\nData and logs: {args.dir.resolve()} (remove it to start afresh)")
    print("\nOpen a node in your browser (sign in with the button at the top right):")
    print("\n".join(sign_in_lines(nodes)), flush=True)
    stopped = watch(nodes)
    assert stopped.process is not None
    code = stopped.process.returncode
    if code not in CLEAN:
        raise RuntimeError(f"{stopped.spec.handle} stopped (exit {code}); "
                           f"see {stopped.directory / 'serve.log'}")
    # Stopped as asked (a Ctrl-C that reached it first, or someone stopped it): stop the rest.
    print(f"demo: {stopped.spec.handle} stopped; stopping the other nodes", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.demo",
                                     description="Run the Kennisknoop demo nodes.")
    parser.add_argument("--dir", required=True, type=Path, help="where the demo nodes live")
    parser.add_argument("--base-port", type=int, default=8000, help="port of the first node")
    args = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _request_stop)
    nodes: list[RunningNode] = []
    status = 0
    try:
        status = run(args, nodes)
    except StopRequestedError:
        status = 0
    except (RuntimeError, CliError, ConfigError, OSError, SQLAlchemyError, RemoteError) as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        status = 1
    except ServiceError as exc:
        print(f"demo: error: {exc.detail}", file=sys.stderr)
        status = 1
    finally:
        unclean = stop(nodes)
    for node in unclean:
        assert node.process is not None
        print(f"demo: error: {node.spec.handle} did not stop cleanly (exit "
              f"{node.process.returncode}); see {node.directory / 'serve.log'}", file=sys.stderr)
        status = 1
    if status == 0:
        print("demo: every node stopped", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
