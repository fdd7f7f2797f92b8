"""Node settings: one frozen, typed tree, read from ``DIR/kennisknoop.toml`` and the environment.

Each TOML section is a frozen dataclass (``NodeSettings`` is ``[node]``, ``FederationSettings`` is
``[federation]`` ...), and ``Settings`` holds one of each, so code reads ``settings.federation.mode``
and the type checker sees every use: a mistyped setting is a type error, not a ``KeyError`` at run
time. A setting is declared once, as a field with its default and help text::

    @dataclass(frozen=True)
    class FederationSettings:
        lease_seconds: int = setting(300, "How long a worker holds a claimed row ...")

The field's type decides how a value is read (``str``, ``int``, ``bool``, ``tuple[str, ...]`` for
a list, or a ``Literal`` of the allowed words); ``minimum=`` adds a lower bound. The TOML file
written by ``kennisknoop init``, ``SETTINGS`` and the table in docs/configuration.md are generated
from these classes, and tests check they agree. A new section is a new class plus one field of
``Settings``.

Any setting can be overridden by ``KENNISKNOOP_<SECTION>_<KEY>`` (for example
``KENNISKNOOP_FEDERATION_MODE=allowlist``). Only ``cli.py`` (and tests) load settings; nothing
reads configuration at import time.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import urlsplit

from protocol.errors import DocumentError
from protocol.origin import authority_of

CONFIG_FILE = "kennisknoop.toml"

Role = Literal["provincial", "aggregator"]
FederationMode = Literal["open", "allowlist"]
# Old names still accepted in a configuration file: ``blocklist`` always meant ``open``.
DEPRECATED_MODES = {"blocklist": "open"}
FollowApproval = Literal["auto", "manual"]
LogFormat = Literal["text", "json"]
ROLES: tuple[str, ...] = get_args(Role)

_T = TypeVar("_T")


class ConfigError(Exception):
    """The configuration is missing or invalid; ``str(exc)`` is one readable line."""


def setting(default: _T, help: str, *, minimum: int | None = None) -> _T:
    """Declare one setting: its default, its help text and (for numbers) its lowest value."""
    return field(default=default, metadata={"help": help, "minimum": minimum})


# --- the settings, one class per section ----------------------------------------------------------


@dataclass(frozen=True)
class NodeSettings:
    """``[node]``: who this node is."""

    url: str = setting("", "Public base URL of this node, e.g. https://kennis.doarpswurk.nl "
                       "(http://127.0.0.1:PORT for local use). Object IRIs are built from it: never "
                       "change it after federating.")
    name: str = setting("", "Display name of the node actor (the provincial association).")
    handle: str = setting("", "Handle of the node actor, as in handle@host.")
    role: Role = setting("provincial", "provincial: owns initiatives; aggregator: the national "
                         "node that follows every provincial node.")
    province_code: str = setting("", "CBS province code of this node (PV20..PV31), empty for the "
                                 "national aggregator.")
    summary: str = setting("", "Short description of the node, shown on its actor and home page.")
    allow_private_network: bool = setting(False, "Allow outbound requests to loopback and private "
                                          "addresses (local demos and tests only).")

    @property
    def host(self) -> str:
        """The authority of the node URL (host[:port]), normalised (``protocol.origin``)."""
        return authority_of(self.url)


@dataclass(frozen=True)
class DatabaseSettings:
    """``[database]``: where the node keeps its data."""

    url: str = setting("", "SQLAlchemy database URL. Empty: SQLite file kennisknoop.db in the node "
                       "directory. PostgreSQL: postgresql+psycopg://user@host/dbname.")


@dataclass(frozen=True)
class ServerSettings:
    """``[server]``: where ``kennisknoop serve`` listens."""

    host: str = setting("127.0.0.1", "Address `kennisknoop serve` listens on.")
    port: int = setting(8000, "Port `kennisknoop serve` listens on.")
    forwarded_allow_ips: tuple[str, ...] = setting(
        ("127.0.0.1", "::1"), "Addresses (or CIDR networks) of the reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto headers are believed: a request from one of them "
        "counts as coming from the visitor address and scheme the proxy names (login rate limits, "
        "metrics.allow, https). From any other address those headers are ignored. Name only your "
        "own proxy (`*` is refused: anyone could then choose the address they are counted as); "
        "empty: believe no one.")
    web_processes: int = setting(
        1, "How many `kennisknoop serve` processes serve this node together (behind one proxy, "
        "on one PostgreSQL). The node cannot count them itself; it is used only for the line "
        "`serve` logs at start-up saying what the inbox flood limits, kept per process, add up "
        "to (each `limits.inbox_rate_*` and `inbox_burst_*` times this number).", minimum=1)
    render_cache_bytes: int = setting(
        32 * 1024 * 1024, "Bytes of rendered responses each web process holds in memory (the "
        "API JSON and the anonymous HTML page of items, the ActivityPub JSON of activities and "
        "of outbox pages), "
        "least recently used dropped first; each is checked against its row's version with one "
        "short statement before it is served, so a write in any process shows at once "
        "(docs/performance.md, \"Rendered bytes held\"). 0: hold none.", minimum=0)


@dataclass(frozen=True)
class LimitsSettings:
    """``[limits]``: sizes and rates of what the node accepts."""

    max_body_bytes: int = setting(1_000_000, "Largest request body accepted (bytes).")
    max_json_depth: int = setting(32, "Deepest JSON nesting accepted in a request body.")
    page_size: int = setting(20, "Items per page in collections and API lists.")
    inbox_rate_per_host: int = setting(
        10, "Inbox requests per second accepted from one remote host (the host of the signature's "
        "key id), counted before the signature is checked; more get 429 with Retry-After and are "
        "sent again by the peer. Counted per web process. 0: no limit.", minimum=0)
    inbox_burst_per_host: int = setting(
        50, "Inbox requests one remote host may send at once above `inbox_rate_per_host` (the "
        "size of its token bucket).", minimum=0)
    inbox_rate_total: int = setting(
        50, "Inbox requests per second accepted, per web process, from all hosts together that "
        "have not yet sent a verified activity (strangers, made-up hosts, unsigned requests): "
        "stops a flood from ever-new hosts without starving known peers, which each keep their "
        "own limit. 0: no limit.", minimum=0)
    inbox_burst_total: int = setting(
        500, "Inbox requests from such hosts accepted at once above `inbox_rate_total`.",
        minimum=0)
    inbox_pending_per_host: int = setting(
        1_000, "Received activities of one remote host that may wait to be applied; past this "
        "its new ones get 503 with Retry-After until the worker catches up, so one peer cannot "
        "fill the disk. 0: no limit.", minimum=0)


@dataclass(frozen=True)
class FederationSettings:
    """``[federation]``: with whom the node federates, and how hard it tries."""

    mode: FederationMode = setting("open", "open: federate with every host not blocked; "
                                   "allowlist: only with the hosts in `allow` (`blocklist` is "
                                   "read as `open`).")
    allow: tuple[str, ...] = setting((), "Hosts (and their subdomains) federated with in "
                                     "allowlist mode.")
    block: tuple[str, ...] = setting((), "Hosts (and their subdomains) refused in every mode, "
                                     "besides those blocked with `kennisknoop block`.")
    follow_approval: FollowApproval = setting("auto", "auto: each actor chooses whether to "
                                              "approve followers by hand (off: accepted at "
                                              "once); manual: every actor does "
                                              "(/beheer/volgverzoeken).")
    retry_initial_seconds: int = setting(30, "First retry delay of a failed delivery.")
    retry_max_seconds: int = setting(21_600, "Largest delay between delivery retries.")
    give_up_after_hours: int = setting(96, "Stop retrying a delivery after this many hours "
                                       "(anti-entropy still repairs the gap later).")
    sync_interval_seconds: int = setting(3_600, "How often anti-entropy compares followees' "
                                         "outboxes with what is stored.")
    delivery_concurrency: int = setting(8, "Deliveries sent at once by one worker.")
    lease_seconds: int = setting(300, "How long a worker holds a claimed inbox, delivery or job "
                                 "row: a killed worker's rows are taken up again after this. A "
                                 "live worker renews the lease of the rows it still works every "
                                 "third of it, so a long round keeps its rows; keep it above a "
                                 "few seconds, or a renewal delayed on a loaded machine lets "
                                 "another worker send the same rows again.")


@dataclass(frozen=True)
class AggregatorSettings:
    """``[aggregator]``: what a ``role = "aggregator"`` node follows (docs/federation.md)."""

    follow: tuple[str, ...] = setting(
        (), "Nodes an aggregator follows at start-up: handles (bokd@kennis.bokd.nl) or node "
        "actor URLs. Following them again at every start-up is a no-op; nodes those follow are "
        "offered at GET /api/aggregator/suggestions, never followed on their own.")


@dataclass(frozen=True)
class RetentionSettings:
    """``[retention]``: how long finished federation work is kept (docs/federation.md)."""

    inbox_days: int = setting(
        14, "Days a received activity's raw document is kept once it is applied or has failed; "
        "then only its id, sender, type and state remain.", minimum=1)
    inbox_ids_days: int = setting(
        90, "Days the id of a received activity is kept to recognise a duplicate; a replayed "
        "signed request verifies for at most 13 hours, so any value keeps ids far longer than "
        "a replay could be accepted.", minimum=1)
    deliveries_days: int = setting(
        7, "Days a finished delivery (sent, or given up) is kept for inspection before it is "
        "deleted.", minimum=1)


@dataclass(frozen=True)
class MapSettings:
    """``[map]``: the background of ``/kaart`` (docs/browsing.md)."""

    tile_url: str = setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Tile server of the map, a URL template with {z}, {x} and {y}; the page's "
        "Content-Security-Policy allows images from its origin only. Mind the server's usage "
        "policy: a busy node runs or rents its own.")
    tile_attribution: str = setting(
        "© OpenStreetMap-bijdragers (openstreetmap.org/copyright)",
        "The attribution the tile server requires, shown on the map (plain text).")


@dataclass(frozen=True)
class LoggingSettings:
    """``[logging]``: what the log lines look like (docs/operations.md)."""

    format: LogFormat = setting(
        "text", "text: one readable line per event; json: one JSON object per line (time, "
        "level, logger, message, request_id and, for requests, method, path, route, status and "
        "duration), for a log collector.")


@dataclass(frozen=True)
class MetricsSettings:
    """``[metrics]``: who may read ``/metrics`` (docs/operations.md)."""

    allow: tuple[str, ...] = setting(
        ("127.0.0.1/32", "::1/128"), "Client addresses (CIDR networks) that may read /metrics "
        "without a token. Behind a reverse proxy the client is the address the proxy forwards, "
        "so keep the scraper on the same machine or use `token`.")
    token: str = setting(
        "", "A bearer token that opens /metrics from any address (`Authorization: Bearer "
        "<token>`). Empty: only the `allow` addresses.")
    worker_port: int = setting(
        0, "Port on 127.0.0.1 where a separate `kennisknoop worker` serves its own counters "
        "(deliveries, applied activities) in Prometheus text format; 0: none. The web "
        "processes' /metrics cannot see a separate worker's counters.", minimum=0)


@dataclass(frozen=True)
class MailSettings:
    """``[mail]``: the SMTP server notifications are mailed through (docs/following.md)."""

    host: str = setting("", "SMTP server that sends notification mail. Empty: no mail ever leaves "
                        "the node (editors are told so on their mail settings page).")
    port: int = setting(587, "Port of the SMTP server (587 for submission with STARTTLS).",
                        minimum=1)
    starttls: bool = setting(True, "Upgrade the connection with STARTTLS before signing in; "
                             "only switch off for a server on the same machine.")
    username: str = setting("", "User name at the SMTP server; empty: send without signing in.")
    password: str = setting("", "Password at the SMTP server (better set as "
                            "KENNISKNOOP_MAIL_PASSWORD than in the file).")
    sender: str = setting("", "From address of notification mail, e.g. "
                          "kennisknoop@doarpswurk.nl. Mail is sent only when host and sender "
                          "are both set.")

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


@dataclass(frozen=True)
class FeedsSettings:
    """``[feeds]``: RSS and Atom feeds editors subscribe initiatives to (docs/bridges.md)."""

    poll_seconds: int = setting(1_800, "How often every subscribed feed is fetched again "
                                "(conditional GET); a failing feed is retried sooner, with "
                                "back-off.", minimum=60)


@dataclass(frozen=True)
class MurmurationsSettings:
    """``[murmurations]``: registering initiatives' profiles with a Murmurations index."""

    index_url: str = setting("", "Base URL of the Murmurations Index API the admin may register "
                             "initiatives' profiles with, e.g. "
                             "https://index.murmurations.network/v2 (the node POSTs to "
                             "{index_url}/nodes). Empty: no call to any index ever leaves the "
                             "node, and the admin page cannot register anything.")

    @property
    def configured(self) -> bool:
        return bool(self.index_url)


