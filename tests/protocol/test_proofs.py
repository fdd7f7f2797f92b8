"""protocol.proofs: the W3C eddsa-jcs-2022 vector, round trips, and one-byte mutations failing."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.context import build_context
from protocol.errors import KeyFormatError, ProofError
from protocol.jcs import canonicalize
from protocol.keys import (
    base58btc_decode,
    base58btc_encode,
    generate_ed25519,
    load_private_pem,
    multikey_decode,
    private_multikey_decode,
)
from protocol.proofs import add_proof, proof_verification_method, verify_proof
from tests.conftest import load_vector

VECTOR = load_vector("vc_di_eddsa_jcs_2022.json")
W3C_PRIVATE = private_multikey_decode(VECTOR["keyPair"]["privateKeyMultibase"])
W3C_PUBLIC = multikey_decode(VECTOR["keyPair"]["publicKeyMultibase"])
W3C_METHOD = VECTOR["proofConfig"]["verificationMethod"]

ACTOR = "https://drenthe.test/actors/drenthe"
KEY_ID = ACTOR + "#ed25519-key"
# Fixed so tests are deterministic and fast; any Ed25519 key would do.
AUTHOR = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


def _article() -> dict[str, Any]:
    return {
        "@context": build_context(),
        "id": "https://drenthe.test/items/1",
        "type": "Article",
        "kind": "story",
        "version": 3,
        "attributedTo": ACTOR,
        "name": "Dorpshuis draait op zonnestroom",
        "content": "<p>Zo pakten we het aan.</p>",
        "tag": [{"type": "Hashtag", "name": "#energie"}],
    }


def _signed(**kwargs: Any) -> dict[str, Any]:
    return add_proof(_article(), AUTHOR, KEY_ID, created="2026-01-02T03:04:05Z", **kwargs)


def _reason(document: Any, key: ed25519.Ed25519PublicKey = W3C_PUBLIC) -> str:
    with pytest.raises(ProofError) as info:
        verify_proof(document, key)
    return info.value.reason


# --- the W3C vector --------------------------------------------------------------------------


def test_w3c_vector_is_reproduced_byte_for_byte() -> None:
    signed = add_proof(
        VECTOR["unsigned"], W3C_PRIVATE, W3C_METHOD, created=VECTOR["proofConfig"]["created"]
    )
    assert signed["proof"]["proofValue"] == VECTOR["proofValue"]
    assert json.dumps(signed) == json.dumps(VECTOR["signed"])


def test_w3c_vector_canonical_forms_and_hashes_match() -> None:
    assert canonicalize(VECTOR["unsigned"]) == VECTOR["canonicalDocument"].encode()
    assert canonicalize(VECTOR["proofConfig"]) == VECTOR["canonicalProofConfig"].encode()
    document_hash = hashlib.sha256(canonicalize(VECTOR["unsigned"])).hexdigest()
    config_hash = hashlib.sha256(canonicalize(VECTOR["proofConfig"])).hexdigest()
    assert document_hash == VECTOR["documentHashHex"]
    assert config_hash == VECTOR["proofConfigHashHex"]
    assert config_hash + document_hash == VECTOR["combinedHashHex"]


def test_w3c_vector_proof_value_is_z_base58btc_of_the_signature() -> None:
    assert base58btc_decode(VECTOR["proofValue"][1:]).hex() == VECTOR["signatureHex"]


def test_w3c_signed_document_verifies() -> None:
    assert verify_proof(VECTOR["signed"], W3C_PUBLIC) == W3C_METHOD


def _one_byte_mutations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every document obtained by flipping the low bit of one byte of its JSON text."""
    text = json.dumps(document, separators=(",", ":")).encode()
    mutants = []
    for index in range(len(text)):
        mutated = text[:index] + bytes([text[index] ^ 1]) + text[index + 1 :]
        try:
            parsed = json.loads(mutated)
        except ValueError:
            continue  # not JSON any more: a parser rejects it before any proof check
        if parsed != document:
            mutants.append(parsed)
    return mutants


def test_w3c_signed_document_fails_after_any_one_byte_change() -> None:
    mutants = _one_byte_mutations(VECTOR["signed"])
    assert len(mutants) > 500  # most flips keep valid JSON; make sure they were tried
    for mutant in mutants:
        with pytest.raises(ProofError):
            verify_proof(mutant, W3C_PUBLIC)


# --- round trip ------------------------------------------------------------------------------


