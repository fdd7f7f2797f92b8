"""deploy/Caddyfile in front of a real ``kennisknoop serve``, all on loopback.

Caddy is not a Python package: the test is skipped where the ``caddy`` binary is not installed
(Debian: ``apt-get install caddy``). The site is served over plain HTTP on a free port instead of
the public name with TLS; everything else is the Caddyfile as shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

# The node `kennisknoop serve` runs, as tests/node/test_serve.py starts it (a module fixture).
from tests.node.test_serve import Server
from tests.node.test_serve import server as node  # noqa: F401 (a fixture)
from tests.servers import free_port, wait_until_responds

CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "Caddyfile"


def test_a_request_through_caddy_reaches_the_node_with_its_request_id(
        node: Server, tmp_path: Path) -> None:  # noqa: F811 (the fixture)
    caddy = shutil.which("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed here")
    port = free_port()
    env = {**os.environ, "DOMAIN": f"http://127.0.0.1:{port}",
           "KENNISKNOOP_UPSTREAM": node.url.removeprefix("http://"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    adapted = subprocess.run([caddy, "adapt", "--config", str(CADDYFILE), "--adapter",
                              "caddyfile"], env=env, capture_output=True, text=True, timeout=60)
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    config["admin"] = {"disabled": True}  # no admin port that parallel runs would share
    (tmp_path / "caddy.json").write_text(json.dumps(config), encoding="utf-8")
    log = tmp_path / "caddy.log"
    with log.open("wb") as out:
        process = subprocess.Popen([caddy, "run", "--config", str(tmp_path / "caddy.json")],
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_responds(url + "/healthz", process, name="caddy",
                            log=lambda: log.read_text(errors="replace"), timeout=20)
        response = httpx.get(url + "/healthz", timeout=5)
        assert response.json() == {"status": "ok"}
        # Caddy's {http.request.uuid} went to the node, which kept it and sent it back.
        request_id = response.headers["x-request-id"]
        assert len(request_id) == 36 and request_id.count("-") == 4
        # The node's own pages and documents come through unchanged.
        actor = httpx.get(url + "/actors/fryslan",
                          headers={"Accept": "application/activity+json"}, timeout=5)
        assert actor.status_code == 200 and actor.json()["id"] == f"{node.url}/actors/fryslan"
    finally:
        process.terminate()
        process.wait(timeout=10)
