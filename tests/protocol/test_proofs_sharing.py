"""``add_proof(share=True)`` (no deep copies) and the reuse of a signed document's remembered
JCS bytes when it is embedded: both proven equal to the copying, walking path on random
documents (floats, any Unicode, nesting), and to ``rfc8785`` itself."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.jcs import canonicalize
from protocol.keys import generate_ed25519
from protocol.proofs import add_proof, verify_proof

KEY = generate_ed25519()
METHOD = "https://kennis.example/actors/drenthe#ed25519-key"
CREATED = "2026-12-05T00:00:00Z"
SETTINGS = settings(derandomize=True, deadline=None, max_examples=300)

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)  # any scalar value
_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
            | st.floats(allow_nan=False, allow_infinity=False) | _text)
_values = st.recursive(_scalars, lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(_text, children, max_size=4), max_leaves=16)
_documents = st.dictionaries(_text.filter(lambda key: key != "proof"), _values, max_size=6)
_contexts = st.sampled_from([None, "https://www.w3.org/ns/activitystreams",
                             ["https://www.w3.org/ns/activitystreams", {"kk": "https://kk.test#",
                                                                         "n": 1.5}]])


def _with_context(document: dict[str, Any], context: Any) -> dict[str, Any]:
    return document if context is None else {"@context": context, **document}


@SETTINGS
@given(_documents, _contexts)
def test_a_shared_signing_signs_and_returns_what_a_copying_one_does(
        document: dict[str, Any], context: Any) -> None:
    document = _with_context(document, context)
    before = copy.deepcopy(document)
    copied = add_proof(document, KEY, METHOD, created=CREATED)
    shared = add_proof(document, KEY, METHOD, created=CREATED, share=True)
    assert shared == copied and list(shared) == list(copied)
    assert orjson.dumps(shared) == orjson.dumps(copied)  # order and types, floats included
    assert canonicalize(shared) == canonicalize(copied) == rfc8785.dumps(copied)
    assert verify_proof(shared, KEY.public_key()) == METHOD
    assert document == before  # neither changed its input


@SETTINGS
@given(_documents, _contexts, _values)
def test_an_embedded_signed_document_has_the_bytes_rfc8785_gives(
        document: dict[str, Any], context: Any, other: Any) -> None:
    # Given a signed document (its JCS bytes remembered when it was signed)
    signed = add_proof(_with_context(document, context), KEY, METHOD, created=CREATED)
    # When it is embedded, as itself or as a copy, in an activity signed in turn
    activity = {"type": "Announce", "object": signed, "copy": orjson.loads(orjson.dumps(signed)),
                "other": other}
    announced = add_proof(activity, KEY, METHOD, created=CREATED, share=True)
    # Then every byte is the reference's, and both proofs verify
    assert canonicalize(activity) == rfc8785.dumps(activity)
    assert canonicalize(announced) == rfc8785.dumps(announced)
    assert verify_proof(announced, KEY.public_key()) == METHOD
    assert verify_proof(announced["object"], KEY.public_key()) == METHOD


@SETTINGS
@given(_documents, _values)
def test_a_signed_document_changed_after_signing_is_canonicalized_anew(
        document: dict[str, Any], value: Any) -> None:
    # Given a signed document, then changed (a member added or replaced)
    signed = add_proof(document, KEY, METHOD, created=CREATED)
    signed["changed"] = value
    # When it is embedded, its remembered bytes are not used: the bytes are the reference's
    embedding = {"object": signed}
    assert canonicalize(embedding) == rfc8785.dumps(embedding)
