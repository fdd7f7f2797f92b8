"""Node settings: one frozen ``Settings`` value, read from ``DIR/kennisknoop.toml`` and the environment.

Every setting is declared once in ``SETTINGS`` with its section, key, default and help text; the
TOML file written by ``kennisknoop init`` and the docs are generated from that table, and a test
checks they agree. Any setting can be overridden by ``KENNISKNOOP_<SECTION>_<KEY>`` (for example
``KENNISKNOOP_FEDERATION_MODE=allowlist``). Only ``cli.py`` (and tests) load settings; nothing reads
configuration at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONFIG_FILE = "kennisknoop.toml"
ROLES = ("provincial", "aggregator")
FEDERATION_MODES = ("open", "allowlist", "blocklist")
FOLLOW_APPROVAL = ("auto", "manual")


class ConfigError(Exception):
    """The configuration is missing or invalid; ``str(exc)`` is one readable line."""


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"KENNISKNOOP_{self.section.upper()}_{self.key.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting("node", "url", "", "Public base URL of this node, e.g. https://kennis.doarpswurk.nl "
            "(http://127.0.0.1:PORT for local use). Object IRIs are built from it: never change it "
            "after federating."),
    Setting("node", "name", "", "Display name of the node actor (the provincial association)."),
    Setting("node", "handle", "", "Handle of the node actor, as in handle@host."),
    Setting("node", "role", "provincial", "provincial: owns initiatives; aggregator: the national "
            "node that follows every provincial node."),
    Setting("node", "province_code", "", "CBS province code of this node (PV20..PV31), empty for "
            "the national aggregator."),
    Setting("node", "summary", "", "Short description of the node, shown on its actor and home page."),
    Setting("node", "allow_private_network", False, "Allow outbound requests to loopback and "
            "private addresses (local demos and tests only)."),
    Setting("database", "url", "", "SQLAlchemy database URL. Empty: SQLite file kennisknoop.db in "
            "the node directory. PostgreSQL: postgresql+psycopg://user@host/dbname."),
    Setting("server", "host", "127.0.0.1", "Address `kennisknoop serve` listens on."),
    Setting("server", "port", 8000, "Port `kennisknoop serve` listens on."),
    Setting("limits", "max_body_bytes", 1_000_000, "Largest request body accepted (bytes)."),
    Setting("limits", "max_json_depth", 32, "Deepest JSON nesting accepted in a request body."),
    Setting("limits", "page_size", 20, "Items per page in collections and API lists."),
    Setting("limits", "inbox_rate_per_host", 10, "Inbox requests per second accepted from one "
            "remote host (the host of the signature's key id), counted before the signature is "
            "checked; more get 429 with Retry-After and are sent again by the peer. Counted per "
            "web process. 0: no limit."),
    Setting("limits", "inbox_burst_per_host", 50, "Inbox requests one remote host may send at "
            "once above `inbox_rate_per_host` (the size of its token bucket)."),
    Setting("limits", "inbox_rate_total", 50, "Inbox requests per second accepted, per web "
            "process, from all hosts together that have not yet sent a verified activity "
            "(strangers, made-up hosts, unsigned requests): stops a flood from ever-new hosts "
            "without starving known peers, which each keep their own limit. 0: no limit."),
    Setting("limits", "inbox_burst_total", 500, "Inbox requests from such hosts accepted at "
            "once above `inbox_rate_total`."),
    Setting("limits", "inbox_pending_per_host", 1_000, "Received activities of one remote host "
            "that may wait to be applied; past this its new ones get 503 with Retry-After until "
            "the worker catches up, so one peer cannot fill the disk. 0: no limit."),
    Setting("federation", "mode", "open", "open: federate with anyone not blocked; allowlist: only "
            "with the hosts in `allow`; blocklist: anyone but the hosts in `block`."),
    Setting("federation", "allow", [], "Hosts federated with in allowlist mode."),
    Setting("federation", "block", [], "Hosts refused in open and blocklist mode."),
    Setting("federation", "follow_approval", "auto", "auto: accept follow requests at once; "
            "manual: an admin approves them."),
    Setting("federation", "retry_initial_seconds", 30, "First retry delay of a failed delivery."),
    Setting("federation", "retry_max_seconds", 21_600, "Largest delay between delivery retries."),
    Setting("federation", "give_up_after_hours", 96, "Stop retrying a delivery after this many "
            "hours (anti-entropy still repairs the gap later)."),
    Setting("federation", "sync_interval_seconds", 3_600, "How often anti-entropy compares "
            "followees' outboxes with what is stored."),
    Setting("federation", "delivery_concurrency", 8, "Deliveries sent at once by one worker."),
    Setting("federation", "lease_seconds", 300, "How long a worker holds a claimed inbox, "
            "delivery or job row: a killed worker's rows are taken up again after this. Keep it "
            "above the slowest step (a delivery may take 30 s)."),
)


def _by_section() -> dict[str, list[Setting]]:
    out: dict[str, list[Setting]] = {}
    for s in SETTINGS:
        out.setdefault(s.section, []).append(s)
    return out


@dataclass(frozen=True)
class Settings:
    """All settings of one node; ``values`` is keyed by ``(section, key)``."""

    dir: Path
    values: Mapping[tuple[str, str], Any] = field(default_factory=dict)

    def get(self, section: str, key: str) -> Any:
        return self.values[(section, key)]

    @property
    def url(self) -> str:
        return str(self.values[("node", "url")]).rstrip("/")

    @property
    def host(self) -> str:
        """The authority of the node URL (host[:port]), lower-cased."""
        return urlsplit(self.url).netloc.lower()

    @property
    def name(self) -> str:
        return str(self.values[("node", "name")])

    @property
    def handle(self) -> str:
        return str(self.values[("node", "handle")])

    @property
    def role(self) -> str:
        return str(self.values[("node", "role")])

    @property
    def allow_private_network(self) -> bool:
        return bool(self.values[("node", "allow_private_network")])

    @property
    def database_url(self) -> str:
        url = str(self.values[("database", "url")])
        return url or f"sqlite+aiosqlite:///{self.dir / 'kennisknoop.db'}"

    @property
    def page_size(self) -> int:
        return int(self.values[("limits", "page_size")])

    @property
    def max_body_bytes(self) -> int:
        return int(self.values[("limits", "max_body_bytes")])


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    default = setting.default
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if isinstance(default, int):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if isinstance(default, list):
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(value)
            return list(value)
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    except ValueError as exc:
        raise ConfigError(
            f"{origin}: {setting.section}.{setting.key} has an invalid value {value!r}"
        ) from exc


def build_settings(directory: Path, overrides: Mapping[tuple[str, str], Any] | None = None,
                   *, environ: Mapping[str, str] | None = None, file_values: Mapping[str, Any]
                   | None = None) -> Settings:
    """Combine defaults, file values, environment and explicit overrides; validate the result."""
    env = os.environ if environ is None else environ
    values: dict[tuple[str, str], Any] = {}
    file_values = file_values or {}
    known = {(s.section, s.key) for s in SETTINGS}
    for section, table in file_values.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{CONFIG_FILE}: [{section}] must be a table")
        for key in table:
            if (section, key) not in known:
                raise ConfigError(f"{CONFIG_FILE}: unknown setting {section}.{key}")
    for s in SETTINGS:
        value: Any = s.default
        section_values = file_values.get(s.section, {})
        if s.key in section_values:
            value = _coerce(s, section_values[s.key], CONFIG_FILE)
        if s.env in env:
            value = _coerce(s, env[s.env], s.env)
        if overrides and (s.section, s.key) in overrides:
            value = _coerce(s, overrides[(s.section, s.key)], "option")
        values[(s.section, s.key)] = value
    settings = Settings(dir=directory, values=values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    url = settings.url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"node.url must be an http(s) URL, got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError("node.url must be a bare origin such as https://kennis.example")
    if not settings.name:
        raise ConfigError("node.name is required")
    if not settings.handle:
        raise ConfigError("node.handle is required")
    if settings.role not in ROLES:
        raise ConfigError(f"node.role must be one of {', '.join(ROLES)}")
    if settings.get("federation", "mode") not in FEDERATION_MODES:
        raise ConfigError(f"federation.mode must be one of {', '.join(FEDERATION_MODES)}")
    if settings.get("federation", "follow_approval") not in FOLLOW_APPROVAL:
        raise ConfigError(f"federation.follow_approval must be one of {', '.join(FOLLOW_APPROVAL)}")
    for key in ("inbox_rate_per_host", "inbox_burst_per_host", "inbox_rate_total",
                "inbox_burst_total", "inbox_pending_per_host"):
        if int(settings.get("limits", key)) < 0:
            raise ConfigError(f"limits.{key} must be 0 or more")


def load_settings(directory: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``DIR/kennisknoop.toml`` plus ``KENNISKNOOP_*`` environment overrides."""
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found: run `kennisknoop init {directory}` first")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return build_settings(directory.resolve(), environ=environ, file_values=data)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_toml(settings: Settings) -> str:
    """The configuration file for ``settings``, every setting with its help text as a comment."""
    lines = ["# Kennisknoop node settings. Every value can be overridden with the environment",
             "# variable shown beside it. Documentation: docs/configuration.md", ""]
    for section, items in _by_section().items():
        lines.append(f"[{section}]")
        for s in items:
            lines.append(f"# {s.help} (env {s.env})")
            lines.append(f"{s.key} = {_toml_value(settings.get(s.section, s.key))}")
        lines.append("")
    return "\n".join(lines)


def settings_markdown() -> str:
    """The settings table for docs/configuration.md."""
    rows = ["| setting | default | environment variable | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.section}.{s.key}` | `{_toml_value(s.default)}` | `{s.env}` | {s.help} |")
    return "\n".join(rows)