@dataclass(frozen=True)
class UploadsSettings:
    """``[uploads]``: files volunteers attach to items (docs/attachments.md)."""

    max_bytes: int = setting(20 * 1024 * 1024, "Largest uploaded attachment accepted (bytes); "
                             "larger ones are refused with 413 `too_large`.", minimum=1)
    avatar_max_bytes: int = setting(2 * 1024 * 1024, "Largest image accepted as an initiative's "
                                    "avatar (bytes); larger ones are refused with 413 "
                                    "`too_large`.", minimum=1)
    orphan_grace_hours: int = setting(24, "An uploaded file that no item, initiative or other "
                                      "actor names is removed once it is older than this "
                                      "(hours), so a form still being filled keeps its file.",
                                      minimum=1)


@dataclass(frozen=True)
class Settings:
    """All settings of one node: one frozen section per TOML table, plus the node directory."""

    dir: Path
    node: NodeSettings = NodeSettings()
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    limits: LimitsSettings = LimitsSettings()
    federation: FederationSettings = FederationSettings()
    retention: RetentionSettings = RetentionSettings()
    aggregator: AggregatorSettings = AggregatorSettings()
    map: MapSettings = MapSettings()
    logging: LoggingSettings = LoggingSettings()
    metrics: MetricsSettings = MetricsSettings()
    mail: MailSettings = MailSettings()
    feeds: FeedsSettings = FeedsSettings()
    murmurations: MurmurationsSettings = MurmurationsSettings()
    uploads: UploadsSettings = UploadsSettings()

    @property
    def database_url(self) -> str:
        """``database.url``, or the SQLite file in the node directory when it is empty."""
        return self.database.url or f"sqlite+aiosqlite:///{self.dir / 'kennisknoop.db'}"


