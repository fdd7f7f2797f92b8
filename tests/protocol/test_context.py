"""protocol.context: the contexts we emit, the inline kk terms, and the offline context documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from protocol.context import (
    AS_CONTEXT,
    CONTEXT_DOCUMENTS,
    DATA_INTEGRITY_CONTEXT,
    KK_NAMESPACE,
    KK_TERMS,
    MULTIKEY_CONTEXT,
    SECURITY_V1,
    build_actor_context,
    build_context,
    load_context,
    shared_context,
)
from protocol.errors import DocumentError
from protocol.jcs import canonicalize
from protocol.keys import generate_ed25519
from protocol.proofs import add_proof, verify_proof

jsonld = pytest.importorskip("pyld.jsonld")  # an independent JSON-LD processor (via bovine)

KK = KK_NAMESPACE
XSD = "http://www.w3.org/2001/XMLSchema#"


def _loader(url: str, options: Any = None) -> dict[str, Any]:
    return {"contextUrl": None, "documentUrl": url, "document": load_context(url)}


def _expand(document: dict[str, Any]) -> dict[str, Any]:
    (expanded,) = jsonld.expand(document, {"documentLoader": _loader})
    return dict(expanded)


def test_build_context_lists_as2_data_integrity_then_inline_terms() -> None:
    context = build_context()
    assert context[:2] == [AS_CONTEXT, DATA_INTEGRITY_CONTEXT]
    assert context[2] == dict(KK_TERMS)


def test_build_context_can_leave_out_data_integrity() -> None:
    assert build_context(data_integrity=False) == [AS_CONTEXT, dict(KK_TERMS)]


def test_build_actor_context_adds_security_v1_and_multikey() -> None:
    context = build_actor_context()
    assert context[:4] == [AS_CONTEXT, SECURITY_V1, DATA_INTEGRITY_CONTEXT, MULTIKEY_CONTEXT]


def test_built_contexts_are_fresh_copies() -> None:
    first = build_context()
    first[-1]["version"]["@type"] = "changed"
    assert build_context()[-1]["version"]["@type"] == "xsd:integer"


DESIGN_TERMS = (
    "kind", "version", "legalForm", "phase", "status", "themes", "provinceCode",
    "municipalityCode", "acceptedAnswer", "questionCategory", "regulation", "lastConfirmed",
    "regulationArea", "outcome", "endorsements",
)


def test_every_design_term_is_declared_under_the_kk_namespace() -> None:
    assert KK_TERMS["kk"] == KK
    for term in DESIGN_TERMS:
        definition = KK_TERMS[term]
        iri = definition if isinstance(definition, str) else definition["@id"]
        assert iri == f"kk:{term}"


def test_kk_terms_expand_to_the_kk_namespace_with_their_types() -> None:
    expanded = _expand(
        {
            "@context": build_context(),
            "id": "https://drenthe.test/items/1",
            "type": "Question",
            "kind": "question",
            "version": 3,
            "themes": ["https://kennisknoop.nl/themes/meals"],
            "acceptedAnswer": "https://drenthe.test/items/2",
            "lastConfirmed": "2026-01-31",
            "questionCategory": "ethical",
        }
    )
    assert expanded[f"{KK}kind"] == [{"@value": "question"}]
    assert expanded[f"{KK}version"] == [{"@type": f"{XSD}integer", "@value": 3}]
    assert expanded[f"{KK}themes"] == [{"@id": "https://kennisknoop.nl/themes/meals"}]
    assert expanded[f"{KK}acceptedAnswer"] == [{"@id": "https://drenthe.test/items/2"}]
    assert expanded[f"{KK}lastConfirmed"] == [{"@type": f"{XSD}date", "@value": "2026-01-31"}]
    assert expanded[f"{KK}questionCategory"] == [{"@value": "ethical"}]


def test_a_bottleneck_tally_expands_to_kk_terms_scoped_to_it() -> None:
    expanded = _expand(
        {
            "@context": build_context(),
            "id": "https://drenthe.test/items/1",
            "type": "Article",
            "kind": "bottleneck",
            "status": "raised",
            "regulationArea": "tax",
            "outcome": "Aangekaart bij het ministerie",
            "endorsements": {"count": 2, "provinces": ["PV21", "PV23"], "support": 1},
        }
    )
    assert expanded[f"{KK}regulationArea"] == [{"@value": "tax"}]
    assert expanded[f"{KK}outcome"] == [{"@value": "Aangekaart bij het ministerie"}]
    [tally] = expanded[f"{KK}endorsements"]
    assert tally[f"{KK}endorsementCount"] == [{"@type": f"{XSD}integer", "@value": 2}]
    assert tally[f"{KK}endorsementProvinces"] == [{"@value": "PV21"}, {"@value": "PV23"}]
    assert tally[f"{KK}supportCount"] == [{"@type": f"{XSD}integer", "@value": 1}]


def test_hashtag_and_sensitive_expand_to_as2_terms() -> None:
    expanded = _expand(
        {
            "@context": build_context(),
            "id": "https://drenthe.test/items/1",
            "type": "Note",
            "sensitive": False,
            "tag": [{"type": "Hashtag", "name": "#zorg"}],
        }
    )
    assert expanded["https://www.w3.org/ns/activitystreams#sensitive"] == [{"@value": False}]
    [tag] = expanded["https://www.w3.org/ns/activitystreams#tag"]
    assert tag["@type"] == ["https://www.w3.org/ns/activitystreams#Hashtag"]


def test_actor_keys_and_proof_expand_to_security_terms() -> None:
    actor = "https://drenthe.test/actors/drenthe"
    expanded = _expand(
        {
            "@context": build_actor_context(),
            "id": actor,
            "type": "Organization",
            "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": "PEM"},
            "assertionMethod": [
                {"id": f"{actor}#ed25519-key", "type": "Multikey", "controller": actor,
                 "publicKeyMultibase": "z6Mk"}
            ],
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                      "proofPurpose": "assertionMethod", "proofValue": "z1"},
        }
    )
    sec = "https://w3id.org/security#"
    assert expanded[f"{sec}publicKey"][0][f"{sec}publicKeyPem"] == [{"@value": "PEM"}]
    [method] = expanded[f"{sec}assertionMethod"]
    assert method["@type"] == [f"{sec}Multikey"]
    assert method[f"{sec}controller"] == [{"@id": actor}]
    [proof] = expanded[f"{sec}proof"][0]["@graph"]
    assert proof["@type"] == [f"{sec}DataIntegrityProof"]


def test_inline_terms_redefine_no_protected_term_of_the_shipped_contexts() -> None:
    for url in (DATA_INTEGRITY_CONTEXT, MULTIKEY_CONTEXT):
        protected = set(CONTEXT_DOCUMENTS[url]["@context"]) - {"id", "type", "@protected"}
        assert protected.isdisjoint(KK_TERMS)


def test_every_context_we_reference_is_shipped() -> None:
    for entry in [*build_context(), *build_actor_context()]:
        if isinstance(entry, str):
            assert entry in CONTEXT_DOCUMENTS


def test_load_context_accepts_as2_spellings_with_hash_and_http() -> None:
    expected = load_context(AS_CONTEXT)
    assert load_context(AS_CONTEXT + "#") == expected
    assert load_context("http://www.w3.org/ns/activitystreams") == expected


def test_load_context_returns_a_copy() -> None:
    load_context(SECURITY_V1)["@context"]["publicKey"] = "changed"
    assert load_context(SECURITY_V1)["@context"]["publicKey"] != "changed"


def test_unknown_context_is_refused_not_fetched() -> None:
    with pytest.raises(DocumentError) as info:
        load_context("https://evil.example/context.jsonld")
    assert info.value.reason == "bad_field"


# --- the shared context: one object, signed into many documents, never changed ---------------

METHOD = "https://kennis.example/actors/drenthe#ed25519-key"


def _note(n: int, context: list[Any]) -> dict[str, Any]:
    return {"@context": context, "id": f"https://kennis.example/items/{n}", "type": "Note",
            "content": f"Hallo {n}"}


def test_the_shared_context_is_one_object_equal_to_a_built_one() -> None:
    assert shared_context() is shared_context()
    assert shared_context() == build_context()


def test_signing_two_items_leaves_the_shared_context_unchanged() -> None:
    context = shared_context()
    before = copy.deepcopy(context)
    key = generate_ed25519()
    shared = add_proof(_note(1, context), key, METHOD, share=True)
    copied = add_proof(_note(2, context), key, METHOD)
    # Shared: the document and its proof hold the very object; copied: their own.
    assert shared["@context"] is context and shared["proof"]["@context"] is context
    assert copied["@context"] is not context and copied["proof"]["@context"] is not context
    copied["@context"][2]["extra"] = "https://elders.example#"  # a copy may be changed
    copied["proof"]["@context"].append("https://elders.example/context")
    assert shared_context() is context and context == before
    for document in (shared, add_proof(_note(2, context), key, METHOD)):
        assert verify_proof(document, key.public_key()) == METHOD


def test_a_shared_signature_is_the_copied_one() -> None:
    key = generate_ed25519()
    created = "2026-12-04T12:00:00Z"
    shared = add_proof(_note(1, shared_context()), key, METHOD, created=created, share=True)
    copied = add_proof(_note(1, build_context()), key, METHOD, created=created)
    assert canonicalize(shared) == canonicalize(copied)
    assert shared == copied
