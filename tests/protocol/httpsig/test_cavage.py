"""protocol.httpsig.cavage: draft-cavage-12 vectors, strict parsing, algorithms (no policy)."""

from __future__ import annotations

import contextlib
import hashlib
from base64 import b64encode
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError, SignatureError
from protocol.httpsig.cavage import (
    build_signing_string,
    format_signature_header,
    parse_signature_header,
    sign_signing_string,
    verify_signing_string,
)
from tests.conftest import load_vector

# Fixed examples, no deadline: the same run every time, also on a loaded machine.
DETERMINISTIC = settings(derandomize=True, deadline=None)

VECTORS: dict[str, Any] = load_vector("draft_cavage_12.json")
REQUEST = VECTORS["request"]
EXAMPLES = {example["id"]: example for example in VECTORS["examples"]}
PUBLIC_PEM = VECTORS["key"]["public_pem"]


@pytest.fixture(scope="module")
def test_key() -> rsa.RSAPrivateKey:
    key = load_pem_private_key(VECTORS["key"]["private_pem"].encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _covered(example: dict[str, Any]) -> list[str]:
    return example["headers"].split(" ") if example["headers"] else ["date"]


def _flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _reason(exc: pytest.ExceptionInfo[SignatureError]) -> str:
    return exc.value.reason


# --- Appendix C vectors ------------------------------------------------------------------------


@pytest.mark.parametrize("example_id", ["C.1", "C.2", "C.3"])
def test_vector_signing_string_is_reproduced(example_id: str) -> None:
    example = EXAMPLES[example_id]
    text = build_signing_string(
        REQUEST["method"], REQUEST["target"], REQUEST["headers"], _covered(example)
    )
    assert text == example["signing_string"]


@pytest.mark.parametrize("example_id", ["C.1", "C.2", "C.3"])
def test_vector_signature_header_is_reproduced_byte_for_byte(
    example_id: str, test_key: rsa.RSAPrivateKey
) -> None:
    example = EXAMPLES[example_id]
    signature = sign_signing_string(example["signing_string"], test_key)
    covered = _covered(example) if example["headers"] else None
    header = format_signature_header("Test", "rsa-sha256", covered, signature)
    assert header == example["signature_header"]


@pytest.mark.parametrize("example_id", ["C.1", "C.2", "C.3"])
def test_vector_signature_verifies(example_id: str) -> None:
    example = EXAMPLES[example_id]
    parsed = parse_signature_header(example["signature_header"])
    assert parsed.key_id == "Test"
    assert parsed.headers == tuple(_covered(example))
    verify_signing_string(example["signing_string"], parsed.signature, PUBLIC_PEM, "rsa-sha256")


@pytest.mark.parametrize("example_id", ["C.1", "C.2", "C.3"])
def test_vector_fails_when_one_signing_string_byte_changes(example_id: str) -> None:
    example = EXAMPLES[example_id]
    parsed = parse_signature_header(example["signature_header"])
    changed = _flip(example["signing_string"].encode(), 7).decode()
    with pytest.raises(SignatureError) as exc:
        verify_signing_string(changed, parsed.signature, PUBLIC_PEM, "rsa-sha256")
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("example_id", ["C.1", "C.2", "C.3"])
def test_vector_fails_when_one_signature_byte_changes(example_id: str) -> None:
    example = EXAMPLES[example_id]
    parsed = parse_signature_header(example["signature_header"])
    with pytest.raises(SignatureError) as exc:
        verify_signing_string(
            example["signing_string"], _flip(parsed.signature, 40), PUBLIC_PEM, "rsa-sha256"
        )
    assert _reason(exc) == "invalid_signature"


def test_vector_needs_the_sunday_date() -> None:
    # The vectors README gotcha: "Thu, 05 Jan 2014" (httpsig's suite) gives another string.
    example = EXAMPLES["C.1"]
    parsed = parse_signature_header(example["signature_header"])
    thursday = example["signing_string"].replace("Sun,", "Thu,")
    with pytest.raises(SignatureError):
        verify_signing_string(thursday, parsed.signature, PUBLIC_PEM, "rsa-sha256")


# --- round trip per algorithm ------------------------------------------------------------------


def test_ed25519_signature_verifies_as_hs2019(ed_key: ed25519.Ed25519PrivateKey) -> None:
    signature = sign_signing_string("date: x", ed_key)
    verify_signing_string("date: x", signature, ed_key.public_key(), "hs2019")


def test_algorithm_may_be_omitted_and_taken_from_the_key(ed_key: ed25519.Ed25519PrivateKey) -> None:
    signature = sign_signing_string("date: x", ed_key)
    verify_signing_string("date: x", signature, ed_key.public_key(), None)


def test_hs2019_with_rsa_pkcs1_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    # interop(gotosocial): hs2019 with an RSA key, signed RSASSA-PKCS1-v1_5 SHA-256.
    signature = sign_signing_string("date: x", rsa_key)
    verify_signing_string("date: x", signature, rsa_key.public_key(), "hs2019")


def test_hs2019_with_rsa_pss_sha512_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    signature = rsa_key.sign(b"date: x", pss, hashes.SHA512())
    verify_signing_string("date: x", signature, rsa_key.public_key(), "hs2019")


def test_rsa_sha256_does_not_accept_pss(rsa_key: rsa.RSAPrivateKey) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    signature = rsa_key.sign(b"date: x", pss, hashes.SHA512())
    with pytest.raises(SignatureError) as exc:
        verify_signing_string("date: x", signature, rsa_key.public_key(), "rsa-sha256")
    assert _reason(exc) == "invalid_signature"


def test_rsa_sha256_with_an_ed25519_key_is_a_key_mismatch(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    signature = sign_signing_string("date: x", ed_key)
    with pytest.raises(SignatureError) as exc:
        verify_signing_string("date: x", signature, ed_key.public_key(), "rsa-sha256")
    assert _reason(exc) == "key_mismatch"


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "rsa-sha512", "ecdsa-sha256"])
def test_other_algorithms_are_unsupported(algorithm: str, rsa_key: rsa.RSAPrivateKey) -> None:
    signature = sign_signing_string("date: x", rsa_key)
    with pytest.raises(SignatureError) as exc:
        verify_signing_string("date: x", signature, rsa_key.public_key(), algorithm)
    assert _reason(exc) == "unsupported_algorithm"