# --- the table of settings, derived from the classes ----------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting as the file, the environment and the docs see it."""

    section: str
    key: str
    type: Any
    default: Any
    help: str
    minimum: int | None = None

    @property
    def env(self) -> str:
        return f"KENNISKNOOP_{self.section.upper()}_{self.key.upper()}"

    @property
    def choices(self) -> tuple[str, ...]:
        return get_args(self.type) if get_origin(self.type) is Literal else ()


def _sections() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings) if f.name != "dir"}


def _table() -> tuple[Setting, ...]:
    out = []
    for section, cls in _sections().items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append(Setting(section, f.name, hints[f.name], f.default, f.metadata["help"],
                               f.metadata["minimum"]))
    return tuple(out)


SETTINGS: tuple[Setting, ...] = _table()


def value_of(settings: Settings, item: Setting) -> Any:
    """The value of one setting, for code that walks ``SETTINGS`` (rendering, docs)."""
    return getattr(getattr(settings, item.section), item.key)


# --- reading values -------------------------------------------------------------------------------


def _coerce(item: Setting, value: Any, origin: str) -> Any:
    kind = str if item.choices else item.type
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if kind == tuple[str, ...]:
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ValueError(value)
            return tuple(value)
        if not isinstance(value, str):
            raise ValueError(value)
        return value
    except ValueError as exc:
        raise ConfigError(f"{origin}: {item.section}.{item.key} has an invalid value {value!r}"
                          ) from exc


