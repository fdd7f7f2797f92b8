"""protocol.webfinger: JRD both ways, handles, query URL and host-meta."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from protocol.errors import DocumentError
from protocol.webfinger import (
    build_host_meta,
    build_host_meta_jrd,
    build_jrd,
    parse_handle,
    parse_jrd,
    webfinger_url,
)

ACTOR = "https://kennis.example/actors/drenthe"
PAGE = "https://kennis.example/@drenthe"

# Shaped like what Mastodon 4.x serves for an account (values invented).
MASTODON_JRD: dict[str, Any] = {
    "subject": "acct:anna@mastodon.example",
    "aliases": ["https://mastodon.example/@anna", "https://mastodon.example/users/anna"],
    "links": [
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
         "href": "https://mastodon.example/@anna"},
        {"rel": "self", "type": "application/activity+json",
         "href": "https://mastodon.example/users/anna"},
        {"rel": "http://ostatus.org/schema/1.0/subscribe",
         "template": "https://mastodon.example/authorize_interaction?uri={uri}"},
        {"rel": "http://webfinger.net/rel/avatar", "type": "image/png",
         "href": "https://files.mastodon.example/anna.png"},
    ],
}


def test_build_jrd_has_subject_aliases_and_typed_links() -> None:
    assert build_jrd("drenthe@kennis.example", ACTOR, profile_url=PAGE) == {
        "subject": "acct:drenthe@kennis.example",
        "aliases": [ACTOR, PAGE],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": ACTOR},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": PAGE},
        ],
    }


def test_build_jrd_without_profile_page_and_with_extra_aliases() -> None:
    jrd = build_jrd("acct:drenthe@kennis.example", ACTOR, aliases=[ACTOR, "https://old.example/d"])
    assert jrd["aliases"] == [ACTOR, "https://old.example/d"]
    assert [link["rel"] for link in jrd["links"]] == ["self"]


def test_jrd_round_trip() -> None:
    jrd = parse_jrd(build_jrd("drenthe@kennis.example", ACTOR, profile_url=PAGE))
    assert jrd.subject == "acct:drenthe@kennis.example"
    assert jrd.actor_url() == ACTOR
    assert jrd.profile_url() == PAGE


def test_parse_mastodon_jrd_from_bytes() -> None:
    jrd = parse_jrd(json.dumps(MASTODON_JRD).encode())
    assert jrd.actor_url() == "https://mastodon.example/users/anna"
    assert jrd.aliases == tuple(MASTODON_JRD["aliases"])
    assert jrd.links[2].template == "https://mastodon.example/authorize_interaction?uri={uri}"


def test_actor_url_prefers_activity_json_over_ld_json() -> None:
    links = [
        {"rel": "self", "href": "https://a.example/ld",
         "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'},
        {"rel": "self", "type": "application/activity+json", "href": "https://a.example/as"},
    ]
    assert parse_jrd({"links": links}).actor_url() == "https://a.example/as"


def test_actor_url_falls_back_to_ld_json_with_as2_profile() -> None:
    links = [
        {"rel": "self", "type": "application/ld+json", "href": "https://a.example/plain-ld"},
        {"rel": "self", "href": "https://a.example/ld",
         "type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'},
    ]
    assert parse_jrd({"links": links}).actor_url() == "https://a.example/ld"


@pytest.mark.parametrize(
    "links",
    [
        [],
        [{"rel": "self", "type": "text/html", "href": "https://a.example/u"}],
        [{"rel": "alternate", "type": "application/activity+json", "href": "https://a.example/u"}],
        [{"rel": "self", "type": "application/activity+json", "href": "javascript:alert(1)"}],
        [{"rel": "self", "type": "application/activity+json"}],
    ],
    ids=["none", "html", "not-self", "not-http", "no-href"],
)
def test_actor_url_missing(links: list[dict[str, str]]) -> None:
    with pytest.raises(DocumentError) as info:
        parse_jrd({"links": links}).actor_url()
    assert info.value.reason == "missing_field"


def test_parse_jrd_skips_malformed_links() -> None:
    jrd = parse_jrd({"links": ["x", {"href": "https://a.example"}, *MASTODON_JRD["links"]]})
    assert len(jrd.links) == len(MASTODON_JRD["links"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<html>", "bad_json"),
        ("[1, 2]", "bad_json"),
        ({"subject": 5}, "bad_field"),
        ({"links": {"rel": "self"}}, "bad_field"),
        ({"aliases": "https://a.example"}, "bad_field"),
    ],
)
def test_parse_jrd_rejects_malformed_documents(raw: Any, reason: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_jrd(raw)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "handle",
    ["acct:drenthe@kennis.example", "@drenthe@kennis.example", "drenthe@kennis.example",
     "  ACCT:drenthe@Kennis.Example \n"],
)
def test_parse_handle_accepts_the_usual_spellings(handle: str) -> None:
    assert parse_handle(handle) == ("drenthe", "kennis.example")


def test_parse_handle_keeps_port_and_encodes_idn_hosts() -> None:
    assert parse_handle("u@127.0.0.1:8000") == ("u", "127.0.0.1:8000")
    assert parse_handle("u@Bücher.example") == ("u", "xn--bcher-kva.example")


@pytest.mark.parametrize(
    "handle",
    ["", "drenthe", "@drenthe", "drenthe@", "@@kennis.example", "a b@kennis.example",
     "a@b@kennis.example", "acct:@a@kennis.example", "a@kennis example", "a@-bad.example",
     "a@https://kennis.example", "a/b@kennis.example"],
)
def test_parse_handle_rejects_malformed(handle: str) -> None:
    with pytest.raises(DocumentError) as info:
        parse_handle(handle)
    assert info.value.reason == "bad_handle"


def test_webfinger_url_puts_the_acct_uri_in_the_query() -> None:
    assert webfinger_url("https://kennis.example/", "@drenthe@kennis.example") == (
        "https://kennis.example/.well-known/webfinger?resource=acct:drenthe@kennis.example"
    )


def test_webfinger_url_accepts_a_bare_host_and_encodes_odd_users() -> None:
    assert webfinger_url("kennis.example", "a&b=c@kennis.example") == (
        "https://kennis.example/.well-known/webfinger?resource=acct:a%26b%3Dc@kennis.example"
    )


def test_host_meta_is_xrd_with_the_lrdd_template() -> None:
    root = ET.fromstring(build_host_meta("https://kennis.example"))
    assert root.tag == "{http://docs.oasis-open.org/ns/xri/xrd-1.0}XRD"
    [link] = list(root)
    assert link.attrib == {
        "rel": "lrdd",
        "template": "https://kennis.example/.well-known/webfinger?resource={uri}",
    }


def test_host_meta_escapes_the_base_url() -> None:
    root = ET.fromstring(build_host_meta('https://kennis.example/"&<'))
    [link] = list(root)
    assert link.attrib["template"].startswith('https://kennis.example/"&<')


def test_host_meta_json_names_the_same_template() -> None:
    assert build_host_meta_jrd("https://kennis.example")["links"] == [
        {"rel": "lrdd", "type": "application/jrd+json",
         "template": "https://kennis.example/.well-known/webfinger?resource={uri}"}
    ]


def test_build_jrd_with_a_subscribe_template_round_trips_to_the_remote_follow_url() -> None:
    jrd = build_jrd("drenthe@kennis.example", ACTOR,
                    subscribe_template="https://kennis.example/volgen?uri={uri}")
    assert jrd["links"][-1] == {"rel": "http://ostatus.org/schema/1.0/subscribe",
                                "template": "https://kennis.example/volgen?uri={uri}"}
    assert parse_jrd(jrd).subscribe_url("https://a.example/u/x?y=1&z") == (
        "https://kennis.example/volgen?uri=https%3A%2F%2Fa.example%2Fu%2Fx%3Fy%3D1%26z")


def test_mastodon_subscribe_template_is_read() -> None:
    assert parse_jrd(MASTODON_JRD).subscribe_url("https://k.example/actors/d") == (
        "https://mastodon.example/authorize_interaction?uri=https%3A%2F%2Fk.example%2Factors%2Fd")


@pytest.mark.parametrize("template", ["javascript:alert(1)//{uri}", "https://m.example/follow",
                                      "/relative?uri={uri}"])
def test_subscribe_template_that_is_no_http_url_with_uri_is_ignored(template: str) -> None:
    jrd = parse_jrd({"links": [{"rel": "http://ostatus.org/schema/1.0/subscribe",
                                "template": template}]})
    assert jrd.subscribe_url("https://k.example/actors/d") is None
