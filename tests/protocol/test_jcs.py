"""protocol.jcs: RFC 8785 vectors, key order and number form, and errors as DocumentError."""

from __future__ import annotations

import enum
import json
import math
import random
import struct
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol import jcs
from protocol.errors import DocumentError
from protocol.jcs import canonicalize
from tests.conftest import load_vector

JCS = load_vector("rfc8785_jcs.json")


@pytest.mark.parametrize("case", JCS["cases"], ids=[case["name"] for case in JCS["cases"]])
def test_rfc8785_case_gives_expected_bytes(case: dict[str, Any]) -> None:
    output = canonicalize(json.loads(case["input"]))
    assert output == bytes.fromhex(case["expected_hex"])
    assert output == case["expected"].encode("utf-8")


@pytest.mark.parametrize(
    "sample", JCS["number_samples"], ids=[s["ieee754_hex"] for s in JCS["number_samples"]]
)
def test_rfc8785_number_sample_serializes_as_expected(sample: dict[str, str]) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(sample["ieee754_hex"]))
    assert canonicalize(number) == sample["expected"].encode("ascii")


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F602 is the surrogate pair D83D DE02, which sorts below U+FB33 in UTF-16.
    assert canonicalize({"\ufb33": 1, "\U0001f602": 2}) == '{"\U0001f602":2,"\ufb33":1}'.encode()


def test_large_integer_is_canonicalized_as_the_double_it_equals() -> None:
    # JavaScript writes 1e16 as 10000000000000000; Python reads that back as an int.
    assert canonicalize({"n": [10**16, 2**53, -(10**20)]}) == (
        b'{"n":[10000000000000000,9007199254740992,-100000000000000000000]}'
    )


def test_large_integer_that_a_double_would_round_is_bad_json() -> None:
    # 2**60 is a double, but JCS writes it 1152921504606847000: accepting both would be ambiguous.
    with pytest.raises(DocumentError) as info:
        canonicalize(2**60)
    assert info.value.reason == "bad_json"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_canonical_form_is_a_fixed_point(value: Any) -> None:
    once = canonicalize(value)
    assert canonicalize(json.loads(once)) == once


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        float("inf"),
        2**53 + 1,
        10**400,
        {1: "non-string key"},
        {"bytes": b"raw"},
        {"set": {1, 2}},
        "lone surrogate \ud800",
    ],
    ids=["nan", "inf", "inexact-int", "huge-int", "int-key", "bytes", "set", "surrogate"],
)
def test_unrepresentable_value_is_bad_json(value: Any) -> None:
    with pytest.raises(DocumentError) as info:
        canonicalize(value)
    assert info.value.reason == "bad_json"


def test_absurd_nesting_is_too_deep() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(DocumentError) as info:
        canonicalize(value)
    assert info.value.reason == "too_deep"


# --- the orjson fast path: identical bytes where it applies, rfc8785 everywhere else ----------

FAST = settings(derandomize=True, deadline=None, max_examples=800)
_SAFE = 2**53 - 1


def _code_points(start: int, stop: int) -> str:
    return "".join(chr(c) for c in range(start, stop) if not 0xD800 <= c <= 0xDFFF)


@pytest.mark.parametrize("start", range(0, 0x110000, 0x10000), ids=lambda s: f"plane{s >> 16}")
def test_fast_path_escapes_every_code_point_as_jcs(start: int) -> None:
    # JCS string escaping is per character, so one string per plane covers every code point;
    # they are also checked one by one below U+0800, where every escape rule lives.
    text = _code_points(start, start + 0x10000)
    assert jcs._fast(text) == rfc8785.dumps(text)
    assert jcs._fast({"k": [text]}) == rfc8785.dumps({"k": [text]})


def test_fast_path_escapes_each_low_code_point_alone_as_jcs() -> None:
    for code in range(0x800):
        assert jcs._fast(chr(code)) == rfc8785.dumps(chr(code)), hex(code)


def test_fast_path_sorts_every_bmp_key_as_jcs() -> None:
    keys = {chr(c): c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF}
    assert jcs._fast(keys) == rfc8785.dumps(keys)


@pytest.mark.parametrize("case", JCS["cases"], ids=[case["name"] for case in JCS["cases"]])
def test_rfc8785_case_gives_expected_bytes_on_both_paths(case: dict[str, Any]) -> None:
    value = json.loads(case["input"])
    expected = bytes.fromhex(case["expected_hex"])
    assert jcs._reference(value) == expected
    fast = jcs._fast(value)
    assert fast is None or fast == expected
    # With its floats read as strings, every case without a key beyond U+FFFF is eligible.
    plain = json.loads(case["input"], parse_float=lambda text: text)
    astral_key = any(ord(char) > 0xFFFF for key in _keys_of(plain) for char in key)
    assert jcs._fast(plain) == (None if astral_key else rfc8785.dumps(plain))