def test_rsa_signature_with_a_trailing_byte_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    signature = sign_signing_string("date: x", rsa_key)
    with pytest.raises(SignatureError) as exc:
        verify_signing_string("date: x", signature + b"\x00", rsa_key.public_key(), "rsa-sha256")
    assert _reason(exc) == "invalid_signature"


def test_rsa_signature_with_data_after_the_digest_info_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    # Bleichenbacher'06: a lax verifier that stops after DigestInfo accepts garbage behind it.
    # Build EM = 00 01 FF.. 00 DigestInfo(SHA-256) || garbage and apply the private key raw.
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    digest_info += hashlib.sha256(b"date: x").digest()
    size = rsa_key.key_size // 8
    garbage = b"\x42" * 32
    filler = b"\xff" * (size - 3 - len(digest_info) - len(garbage))
    encoded = b"\x00\x01" + filler + b"\x00" + digest_info + garbage
    numbers = rsa_key.private_numbers()
    n = numbers.public_numbers.n
    forged = pow(int.from_bytes(encoded, "big"), numbers.d, n).to_bytes(size, "big")
    with pytest.raises(SignatureError) as exc:
        verify_signing_string("date: x", forged, rsa_key.public_key(), "rsa-sha256")
    assert _reason(exc) == "invalid_signature"


# --- signing string details --------------------------------------------------------------------


def test_created_and_expires_pseudo_headers_use_the_parameter_text() -> None:
    text = build_signing_string(
        "GET",
        "/x",
        {"Host": "a.test"},
        ["(request-target)", "(created)", "(expires)", "host"],
        created="1402170695",
        expires="1402170699.5",
    )
    assert text == (
        "(request-target): get /x\n(created): 1402170695\n(expires): 1402170699.5\nhost: a.test"
    )


def test_repeated_headers_are_joined_with_comma_space() -> None:
    text = build_signing_string("GET", "/", [("X-A", "1"), ("x-a", " 2 ")], ["x-a"])
    assert text == "x-a: 1, 2"


def test_missing_signed_header_is_a_missing_component() -> None:
    with pytest.raises(SignatureError) as exc:
        build_signing_string("GET", "/", {}, ["date"])
    assert _reason(exc) == "missing_component"


def test_key_id_with_a_quote_cannot_be_signed() -> None:
    with pytest.raises(SignatureError):
        format_signature_header('a"b', "rsa-sha256", None, b"sig")


# --- strict parsing ----------------------------------------------------------------------------

GOOD = 'keyId="k",algorithm="rsa-sha256",headers="(request-target) host date",signature="AAAA"'


def test_good_header_parses() -> None:
    parsed = parse_signature_header(GOOD)
    assert (parsed.key_id, parsed.algorithm, parsed.signature) == ("k", "rsa-sha256", b"\0\0\0")
    assert parsed.headers == ("(request-target)", "host", "date")