def test_round_trip_returns_the_verification_method() -> None:
    assert verify_proof(_signed(), AUTHOR.public_key()) == KEY_ID


def test_signed_activitypub_object_fails_after_any_one_byte_change() -> None:
    for mutant in _one_byte_mutations(_signed()):
        with pytest.raises(ProofError):
            verify_proof(mutant, AUTHOR.public_key())


def test_proof_has_the_fep_8b32_shape() -> None:
    proof = _signed()["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["verificationMethod"] == KEY_ID
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["@context"] == build_context()
    assert proof["proofValue"].startswith("z")


def test_add_proof_does_not_mutate_its_input() -> None:
    document = _article()
    before = copy.deepcopy(document)
    signed = add_proof(document, AUTHOR, KEY_ID)
    signed["@context"][0] = "changed"
    assert document == before


def test_add_proof_output_shares_no_nested_value_with_its_input() -> None:
    document = {**_article(), "proof": _signed()["proof"]}
    before = copy.deepcopy(document)
    signed = add_proof(document, OTHER, KEY_ID)
    signed["tag"][0]["name"] = "#changed"
    signed["proof"][0]["created"] = "changed"
    signed["proof"][1]["@context"].append("changed")
    assert document == before
    assert signed["proof"][1]["@context"] is not signed["@context"]


def test_document_with_floats_is_signed_over_its_jcs_form() -> None:
    # Floats are canonicalized by rfc8785 (orjson would write 5.0): the proof must still verify.
    document = {**_article(), "latitude": 52.0, "longitude": 6.5625, "area": 1e21}
    signed = add_proof(document, AUTHOR, KEY_ID)
    assert canonicalize({"n": [52.0, 1e21]}) == b'{"n":[52,1e+21]}'
    assert verify_proof(signed, AUTHOR.public_key()) == KEY_ID
    assert _reason({**signed, "latitude": 52.5}, AUTHOR.public_key()) == "invalid_proof"


def test_created_datetime_is_written_in_utc_to_the_second() -> None:
    amsterdam = timezone(timedelta(hours=1))
    created = datetime(2026, 1, 2, 4, 4, 5, 987654, tzinfo=amsterdam)
    proof = add_proof(_article(), AUTHOR, KEY_ID, created=created)["proof"]
    assert proof["created"] == "2026-01-02T03:04:05Z"


def test_created_datetime_in_utc_keeps_a_four_digit_year() -> None:
    proof = add_proof(_article(), AUTHOR, KEY_ID, created=datetime(812, 3, 4, 5, 6, 7, tzinfo=UTC))
    assert proof["proof"]["created"] == "0812-03-04T05:06:07Z"
    assert verify_proof(proof, AUTHOR.public_key()) == KEY_ID


def test_created_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    created = datetime.fromisoformat(add_proof(_article(), AUTHOR, KEY_ID)["proof"]["created"])
    assert before <= created <= datetime.now(UTC)


def test_naive_created_is_refused() -> None:
    with pytest.raises(ValueError):
        add_proof(_article(), AUTHOR, KEY_ID, created=datetime(2026, 1, 2))


def test_document_without_context_round_trips_with_a_proof_without_context() -> None:
    document = {"id": "https://drenthe.test/items/2", "type": "Note", "content": "hoi"}
    signed = add_proof(document, AUTHOR, KEY_ID)
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, AUTHOR.public_key()) == KEY_ID


def test_embedded_object_of_a_relayed_announce_verifies_against_its_author() -> None:
    announce: dict[str, Any] = {
        "@context": build_context(),
        "id": "https://lvkk.test/activities/9",
        "type": "Announce",
        "actor": "https://lvkk.test/actors/lvkk",
        "object": _signed(),
    }
    assert verify_proof(announce["object"], AUTHOR.public_key()) == KEY_ID


def test_proof_purpose_can_be_chosen_and_is_checked() -> None:
    signed = _signed(proof_purpose="authentication")
    assert verify_proof(signed, AUTHOR.public_key(), proof_purpose="authentication") == KEY_ID
    with pytest.raises(ProofError) as info:
        verify_proof(signed, AUTHOR.public_key())
    assert info.value.reason == "invalid_proof"


def test_signing_a_signed_document_makes_a_proof_set_of_independent_proofs() -> None:
    twice = add_proof(_signed(), OTHER, "https://lvkk.test/actors/lvkk#ed25519-key")
    first, second = twice["proof"]
    assert verify_proof({**twice, "proof": first}, AUTHOR.public_key()) == KEY_ID
    assert verify_proof({**twice, "proof": second}, OTHER.public_key()).startswith("https://lvkk")


