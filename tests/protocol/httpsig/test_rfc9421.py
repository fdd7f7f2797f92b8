"""protocol.httpsig.rfc9421: Appendix B.2 and §4.3 vectors, parsing, algorithms (no policy)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_sfv.dictionary import Dictionary
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError, SignatureError
from protocol.httpsig.rfc9421 import (
    build_signature_base,
    parse_signature,
    parse_signature_input,
    sign_signature_base,
    verify_signature_base,
)
from tests.conftest import load_vector

# Fixed examples, no deadline: the same run every time, also on a loaded machine.
DETERMINISTIC = settings(derandomize=True, deadline=None)

VECTORS: dict[str, Any] = load_vector("rfc9421_examples.json")
KEYS: dict[str, Any] = load_vector("rfc9421_test_keys.json")["keys"]
EXAMPLES = {example["id"]: example for example in VECTORS["examples"]}
REQUEST = VECTORS["test_request"]
RESPONSE = VECTORS["test_response"]
PROXY_URL = "https://origin.host.internal.example/foo?param=Value&Pet=dog"
FORWARDED = ("Forwarded", "for=192.0.2.123;host=example.com;proto=https")
VERIFIABLE = ["B.2.1", "B.2.2", "B.2.3", "B.2.4", "B.2.6", "4.3"]
# Ed25519 group order: adding it to S gives the same point, but a non-canonical encoding.
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def _signature(example: dict[str, Any]) -> bytes:
    return dict(parse_signature(example["signature"]))[example["label"]]


def _public(example: dict[str, Any]) -> str:
    pem: str = KEYS[example["key"]]["public_pem"]
    return pem


def _base(example_id: str) -> str:
    example = EXAMPLES[example_id]
    (sig_input,) = parse_signature_input(example["signature_input"])
    if example_id == "B.2.4":
        return build_signature_base(
            "", "", RESPONSE["headers"], sig_input.components, sig_input.params_text, status=200
        )
    url, headers = REQUEST["url"], REQUEST["headers"]
    if example_id == "4.3":
        url, headers = PROXY_URL, [*headers, FORWARDED]
    return build_signature_base(
        REQUEST["method"], url, headers, sig_input.components, sig_input.params_text
    )


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _reason(exc: pytest.ExceptionInfo[SignatureError]) -> str:
    return exc.value.reason


# --- vectors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("example_id", sorted(EXAMPLES))
def test_vector_signature_base_is_reproduced(example_id: str) -> None:
    assert _base(example_id) == EXAMPLES[example_id]["signature_base"]


@pytest.mark.parametrize("example_id", sorted(EXAMPLES))
def test_vector_params_text_is_the_received_member_text(example_id: str) -> None:
    example = EXAMPLES[example_id]
    (sig_input,) = parse_signature_input(example["signature_input"])
    assert f"{sig_input.label}={sig_input.params_text}" == example["signature_input"]


@pytest.mark.parametrize("example_id", VERIFIABLE)
def test_vector_signature_verifies(example_id: str) -> None:
    example = EXAMPLES[example_id]
    verify_signature_base(_base(example_id), _signature(example), _public(example), example["alg"])


@pytest.mark.parametrize("example_id", ["B.2.6", "4.3"])
def test_deterministic_vector_is_reproduced_byte_for_byte(example_id: str) -> None:
    example = EXAMPLES[example_id]
    private_pem = KEYS[example["key"]]["private_pem"]
    assert sign_signature_base(_base(example_id), private_pem, example["alg"]) == _signature(example)


@pytest.mark.parametrize("example_id", VERIFIABLE)
def test_vector_fails_when_one_base_byte_changes(example_id: str) -> None:
    example = EXAMPLES[example_id]
    changed = _flip(_base(example_id).encode(), 3)
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(changed, _signature(example), _public(example), example["alg"])
    assert _reason(exc) == "invalid_signature"


@pytest.mark.parametrize("example_id", VERIFIABLE)
def test_vector_fails_when_one_signature_byte_changes(example_id: str) -> None:
    example = EXAMPLES[example_id]
    changed = _flip(_signature(example), 10)
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(_base(example_id), changed, _public(example), example["alg"])
    assert _reason(exc) == "invalid_signature"


def test_parameter_order_is_part_of_the_signed_bytes() -> None:
    example = EXAMPLES["4.3"]
    (sig_input,) = parse_signature_input(example["signature_input"].replace(
        'keyid="test-key-rsa";alg="rsa-v1_5-sha256"', 'alg="rsa-v1_5-sha256";keyid="test-key-rsa"'
    ))
    base = build_signature_base(
        "POST", PROXY_URL, [*REQUEST["headers"], FORWARDED], sig_input.components,
        sig_input.params_text,
    )
    with pytest.raises(SignatureError):
        verify_signature_base(base, _signature(example), _public(example), "rsa-v1_5-sha256")


def test_hmac_is_not_supported() -> None:
    example = EXAMPLES["B.2.5"]
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(_base("B.2.5"), _signature(example), _public(EXAMPLES["B.2.6"]),
                              "hmac-sha256")
    assert _reason(exc) == "unsupported_algorithm"


def test_algorithm_is_taken_from_the_key_when_absent() -> None:
    for example_id in ("B.2.1", "B.2.4", "B.2.6", "4.3"):
        example = EXAMPLES[example_id]
        verify_signature_base(_base(example_id), _signature(example), _public(example), None)


def test_algorithm_that_does_not_fit_the_key_is_a_key_mismatch() -> None:
    example = EXAMPLES["B.2.6"]
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(_base("B.2.6"), _signature(example), _public(example),
                              "rsa-v1_5-sha256")
    assert _reason(exc) == "key_mismatch"


def test_pss_signature_is_not_accepted_as_pkcs1() -> None:
    example = EXAMPLES["B.2.1"]
    with pytest.raises(SignatureError):
        verify_signature_base(_base("B.2.1"), _signature(example), _public(example),
                              "rsa-v1_5-sha256")


def test_non_canonical_ed25519_signature_fails(ed_key: ed25519.Ed25519PrivateKey) -> None:
    signature = ed_key.sign(b"base")
    s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
    malleated = signature[:32] + s.to_bytes(32, "little")
    verify_signature_base(b"base", signature, ed_key.public_key(), "ed25519")
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(b"base", malleated, ed_key.public_key(), "ed25519")
    assert _reason(exc) == "invalid_signature"


def test_ecdsa_signature_of_the_wrong_length_fails() -> None:
    example = EXAMPLES["B.2.4"]
    with pytest.raises(SignatureError) as exc:
        verify_signature_base(_base("B.2.4"), _signature(example) + b"\0", _public(example),
                              "ecdsa-p256-sha256")
    assert _reason(exc) == "invalid_signature"


def test_rsa_pss_signature_round_trips() -> None:
    private_pem = KEYS["test-key-rsa-pss"]["private_pem"]
    signature = sign_signature_base("base", private_pem, "rsa-pss-sha512")
    verify_signature_base("base", signature, KEYS["test-key-rsa-pss"]["public_pem"],
                          "rsa-pss-sha512")


# --- signature base details --------------------------------------------------------------------


def test_derived_components_follow_rfc9421_section_2_2() -> None:
    base = build_signature_base(
        "GET",
        "HTTPS://Example.COM:443?a=1",
        {},
        ["@method", "@scheme", "@authority", "@path", "@query", "@request-target"],
        "()",
    )
    assert base.split("\n")[:-1] == [
        '"@method": GET',
        '"@scheme": https',
        '"@authority": example.com',
        '"@path": /',
        '"@query": ?a=1',
        '"@request-target": /?a=1',
    ]


def test_empty_query_is_a_question_mark() -> None:
    base = build_signature_base("GET", "https://a.test/x", {}, ["@query"], "()")
    assert base.startswith('"@query": ?\n')


def test_non_default_port_stays_in_the_authority() -> None:
    base = build_signature_base("GET", "http://a.test:8080/", {}, ["@authority"], "()")
    assert base.startswith('"@authority": a.test:8080\n')


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        (["x-missing"], "missing_component"),
        (["@status"], "missing_component"),
        (["@query-param"], "bad_signature_header"),
        (["@unknown"], "bad_signature_header"),
        (["Content-Type"], "bad_signature_header"),
        (["@method", "@method"], "bad_signature_header"),
        (["x-newline"], "bad_signature_header"),
    ],
)
def test_unusable_components_are_refused(components: list[str], reason: str) -> None:
    headers = {"X-Newline": "a\nb", "Content-Type": "text/plain"}
    with pytest.raises(SignatureError) as exc:
        build_signature_base("GET", "https://a.test/", headers, components, "()")
    assert _reason(exc) == reason


def test_relative_url_is_refused() -> None:
    with pytest.raises(SignatureError):
        build_signature_base("GET", "/inbox", {}, ["@target-uri"], "()")


# --- parsing -----------------------------------------------------------------------------------


def test_several_members_keep_their_order() -> None:
    value = 'b=("@method");created=1;keyid="k2", a=("@path");keyid="k1"'
    first, second = parse_signature_input(value)
    assert (first.label, first.keyid, first.created, first.components) == ("b", "k2", 1, ("@method",))
    assert (second.label, second.keyid, second.params_text) == ("a", "k1", '("@path");keyid="k1"')


def test_repeated_parameter_keeps_its_last_value_whatever_the_first_was() -> None:
    # RFC 8941 §4.2.3.2: the wrongly typed first value is overwritten, so it is no error.
    (sig_input,) = parse_signature_input('sig1=("@method");created="x";created=1;keyid="k"')
    assert sig_input.created == 1
    assert sig_input.params_text == '("@method");created=1;keyid="k"'


def test_non_canonical_member_is_reserialized() -> None:
    (sig_input,) = parse_signature_input('sig1=( "@method"  "@path" );created=1;keyid="k"')
    assert sig_input.params_text == '("@method" "@path");created=1;keyid="k"'


def test_component_parameters_are_recorded() -> None:
    (sig_input,) = parse_signature_input('sig1=("@query-param";name="Pet");keyid="k"')
    assert sig_input.component_parameters
    assert sig_input.params_text == '("@query-param";name="Pet");keyid="k"'


@pytest.mark.parametrize(
    "value",
    [
        "",
        'sig1=("@method");keyid="k", sig1=("@path");keyid="k"',  # duplicate label
        'sig1="@method"',  # not an inner list
        "sig1=(x)",  # component is a token, not a string
        'sig1=("@method");created="1"',
        'sig1=("@method");keyid=k',
        'sig1=("@method");keyid=1',
        'sig1=("@method");expires=1.5',
        'sig1=("@method");alg=?1',
        'Sig1=("@method")',
        'sig1=("@method"),',
        'sig1=("é")',
    ],
)
def test_bad_signature_input_is_refused(value: str) -> None:
    with pytest.raises(SignatureError) as exc:
        parse_signature_input(value)
    assert _reason(exc) == "bad_signature_header"


@pytest.mark.parametrize(
    "value",
    ["", "sig1=:AAA:", "sig1=:AA-A:", 'sig1="AAAA"', "sig1=:AAAA:, sig1=:AAAA:", "sig1=(:AAAA:)"],
)
def test_bad_signature_is_refused(value: str) -> None:
    with pytest.raises(SignatureError) as exc:
        parse_signature(value)
    assert _reason(exc) == "bad_signature_header"


def test_several_signatures_parse() -> None:
    assert parse_signature("a=:AAAA:, b=:AQID:") == (("a", b"\0\0\0"), ("b", b"\1\2\3"))


_sf_strings = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12
).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"')
_sf_integers = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1).map(str)
_keys = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,6}", fullmatch=True)


@DETERMINISTIC
@given(
    label=_keys,
    components=st.lists(_sf_strings, max_size=5),
    params=st.lists(st.tuples(_keys, st.one_of(_sf_strings, _sf_integers)), max_size=5),
)
def test_fast_path_agrees_with_http_sfv(
    label: str, components: list[str], params: list[tuple[str, str]]
) -> None:
    text = f"{label}=({' '.join(components)})" + "".join(f";{k}={v}" for k, v in params)
    try:
        (parsed,) = parse_signature_input(text)
    except SignatureError:
        return  # e.g. keyid given as an integer: refused by type, whichever path parsed it
    reference = Dictionary()
    reference.parse(text.encode())
    member = reference[label]
    assert parsed.label == label
    assert parsed.params_text == str(member)
    assert list(parsed.components) == [item.value for item in member]
    for name in ("created", "expires", "keyid", "alg"):
        assert getattr(parsed, name) == member.params.get(name)


@DETERMINISTIC
@given(st.text(max_size=200))
def test_arbitrary_signature_input_raises_only_protocol_errors(value: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_signature_input(value)


@DETERMINISTIC
@given(
    st.lists(
        st.sampled_from(
            ["sig1", "=", "(", ")", '"@method"', " ", ";", "created", "1", ",", '"k"', ":", "AAAA"]
        ),
        max_size=14,
    )
)
def test_near_miss_signature_input_raises_only_protocol_errors(parts: list[str]) -> None:
    value = "".join(parts)
    for parse in (parse_signature_input, parse_signature):
        with contextlib.suppress(ProtocolError):
            parse(value)


@DETERMINISTIC
@given(st.text(max_size=200))
def test_arbitrary_signature_raises_only_protocol_errors(value: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_signature(value)


@DETERMINISTIC
@given(
    label=_keys,
    components=st.lists(_sf_strings, max_size=5),
    created=_sf_integers,
    keyid=_sf_strings,
    alg=_sf_strings,
)
def test_common_layout_agrees_with_http_sfv(
    label: str, components: list[str], created: str, keyid: str, alg: str
) -> None:
    # created;keyid;alg is what sign_rfc9421 writes: the fastest path takes it when unescaped.
    text = f"{label}=({' '.join(components)});created={created};keyid={keyid};alg={alg}"
    (parsed,) = parse_signature_input(text)
    reference = Dictionary()
    reference.parse(text.encode())
    member = reference[label]
    assert parsed.params_text == str(member)
    assert list(parsed.components) == [item.value for item in member]
    assert (parsed.created, parsed.keyid, parsed.alg) == (
        member.params["created"], member.params["keyid"], member.params["alg"]
    )
    assert (parsed.expires, parsed.component_parameters) == (None, False)


@DETERMINISTIC
@given(
    components=st.lists(_sf_strings, max_size=3),
    params=st.lists(
        st.tuples(
            st.sampled_from(["created", "expires", "keyid", "alg", "nonce", "x"]),
            st.one_of(_sf_strings, _sf_integers),
        ),
        max_size=6,
    ),
)
def test_known_parameters_are_typed_after_repeats_resolve(
    components: list[str], params: list[tuple[str, str]]
) -> None:
    # Whatever the path, a repeated parameter keeps its last value and only that one is typed.
    text = f"sig1=({' '.join(components)})" + "".join(f";{k}={v}" for k, v in params)
    reference = Dictionary()
    reference.parse(text.encode())
    final = dict(reference["sig1"].params)
    wrong = any(
        (name in ("created", "expires") and type(value) is not int)
        or (name in ("keyid", "alg", "nonce") and type(value) is not str)
        for name, value in final.items()
    )
    if wrong:
        with pytest.raises(SignatureError):
            parse_signature_input(text)
        return
    (parsed,) = parse_signature_input(text)
    assert parsed.params_text == str(reference["sig1"])
    for name in ("created", "expires", "keyid", "alg"):
        assert getattr(parsed, name) == final.get(name)
