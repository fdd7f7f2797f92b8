"""NodeInfo 2.1: what software a node runs and how big it is, for directories and peers.

Builds the discovery document served at ``/.well-known/nodeinfo`` (NodeInfo protocol §2, a JRD
with one link per schema version) and the NodeInfo 2.1 document itself (schema 2.1: ``version``,
``software``, ``protocols``, ``services``, ``openRegistrations``, ``usage``, ``metadata``), and
parses what peers serve (2.0 and 2.1 alike; 1.x ``protocols`` objects are accepted too).

Usage::

    build_discovery("https://kennis.example")
    # {"links": [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
    #             "href": "https://kennis.example/nodeinfo/2.1"}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from protocol.errors import DocumentError

__all__ = [
    "NODEINFO_PATH",
    "NODEINFO_PROFILE",
    "NODEINFO_REL",
    "NodeInfo",
    "build_discovery",
    "build_nodeinfo",
    "parse_discovery",
    "parse_nodeinfo",
]

NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_PATH = "/nodeinfo/2.1"
NODEINFO_PROFILE = 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
_REL_PREFIX = "http://nodeinfo.diaspora.software/ns/schema/"
# Schema 2.1: software.name is "^[a-z0-9-]+$".
_SOFTWARE_NAME = re.compile(r"[a-z0-9-]+", re.ASCII)


def build_discovery(base_url: str) -> dict[str, Any]:
    """The ``/.well-known/nodeinfo`` document pointing at our NodeInfo 2.1 URL.

    >>> build_discovery("https://kennis.example")["links"][0]["href"]
    'https://kennis.example/nodeinfo/2.1'
    """
    return {"links": [{"rel": NODEINFO_REL, "href": base_url.rstrip("/") + NODEINFO_PATH}]}


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DocumentError("bad_field", f"{name} must be a non-negative integer")
    return value


def build_nodeinfo(
    *,
    software_name: str = "kennisknoop",
    version: str,
    open_registrations: bool = False,
    users_total: int,
    users_active_month: int,
    users_active_halfyear: int,
    local_posts: int,
    metadata: Mapping[str, Any] | None = None,
    repository: str | None = None,
    homepage: str | None = None,
    outbound_services: tuple[str, ...] = ("atom1.0",),
) -> dict[str, Any]:
    """Build a NodeInfo 2.1 document. ``outbound_services`` names our feeds (Atom by default).

    Raises:
        DocumentError: ``bad_field`` for a software name outside ``[a-z0-9-]+`` or a negative count.

    >>> info = build_nodeinfo(version="0.1.0", users_total=3, users_active_month=2,
    ...                       users_active_halfyear=3, local_posts=40)
    >>> info["software"]["name"], info["protocols"]
    ('kennisknoop', ['activitypub'])
    """
    if not _SOFTWARE_NAME.fullmatch(software_name):
        raise DocumentError("bad_field", "software name must match [a-z0-9-]+")
    software: dict[str, str] = {"name": software_name, "version": version}
    if repository:
        software["repository"] = repository
    if homepage:
        software["homepage"] = homepage
    return {
        "version": "2.1",
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": list(outbound_services)},
        "openRegistrations": bool(open_registrations),
        "usage": {
            "users": {
                "total": _count("users_total", users_total),
                "activeMonth": _count("users_active_month", users_active_month),
                "activeHalfyear": _count("users_active_halfyear", users_active_halfyear),
            },
            "localPosts": _count("local_posts", local_posts),
        },
        "metadata": dict(metadata or {}),
    }


@dataclass(frozen=True)
class NodeInfo:
    """What we read from a peer's NodeInfo; counts a peer leaves out are ``None``."""

    version: str
    software_name: str
    software_version: str
    protocols: tuple[str, ...]
    open_registrations: bool
    users_total: int | None = None
    users_active_month: int | None = None
    users_active_halfyear: int | None = None
    local_posts: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def speaks_activitypub(self) -> bool:
        """Whether the peer lists ActivityPub among its protocols."""
        return "activitypub" in self.protocols


