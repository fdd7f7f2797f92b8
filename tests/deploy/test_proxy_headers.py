"""``server.forwarded_allow_ips``: who may tell the node the visitor's address and scheme.

A reverse proxy (Caddy, nginx) terminates TLS and passes the request on over plain HTTP with
``X-Forwarded-For`` and ``X-Forwarded-Proto``; the ``Host`` header it keeps. The node must believe
those headers from its proxy only: otherwise anyone could choose the address the login rate
limits and ``metrics.allow`` count them as. Served for real on a loopback port, as ``serve`` does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from node.cli import init_node, load, server_config
from node.config import ConfigError, Settings, build_settings
from tests.servers import free_port

REQUIRED = {("node", "url"): "https://kennis.example", ("node", "name"): "Kennis",
            ("node", "handle"): "kennis"}
THROUGH_PROXY = {"Host": "kennis.example", "X-Forwarded-Proto": "https",
                 "X-Forwarded-For": "203.0.113.7"}


async def _echo(request: Request) -> JSONResponse:
    client = request.client.host if request.client else ""
    return JSONResponse({"scheme": request.url.scheme, "host": request.url.netloc,
                         "client": client})


@contextlib.contextmanager
def serving(app: object, settings: Settings) -> Iterator[str]:
    """``app`` under uvicorn exactly as ``kennisknoop serve`` configures it, on 127.0.0.1."""
    port = free_port()
    config = server_config(app, settings, "127.0.0.1", port)
    config.log_level = "error"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


def _settings(tmp_path: Path, allow: list[str]) -> Settings:
    return build_settings(tmp_path, {**REQUIRED, ("server", "forwarded_allow_ips"): allow},
                          environ={})


def test_a_request_through_a_trusted_proxy_sees_https_the_public_host_and_the_visitor(
        tmp_path: Path) -> None:
    echo = Starlette(routes=[Route("/", _echo)])
    with serving(echo, _settings(tmp_path, ["127.0.0.1/32"])) as url:
        seen = httpx.get(url, headers=THROUGH_PROXY, timeout=5).json()
    assert seen == {"scheme": "https", "host": "kennis.example", "client": "203.0.113.7"}


def test_forwarded_headers_from_an_untrusted_address_are_ignored(tmp_path: Path) -> None:
    echo = Starlette(routes=[Route("/", _echo)])
    # The proxy is elsewhere (a container network): a request from 127.0.0.1 is not it.
    with serving(echo, _settings(tmp_path, ["172.31.240.2"])) as url:
        seen = httpx.get(url, headers=THROUGH_PROXY, timeout=5).json()
    assert seen == {"scheme": "http", "host": "kennis.example", "client": "127.0.0.1"}


def test_uvicorns_own_environment_variable_does_not_widen_the_setting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    echo = Starlette(routes=[Route("/", _echo)])
    with serving(echo, _settings(tmp_path, [])) as url:
        seen = httpx.get(url, headers=THROUGH_PROXY, timeout=5).json()
    assert seen["scheme"] == "http" and seen["client"] == "127.0.0.1"


def test_the_node_counts_the_forwarded_visitor_for_metrics_allow(tmp_path: Path) -> None:
    """The real app: /metrics is open to loopback; a visitor forwarded by the proxy is not."""
    from node.app import create_app

    directory = tmp_path / "node"
    init_node(directory, url="https://kennis.example", name="Kennis", handle="kennis",
              environ={})
    trusted = load(directory)  # the default: the proxy on this machine (127.0.0.1, ::1)
    assert trusted.server.forwarded_allow_ips == ("127.0.0.1", "::1")
    with serving(create_app(trusted), trusted) as url:
        assert httpx.get(url + "/metrics", headers=THROUGH_PROXY, timeout=5).status_code == 403
        assert httpx.get(url + "/metrics", timeout=5).status_code == 200
    nobody = build_settings(directory, {("server", "forwarded_allow_ips"): []}, environ={},
                            file_values=_file_values(directory))
    with serving(create_app(nobody), nobody) as url:
        # The header is ignored, so a direct caller cannot pretend to be someone else either.
        assert httpx.get(url + "/metrics", headers=THROUGH_PROXY, timeout=5).status_code == 200


def _file_values(directory: Path) -> dict[str, object]:
    import tomllib

    return tomllib.loads((directory / "kennisknoop.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("value", ["*", "proxy.example", "10.0.0.0/33"])
def test_anything_but_addresses_and_networks_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"server\.forwarded_allow_ips"):
        _settings(tmp_path, [value])


def test_the_setting_reads_a_comma_separated_environment_variable(tmp_path: Path) -> None:
    settings = build_settings(tmp_path, REQUIRED, environ={
        "KENNISKNOOP_SERVER_FORWARDED_ALLOW_IPS": "172.31.240.2, 10.1.0.0/16"})
    assert settings.server.forwarded_allow_ips == ("172.31.240.2", "10.1.0.0/16")
