"""Servers on loopback for the tests that run real processes: a free port, and waiting for one.

As in datasette's ``wait_until_responds``: poll until the server answers, and fail with its log
as soon as the process exits instead of waiting out the timeout.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

POLL_SECONDS = 0.1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_responds(url: str, process: subprocess.Popen[bytes], *, name: str,
                        log: Callable[[], str], timeout: float) -> None:
    """Poll ``url`` until it answers below 500; fail with ``log()`` if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log()}", pytrace=False)
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_SECONDS)
    pytest.fail(f"{name} did not answer {url} within {timeout:.0f} s:\n{log()}", pytrace=False)


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` on uvicorn at 127.0.0.1 in a thread (as httpx's tests do); yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