def _keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(key for item in value.values() for key in _keys_of(item))]
    if isinstance(value, list):
        return [key for item in value for key in _keys_of(item)]
    return []


def test_plain_activity_takes_the_fast_path() -> None:
    activity: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/activitystreams", {"kk": "https://kennis.example/ns#"}],
        "type": "Note",
        "content": "Fryslân \u2028 «molen» 🌬\n",
        "kk:count": -(2**53 - 1),
        "sensitive": False,
        "inReplyTo": None,
        "tag": [{"type": "Hashtag", "name": "#energie"}],
    }
    assert jcs._fast(activity) is not None
    assert canonicalize(activity) == rfc8785.dumps(activity)


class _Text(str):
    pass


class _Mapping(dict):  # type: ignore[type-arg]
    pass


class _Colour(enum.Enum):
    RED = "red"


class _Number(enum.IntEnum):
    ONE = 1


def _assert_canonicalize_agrees_with_the_reference(value: Any) -> None:
    try:
        expected = jcs._reference(value)
    except DocumentError:
        with pytest.raises(DocumentError):
            canonicalize(value)
    else:
        assert canonicalize(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        [1.0, float("nan")],
        {"\U0001f602": 1, "\ufb33": 2},
        {"a": [{"\U00010000": None}]},
        (1, 2),
        {"k": _Text("text")},
        _Mapping(a=1),
        {"k": _Number.ONE},
        [_SAFE + 1, -_SAFE - 1, 10**16],
    ],
    ids=[
        "nan-beside-float",
        "astral-key",
        "nested-astral-key",
        "tuple",
        "str-subclass",
        "dict-subclass",
        "int-enum",
        "beyond-53-bits",
    ],
)
def test_value_outside_the_fast_path_is_canonicalized_by_rfc8785(value: Any) -> None:
    assert jcs._fast(value) is None
    _assert_canonicalize_agrees_with_the_reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"k": uuid.UUID(int=1)},
        {"k": _Colour.RED},
        {"k": datetime(2024, 5, 1, tzinfo=UTC)},
        {"\ud800": 1},
        ["\udfff"],
    ],
    ids=["uuid", "enum", "datetime", "surrogate-key", "surrogate-in-list"],
)
def test_value_orjson_writes_but_jcs_refuses_is_bad_json(value: Any) -> None:
    with pytest.raises(DocumentError) as info:
        canonicalize(value)
    assert info.value.reason == "bad_json"


def test_integers_at_the_53_bit_edge_take_the_fast_path() -> None:
    edge = [_SAFE, -_SAFE, 0, -1]
    assert jcs._fast(edge) == rfc8785.dumps(edge) == b"[9007199254740991,-9007199254740991,0,-1]"


def test_nesting_past_orjsons_limit_is_canonicalized_by_rfc8785() -> None:
    value: Any = "leaf"
    for _ in range(300):
        value = {"a": [value]}
    assert jcs._fast(value) is None
    assert canonicalize(value) == rfc8785.dumps(value)


_all_text = st.text(st.characters(exclude_categories=[]), max_size=8)  # surrogates included
_keys = st.one_of(st.text(max_size=6), _all_text, st.sampled_from(["\ufb33", "\U0001f602", ""]))
_numbers = st.one_of(
    st.integers(min_value=-_SAFE, max_value=_SAFE),
    st.integers(),
    st.floats(),
    st.floats(min_value=-1e30, max_value=1e30).map(float.__round__).map(float),
    st.sampled_from([5.0, 1e21, 1e-7, 1e-6, 1e16, 123456789012345680000.0, -0.0, 2.0**53]),
)
_any_json = st.recursive(
    st.none() | st.booleans() | _numbers | st.text() | _all_text,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)


@FAST
@given(_any_json)
def test_canonicalize_agrees_with_rfc8785_everywhere(value: Any) -> None:
    fast = jcs._fast(value)
    if fast is not None:
        assert fast == rfc8785.dumps(value)
    _assert_canonicalize_agrees_with_the_reference(value)


_bmp = st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])
_plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-_SAFE, max_value=_SAFE)
    | st.text(_bmp),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(_bmp, max_size=6), children, max_size=4),
    max_leaves=25,
)


@FAST
@given(_plain_json)
def test_plain_json_takes_the_fast_path_with_rfc8785s_bytes(value: Any) -> None:
    assert jcs._fast(value) == rfc8785.dumps(value)


# --- floats on the fast path: ECMAScript Number::toString, equal to rfc8785 -------------------


@pytest.mark.parametrize(
    "sample", JCS["number_samples"], ids=[s["ieee754_hex"] for s in JCS["number_samples"]]
)
def test_fast_path_writes_each_rfc8785_number_sample(sample: dict[str, str]) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(sample["ieee754_hex"]))
    if math.isnan(number) or math.isinf(number):
        assert jcs._fast(number) is None
    else:
        assert jcs._fast([number]) == b"[" + sample["expected"].encode("ascii") + b"]"


