"""protocol.digest: Digest (RFC 3230, as Mastodon sends it) and Content-Digest (RFC 9530)."""

from __future__ import annotations

import hashlib
from base64 import b64encode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest,
)
from protocol.errors import DigestError, ProtocolError
from tests.conftest import load_vector

# Fixed examples, no deadline: the same run every time, also on a loaded machine.
DETERMINISTIC = settings(derandomize=True, deadline=None)

HELLO = b'{"hello": "world"}'


@pytest.fixture(scope="module")
def rfc9530() -> dict[str, str]:
    vectors: dict[str, str] = load_vector("rfc9421_examples.json")["content_digest_rfc9530"]
    return vectors


def _reason(exc: pytest.ExceptionInfo[DigestError]) -> str:
    return exc.value.reason


# --- vectors -------------------------------------------------------------------------------


def test_digest_header_matches_the_draft_cavage_vector() -> None:
    cavage = load_vector("draft_cavage_12.json")
    expected = dict(cavage["request"]["headers"])["Digest"]
    assert digest_header(cavage["request"]["body"].encode()) == expected


def test_content_digest_sha256_matches_the_vector(rfc9530: dict[str, str]) -> None:
    assert content_digest_header(rfc9530["body"].encode()) == rfc9530["sha-256"]


def test_content_digest_sha512_matches_rfc9421_test_request(rfc9530: dict[str, str]) -> None:
    assert content_digest_header(rfc9530["body"].encode(), "sha-512") == rfc9530["sha-512"]


def test_vector_digests_verify(rfc9530: dict[str, str]) -> None:
    body = rfc9530["body"].encode()
    verify_content_digest(rfc9530["sha-256"], body)
    verify_content_digest(rfc9530["sha-512"], body)
    verify_digest("SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", body)


# --- round trip and one-byte changes ---------------------------------------------------------


@DETERMINISTIC
@given(st.binary(max_size=300))
def test_round_trip_for_any_body(body: bytes) -> None:
    verify_digest(digest_header(body), body)
    verify_content_digest(content_digest_header(body), body)
    verify_content_digest(content_digest_header(body, "sha-512"), body)


def test_digest_fails_when_one_body_byte_changes() -> None:
    with pytest.raises(DigestError) as exc:
        verify_digest(digest_header(HELLO), HELLO.replace(b"w", b"W"))
    assert _reason(exc) == "digest_mismatch"


def test_content_digest_fails_when_one_body_byte_changes() -> None:
    with pytest.raises(DigestError) as exc:
        verify_content_digest(content_digest_header(HELLO), HELLO + b" ")
    assert _reason(exc) == "digest_mismatch"


def test_digest_fails_when_one_header_character_changes() -> None:
    value = digest_header(HELLO)
    changed = value[:-5] + ("A" if value[-5] != "A" else "B") + value[-4:]
    with pytest.raises(DigestError) as exc:
        verify_digest(changed, HELLO)
    assert _reason(exc) == "digest_mismatch"


# --- Digest (RFC 3230) details -----------------------------------------------------------------


def test_digest_algorithm_name_is_case_insensitive() -> None:
    verify_digest(digest_header(HELLO).replace("SHA-256", "sha-256"), HELLO)


def test_digest_accepts_sha512() -> None:
    encoded = b64encode(hashlib.sha512(HELLO).digest()).decode()
    verify_digest(f"SHA-512={encoded}", HELLO)


def test_digest_with_several_algorithms_checks_each_known_one() -> None:
    verify_digest(f"MD5=abc, {digest_header(HELLO)}", HELLO)


def test_digest_with_one_wrong_known_algorithm_fails() -> None:
    wrong = b64encode(hashlib.sha512(b"other").digest()).decode()
    with pytest.raises(DigestError) as exc:
        verify_digest(f"{digest_header(HELLO)},SHA-512={wrong}", HELLO)
    assert _reason(exc) == "digest_mismatch"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_digest_is_reported(value: str | None) -> None:
    with pytest.raises(DigestError) as exc:
        verify_digest(value, HELLO)
    assert _reason(exc) == "missing_digest"


def test_digest_with_only_unknown_algorithms_is_unsupported() -> None:
    with pytest.raises(DigestError) as exc:
        verify_digest("MD5=HUXZLQLMuI/KZ5KDcJPcOA==", HELLO)
    assert _reason(exc) == "unsupported_digest"


@pytest.mark.parametrize(
    "value",
    [
        "SHA-256",
        "SHA-256=",
        "=abc",
        "SHA-256=not base64!",
        "SHA-256=" + b64encode(b"short").decode(),
        "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE",  # padding missing
    ],
)
def test_malformed_digest_is_bad_digest(value: str) -> None:
    with pytest.raises(DigestError) as exc:
        verify_digest(value, HELLO)
    assert _reason(exc) == "bad_digest"


# --- Content-Digest (RFC 9530) details ---------------------------------------------------------


def test_content_digest_ignores_unknown_algorithms_next_to_a_known_one() -> None:
    verify_content_digest(f"md5=:AAAA:, {content_digest_header(HELLO)}", HELLO)


def test_content_digest_with_both_algorithms_checks_both(rfc9530: dict[str, str]) -> None:
    body = rfc9530["body"].encode()
    verify_content_digest(f"{rfc9530['sha-256']}, {rfc9530['sha-512']}", body)
    wrong = content_digest_header(b"other", "sha-512")
    with pytest.raises(DigestError) as exc:
        verify_content_digest(f"{rfc9530['sha-256']}, {wrong}", body)
    assert _reason(exc) == "digest_mismatch"


def test_content_digest_with_only_unknown_algorithms_is_unsupported() -> None:
    with pytest.raises(DigestError) as exc:
        verify_content_digest("sha-1=:AAAA:", HELLO)
    assert _reason(exc) == "unsupported_digest"


def test_unsupported_algorithm_cannot_be_computed() -> None:
    with pytest.raises(DigestError) as exc:
        content_digest_header(HELLO, "md5")
    assert _reason(exc) == "unsupported_digest"


@pytest.mark.parametrize(
    "value",
    [
        "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",  # RFC 3230 syntax, not a byte seq
        'sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="',
        "sha-256=:AAAA:",  # wrong length
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,",
        "SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",  # keys are lower case
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:;a=é",
    ],
)
def test_malformed_content_digest_is_bad_digest(value: str) -> None:
    with pytest.raises(DigestError) as exc:
        verify_content_digest(value, HELLO)
    assert _reason(exc) == "bad_digest"


def test_missing_content_digest_is_reported() -> None:
    with pytest.raises(DigestError) as exc:
        verify_content_digest(None, HELLO)
    assert _reason(exc) == "missing_digest"


@DETERMINISTIC
@given(st.text(max_size=120))
def test_arbitrary_header_text_raises_only_digest_errors(value: str) -> None:
    for check in (verify_digest, verify_content_digest):
        try:
            check(value, HELLO)
        except ProtocolError as exc:
            assert isinstance(exc, DigestError)
