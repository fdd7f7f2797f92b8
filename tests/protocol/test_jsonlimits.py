"""protocol.jsonlimits: the strict loader refuses every hostile shape with a stable reason."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import DocumentError
from protocol.jsonlimits import (
    DEFAULT_LIMITS,
    JsonLimits,
    _cannot_exceed,
    load_json,
    nesting_depth,
)

SAMPLES = sorted((Path(__file__).parent.parent / "data" / "as2").glob("*.json"))


def reason_of(body: bytes, **kwargs: Any) -> str:
    with pytest.raises(DocumentError) as info:
        load_json(body, **kwargs)
    return info.value.reason


# --- accepted -------------------------------------------------------------------------------


def test_a_small_object_loads() -> None:
    assert load_json(b'{"id": "https://a.example/1", "n": [1, 2.5, true, null]}') == {
        "id": "https://a.example/1",
        "n": [1, 2.5, True, None],
    }


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_every_as2_sample_loads(path: Path) -> None:
    assert load_json(path.read_bytes()) == json.loads(path.read_text(encoding="utf-8"))


def test_surrounding_whitespace_is_allowed() -> None:
    assert load_json(b' \r\n\t{"a": 1}\n') == {"a": 1}


def test_largest_safe_integers_load() -> None:
    assert load_json(b'{"a": 9007199254740991, "b": -9007199254740991}') == {
        "a": 2**53 - 1,
        "b": -(2**53 - 1),
    }


def test_large_finite_floats_load() -> None:
    assert load_json(b'{"a": 1e300, "b": -1.5e-300}') == {"a": 1e300, "b": -1.5e-300}


def test_escaped_surrogate_pair_loads_as_one_character() -> None:
    assert load_json(b'{"a": "\\ud83c\\udf3b"}') == {"a": "\U0001f33b"}


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = json.dumps({"a": "[" * 10_000 + '\\"{' * 100}).encode()
    assert load_json(body)["a"].startswith("[[[")


def test_depth_equal_to_the_limit_loads() -> None:
    assert load_json(b'{"a": [[1]]}', max_depth=3) == {"a": [[1]]}


def test_body_of_exactly_max_bytes_loads() -> None:
    body = b'{"a": "' + b"x" * 91 + b'"}'
    assert len(body) == 100
    assert load_json(body, max_bytes=100) == {"a": "x" * 91}


def test_keyword_limits_override_the_limits_object() -> None:
    limits = JsonLimits(max_depth=2)
    assert load_json(b'{"a": [[1]]}', limits=limits, max_depth=3) == {"a": [[1]]}
    with pytest.raises(DocumentError):
        load_json(b'{"a": [[1]]}', limits=limits)


# --- refused --------------------------------------------------------------------------------


def test_body_over_max_bytes_is_too_large() -> None:
    assert reason_of(b'{"a": "' + b"x" * 92 + b'"}', max_bytes=100) == "too_large"


def test_default_limit_is_one_megabyte() -> None:
    assert DEFAULT_LIMITS.max_bytes == 1_000_000
    assert reason_of(b'{"a": "' + b"x" * 1_000_000 + b'"}') == "too_large"


def test_invalid_utf8_is_bad_json() -> None:
    assert reason_of(b'{"a": "\xff"}') == "bad_json"


def test_utf8_encoded_surrogate_is_bad_json() -> None:
    assert reason_of(b'{"a": "\xed\xa0\x80"}') == "bad_json"


def test_byte_order_mark_is_bad_json() -> None:
    assert reason_of(b'\xef\xbb\xbf{"a": 1}') == "bad_json"


def test_utf16_body_is_bad_json() -> None:
    assert reason_of('{"a": 1}'.encode("utf-16")) == "bad_json"


def test_trailing_garbage_is_bad_json() -> None:
    assert reason_of(b'{"a": 1} x') == "bad_json"


def test_second_document_is_bad_json() -> None:
    assert reason_of(b'{"a": 1}{"b": 2}') == "bad_json"


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"3", b"null", b"true"])
def test_top_level_other_than_object_is_bad_json(body: bytes) -> None:
    assert reason_of(body) == "bad_json"


@pytest.mark.parametrize("body", [b"", b" ", b"{", b'{"a": }', b"{'a': 1}", b'{"a": 01}'])
def test_malformed_json_is_bad_json(body: bytes) -> None:
    assert reason_of(body) == "bad_json"


def test_control_character_in_string_is_bad_json() -> None:
    assert reason_of(b'{"a": "line\nbreak"}') == "bad_json"


def test_lone_surrogate_escape_is_bad_json() -> None:
    assert reason_of(b'{"a": "\\ud800"}') == "bad_json"


def test_lone_surrogate_escape_in_a_key_is_bad_json() -> None:
    assert reason_of(b'{"\\udfff": 1}') == "bad_json"


def test_duplicate_top_level_key_is_refused() -> None:
    assert reason_of(b'{"id": "https://a.example/1", "id": "https://b.example/1"}') == "duplicate_key"


def test_duplicate_nested_key_is_refused() -> None:
    assert reason_of(b'{"object": [{"type": "Note", "type": "Article"}]}') == "duplicate_key"


def test_keys_equal_after_unescaping_are_duplicates() -> None:
    assert reason_of(b'{"id": 1, "\\u0069d": 2}') == "duplicate_key"


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_finite_constants_are_bad_numbers(literal: bytes) -> None:
    assert reason_of(b'{"a": ' + literal + b"}") == "bad_number"


@pytest.mark.parametrize("literal", [b"1e400", b"-1e400", b"1" + b"0" * 400 + b".0"])
def test_float_overflow_is_a_bad_number(literal: bytes) -> None:
    assert reason_of(b'{"a": ' + literal + b"}") == "bad_number"


@pytest.mark.parametrize("value", [2**53, -(2**53), 2**64, 10**100])
def test_integer_beyond_2_pow_53_is_a_bad_number(value: int) -> None:
    assert reason_of(b'{"a": %d}' % value) == "bad_number"


def test_ten_thousand_digit_integer_is_a_bad_number() -> None:
    assert reason_of(b'{"a": ' + b"9" * 10_000 + b"}") == "bad_number"


def test_ten_thousand_deep_arrays_are_too_deep() -> None:
    assert reason_of(b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}") == "too_deep"


def test_ten_thousand_deep_objects_are_too_deep() -> None:
    assert reason_of(b'{"a": ' * 10_000 + b"1" + b"}" * 10_000) == "too_deep"


def test_ten_thousand_unclosed_brackets_are_too_deep() -> None:
    assert reason_of(b"{" + b"[" * 10_000) == "too_deep"


def test_one_level_over_the_limit_is_too_deep() -> None:
    assert reason_of(b'{"a": [[1]]}', max_depth=2) == "too_deep"


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"{}" + b"}" * (depth - 1)


def test_default_depth_limit_is_32() -> None:
    assert nesting_depth(nested_objects(32)) == 32
    assert load_json(nested_objects(32))
    assert reason_of(nested_objects(33)) == "too_deep"


def test_array_over_max_items_is_too_large() -> None:
    assert reason_of(b'{"a": [1, 2, 3]}', max_items=2) == "too_large"


def test_object_over_max_items_is_too_large() -> None:
    assert reason_of(b'{"a": {"x": 1, "y": 2, "z": 3}}', max_items=2) == "too_large"


def test_string_over_max_string_is_too_large() -> None:
    assert reason_of(b'{"a": "abcdef"}', max_string=5) == "too_large"


def test_key_over_max_string_is_too_large() -> None:
    assert reason_of(b'{"abcdef": 1}', max_string=5) == "too_large"


def test_string_length_counts_characters_not_bytes() -> None:
    assert load_json('{"a": "ëëëëë"}'.encode(), max_string=5) == {"a": "ëëëëë"}


def test_escaped_quotes_without_an_end_are_bad_json() -> None:
    # Many escaped quotes and no closing quote: the depth scan must stay linear on this.
    body = b'{"a": "' + b'\\"' * 400_000
    assert reason_of(body) == "bad_json"


def test_unterminated_string_hiding_brackets_is_bad_json() -> None:
    assert reason_of(b'{"a": "' + b"[" * 100) == "bad_json"


def test_removing_one_byte_of_a_sample_is_refused() -> None:
    body = SAMPLES[0].read_bytes().rstrip()
    assert load_json(body)
    with pytest.raises(DocumentError):
        load_json(body[:-1])


def test_load_json_refuses_text() -> None:
    with pytest.raises(TypeError):
        load_json('{"a": 1}')  # type: ignore[arg-type]


# --- limits object --------------------------------------------------------------------------


def test_limits_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.max_bytes = 5  # type: ignore[misc]


@pytest.mark.parametrize("field", ["max_bytes", "max_depth", "max_items", "max_string"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError):
        JsonLimits(**{field: 0})


def test_depth_limit_cannot_exceed_the_parser_ceiling() -> None:
    with pytest.raises(ValueError):
        JsonLimits(max_depth=10_000)


def test_nesting_depth_ignores_brackets_in_strings_and_escapes() -> None:
    assert nesting_depth(b'{"a": "[[[\\"]]]", "b": [{}]}') == 3


# --- properties -----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_a_dict_or_a_document_error(body: bytes) -> None:
    try:
        result = load_json(body)
    except DocumentError:
        return
    assert isinstance(result, dict)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=200))
def test_bytes_spliced_into_json_give_a_dict_or_a_document_error(noise: bytes, at: int) -> None:
    body = b'{"id": "https://a.example/1", "tag": [{"a": [1, 2.5, "x"]}], "n": null}'
    at = min(at, len(body))
    try:
        result = load_json(body[:at] + noise + body[at:])
    except DocumentError:
        return
    assert isinstance(result, dict)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_serialised_json_round_trips(document: dict[str, Any]) -> None:
    body = json.dumps(document, ensure_ascii=False).encode("utf-8")
    assert load_json(body) == document


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


structural_text = st.text(alphabet='"\\[]{},:ab/\n', max_size=6)
structural_values = st.recursive(
    st.none() | st.integers(min_value=-9, max_value=9) | structural_text,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(structural_text, inner, max_size=3), max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(structural_values, st.booleans())
def test_nesting_depth_is_exact_on_json_with_quotes_backslashes_and_brackets_in_strings(
        value: Any, ascii_only: bool) -> None:
    # Strings full of escaped quotes, runs of backslashes and brackets: the depth scan (quotes
    # split after the escapes are dropped) must count only the brackets outside them.
    body = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")
    assert nesting_depth(body) == _depth(value)


def test_nesting_depth_handles_runs_of_backslashes_before_a_quote() -> None:
    # "\\" ends the string (an escaped backslash), "\\\"" does not (then an escaped quote).
    assert nesting_depth(b'{"a": "\\\\", "b": [[]]}') == 3
    assert nesting_depth(b'{"a": "\\\\\\"[[", "b": []}') == 2


@pytest.mark.parametrize(("body", "limits", "skipped"), [
    (b'{"a": [1, 2], "b": "abc"}', DEFAULT_LIMITS, True),
    (b'{"a": [1, 2, 3]}', JsonLimits(max_items=2), False),  # two commas: three items possible
    (b'{"a": [1, 2]}', JsonLimits(max_items=2), True),
    (b'{"a": "abcdef"}', JsonLimits(max_string=5), False),  # longer than a string may be
    (b'{"a": "\\ud800"}', DEFAULT_LIMITS, False),  # an escape that may be a lone surrogate
    (b'{"a": "\\uDFFF"}', DEFAULT_LIMITS, False),
    (b'{"a": "\\u00e9"}', DEFAULT_LIMITS, True),
])
def test_the_walk_of_sizes_is_skipped_only_when_no_limit_can_be_passed(
        body: bytes, limits: JsonLimits, skipped: bool) -> None:
    assert _cannot_exceed(body, limits) is skipped
