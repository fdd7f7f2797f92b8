"""protocol.nodeinfo: discovery and NodeInfo 2.1 documents, and reading peers' NodeInfo."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol.errors import DocumentError
from protocol.nodeinfo import (
    NODEINFO_REL,
    build_discovery,
    build_nodeinfo,
    parse_discovery,
    parse_nodeinfo,
)

# Shaped like Mastodon 4.x's /nodeinfo/2.0 (figures invented).
MASTODON_NODEINFO: dict[str, Any] = {
    "version": "2.0",
    "software": {"name": "mastodon", "version": "4.3.2"},
    "protocols": ["activitypub"],
    "services": {"outbound": [], "inbound": []},
    "usage": {
        "users": {"total": 1200, "activeMonth": 310, "activeHalfyear": 640},
        "localPosts": 98000,
    },
    "openRegistrations": True,
    "metadata": {"nodeName": "Mastodon Voorbeeld"},
}


def _build(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "version": "0.1.0",
        "users_total": 14,
        "users_active_month": 9,
        "users_active_halfyear": 12,
        "local_posts": 230,
        "metadata": {"nodeName": "Kennisknoop Drenthe", "province": "PV22"},
    }
    return build_nodeinfo(**{**arguments, **overrides})


def test_discovery_points_at_the_2_1_document() -> None:
    assert build_discovery("https://kennis.example/") == {
        "links": [{"rel": NODEINFO_REL, "href": "https://kennis.example/nodeinfo/2.1"}]
    }
    assert NODEINFO_REL == "http://nodeinfo.diaspora.software/ns/schema/2.1"


def test_nodeinfo_follows_the_2_1_schema() -> None:
    assert _build() == {
        "version": "2.1",
        "software": {"name": "kennisknoop", "version": "0.1.0"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {"total": 14, "activeMonth": 9, "activeHalfyear": 12},
            "localPosts": 230,
        },
        "metadata": {"nodeName": "Kennisknoop Drenthe", "province": "PV22"},
    }


def test_nodeinfo_may_name_repository_and_homepage() -> None:
    software = _build(repository="https://git.example/kk", homepage="https://kennisknoop.nl")[
        "software"
    ]
    assert software["repository"] == "https://git.example/kk"
    assert software["homepage"] == "https://kennisknoop.nl"


@pytest.mark.parametrize(
    "overrides",
    [{"software_name": "Kennisknoop"}, {"software_name": "kennis knoop"}, {"local_posts": -1},
     {"users_total": True}],
)
def test_nodeinfo_refuses_values_the_schema_forbids(overrides: dict[str, Any]) -> None:
    with pytest.raises(DocumentError) as info:
        _build(**overrides)
    assert info.value.reason == "bad_field"


def test_nodeinfo_round_trip() -> None:
    info = parse_nodeinfo(json.dumps(_build()))
    assert (info.version, info.software_name, info.software_version) == ("2.1", "kennisknoop", "0.1.0")
    assert info.speaks_activitypub
    assert not info.open_registrations
    assert (info.users_total, info.users_active_month, info.users_active_halfyear) == (14, 9, 12)
    assert info.local_posts == 230
    assert info.metadata["province"] == "PV22"


def test_parse_mastodon_nodeinfo_2_0() -> None:
    info = parse_nodeinfo(MASTODON_NODEINFO)
    assert info.software_name == "mastodon"
    assert info.open_registrations
    assert info.users_active_month == 310


def test_parse_nodeinfo_1_protocols_object() -> None:
    raw = {**MASTODON_NODEINFO, "version": "1.0",
           "protocols": {"inbound": ["activitypub", "ostatus"], "outbound": ["activitypub"]}}
    assert parse_nodeinfo(raw).protocols == ("activitypub", "ostatus")


def test_hidden_or_odd_figures_read_as_unknown() -> None:
    raw = {**MASTODON_NODEINFO, "usage": {"users": {"total": "lots", "activeMonth": -1}}}
    info = parse_nodeinfo(raw)
    assert (info.users_total, info.users_active_month, info.local_posts) == (None, None, None)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "bad_json"),
        ([], "bad_json"),
        ({"software": {"name": "x"}}, "missing_field"),
        ({"version": "2.1", "software": {}}, "missing_field"),
        ({"version": "2.1", "software": {"name": "x"}, "protocols": "activitypub"}, "bad_field"),
    ],
)
def test_parse_nodeinfo_rejects_malformed(raw: Any, reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_nodeinfo(raw)
    assert info.value.reason == reason


def test_parse_discovery_round_trip() -> None:
    assert parse_discovery(build_discovery("https://kennis.example")) == (
        "https://kennis.example/nodeinfo/2.1"
    )


def test_parse_discovery_picks_the_newest_schema() -> None:
    links = [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": "https://a.example/2.0"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": "https://a.example/2.1"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/1.0", "href": "https://a.example/1.0"},
        {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": "https://a.example/"},
    ]
    assert parse_discovery({"links": links}) == "https://a.example/2.1"


def test_parse_discovery_without_nodeinfo_link() -> None:
    with pytest.raises(DocumentError) as info:
        parse_discovery({"links": [{"rel": "self", "href": "https://a.example"}]})
    assert info.value.reason == "missing_field"