@pytest.mark.parametrize(
    ("number", "text"),
    [(5.0, "5"), (-0.0, "0"), (1e16, "10000000000000000"), (2.0**53, "9007199254740992"),
     (1e21, "1e+21"), (1e20, "100000000000000000000"), (123456789012345680000.0,
     "123456789012345680000"), (1e-6, "0.000001"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"),
     (0.0001, "0.0001"), (53.12, "53.12"), (-5.78, "-5.78"), (5e-324, "5e-324"),
     (1.7976931348623157e308, "1.7976931348623157e+308"), (2251799813685248.5,
     "2251799813685248.5")],
)
def test_fast_path_writes_a_float_as_ecmascript_does(number: float, text: str) -> None:
    assert jcs._fast(number) == text.encode() == rfc8785.dumps(number)


def test_fast_path_equals_rfc8785_on_random_doubles() -> None:
    # Every bit pattern is a double: uniform bits cover every exponent, the other two draws the
    # values documents hold (coordinates, and integral doubles around the notation switches).
    rng = random.Random(8785)
    checked = 0
    for _ in range(60_000):
        for number in (
            struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0],
            rng.uniform(-180.0, 180.0),
            float(rng.randint(-(2**70), 2**70)) * 10.0 ** rng.randint(-30, 30),
        ):
            if math.isfinite(number):
                assert jcs._fast(number) == rfc8785.dumps(number), number.hex()
                checked += 1
    assert checked > 170_000


@FAST
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_fast_path_writes_any_finite_float_as_rfc8785(number: float) -> None:
    assert jcs._fast({"n": [number]}) == rfc8785.dumps({"n": [number]})


@FAST
@given(st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-_SAFE, max_value=_SAFE)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(_bmp),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(_bmp, max_size=6), children, max_size=4),
    max_leaves=25,
))
def test_json_with_floats_takes_the_fast_path_with_rfc8785s_bytes(value: Any) -> None:
    assert jcs._fast(value) == rfc8785.dumps(value)


def test_fast_path_leaves_the_value_unchanged() -> None:
    value = {"place": {"latitude": 53.12, "longitude": 5.78}, "n": [1.5, 2]}
    jcs._fast(value)
    assert value == {"place": {"latitude": 53.12, "longitude": 5.78}, "n": [1.5, 2]}
    assert type(value["place"]["latitude"]) is float


# --- members and remembered signed documents -------------------------------------------------


@FAST
@given(st.dictionaries(_keys, _any_json, max_size=6))
def test_joined_members_are_the_canonical_object(value: dict[str, Any]) -> None:
    try:
        expected = canonicalize(value)
    except DocumentError:
        return
    assert jcs.join_members(jcs.canonicalize_members(value)) == expected


def _signed(n: int) -> dict[str, Any]:
    return {"id": f"https://kennis.example/items/{n}", "latitude": 53.12, "sensitive": True,
            "proof": {"type": "DataIntegrityProof", "proofValue": f"z{n}remembered"}}


def test_remembered_document_is_reused_when_embedded() -> None:
    # Given a signed document whose bytes were remembered
    document = _signed(1)
    jcs.remember(document, rfc8785.dumps(document))
    # When it, or a copy of it, is embedded in an activity, its remembered bytes are used
    for embedded in (document, json.loads(json.dumps(document))):
        assert type(jcs._prepare(embedded)) is orjson.Fragment
        assert canonicalize({"object": embedded}) == rfc8785.dumps({"object": document})


def test_changed_remembered_document_is_canonicalized_again() -> None:
    document = _signed(2)
    jcs.remember(document, canonicalize(document))
    document["sensitive"] = False
    assert type(jcs._prepare(document)) is dict
    assert canonicalize({"object": document}) == rfc8785.dumps({"object": document})


def test_only_the_latest_signed_documents_are_remembered() -> None:
    for n in range(1_000, 1_000 + 3 * jcs._REMEMBERED_MAX):
        jcs.remember(_signed(n), canonicalize(_signed(n)))
    assert len(jcs._remembered) == jcs._REMEMBERED_MAX
    assert "z1000remembered" not in jcs._remembered


def test_a_remembered_list_is_written_from_its_bytes_and_only_for_the_same_json() -> None:
    known = ["https://kk.example/remembered", {"b": "x", "a": 1}]
    jcs.remember_list(known)
    expected = rfc8785.dumps({"@context": known})
    assert canonicalize({"@context": known}) == expected
    assert canonicalize({"@context": json.loads(json.dumps(known))}) == expected  # a copy
    # Equal in Python, not the same JSON: written as it is, not from the remembered bytes.
    assert canonicalize(["https://kk.example/remembered", {"b": "x", "a": True}]) == \
        b'["https://kk.example/remembered",{"a":true,"b":"x"}]'
    assert canonicalize(["https://kk.example/remembered", {"b": "x", "a": 1.5}]) == \
        b'["https://kk.example/remembered",{"a":1.5,"b":"x"}]'
