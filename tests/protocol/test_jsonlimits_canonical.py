"""protocol.jsonlimits: a body that is orjson's own output, parsed by orjson, gives the full
parse's outcome."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.context import build_context
from protocol.errors import DocumentError
from protocol.jsonlimits import (
    DEFAULT_LIMITS,
    MAX_SAFE_INTEGER,
    JsonLimits,
    _load_canonical,
    _load_strict,
    load_json,
    load_json_body,
)


def outcome(load: object, body: bytes, limits: JsonLimits) -> tuple[str, str]:
    """The parsed value's repr (types and member order included) or the error's reason and
    detail."""
    try:
        return ("value", repr(load(body, limits=limits)))  # type: ignore[operator]
    except DocumentError as exc:
        return (exc.reason, exc.detail)


def strict(body: bytes, *, limits: JsonLimits) -> object:
    return _load_strict(body, limits)


def create() -> dict[str, Any]:
    proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
             "@context": build_context(), "proofValue": "z3abc"}
    item = {"@context": build_context(), "id": "https://a.test/items/1", "type": "Article",
            "content": "Tekst coöperatie " * 50, "location": {"latitude": 53.12, "longitude": 5.78},
            "published": "2026-12-04T21:00:00Z", "proof": proof}
    return {"@context": build_context(), "id": "https://a.test/activities/1", "type": "Create",
            "object": item, "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "proof": proof}


def test_a_kennisknoop_create_is_parsed_by_orjson() -> None:
    body = orjson.dumps(create())
    document = _load_canonical(body, DEFAULT_LIMITS)
    assert document is not None
    assert repr(document) == repr(_load_strict(body, DEFAULT_LIMITS))


def test_a_body_with_whitespace_is_parsed_strictly() -> None:
    body = orjson.dumps(create(), option=orjson.OPT_INDENT_2)
    assert _load_canonical(body, DEFAULT_LIMITS) is None
    assert load_json(body) == create()


def test_a_duplicate_member_is_still_refused() -> None:
    body = b'{"a":1,"b":2,"a":1}'
    assert _load_canonical(body, DEFAULT_LIMITS) is None
    assert outcome(load_json, body, DEFAULT_LIMITS)[0] == "duplicate_key"


def test_an_integer_beyond_2_53_is_still_refused() -> None:
    body = orjson.dumps({"a": [1, {"b": MAX_SAFE_INTEGER + 1}]})
    assert _load_canonical(body, DEFAULT_LIMITS) is None
    assert outcome(load_json, body, DEFAULT_LIMITS) == outcome(strict, body, DEFAULT_LIMITS)
    assert outcome(load_json, body, DEFAULT_LIMITS)[0] == "bad_number"
    safe = orjson.dumps({"a": [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]})
    assert _load_canonical(safe, DEFAULT_LIMITS) == {"a": [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]}


def test_a_known_context_pushing_past_the_depth_limit_is_too_deep() -> None:
    body = orjson.dumps({"a": {"b": {"@context": build_context()}}})
    limits = JsonLimits(max_depth=5)
    assert _load_canonical(body, limits) is None
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)
    assert outcome(load_json, body, limits)[0] == "too_deep"


def test_a_known_context_over_the_item_limit_is_too_large() -> None:
    body = orjson.dumps({"@context": build_context()})
    limits = JsonLimits(max_items=3)
    assert _load_canonical(body, limits) is None
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)
    assert outcome(load_json, body, limits)[0] == "too_large"


def test_a_context_like_a_known_one_is_walked() -> None:
    context = build_context()
    context.append({"n": MAX_SAFE_INTEGER + 1})  # not a known context: its integer is checked
    body = orjson.dumps({"@context": context})
    assert _load_canonical(body, DEFAULT_LIMITS) is None
    assert outcome(load_json, body, DEFAULT_LIMITS)[0] == "bad_number"


def test_a_long_string_is_refused_with_the_strict_error() -> None:
    body = orjson.dumps({"a": "x" * 50})
    limits = JsonLimits(max_string=20)
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)
    assert outcome(load_json, body, limits)[0] == "too_large"


def test_each_parse_is_a_fresh_value() -> None:
    body = orjson.dumps(create())
    first = load_json(body)
    first["@context"].append("changed")
    assert load_json(body) == create()


# --- the property: generated canonical bodies, then damaged -----------------------------------

KEYS = st.sampled_from(["@context", "a", "b", "id", "type", "é", "\u2028", "\x00", "x\"y"])
NUMBERS = (st.integers(-(2**64), 2**64)
           | st.sampled_from([MAX_SAFE_INTEGER, MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1,
                              2**63, 2**64 - 1])
           | st.floats(allow_nan=False, allow_infinity=False))
ATOMS = (NUMBERS | st.booleans() | st.none() | st.text(max_size=12)
         | st.sampled_from([build_context(), build_context(data_integrity=False)]))
VALUES = st.recursive(ATOMS, lambda children: st.lists(children, max_size=4)
                      | st.dictionaries(KEYS, children, max_size=4), max_leaves=12)
DAMAGE = [b"", b" ", b"\xff", b"\xed\xa0\x80", b'\\ud800', b"{", b"]", b'"', b"\\", b",",
          b"1e400", b"NaN", b"9007199254740993", b'"a":1,', b"\xef\xbb\xbf"]


def compact(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits: json writes it (and the rest) compactly
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    value = draw(st.dictionaries(KEYS, VALUES, max_size=5))
    body = compact(value)
    if draw(st.integers(0, 2)) == 0:  # damaged: a piece put in, or a cut
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(DAMAGE)) + body[at:]
    if draw(st.integers(0, 5)) == 0 and len(value) > 0:  # a member given twice
        first = compact(dict([next(iter(value.items()))]))[1:-1]
        body = body[:-1] + b"," + first + b"}"
    return body


@settings(max_examples=500, deadline=None)
@given(bodies(), st.sampled_from([2, 3, 6, 32]), st.sampled_from([2, 3, 10_000]),
       st.sampled_from([4, 200_000]))
def test_same_outcome_as_the_full_parse(body: bytes, depth: int, items: int, string: int) -> None:
    limits = JsonLimits(max_depth=depth, max_items=items, max_string=string)
    assert outcome(load_json, body, limits) == outcome(strict, body, limits)
    try:
        fast = _load_canonical(body, limits)
    except DocumentError as exc:
        assert outcome(strict, body, limits) == (exc.reason, exc.detail)
    else:
        if fast is not None:
            assert outcome(strict, body, limits) == ("value", repr(fast))
        # load_json_body says whether the body is the value's own serialisation, truly
        if outcome(load_json, body, limits)[0] == "value":
            document, canonical = load_json_body(body, limits=limits)
            assert canonical == (fast is not None)
            if canonical:
                assert orjson.dumps(document) == body
