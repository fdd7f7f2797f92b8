"""protocol.httpsig: sign_request / verify_request / key_id_of / flavour_of and our policy."""

from __future__ import annotations

import contextlib
from base64 import b64encode
from collections.abc import Sequence
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.digest import content_digest_header, digest_header
from protocol.errors import DigestError, ProtocolError
from protocol.httpsig import (
    Flavour,
    SignatureError,
    VerifyPolicy,
    flavour_of,
    key_id_of,
    parse_signed_request,
    sign_request,
    verify_request,
    verify_signed_request,
)
from protocol.httpsig.cavage import (
    build_signing_string,
    format_signature_header,
    sign_signing_string,
)
from protocol.httpsig.rfc9421 import build_signature_base, sign_signature_base
from tests.protocol.httpsig.conftest import BODY, INBOX, KEY_ID, NOW

Key = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
HOST = "drenthe.test"
PATH = "/actors/dorpsmolen/inbox"
BASE_HEADERS = {"Host": HOST, "Content-Type": "application/activity+json"}
FLAVOURS: list[Flavour] = ["cavage", "rfc9421"]


def _signed(
    key: Key, flavour: Flavour = "cavage", method: str = "POST", body: bytes | None = BODY
) -> dict[str, str]:
    added = sign_request(method, INBOX, BASE_HEADERS, body, key, KEY_ID, flavour=flavour, now=NOW)
    return {**BASE_HEADERS, **added}


def _reason(exc: pytest.ExceptionInfo[ProtocolError]) -> str:
    return exc.value.reason