def _load(raw: Mapping[str, Any] | str | bytes, what: str) -> Mapping[str, Any]:
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise DocumentError("bad_json", f"{what} is not JSON") from exc
    if not isinstance(raw, Mapping):
        raise DocumentError("bad_json", f"{what} is not a JSON object")
    return raw


def _optional_count(value: Any) -> int | None:
    # Peers hide figures they do not want to share; a wrong type means unknown, not an error.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def parse_nodeinfo(raw: Mapping[str, Any] | str | bytes) -> NodeInfo:
    """Parse a peer's NodeInfo (1.0–2.1).

    Raises:
        DocumentError: ``bad_json``; ``missing_field`` for no ``version`` or ``software.name``;
            ``bad_field`` for ``protocols`` that is neither a list nor an object of lists.

    >>> info = parse_nodeinfo(build_nodeinfo(version="0.1.0", users_total=3, users_active_month=2,
    ...                                      users_active_halfyear=3, local_posts=40))
    >>> info.software_name, info.local_posts
    ('kennisknoop', 40)
    """
    doc = _load(raw, "NodeInfo")
    version = doc.get("version")
    software = doc.get("software")
    if not isinstance(version, str) or not isinstance(software, Mapping):
        raise DocumentError("missing_field", "NodeInfo needs version and software")
    name = software.get("name")
    if not isinstance(name, str) or not name:
        raise DocumentError("missing_field", "NodeInfo needs software.name")
    software_version = software.get("version")

    protocols_raw = doc.get("protocols", [])
    if isinstance(protocols_raw, Mapping):  # NodeInfo 1.x: {"inbound": [...], "outbound": [...]}
        directions = [protocols_raw.get("inbound"), protocols_raw.get("outbound")]
        protocols_raw = [p for d in directions if isinstance(d, list) for p in d]
    if not isinstance(protocols_raw, list):
        raise DocumentError("bad_field", "NodeInfo protocols must be a list")
    protocols = tuple(dict.fromkeys(p.lower() for p in protocols_raw if isinstance(p, str)))

    usage = doc.get("usage")
    usage = usage if isinstance(usage, Mapping) else {}
    users = usage.get("users")
    users = users if isinstance(users, Mapping) else {}
    metadata = doc.get("metadata")
    return NodeInfo(
        version=version,
        software_name=name.lower(),
        software_version=software_version if isinstance(software_version, str) else "",
        protocols=protocols,
        open_registrations=doc.get("openRegistrations") is True,
        users_total=_optional_count(users.get("total")),
        users_active_month=_optional_count(users.get("activeMonth")),
        users_active_halfyear=_optional_count(users.get("activeHalfyear")),
        local_posts=_optional_count(usage.get("localPosts")),
        metadata=dict(metadata) if isinstance(metadata, Mapping) else {},
    )


def parse_discovery(raw: Mapping[str, Any] | str | bytes) -> str:
    """Return the href of the newest NodeInfo schema a ``/.well-known/nodeinfo`` document lists.

    Raises:
        DocumentError: ``bad_json``, or ``missing_field`` when no NodeInfo link is present.

    >>> parse_discovery(build_discovery("https://kennis.example"))
    'https://kennis.example/nodeinfo/2.1'
    """
    doc = _load(raw, "NodeInfo discovery")
    links = doc.get("links")
    best: tuple[tuple[int, ...], str] | None = None
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, Mapping):
            continue
        rel, href = link.get("rel"), link.get("href")
        if not (isinstance(rel, str) and isinstance(href, str) and rel.startswith(_REL_PREFIX)):
            continue
        version_text = rel[len(_REL_PREFIX) :].rstrip("#")
        try:
            version = tuple(int(part) for part in version_text.split("."))
        except ValueError:
            continue
        if best is None or version > best[0]:
            best = (version, href)
    if best is None:
        raise DocumentError("missing_field", "no NodeInfo link in discovery document")
    return best[1]
