"""``deploy/compose.yaml`` against the Compose Specification's JSON Schema, and what we rely on.

No container engine runs on these machines, so the file cannot be started here; what can be
checked is that Docker Compose will accept it (the schema, vendored in tests/data/compose-spec
with its source and licence) and that it wires the node the way docs/install.md says.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml

from node.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMA = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"
SCHEMA_SHA256 = "56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c"
# Compose's own interpolation: ${VAR}, ${VAR:-default}, ${VAR:?message}.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::?(?P<op>[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """What ``docker compose`` does with ``${...}`` before it parses the file."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == "-" else ""
    return VARIABLE.sub(one, text)


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(interpolate(text, env_example() if env is None
                                                      else env))
    return data


def test_the_vendored_schema_is_the_one_named_in_its_source_file() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256
    source = (SCHEMA.parent / "SOURCE.md").read_text(encoding="utf-8")
    assert SCHEMA_SHA256 in source and "Apache License 2.0" in source
    assert "Apache License" in (SCHEMA.parent / "LICENSE").read_text(encoding="utf-8")


def test_compose_yaml_is_valid_against_the_compose_specification() -> None:
    schema = orjson.loads(SCHEMA.read_bytes())
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_has_teeth() -> None:
    broken = compose()
    broken["services"]["web"]["helthcheck"] = broken["services"]["web"].pop("healthcheck")
    schema = orjson.loads(SCHEMA.read_bytes())
    assert list(jsonschema.Draft201909Validator(schema).iter_errors(broken))


def test_every_required_variable_is_in_env_example() -> None:
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    required = {m["name"] for m in VARIABLE.finditer(text) if m["op"] == "?"}
    assert required == {"DOMAIN", "NODE_NAME", "POSTGRES_PASSWORD"}
    assert required <= set(env_example())
    with pytest.raises(KeyError, match="DOMAIN"):
        compose({})


def test_web_serves_without_a_worker_and_workers_scale() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "web", "worker", "proxy"}
    assert services["web"]["command"] == ["serve", "--no-worker"]
    assert services["worker"]["command"] == ["worker"]
    # --scale worker=N needs no fixed name and no published port on the worker.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]
    assert "ports" not in services["web"], "every request must come through the proxy"
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["KENNISKNOOP_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@db:5432/" in env["KENNISKNOOP_DATABASE_URL"]
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
        assert services[name]["volumes"] == ["data:/data"]
        known = {s.env for s in SETTINGS}
        for key in env:
            assert key in known or key.startswith("INIT_"), f"{key} is no setting"


def test_healthchecks_use_readyz_and_the_image_has_the_healthcheck_command() -> None:
    services = compose()["services"]
    assert services["web"]["healthcheck"]["test"] == [
        "CMD", "healthcheck", "http://127.0.0.1:8000/readyz"]
    assert services["worker"]["healthcheck"]["test"][-1].endswith("/readyz")
    assert services["db"]["healthcheck"]["test"][1] == "pg_isready"
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "deploy/healthcheck.py /usr/local/bin/healthcheck" in dockerfile
    assert 'HEALTHCHECK' in dockerfile and 'CMD ["healthcheck"]' in dockerfile


def test_only_the_proxys_fixed_address_is_trusted_for_forwarded_headers() -> None:
    data = compose()
    trusted = data["services"]["web"]["environment"]["KENNISKNOOP_SERVER_FORWARDED_ALLOW_IPS"]
    proxy = data["services"]["proxy"]
    assert trusted != "*"
    assert proxy["networks"]["backend"]["ipv4_address"] == trusted
    subnet = data["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(trusted) in ipaddress.ip_network(subnet)
    assert proxy["environment"]["KENNISKNOOP_UPSTREAM"] == "web:8000"
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    # .env can move both together when the subnet is taken.
    moved = compose({**env_example(), "PROXY_SUBNET": "10.99.0.0/24", "PROXY_IP": "10.99.0.9"})
    assert moved["services"]["web"]["environment"][
        "KENNISKNOOP_SERVER_FORWARDED_ALLOW_IPS"] == "10.99.0.9"
    assert moved["services"]["proxy"]["networks"]["backend"]["ipv4_address"] == "10.99.0.9"


def test_the_caddyfile_passes_what_activitypub_needs() -> None:
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "{$DOMAIN} {" in caddyfile
    assert "reverse_proxy {$KENNISKNOOP_UPSTREAM:127.0.0.1:8000}" in caddyfile
    # Caddy keeps Host and sets X-Forwarded-For/-Proto by default: nothing may override them.
    assert "header_up Host" not in caddyfile and "header_up -X-Forwarded" not in caddyfile


def test_the_nginx_example_passes_what_activitypub_needs() -> None:
    conf = (DEPLOY / "nginx" / "kennisknoop.conf").read_text(encoding="utf-8")
    for directive in ("proxy_set_header Host $host;",
                      "proxy_set_header X-Forwarded-Proto $scheme;",
                      "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                      "proxy_pass http://kennisknoop;", "server 127.0.0.1:8000;"):
        assert directive in conf
