"""protocol.jsonlimits: known inline contexts taken as parsed give the full parse's outcome."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.context import build_context
from protocol.errors import DocumentError
from protocol.jsonlimits import (
    DEFAULT_LIMITS,
    JsonLimits,
    _load_strict,
    _load_with_known_contexts,
    load_json,
)

CONTEXT = orjson.dumps(build_context())
PLAIN_CONTEXT = orjson.dumps(build_context(data_integrity=False))
PROOF = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "@context": build_context(),
         "proofValue": "z3abc"}


def outcome(load: object, body: bytes, limits: JsonLimits) -> tuple[str, str]:
    """The parsed value's repr (types and member order included) or the error's reason and
    detail."""
    try:
        return ("value", repr(load(body, limits=limits)))  # type: ignore[operator]
    except DocumentError as exc:
        return (exc.reason, exc.detail)


def strict(body: bytes, *, limits: JsonLimits) -> object:
    return _load_strict(body, limits)


def create() -> bytes:
    item = {"@context": build_context(), "id": "https://a.test/items/1", "type": "Article",
            "content": "Tekst " * 50, "location": {"latitude": 53.12, "longitude": 5.78},
            "proof": PROOF}
    return orjson.dumps({"@context": build_context(), "id": "https://a.test/activities/1",
                         "type": "Create", "object": item, "proof": PROOF})


def test_a_kennisknoop_create_takes_its_contexts_as_parsed() -> None:
    body = create()
    document = _load_with_known_contexts(body, DEFAULT_LIMITS)
    assert document is not None
    assert repr(document) == repr(_load_strict(body, DEFAULT_LIMITS))


def test_each_context_is_a_fresh_copy() -> None:
    body = create()
    first = load_json(body)
    first["@context"].append("changed")
    first["object"]["@context"][2]["kk"] = "changed"
    assert load_json(body) == _load_strict(body, DEFAULT_LIMITS)
    assert first["proof"]["@context"] is not first["object"]["proof"]["@context"]


def test_a_duplicate_context_member_is_still_refused() -> None:
    body = b'{"@context":' + CONTEXT + b',"a":1,"@context":' + CONTEXT + b"}"
    assert _load_with_known_contexts(body, DEFAULT_LIMITS) is None
    assert outcome(load_json, body, DEFAULT_LIMITS)[0] == "duplicate_key"


def test_contexts_that_would_pass_the_depth_limit_are_too_deep() -> None:
    body = b'{"a":{"b":{"@context":' + CONTEXT + b"}}}"
    limits = JsonLimits(max_depth=5)
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)
    assert outcome(load_json, body, limits)[0] == "too_deep"


def test_a_context_under_another_member_name_is_parsed_in_full() -> None:
    body = b'{"x\\"@context":' + CONTEXT + b"}"  # the name ends in an escaped quote + @context
    assert _load_with_known_contexts(body, DEFAULT_LIMITS) is None
    assert load_json(body) == {'x"@context': build_context()}


def test_a_body_holding_the_sentinel_is_parsed_in_full() -> None:
    body = b'{"@context":' + CONTEXT + b',"n":100000000000000000000}'
    assert _load_with_known_contexts(body, DEFAULT_LIMITS) is None
    assert outcome(load_json, body, DEFAULT_LIMITS)[0] == "bad_number"


GOOD_ATOMS = [b"0", b"-0", b"1.5", b"-2e3", b"true", b"null", b'"s"', b'"\xc3\xa9"',
              b'"\\"@context\\":"', b'"[[{{"', b'"\\\\"', b"[]", b"{}", CONTEXT, PLAIN_CONTEXT]
BAD_ATOMS = [b"1e400", b"9007199254740993", b"NaN", b"Infinity", b'"\\ud800"', b'"\xff\xfe"',
             b"100000000000000000000", b"100000000000000000001", CONTEXT + b"5",
             CONTEXT + b".5", CONTEXT[:-1], b""]
GOOD_KEYS = [b'"@context"', b'"\\u0040context"', b'"x\\"@context"', b'"a"', b'"b"', b'"c"',
             b'"d"', b'"e"']
BAD_KEYS = [b'"\xed\xa0\x80"', b'"\\ud834"', b"a"]


def pick(good: list[bytes], bad: list[bytes]) -> st.SearchStrategy[bytes]:
    """Mostly a valid piece, sometimes an invalid one."""
    pool = good * 4 + bad  # drawn by index: a strategy holding the contexts has a huge repr
    return st.integers(0, len(pool) - 1).map(lambda i: pool[i])


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    keys = pick(GOOD_KEYS, BAD_KEYS)
    unique = draw(st.integers(0, 3)) > 0  # duplicate names allowed in a quarter of the cases
    by_key = (lambda member: member[0]) if unique else None
    value = st.recursive(
        pick(GOOD_ATOMS, BAD_ATOMS) | st.text(max_size=8).map(lambda s: orjson.dumps(s)),
        lambda children: (
            st.lists(children, max_size=4).map(lambda items: b"[" + b",".join(items) + b"]")
            | st.lists(st.tuples(keys, st.sampled_from([b":", b" : "]), children),
                       max_size=3, unique_by=by_key).map(
                lambda members: b"{" + b",".join(k + c + v for k, c, v in members) + b"}")),
        max_leaves=8)
    members = draw(st.lists(st.tuples(keys, value), max_size=4, unique_by=by_key))
    prefixed = draw(st.booleans())
    if prefixed and unique:
        members = [(k, v) for k, v in members if k != b'"@context"']
    body = b"{" + b",".join(k + b":" + v for k, v in members) + b"}"
    if prefixed:
        body = b'{"@context":' + (CONTEXT if draw(st.booleans()) else PLAIN_CONTEXT) + (
            b"," + body[1:] if members else b"}")
    if draw(st.integers(0, 7)) == 0:  # damage: a byte in, or a cut
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from([b"", b"\xff", b"{", b"]", b'"', b"\\", b","]))
    return body


@settings(max_examples=400, deadline=None)
@given(documents(), st.sampled_from([3, 6, 9, 32]), st.sampled_from([3, 10_000]),
       st.sampled_from([8, 200_000]))
def test_same_outcome_as_the_full_parse(body: bytes, depth: int, items: int, string: int) -> None:
    limits = JsonLimits(max_depth=depth, max_items=items, max_string=string)
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)


def test_a_page_of_creates_is_checked_outside_its_contexts() -> None:
    # Given an outbox page of Creates, each with two known contexts (not walked again) ...
    page = b'{"type": "OrderedCollectionPage", "orderedItems": [' + b",".join(
        [create()] * 20) + b"]}"
    limits = JsonLimits(max_bytes=10**7, max_string=299)
    assert outcome(load_json, page, DEFAULT_LIMITS) == outcome(strict, page, DEFAULT_LIMITS)
    # ... a string of the items over the limit is still refused as the full parse refuses it
    assert outcome(load_json, page, limits)[0] == "too_large"
    assert outcome(load_json, page, limits) == outcome(strict, page, limits)
