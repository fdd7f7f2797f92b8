"""``python -m node.demo`` (``make demo``) as a real process: its nodes served on loopback ports.

Issue 8: Ctrl-C ended the demo with "demo: error: drenthe stopped" and a failing status although
every node had stopped cleanly. A terminal's Ctrl-C reaches the whole foreground process group,
so the test starts the demo in its own group and signals the group, as a terminal does; the nodes
stopped first and the supervisor took that for a failure. One demo
directory serves every test of this module (the second start skips preparing the nodes).
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.demo import NODES
from tests.servers import free_port

pytestmark = pytest.mark.slow

READY_SECONDS = 180.0  # three nodes prepared and federated on a busy machine
STOP_SECONDS = 60.0


@dataclass(frozen=True)
class DemoSite:
    directory: Path
    base_port: int


@dataclass
class Stopped:
    status: int
    stdout: str
    stderr: str


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _answers(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    for _ in range(100):
        base = free_port()
        if base + count <= 65535 and all(_port_free(base + i) for i in range(count)):
            return base
    raise RuntimeError("no consecutive free ports")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    yield DemoSite(tmp_path_factory.mktemp("demo") / "demo-data", _free_ports(len(NODES)))


@dataclass
class Demo:
    process: subprocess.Popen[str]
    lines: queue.Queue[str | None]  # its stdout, line by line; None at the end

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self) -> None:
        """Return once the demo says every node runs; fail after a deadline."""
        seen: list[str] = []
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if "Ctrl-C stops them" in line:
                return
        os.killpg(self.pid, signal.SIGKILL)
        self.process.communicate()
        pytest.fail(f"the demo did not get ready:\n{''.join(seen)}")

    def stopped(self) -> Stopped:
        """Wait for the demo to end: its status, and what it wrote after getting ready."""
        assert self.process.stderr is not None
        try:
            status = self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            raise
        out: list[str] = []
        while (line := self.lines.get(timeout=STOP_SECONDS)) is not None:
            out.append(line)
        err = self.process.stderr.read()
        self.process.stderr.close()
        return Stopped(status, "".join(out), err)


def _read(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            lines.put(line)
    lines.put(None)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(site: DemoSite, *, background: bool = False) -> Demo:
    """The demo in its own process group, like a shell job; ``background``: SIGINT ignored, as
    a shell starts ``make demo &`` (the nodes set their own handlers and still get it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNISKNOOP_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "node.demo", "--dir", str(site.directory),
         "--base-port", str(site.base_port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True, preexec_fn=_ignore_sigint if background else None)
    lines: queue.Queue[str | None] = queue.Queue()
    # A thread reads stdout, so waiting keeps its deadline even while the demo prints nothing.
    threading.Thread(target=_read, args=(process, lines), daemon=True).start()
    demo = Demo(process, lines)
    demo.wait_ready()
    return demo


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        pytest.skip("needs /proc/PID/task/PID/children (Linux)")
    return [int(p) for p in path.read_text().split()]


def test_ctrl_c_stops_every_node_and_exits_0(site: DemoSite) -> None:
    # Given the demo running as a shell job, its nodes answering
    demo = _start(site, background=True)
    # When Ctrl-C reaches its process group (the supervisor and every node at once)
    os.killpg(demo.pid, signal.SIGINT)
    # Then it exits 0 without an error line, and every node's port is free again
    stopped = demo.stopped()
    assert stopped.status == 0, stopped.stderr
    assert "error" not in stopped.stderr
    assert "every node stopped" in stopped.stdout
    assert not any(_answers(site.base_port + i) for i in range(len(NODES)))


def test_sigterm_to_the_supervisor_stops_the_nodes_and_exits_0(site: DemoSite) -> None:
    demo = _start(site)
    demo.process.send_signal(signal.SIGTERM)
    stopped = demo.stopped()
    assert stopped.status == 0, stopped.stderr
    assert "error" not in stopped.stderr


def test_a_node_that_dies_is_an_error(site: DemoSite) -> None:
    # Given the demo running
    demo = _start(site)
    # When one node's process is killed
    os.kill(_children(demo.pid)[1], signal.SIGKILL)
    # Then the demo stops the others and reports that node, with a failing status
    stopped = demo.stopped()
    assert stopped.status == 1
    assert f"demo: error: {NODES[1].handle} stopped (exit -9)" in stopped.stderr