def test_proof_list_verifies_its_first_eddsa_jcs_2022_proof() -> None:
    signed = _signed()
    other_suite = {**signed["proof"], "cryptosuite": "eddsa-rdfc-2022", "proofValue": "zzz"}
    listed = {**signed, "proof": [other_suite, signed["proof"]]}
    assert verify_proof(listed, AUTHOR.public_key()) == KEY_ID
    assert proof_verification_method(listed) == KEY_ID


def test_document_context_may_gain_trailing_entries_after_signing() -> None:
    # Data Integrity EdDSA §3.3.2 step 4: the proof's @context must be a prefix; it is hashed.
    signed = _signed()
    signed["@context"] = [*signed["@context"], "https://example.org/extra"]
    assert verify_proof(signed, AUTHOR.public_key()) == KEY_ID


# --- rejection -------------------------------------------------------------------------------


def test_wrong_key_is_invalid_proof() -> None:
    assert _reason(_signed(), OTHER.public_key()) == "invalid_proof"


def test_document_context_not_starting_with_proof_context_is_invalid() -> None:
    signed = _signed()
    signed["@context"] = signed["@context"][1:]
    assert _reason(signed, AUTHOR.public_key()) == "invalid_proof"


def test_missing_proof() -> None:
    assert _reason(VECTOR["unsigned"]) == "missing_proof"
    assert _reason({**VECTOR["unsigned"], "proof": []}) == "missing_proof"


def test_proof_that_is_not_an_object_is_bad_proof() -> None:
    assert _reason({**VECTOR["unsigned"], "proof": "z2HnF"}) == "bad_proof"


def test_document_that_is_not_an_object_is_bad_proof() -> None:
    not_a_document: Any = ["not", "a", "document"]
    assert _reason(not_a_document) == "bad_proof"


@pytest.mark.parametrize(
    "change",
    [{"cryptosuite": "eddsa-rdfc-2022"}, {"type": "Ed25519Signature2020"}, {"cryptosuite": None}],
)
def test_other_cryptosuite_is_unsupported(change: dict[str, Any]) -> None:
    document = copy.deepcopy(VECTOR["signed"])
    document["proof"].update(change)
    assert _reason(document) == "unsupported_cryptosuite"


@pytest.mark.parametrize(
    "proof_value",
    [
        None,
        VECTOR["proofValue"][1:],  # no multibase prefix
        "u" + VECTOR["proofValue"][1:],  # base64url multibase
        VECTOR["proofValue"][:-1] + "0",  # '0' is not base58
        "z" + base58btc_encode(bytes(63)),  # too short
        "z" + "2" * 400,  # absurdly long
    ],
)
def test_malformed_proof_value_is_bad_proof(proof_value: Any) -> None:
    document = copy.deepcopy(VECTOR["signed"])
    document["proof"]["proofValue"] = proof_value
    assert _reason(document) == "bad_proof"


@pytest.mark.parametrize("created", [12, "yesterday", "2023-02-24", "2023-13-24T23:36:38Z"])
def test_malformed_created_is_bad_proof(created: Any) -> None:
    document = copy.deepcopy(VECTOR["signed"])
    document["proof"]["created"] = created
    assert _reason(document) == "bad_proof"


def test_missing_verification_method_is_bad_proof() -> None:
    document = copy.deepcopy(VECTOR["signed"])
    del document["proof"]["verificationMethod"]
    assert _reason(document) == "bad_proof"
    with pytest.raises(ProofError):
        proof_verification_method(document)


def test_document_that_cannot_be_canonicalized_is_bad_proof() -> None:
    document = {**copy.deepcopy(VECTOR["signed"]), "n": float("nan")}
    assert _reason(document) == "bad_proof"


def test_proof_verification_method_names_the_key_to_fetch() -> None:
    assert proof_verification_method(VECTOR["signed"]) == W3C_METHOD


def test_rsa_key_cannot_verify_eddsa() -> None:
    rsa_key = load_private_pem(load_vector("draft_cavage_12.json")["key"]["private_pem"])
    with pytest.raises(KeyFormatError):
        verify_proof(VECTOR["signed"], rsa_key.public_key())  # type: ignore[arg-type]


def test_generated_key_round_trip() -> None:
    key = generate_ed25519()
    assert verify_proof(add_proof(_article(), key, KEY_ID), key.public_key()) == KEY_ID