def _cavage(
    key: Key,
    covered: Sequence[str],
    *,
    date: str = "Wed, 01 May 2024 12:00:00 GMT",
    body: bytes = BODY,
    created: str | None = None,
    expires: str | None = None,
    algorithm: str | None = None,
) -> dict[str, str]:
    """A cavage-signed POST covering exactly ``covered``."""
    headers = {**BASE_HEADERS, "Date": date, "Digest": digest_header(body)}
    text = build_signing_string(
        "POST", PATH, headers, covered, created=created, expires=expires
    )
    alg = algorithm or ("rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "hs2019")
    signature = sign_signing_string(text, key)
    headers["Signature"] = format_signature_header(
        KEY_ID, alg, covered, signature, created=created, expires=expires
    )
    return headers


def _rfc9421(
    key: Key,
    components: Sequence[str],
    params: str,
    *,
    url: str = INBOX,
    alg: str | None = None,
    body: bytes = BODY,
) -> dict[str, str]:
    """An RFC 9421-signed POST covering ``components`` with parameter text ``params``."""
    headers = {**BASE_HEADERS, "Content-Digest": content_digest_header(body)}
    inner = " ".join(f'"{name}"' for name in components)
    params_text = f"({inner}){params}"
    base = build_signature_base("POST", url, headers, components, params_text)
    default = "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "rsa-v1_5-sha256"
    signature = sign_signature_base(base, key, alg or default)
    headers["Signature-Input"] = f"sig1={params_text}"
    headers["Signature"] = f"sig1=:{b64encode(signature).decode()}:"
    return headers


CREATED = int(NOW.timestamp())
KEYID = f';keyid="{KEY_ID}"'


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_signed_post_verifies(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    assert verify_request("POST", INBOX, headers, BODY, any_key.public_key(), now=NOW) == KEY_ID


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_signed_get_verifies(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour, method="GET", body=None)
    assert verify_request("GET", INBOX, headers, None, any_key.public_key(), now=NOW) == KEY_ID


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_verification_accepts_pem_keys(rsa_key: rsa.RSAPrivateKey, flavour: Flavour) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    headers = _signed(rsa_key, flavour)
    assert verify_request("POST", INBOX, headers, BODY, pem.decode(), now=NOW) == KEY_ID


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_post_fails_when_one_body_byte_changes(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY[:-1] + b" ", any_key.public_key(), now=NOW)
    assert _reason(exc) == "digest_mismatch"
    assert isinstance(exc.value, DigestError)  # the precise kind, for who wants it


@pytest.mark.parametrize(("flavour", "field", "value", "reason"), [
    ("cavage", "Digest", None, "missing_digest"),  # a POST's signature must cover its body
    ("cavage", "Digest", "SHA-256=not base64!", "bad_digest"),
    ("cavage", "Digest", "MD5=AAAA", "unsupported_digest"),
    ("rfc9421", "Content-Digest", None, "missing_digest"),
    ("rfc9421", "Content-Digest", "sha-256=:not base64!:", "bad_digest"),
    ("rfc9421", "Content-Digest", "md5=:AAAA:", "unsupported_digest"),
])
def test_every_digest_failure_of_a_request_is_a_signature_error(
        ed_key: ed25519.Ed25519PrivateKey, flavour: Flavour, field: str, value: str | None,
        reason: str) -> None:
    headers = _signed(ed_key, flavour)
    if value is None:
        del headers[field]
    else:
        headers[field] = value
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == reason


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_post_fails_when_one_signature_byte_changes(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    name = "Signature"
    value = headers[name]
    index = value.index("signature=") + 15 if flavour == "cavage" else 10
    headers[name] = value[:index] + ("A" if value[index] != "A" else "B") + value[index + 1 :]
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, any_key.public_key(), now=NOW)
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_request_for_another_url_fails(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX + "x", headers, BODY, any_key.public_key(), now=NOW)
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_another_method_fails(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    with pytest.raises(SignatureError) as exc:
        verify_request("PUT", INBOX, headers, BODY, any_key.public_key(), now=NOW)
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_another_key_fails(ed_key: ed25519.Ed25519PrivateKey, flavour: Flavour) -> None:
    headers = _signed(ed_key, flavour)
    other = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x01" * 32).public_key()
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, other, now=NOW)
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_headers_may_be_pairs_or_httpx_headers_in_any_case(any_key: Key, flavour: Flavour) -> None:
    headers = _signed(any_key, flavour)
    pairs = [(name.upper(), value) for name, value in headers.items()]
    public = any_key.public_key()
    assert verify_request("POST", INBOX, pairs, BODY, public, now=NOW) == KEY_ID
    assert verify_request("POST", INBOX, httpx.Headers(headers), BODY, public, now=NOW) == KEY_ID
    raw = [(name.encode(), value.encode()) for name, value in headers.items()]
    assert verify_request("POST", INBOX, raw, BODY, public, now=NOW) == KEY_ID


# --- what sign_request returns -----------------------------------------------------------------


def test_cavage_adds_date_digest_and_signature(rsa_key: rsa.RSAPrivateKey) -> None:
    added = sign_request("POST", INBOX, BASE_HEADERS, BODY, rsa_key, KEY_ID, now=NOW)
    assert set(added) == {"Date", "Digest", "Signature"}
    assert added["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert added["Digest"] == digest_header(BODY)
    assert 'algorithm="rsa-sha256"' in added["Signature"]
    assert 'headers="(request-target) host date digest"' in added["Signature"]


def test_cavage_get_covers_request_target_host_date(ed_key: ed25519.Ed25519PrivateKey) -> None:
    added = sign_request("GET", INBOX, {}, None, ed_key, KEY_ID, now=NOW)
    assert set(added) == {"Host", "Date", "Signature"}
    assert added["Host"] == HOST
    assert 'algorithm="hs2019"' in added["Signature"]
    assert 'headers="(request-target) host date"' in added["Signature"]


def test_cavage_signs_the_date_it_is_given(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = {**BASE_HEADERS, "date": "Wed, 01 May 2024 11:59:00 GMT"}
    added = sign_request("POST", INBOX, headers, BODY, rsa_key, KEY_ID, now=NOW)
    assert "Date" not in added
    assert verify_request("POST", INBOX, {**headers, **added}, BODY, rsa_key.public_key(), now=NOW)


def test_rfc9421_adds_content_digest_and_signature(ed_key: ed25519.Ed25519PrivateKey) -> None:
    added = sign_request("POST", INBOX, {}, BODY, ed_key, KEY_ID, flavour="rfc9421", now=NOW)
    assert set(added) == {"Content-Digest", "Signature-Input", "Signature"}
    assert added["Content-Digest"] == content_digest_header(BODY)
    assert added["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={CREATED};'
        f'keyid="{KEY_ID}";alg="ed25519"'
    )


def test_rfc9421_get_has_no_content_digest(rsa_key: rsa.RSAPrivateKey) -> None:
    added = sign_request("GET", INBOX, {}, None, rsa_key, KEY_ID, flavour="rfc9421", now=NOW)
    assert set(added) == {"Signature-Input", "Signature"}
    assert added["Signature-Input"].startswith('sig1=("@method" "@target-uri");')
    assert added["Signature-Input"].endswith(';alg="rsa-v1_5-sha256"')


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_sign_request_never_changes_its_input(any_key: Key, flavour: Flavour) -> None:
    headers = dict(BASE_HEADERS)
    sign_request("POST", INBOX, headers, BODY, any_key, KEY_ID, flavour=flavour, now=NOW)
    assert headers == BASE_HEADERS


def test_unknown_flavour_is_refused(ed_key: ed25519.Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        sign_request("GET", INBOX, {}, None, ed_key, KEY_ID, flavour="jws")  # type: ignore[arg-type]


# --- key_id_of and flavour_of ------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_key_id_and_flavour_are_read_from_either_flavour(ed_key: Key, flavour: Flavour) -> None:
    headers = _signed(ed_key, flavour)
    assert key_id_of(headers) == KEY_ID
    assert flavour_of(headers) == flavour


def test_authorization_signature_header_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _signed(rsa_key)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    assert flavour_of(headers) == "cavage"
    assert key_id_of(headers) == KEY_ID
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


@pytest.mark.parametrize("check", [flavour_of, key_id_of])
def test_unsigned_request_is_missing_signature(check: object) -> None:
    with pytest.raises(SignatureError) as exc:
        check({"Authorization": "Bearer x"})  # type: ignore[operator]
    assert _reason(exc) == "missing_signature"


def test_unsigned_request_does_not_verify(ed_key: ed25519.Ed25519PrivateKey) -> None:
    with pytest.raises(SignatureError) as exc:
        verify_request("GET", INBOX, BASE_HEADERS, None, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_signature"


def test_signature_input_without_signature_is_missing_signature(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    headers = _signed(ed_key, "rfc9421")
    del headers["Signature"]
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_signature"


def test_rfc9421_key_id_needs_keyid_parameter() -> None:
    headers = {"Signature-Input": f'sig1=("@method");created={CREATED}', "Signature": "sig1=:AA==:"}
    with pytest.raises(SignatureError) as exc:
        key_id_of(headers)
    assert _reason(exc) == "bad_signature_header"


# --- parsed once: parse_signed_request and verify_signed_request ------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_parsed_request_verifies_without_its_headers(any_key: Key, flavour: Flavour) -> None:
    signed = parse_signed_request(_signed(any_key, flavour))
    assert (signed.key_id, signed.flavour) == (KEY_ID, flavour)
    public = any_key.public_key()
    assert verify_signed_request("POST", INBOX, signed, BODY, public, now=NOW) == KEY_ID


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_parsed_request_still_fails_on_another_body(any_key: Key, flavour: Flavour) -> None:
    signed = parse_signed_request(_signed(any_key, flavour))
    with pytest.raises(SignatureError):
        verify_signed_request("POST", INBOX, signed, BODY + b" ", any_key.public_key(), now=NOW)


def test_parsing_refuses_a_signature_input_without_its_signature(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    headers = _signed(ed_key, "rfc9421")
    headers["Signature"] = "other=:AA==:"
    with pytest.raises(SignatureError) as exc:
        parse_signed_request(headers)
    assert _reason(exc) == "bad_signature_header"


# --- cavage policy -----------------------------------------------------------------------------

FULL = ["(request-target)", "host", "date", "digest"]


def test_cavage_with_the_required_set_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, FULL)
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


@pytest.mark.parametrize("dropped", ["(request-target)", "host", "date", "digest"])
def test_cavage_must_cover_the_required_headers(rsa_key: rsa.RSAPrivateKey, dropped: str) -> None:
    headers = _cavage(rsa_key, [name for name in FULL if name != dropped])
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_component"


def test_cavage_created_may_stand_in_for_date(ed_key: ed25519.Ed25519PrivateKey) -> None:
    covered = ["(request-target)", "host", "(created)", "digest"]
    headers = _cavage(ed_key, covered, created=str(CREATED))
    assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW) == KEY_ID


def test_cavage_signed_header_that_is_absent_is_missing(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, [*FULL, "content-type"])
    del headers["Content-Type"]
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_component"


def test_cavage_host_defaults_to_the_url_authority(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, FULL)
    del headers["Host"]
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_cavage_content_digest_may_stand_in_for_digest(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = {**BASE_HEADERS, "Date": "Wed, 01 May 2024 12:00:00 GMT"}
    headers["Content-Digest"] = content_digest_header(BODY)
    covered = ["(request-target)", "host", "date", "content-digest"]
    signature = sign_signing_string(build_signing_string("POST", PATH, headers, covered), rsa_key)
    headers["Signature"] = format_signature_header(KEY_ID, "rsa-sha256", covered, signature)
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_cavage_rsa_sha256_with_ed25519_key_is_key_mismatch(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    headers = _cavage(ed_key, FULL, algorithm="rsa-sha256")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "key_mismatch"


def test_cavage_unsupported_algorithm_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, FULL, algorithm="hmac-sha256")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert _reason(exc) == "unsupported_algorithm"


def test_cavage_unparseable_date_is_bad_date(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, FULL, date="yesterday")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert _reason(exc) == "bad_date"


def test_cavage_obsolete_date_format_is_accepted(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _cavage(rsa_key, FULL, date="Wednesday, 01-May-24 12:00:00 GMT")
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


# Mastodon's window: refused more than 1 h ahead, or more than 1 h 5 min old.
@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (timedelta(hours=1), None),
        (timedelta(hours=1, seconds=1), "date_in_future"),
        (-timedelta(hours=1, minutes=5), None),
        (-timedelta(hours=1, minutes=5, seconds=1), "signature_expired"),
    ],
)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_time_window_is_mastodons(
    ed_key: ed25519.Ed25519PrivateKey, flavour: Flavour, offset: timedelta, reason: str | None
) -> None:
    added = sign_request("POST", INBOX, BASE_HEADERS, BODY, ed_key, KEY_ID, flavour=flavour,
                         now=NOW + offset)
    headers = {**BASE_HEADERS, **added}
    if reason is None:
        assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
        return
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == reason


def test_cavage_signed_expires_extends_the_window(ed_key: ed25519.Ed25519PrivateKey) -> None:
    covered = [*FULL, "(expires)"]
    headers = _cavage(ed_key, covered, expires=str(CREATED + 3 * 3600))
    later = NOW + timedelta(hours=4)
    assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=later)


def test_cavage_signed_expires_is_capped_at_12_hours(ed_key: ed25519.Ed25519PrivateKey) -> None:
    covered = [*FULL, "(expires)"]
    headers = _cavage(ed_key, covered, expires=str(CREATED + 48 * 3600))
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(),
                       now=NOW + timedelta(hours=13, seconds=1))
    assert _reason(exc) == "signature_expired"


def test_cavage_unsigned_expires_parameter_is_ignored(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _cavage(ed_key, FULL, expires=str(CREATED + 3 * 3600))
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(),
                       now=NOW + timedelta(hours=2))
    assert _reason(exc) == "signature_expired"


def test_cavage_created_in_the_future_is_refused(ed_key: ed25519.Ed25519PrivateKey) -> None:
    covered = ["(request-target)", "host", "(created)", "digest"]
    headers = _cavage(ed_key, covered, created=str(CREATED + 2 * 3600))
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "date_in_future"


def test_policy_is_configurable(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _signed(ed_key)
    strict = VerifyPolicy(max_age=timedelta(seconds=30), clock_skew=timedelta(seconds=5))
    public = ed_key.public_key()
    assert verify_request("POST", INBOX, headers, BODY, public, now=NOW, policy=strict)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, public, now=NOW + timedelta(seconds=36),
                       policy=strict)
    assert _reason(exc) == "signature_expired"


def test_short_rsa_key_is_refused_by_policy() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    headers = _signed(weak)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, weak.public_key(), now=NOW)
    assert _reason(exc) == "key_mismatch"
    lenient = VerifyPolicy(min_rsa_bits=1024)
    assert verify_request("POST", INBOX, headers, BODY, weak.public_key(), now=NOW, policy=lenient)


# --- RFC 9421 policy ---------------------------------------------------------------------------

POST_COMPONENTS = ["@method", "@target-uri", "content-digest"]


def test_rfc9421_path_and_authority_may_replace_target_uri(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    headers = _rfc9421(ed_key, ["@method", "@path", "@authority", "content-digest"],
                       f";created={CREATED}{KEYID}")
    assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW) == KEY_ID


@pytest.mark.parametrize(
    "components",
    [
        ["@target-uri", "content-digest"],
        ["@method", "content-digest"],
        ["@method", "@path", "content-digest"],
        ["@method", "@target-uri"],
    ],
)
def test_rfc9421_must_cover_the_required_components(
    ed_key: ed25519.Ed25519PrivateKey, components: list[str]
) -> None:
    headers = _rfc9421(ed_key, components, f";created={CREATED}{KEYID}")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_component"


def test_rfc9421_created_is_required(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _rfc9421(ed_key, POST_COMPONENTS, KEYID)
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "missing_component"


def test_rfc9421_keyid_is_required(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _rfc9421(ed_key, POST_COMPONENTS, f";created={CREATED}")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "bad_signature_header"


def test_rfc9421_expires_is_enforced(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _rfc9421(ed_key, POST_COMPONENTS, f";created={CREATED};expires={CREATED + 60}{KEYID}")
    public = ed_key.public_key()
    assert verify_request("POST", INBOX, headers, BODY, public, now=NOW + timedelta(hours=1))
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, public,
                       now=NOW + timedelta(hours=1, seconds=61))
    assert _reason(exc) == "signature_expired"


def test_rfc9421_parameters_are_verified_in_the_received_order(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    headers = _rfc9421(ed_key, POST_COMPONENTS, f'{KEYID};alg="ed25519";created={CREATED}')
    assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW) == KEY_ID


def test_rfc9421_alg_that_does_not_fit_the_key_is_key_mismatch(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    headers = _rfc9421(rsa_key, POST_COMPONENTS, f';created={CREATED}{KEYID};alg="ed25519"',
                       alg="rsa-v1_5-sha256")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW)
    assert _reason(exc) == "key_mismatch"


def test_rfc9421_unknown_alg_is_unsupported(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _rfc9421(ed_key, POST_COMPONENTS, f';created={CREATED}{KEYID};alg="hmac-sha256"',
                       alg="ed25519")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "unsupported_algorithm"


def test_rfc9421_rsa_pss_without_alg_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = _rfc9421(rsa_key, POST_COMPONENTS, f";created={CREATED}{KEYID}", alg="rsa-pss-sha512")
    assert verify_request("POST", INBOX, headers, BODY, rsa_key.public_key(), now=NOW) == KEY_ID


def test_rfc9421_first_signature_is_the_one_verified(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _signed(ed_key, "rfc9421")
    headers["Signature-Input"] += ', proxy=("@method");created=1;keyid="other"'
    headers["Signature"] += ", proxy=:AAAA:"
    assert key_id_of(headers) == KEY_ID
    assert verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW) == KEY_ID


def test_rfc9421_label_without_signature_is_refused(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _signed(ed_key, "rfc9421")
    headers["Signature"] = headers["Signature"].replace("sig1=", "sig2=")
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "bad_signature_header"


def test_rfc9421_component_parameters_are_refused(ed_key: ed25519.Ed25519PrivateKey) -> None:
    headers = _signed(ed_key, "rfc9421")
    headers["Signature-Input"] = headers["Signature-Input"].replace(
        '"@method"', '"@method" "@query-param";name="a"'
    )
    with pytest.raises(SignatureError) as exc:
        verify_request("POST", INBOX, headers, BODY, ed_key.public_key(), now=NOW)
    assert _reason(exc) == "bad_signature_header"


# --- arbitrary input ---------------------------------------------------------------------------

_fragments = st.sampled_from(
    ['sig1=', '("@method" "@target-uri")', ";created=1714564800", ';keyid="k"', ":AAAA:", ",", " ",
     'keyId="k"', 'signature="AAAA"', 'headers="(request-target) host date"', '"', "\\", "é"]
)
_header_text = st.one_of(st.text(max_size=120), st.lists(_fragments, max_size=16).map("".join))


@settings(derandomize=True, deadline=None)
@given(signature_input=st.none() | _header_text, signature=_header_text)
def test_arbitrary_signature_headers_raise_only_protocol_errors(
    signature_input: str | None, signature: str
) -> None:
    headers = {**BASE_HEADERS, "Signature": signature}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    public = ed25519.Ed25519PrivateKey.from_private_bytes(b"\x02" * 32).public_key()
    with pytest.raises(SignatureError):
        verify_request("POST", INBOX, headers, BODY, public, now=NOW)
    with contextlib.suppress(ProtocolError):
        key_id_of(headers)
