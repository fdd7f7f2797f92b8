"""protocol.jcs: RFC 8785 vectors, key order and number form, and errors as DocumentError."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
