"""protocol.vocab: type sets, the public collection, AS2 media types, as_list and get_id."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import vocab
from protocol.vocab import (
    ACTIVITY_JSON,
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    LD_JSON_AS,
    OBJECT_TYPES,
    PUBLIC,
    as_list,
    get_id,
    is_activitypub_media_type,
    is_public,
)

AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def test_activity_types_are_the_ones_the_engine_handles() -> None:
    handled = {"Follow", "Accept", "Reject", "Undo", "Create", "Update", "Delete", "Announce", "Flag",
               "Like", "Move"}
    assert handled == ACTIVITY_TYPES


def test_actor_types_are_the_five_as2_actor_types() -> None:
    assert {"Organization", "Group", "Person", "Service", "Application"} == ACTOR_TYPES


def test_object_types_cover_our_item_types() -> None:
    assert {"Article", "Document", "Question", "Note", "Event", "Place", "Tombstone"} <= OBJECT_TYPES
    assert {"Page", "Image"} <= OBJECT_TYPES


def test_type_sets_are_disjoint() -> None:
    assert not ACTIVITY_TYPES & ACTOR_TYPES
    assert not ACTIVITY_TYPES & OBJECT_TYPES
    assert not ACTOR_TYPES & OBJECT_TYPES


def test_kk_terms_are_the_plain_names_of_the_design() -> None:
    assert set(vocab.KK_TERM_NAMES) == {
        "kind",
        "version",
        "legalForm",
        "phase",
        "status",
        "themes",
        "provinceCode",
        "municipalityCode",
        "acceptedAnswer",
        "questionCategory",
        "regulation",
        "lastConfirmed",
        "regulationArea",
        "outcome",
        "endorsements",
    }


def test_public_is_the_full_iri() -> None:
    assert PUBLIC == "https://www.w3.org/ns/activitystreams#Public"


@pytest.mark.parametrize("alias", [PUBLIC, "as:Public", "Public"])
def test_every_spelling_of_public_is_public(alias: str) -> None:
    assert is_public(alias)


def test_a_followers_collection_is_not_public() -> None:
    assert not is_public("https://a.example/users/x/followers")


def test_as_list_of_none_is_empty() -> None:
    assert as_list(None) == []


def test_as_list_wraps_a_single_value() -> None:
    assert as_list("https://a.example/1") == ["https://a.example/1"]
    assert as_list({"id": "x"}) == [{"id": "x"}]


def test_as_list_copies_a_list() -> None:
    original = [1, 2]
    result = as_list(original)
    assert result == [1, 2]
    assert result is not original


def test_get_id_of_an_iri_is_the_iri() -> None:
    assert get_id("https://a.example/1") == "https://a.example/1"


def test_get_id_of_an_embedded_object_is_its_id() -> None:
    assert get_id({"id": "https://a.example/1", "type": "Note"}) == "https://a.example/1"


@pytest.mark.parametrize("value", [None, 3, {"type": "Note"}, {"id": 5}, ["https://a.example/1"]])
def test_get_id_of_anything_else_is_none(value: object) -> None:
    assert get_id(value) is None


@pytest.mark.parametrize(
    "content_type",
    [
        ACTIVITY_JSON,
        LD_JSON_AS,
        "application/activity+json; charset=utf-8",
        "Application/Activity+JSON",
        "application/activity+json;",
        f'application/ld+json;profile="{AS_PROFILE}"',
        f'application/ld+json; charset=utf-8; profile="{AS_PROFILE}"',
        f'APPLICATION/LD+JSON; PROFILE="{AS_PROFILE}"',
        f'application/ld+json; profile="https://example.org/other {AS_PROFILE}"',
        f'application/ld+json; profile="{AS_PROFILE} https://w3id.org/security/v1"',
        f'application/ld+json; profile="\\h{AS_PROFILE[1:]}"',
    ],
)
def test_activitypub_media_types_are_recognised(content_type: str) -> None:
    assert is_activitypub_media_type(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        "",
        "application/json",
        "text/html; charset=utf-8",
        "application/ld+json",
        'application/ld+json; profile="https://example.org/other"',
        f'application/ld+json; profile="{AS_PROFILE}#"',
        f"application/ld+json; profile={AS_PROFILE}",  # an IRI is not a token: must be quoted
        f'application/ld+json; profile="{AS_PROFILE}',  # unterminated quoted-string
        f'application/ld+json; profile="x"; profile="{AS_PROFILE}"',  # repeated parameter
        "application/activity+json garbage",
        "application/activity+jsonx",
        "activity+json",
    ],
)
def test_other_media_types_are_not_activitypub(content_type: str) -> None:
    assert not is_activitypub_media_type(content_type)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.sampled_from(["application/", "ld+json", "activity+json", ";", " ", "profile=", '"', "\\"])
        | st.sampled_from([AS_PROFILE, "charset=utf-8", "x"])
        | st.text(max_size=4),
        max_size=8,
    )
)
def test_arbitrary_content_types_never_raise(parts: list[str]) -> None:
    assert is_activitypub_media_type("".join(parts)) in (True, False)