def _check(item: Setting, value: Any) -> None:
    if item.choices and value not in item.choices:
        raise ConfigError(f"{item.section}.{item.key} must be one of {', '.join(item.choices)}")
    if item.minimum is not None and value < item.minimum:
        raise ConfigError(f"{item.section}.{item.key} must be {item.minimum} or more")


def build_settings(directory: Path, overrides: Mapping[tuple[str, str], Any] | None = None,
                   *, environ: Mapping[str, str] | None = None, file_values: Mapping[str, Any]
                   | None = None) -> Settings:
    """Combine defaults, file values, environment and explicit overrides; validate the result.

    ``overrides`` are keyed by ``(section, key)``, as a command-line option would give them.
    """
    env = os.environ if environ is None else environ
    file_values = file_values or {}
    overrides = overrides or {}
    known = {(s.section, s.key) for s in SETTINGS}
    for section, table in file_values.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{CONFIG_FILE}: [{section}] must be a table")
        for key in table:
            if (section, key) not in known:
                raise ConfigError(f"{CONFIG_FILE}: unknown setting {section}.{key}")
    for section, key in overrides:
        if (section, key) not in known:
            raise ConfigError(f"option: unknown setting {section}.{key}")
    values: dict[str, dict[str, Any]] = {section: {} for section in _sections()}
    for s in SETTINGS:
        value: Any = s.default
        section_values = file_values.get(s.section, {})
        if s.key in section_values:
            value = _coerce(s, section_values[s.key], CONFIG_FILE)
        if s.env in env:
            value = _coerce(s, env[s.env], s.env)
        if (s.section, s.key) in overrides:
            value = _coerce(s, overrides[(s.section, s.key)], "option")
        values[s.section][s.key] = value
    mode = values["federation"]["mode"]
    values["federation"]["mode"] = DEPRECATED_MODES.get(mode, mode)
    values["node"]["url"] = values["node"]["url"].rstrip("/")
    _validate_node(values["node"])
    index_url = values["murmurations"]["index_url"] = values["murmurations"]["index_url"].rstrip("/")
    if index_url and (urlsplit(index_url).scheme not in ("http", "https")
                      or not urlsplit(index_url).hostname):
        raise ConfigError(f"murmurations.index_url must be an http(s) URL, got {index_url!r}")
    for name, networks in (("metrics.allow", values["metrics"]["allow"]),
                           ("server.forwarded_allow_ips", values["server"]["forwarded_allow_ips"])):
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(f"{name}: {network!r} is not an address or network") from exc
    for s in SETTINGS:
        _check(s, values[s.section][s.key])
    sections = {name: cls(**values[name]) for name, cls in _sections().items()}
    return Settings(dir=directory, **sections)


