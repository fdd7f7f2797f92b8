"""protocol.httpsig._headers: HTTP dates, the header view, and the verification key check."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import KeyFormatError, SignatureError
from protocol.httpsig._headers import (
    DEFAULT_POLICY,
    HeaderView,
    VerifyPolicy,
    format_http_date,
    parse_http_date,
    verification_key,
)

DETERMINISTIC = settings(derandomize=True, deadline=None, max_examples=500)


# --- HTTP dates --------------------------------------------------------------------------------


@DETERMINISTIC
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_imf_fixdate_parses_to_the_unix_time_of_that_instant(moment: datetime) -> None:
    expected = moment.replace(microsecond=0, tzinfo=UTC).timestamp()
    text = moment.strftime("%a, %d %b ") + f"{moment.year:04d}" + moment.strftime(" %H:%M:%S GMT")
    assert parse_http_date(text) == expected


def test_formatted_date_parses_back() -> None:
    assert parse_http_date(format_http_date(1714564800.9)) == 1714564800.0


@pytest.mark.parametrize(
    "text",
    [
        "Sat, 29 Feb 2014 12:00:00 GMT",  # 2014 is not a leap year
        "Tue, 31 Apr 2024 12:00:00 GMT",
        "Wed, 01 May 2024 24:00:00 GMT",
        "Wed, 01 May 2024 12:60:00 GMT",
        "Wed, 00 May 2024 12:00:00 GMT",
    ],
)
def test_impossible_fixdate_is_read_as_email_utils_reads_it(text: str) -> None:
    # Out-of-range fields leave the fast path; email.utils then decides, as it always has.
    parsed = email.utils.parsedate_tz(text)
    assert parsed is not None
    assert parse_http_date(text) == float(email.utils.mktime_tz(parsed))


def test_leap_day_of_a_leap_year_takes_the_fast_path() -> None:
    assert parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT") == 1709164800.0


@pytest.mark.parametrize("text", ["Wed, 01 Foo 2024 12:00:00 GMT", "yesterday", ""])
def test_unparseable_date_is_bad_date(text: str) -> None:
    with pytest.raises(SignatureError) as info:
        parse_http_date(text)
    assert info.value.reason == "bad_date"


# --- HeaderView --------------------------------------------------------------------------------

_names = st.sampled_from(["Host", "host", "HOST", "Date", "date", "Signature", "X-Custom", "x-custom"])
_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6).map(
    lambda text: f" \t{text} "
)


@DETERMINISTIC
@given(st.dictionaries(_names, _values, max_size=6))
def test_dict_headers_read_like_the_same_pairs(headers: dict[str, str]) -> None:
    assert dict(HeaderView(headers)) == dict(HeaderView(list(headers.items())))


def test_dict_with_a_name_in_two_cases_joins_the_values() -> None:
    view = HeaderView({"Accept": "a", "accept": " b"})
    assert view.get_field("accept") == "a, b"


def test_dict_with_bytes_or_non_text_values_reads_them_as_text() -> None:
    view = HeaderView({"Host": b"drenthe.test ", b"Date": "today", "X-Count": 5})  # type: ignore[arg-type]
    assert dict(view) == {"host": "drenthe.test", "date": "today", "x-count": "5"}


# --- verification key ---------------------------------------------------------------------------


def test_verification_key_returns_the_key_and_its_kind(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    assert verification_key(rsa_key.public_key(), DEFAULT_POLICY) == (rsa_key.public_key(), "rsa")
    assert verification_key(ed_key.public_key(), DEFAULT_POLICY) == (ed_key.public_key(), "ed25519")


def test_verification_key_refuses_a_private_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    with pytest.raises(KeyFormatError):
        verification_key(ed_key, DEFAULT_POLICY)  # type: ignore[arg-type]


def test_verification_key_applies_the_rsa_size_policy(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(SignatureError) as info:
        verification_key(rsa_key.public_key(), VerifyPolicy(min_rsa_bits=4096))
    assert info.value.reason == "key_mismatch"
