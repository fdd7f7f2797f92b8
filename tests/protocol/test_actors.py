"""protocol.actors: Mastodon-readable actors with both keys, and extracting the keys any actor publishes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.actors import actor_keys, build_actor, ed25519_key_id, find_key, rsa_key_id
from protocol.context import AS_CONTEXT, SECURITY_V1
from protocol.errors import DocumentError, KeyFormatError
from protocol.keys import (
    load_private_pem,
    multikey_encode,
    private_multikey_decode,
    public_pem,
)
from protocol.proofs import add_proof, proof_verification_method, verify_proof
from tests.conftest import load_vector

RFC9421_KEYS = load_vector("rfc9421_test_keys.json")["keys"]
RSA_PRIVATE = load_private_pem(RFC9421_KEYS["test-key-rsa"]["private_pem"])
RSA_SPKI = public_pem(RSA_PRIVATE)
ED_PRIVATE = private_multikey_decode(
    load_vector("vc_di_eddsa_jcs_2022.json")["keyPair"]["privateKeyMultibase"]
)
ED_MULTIBASE = multikey_encode(ED_PRIVATE.public_key())

AP_ID = "https://kennis.example/actors/dorpsmolen-reduzum"
BASE = "https://kennis.example"


def _actor(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "ap_id": AP_ID,
        "type": "Organization",
        "preferred_username": "dorpsmolen-reduzum",
        "name": "Dorpsmolen Reduzum",
        "inbox": AP_ID + "/inbox",
        "outbox": AP_ID + "/outbox",
        "followers": AP_ID + "/followers",
        "following": AP_ID + "/following",
        "shared_inbox": BASE + "/inbox",
        "rsa_public_pem": RSA_SPKI,
        "ed25519_public_key": ED_PRIVATE.public_key(),
    }
    return build_actor(**{**arguments, **overrides})


# --- building --------------------------------------------------------------------------------


def test_actor_has_what_mastodon_reads() -> None:
    actor = _actor()
    assert actor["@context"][:2] == [AS_CONTEXT, SECURITY_V1]
    assert actor["id"] == AP_ID
    assert actor["type"] == "Organization"
    assert actor["preferredUsername"] == "dorpsmolen-reduzum"
    assert actor["inbox"] == AP_ID + "/inbox"
    assert actor["endpoints"] == {"sharedInbox": BASE + "/inbox"}
    assert actor["manuallyApprovesFollowers"] is False
    assert actor["discoverable"] is True
    assert actor["publicKey"] == {
        "id": AP_ID + "#main-key",
        "owner": AP_ID,
        "publicKeyPem": RSA_SPKI,
    }


def test_actor_publishes_its_ed25519_key_as_a_multikey_assertion_method() -> None:
    assert _actor()["assertionMethod"] == [
        {
            "id": AP_ID + "#ed25519-key",
            "type": "Multikey",
            "controller": AP_ID,
            "publicKeyMultibase": ED_MULTIBASE,
        }
    ]


def test_key_ids_follow_the_actor_id() -> None:
    assert rsa_key_id(AP_ID) == AP_ID + "#main-key"
    assert ed25519_key_id(AP_ID) == AP_ID + "#ed25519-key"


def test_pkcs1_rsa_pem_is_published_as_subject_public_key_info() -> None:
    actor = _actor(rsa_public_pem=RFC9421_KEYS["test-key-rsa"]["public_pem"])
    assert actor["publicKey"]["publicKeyPem"] == RSA_SPKI


def test_optional_fields_are_left_out_when_not_given() -> None:
    actor = _actor(shared_inbox=None)
    assert not {"endpoints", "summary", "url", "published"} & actor.keys()


def test_optional_fields_are_written_when_given() -> None:
    published = datetime(2024, 3, 1, 12, 0, 0, 500, tzinfo=UTC)
    actor = _actor(summary="<p>Molen</p>", url=BASE + "/@dorpsmolen-reduzum", published=published)
    assert actor["summary"] == "<p>Molen</p>"
    assert actor["url"] == BASE + "/@dorpsmolen-reduzum"
    assert actor["published"] == "2024-03-01T12:00:00Z"


def test_extra_adds_terms_and_may_override_defaults() -> None:
    actor = _actor(extra={"legalForm": "cooperative", "manuallyApprovesFollowers": True})
    assert actor["legalForm"] == "cooperative"
    assert actor["manuallyApprovesFollowers"] is True


@pytest.mark.parametrize("field", ["id", "publicKey", "assertionMethod", "@context", "inbox"])
def test_extra_cannot_replace_ids_or_keys(field: str) -> None:
    with pytest.raises(ValueError):
        _actor(extra={field: "https://evil.example/"})


@pytest.mark.parametrize(
    "ap_id", ["/actors/x", "ftp://kennis.example/x", AP_ID + "#me", "kennis.example/actors/x"]
)
def test_actor_id_must_be_an_absolute_http_iri_without_fragment(ap_id: str) -> None:
    with pytest.raises(DocumentError) as info:
        _actor(ap_id=ap_id)
    assert info.value.reason == "bad_id"


def test_actor_type_must_be_one_we_publish() -> None:
    with pytest.raises(DocumentError) as info:
        _actor(type="Application")
    assert info.value.reason == "unsupported_type"


def test_rsa_public_pem_must_hold_an_rsa_key() -> None:
    with pytest.raises(KeyFormatError):
        _actor(rsa_public_pem=RFC9421_KEYS["test-key-ed25519"]["public_pem"])


# --- reading keys ----------------------------------------------------------------------------


def test_actor_keys_round_trip_both_keys() -> None:
    rsa_key, ed_key = actor_keys(_actor())
    assert (rsa_key.key_id, rsa_key.controller) == (AP_ID + "#main-key", AP_ID)
    assert isinstance(rsa_key.key, rsa.RSAPublicKey)
    assert public_pem(rsa_key.key) == RSA_SPKI
    assert (ed_key.key_id, ed_key.controller) == (AP_ID + "#ed25519-key", AP_ID)
    assert isinstance(ed_key.key, ed25519.Ed25519PublicKey)
    assert multikey_encode(ed_key.key) == ED_MULTIBASE


def test_find_key_by_id() -> None:
    actor = _actor()
    found = find_key(actor, AP_ID + "#ed25519-key")
    assert found is not None and isinstance(found.key, ed25519.Ed25519PublicKey)
    assert find_key(actor, AP_ID + "#other") is None


def test_proof_verifies_with_the_key_the_actor_publishes() -> None:
    # Given an object signed by the actor's Ed25519 key
    signed = add_proof({"id": AP_ID + "/items/1", "type": "Note"}, ED_PRIVATE, ed25519_key_id(AP_ID))
    # When a receiver looks the proof's key up in the actor document
    key = find_key(_actor(), proof_verification_method(signed))
    # Then that key verifies the proof
    assert key is not None and isinstance(key.key, ed25519.Ed25519PublicKey)
    assert verify_proof(signed, key.key) == ed25519_key_id(AP_ID)


def test_mastodon_style_actor_with_one_public_key_object() -> None:
    actor = {
        "id": "https://mastodon.example/users/anna",
        "type": "Person",
        "publicKey": {
            "id": "https://mastodon.example/users/anna#main-key",
            "owner": "https://mastodon.example/users/anna",
            "publicKeyPem": RSA_SPKI,
        },
    }
    [key] = actor_keys(actor)
    assert key.key_id == "https://mastodon.example/users/anna#main-key"


def test_gotosocial_style_key_id_path_on_the_same_host_counts() -> None:
    actor = {
        "id": "https://gts.example/users/anna",
        "publicKey": {
            "id": "https://gts.example/users/anna/main-key",
            "owner": "https://gts.example/users/anna",
            "publicKeyPem": RSA_SPKI,
        },
    }
    assert [k.key_id for k in actor_keys(actor)] == ["https://gts.example/users/anna/main-key"]


def test_public_key_may_be_a_list() -> None:
    actor = _actor()
    second = {**actor["publicKey"], "id": AP_ID + "#ed-pem",
              "publicKeyPem": RFC9421_KEYS["test-key-ed25519"]["public_pem"]}
    actor["publicKey"] = [actor["publicKey"], second]
    assert [k.key_id for k in actor_keys(actor)] == [
        AP_ID + "#main-key", AP_ID + "#ed-pem", AP_ID + "#ed25519-key",
    ]


def _with_entries(public_keys: list[Any], methods: list[Any]) -> dict[str, Any]:
    actor = _actor()
    actor["publicKey"] = [actor["publicKey"], *public_keys]
    actor["assertionMethod"] = [*actor["assertionMethod"], *methods]
    return actor


def _pem_entry(**changes: Any) -> dict[str, Any]:
    return {"id": AP_ID + "#extra", "owner": AP_ID, "publicKeyPem": RSA_SPKI, **changes}


def _multikey_entry(**changes: Any) -> dict[str, Any]:
    entry = {"id": AP_ID + "#extra", "type": "Multikey", "controller": AP_ID,
             "publicKeyMultibase": ED_MULTIBASE}
    return {**entry, **changes}


@pytest.mark.parametrize(
    ("public_keys", "methods"),
    [
        ([_pem_entry(owner="https://kennis.example/actors/other")], []),
        ([_pem_entry(owner=None)], []),
        ([_pem_entry(id="https://evil.example/actors/x#main-key")], []),
        ([_pem_entry(id=None)], []),
        ([_pem_entry(publicKeyPem=RFC9421_KEYS["test-key-ecc-p256"]["public_pem"])], []),
        ([_pem_entry(publicKeyPem="garbage")], []),
        ([AP_ID + "#extra"], [AP_ID + "#extra"]),
        ([], [_multikey_entry(controller="https://kennis.example/actors/other")]),
        ([], [_multikey_entry(id="http://kennis.example/actors/x#k")]),
        ([], [_multikey_entry(revoked="2025-01-01T00:00:00Z")]),
        ([], [_multikey_entry(publicKeyMultibase="z" + "1" * 40)]),
        ([], [_multikey_entry(publicKeyMultibase=None)]),
        ([], [_multikey_entry(type="JsonWebKey")]),
    ],
    ids=[
        "pem-other-owner", "pem-no-owner", "pem-other-origin", "pem-no-id", "pem-ec-key",
        "pem-garbage", "bare-references", "multikey-other-controller", "multikey-other-scheme",
        "multikey-revoked", "multikey-bad-value", "multikey-no-value", "not-multikey",
    ],
)
def test_entries_the_actor_does_not_vouch_for_are_ignored(
    public_keys: list[Any], methods: list[Any]
) -> None:
    keys = actor_keys(_with_entries(public_keys, methods))
    assert [k.key_id for k in keys] == [AP_ID + "#main-key", AP_ID + "#ed25519-key"]


def test_duplicate_key_ids_count_once() -> None:
    actor = _actor()
    actor["publicKey"] = [actor["publicKey"], copy.deepcopy(actor["publicKey"])]
    assert len(actor_keys(actor)) == 2


def test_actor_without_keys_has_none() -> None:
    assert actor_keys({"id": AP_ID, "type": "Person"}) == []


def test_actor_without_id_is_refused() -> None:
    with pytest.raises(DocumentError) as info:
        actor_keys({"type": "Person", "publicKey": _pem_entry()})
    assert info.value.reason == "missing_id"


def test_actor_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DocumentError) as info:
        actor_keys(["not", "an", "actor"])  # type: ignore[arg-type]
    assert info.value.reason == "bad_json"