def _validate_node(node: Mapping[str, Any]) -> None:
    url = node["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"node.url must be an http(s) URL, got {url!r}")
    try:
        authority_of(url)
    except DocumentError as exc:
        raise ConfigError(f"node.url has an invalid host: {exc.detail}") from exc
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError("node.url must be a bare origin such as https://kennis.example")
    if not node["name"]:
        raise ConfigError("node.name is required")
    if not node["handle"]:
        raise ConfigError("node.handle is required")


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


# --- writing the file and the docs ----------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_toml(settings: Settings) -> str:
    """The configuration file for ``settings``, every setting with its help text as a comment."""
    lines = ["# Kennisknoop node settings. Every value can be overridden with the environment",
             "# variable shown beside it. Documentation: docs/configuration.md", ""]
    section = ""
    for s in SETTINGS:
        if s.section != section:
            if section:
                lines.append("")
            section = s.section
            lines.append(f"[{section}]")
        lines.append(f"# {s.help} (env {s.env})")
        lines.append(f"{s.key} = {_toml_value(value_of(settings, s))}")
    lines.append("")
    return "\n".join(lines)


def settings_markdown() -> str:
    """The settings table for docs/configuration.md."""
    rows = ["| setting | default | environment variable | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        rows.append(f"| `{s.section}.{s.key}` | `{_toml_value(s.default)}` | `{s.env}` | {s.help} |")
    return "\n".join(rows)