def test_spaces_around_commas_are_accepted() -> None:
    assert parse_signature_header(GOOD.replace(",", ", ")).key_id == "k"


def test_headers_default_to_date() -> None:
    assert parse_signature_header('keyId="k",signature="AAAA"').headers == ("date",)


def test_numeric_created_and_expires_may_be_bare() -> None:
    parsed = parse_signature_header(
        'keyId="k",algorithm="hs2019",created=1402170695,expires=1402170699,'
        'headers="(created) (expires)",signature="AAAA"'
    )
    assert (parsed.created, parsed.expires) == ("1402170695", "1402170699")


def test_quoted_pair_in_a_value_is_unescaped() -> None:
    assert parse_signature_header(r'keyId="a\"b",signature="AAAA"').key_id == 'a"b'


def test_unknown_well_formed_parameter_is_ignored() -> None:
    assert parse_signature_header(GOOD + ',nonce="x"').key_id == "k"


@pytest.mark.parametrize(
    "value",
    [
        "",
        GOOD + ',keyId="other"',  # duplicate parameter
        GOOD.replace('"rsa-sha256"', "rsa-sha256"),  # unquoted value
        GOOD + ",",  # trailing comma
        GOOD + " garbage",
        "garbage " + GOOD,
        GOOD.replace(",", ",,"),
        GOOD.replace('keyId="k",', ""),  # no keyId
        GOOD.replace('keyId="k"', 'keyId=""'),
        GOOD.replace(',signature="AAAA"', ""),  # no signature
        GOOD.replace('"AAAA"', '"AA-A"'),  # not base64
        GOOD.replace('"AAAA"', '"AAA"'),  # bad padding
        GOOD.replace('"AAAA"', '""'),
        GOOD.replace("(request-target) host", "(request-target)  host"),
        GOOD.replace('headers="', 'headers="date '),  # date listed twice
        GOOD.replace('headers="(request-target) host date"', 'headers=""'),
        GOOD + ',created="12a"',
        GOOD + ",created=1.5",
        GOOD + ",algorithm2=1",  # bare value for another parameter
        'keyId="k\x01",signature="AAAA"',
        'keyId="k" ;signature="AAAA"',
        GOOD + "\n",
    ],
)
def test_ambiguous_header_is_refused(value: str) -> None:
    with pytest.raises(SignatureError) as exc:
        parse_signature_header(value)
    assert _reason(exc) == "bad_signature_header"


@DETERMINISTIC
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_protocol_errors(value: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_signature_header(value)


@DETERMINISTIC
@given(
    st.lists(
        st.sampled_from(
            ['keyId="k"', 'signature="AAAA"', 'headers="date"', "created=1", ",", " ", '"', "="]
        ),
        max_size=12,
    )
)
def test_near_miss_headers_raise_only_protocol_errors(parts: list[str]) -> None:
    with contextlib.suppress(ProtocolError):
        parse_signature_header("".join(parts))


def test_signature_is_base64_of_the_raw_bytes(rsa_key: rsa.RSAPrivateKey) -> None:
    signature = sign_signing_string("date: x", rsa_key)
    header = format_signature_header("k", "rsa-sha256", ["date"], signature)
    assert f'signature="{b64encode(signature).decode()}"' in header
    assert parse_signature_header(header).signature == signature


_qdtext = st.text(
    st.characters(codec="ascii", exclude_characters='"\\\r\n\x0b\x0c', exclude_categories=["Cc"])
    | st.sampled_from(["\t", " "]),
    max_size=12,
)
_covered_names = st.lists(
    st.sampled_from(["(request-target)", "(created)", "Host", "date", "digest", "x-a"]),
    max_size=4,
).map(" ".join)
_base64 = st.binary(max_size=12).map(lambda raw: b64encode(raw).decode()) | st.sampled_from(
    ["", "AAA", "A===", "==", "AA=A", "AAAA"]
)


@DETERMINISTIC
@given(key_id=_qdtext, algorithm=_qdtext, covered=_covered_names, signature=_base64)
def test_common_layout_parses_as_the_general_parser_does(
    key_id: str, algorithm: str, covered: str, signature: str
) -> None:
    # The fast path takes exactly this layout; ", " separators send the same header through
    # the general parameter loop, which must reach the same result or the same refusal.
    params = [f'keyId="{key_id}"', f'algorithm="{algorithm}"', f'headers="{covered}"']
    params.append(f'signature="{signature}"')
    common, general = ",".join(params), ", ".join(params)
    outcomes = []
    for value in (common, general):
        try:
            outcomes.append(parse_signature_header(value))
        except SignatureError as exc:
            outcomes.append(exc.reason)  # type: ignore[arg-type]
    assert outcomes[0] == outcomes[1]
