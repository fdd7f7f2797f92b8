"""Hostile bodies and framing at the inbox: size, media type, encoding and strict JSON.

Every case starts from a valid, freshly signed Create by Mallory (``evil.test``), changes one
thing, and is signed again over exactly the bytes sent, so the signature is never the reason for
the refusal. These checks come before the signature (docs/federation.md, "Receiving", step 1):
the node refuses them without a single outbound request — not even for the signer's key — and
without writing a row.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import pytest

from tests.hardening.conftest import Refuse, Wire, World

LIMIT = 1_000_000  # limits.max_body_bytes (default)


def _json(world: World) -> bytes:
    return orjson.dumps(world.activity())


def _spliced(world: World, fragment: str) -> bytes:
    """The baseline activity with one raw member added (text orjson would never write)."""
    body = _json(world)
    return body[:-1] + b',"hostile":' + fragment.encode() + b"}"


def _oversized(world: World) -> bytes:
    return orjson.dumps(world.activity(obj=world.note(content="x" * (LIMIT + 10))))


def _honest_length(world: World) -> Wire:
    return world.sign(_oversized(world))


def _no_length(world: World) -> Wire:
    wire = world.sign(_oversized(world)).drop("Content-Length")
    wire.chunks = [wire.body[i:i + 65536] for i in range(0, len(wire.body), 65536)]
    return wire


def _small_lying_length(world: World) -> Wire:
    wire = _no_length(world)
    return wire.set("Content-Length", "400")


def _large_lying_length(world: World) -> Wire:
    return world.sign(_json(world)).set("Content-Length", str(50 * LIMIT))


def _gzip(world: World) -> Wire:
    wire = world.sign(gzip.compress(_json(world)))
    return wire.set("Content-Encoding", "gzip")


def _body(make: Callable[[World], bytes]) -> Callable[[World], Wire]:
    return lambda world: world.sign(make(world))


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[World], Wire]
    status: int
    reason: str


CASES = [
    # size
    Case("over-limit-with-content-length", _honest_length, 413, "too_large"),
    Case("over-limit-chunked-without-content-length", _no_length, 413, "too_large"),
    Case("over-limit-under-a-lying-small-content-length", _small_lying_length, 413, "too_large"),
    Case("lying-huge-content-length", _large_lying_length, 413, "too_large"),
    Case("content-length-not-a-number",
         lambda w: w.sign(_json(w)).set("Content-Length", "12, 12"), 400, "bad_request"),
    Case("array-over-10000-items",
         _body(lambda w: orjson.dumps(w.activity(cc=[f"https://evil.test/{i}"
                                                     for i in range(10_001)]))),
         413, "too_large"),
    Case("string-over-200000-characters",
         _body(lambda w: orjson.dumps(w.activity(obj=w.note(content="x" * 200_001)))),
         413, "too_large"),
    # media type and encoding
    Case("content-encoding-gzip", _gzip, 415, "unsupported_encoding"),
    Case("content-type-text-plain",
         lambda w: w.sign(_json(w), content_type="text/plain"), 415, "unsupported_media_type"),
    Case("content-type-form",
         lambda w: w.sign(_json(w), content_type="application/x-www-form-urlencoded"),
         415, "unsupported_media_type"),
    Case("content-type-missing",
         lambda w: w.sign(_json(w), content_type=None), 415, "unsupported_media_type"),
    # bytes and syntax
    Case("invalid-utf8", _body(lambda w: _json(w).replace(b"Hallo", b"Hal\xc0\xafo")),
         400, "bad_json"),
    Case("byte-order-mark", _body(lambda w: b"\xef\xbb\xbf" + _json(w)), 400, "bad_json"),
    Case("trailing-garbage", _body(lambda w: _json(w) + b" <html>"), 400, "bad_json"),
    Case("second-document", _body(lambda w: _json(w) + _json(w)), 400, "bad_json"),
    Case("top-level-array", _body(lambda w: b"[" + _json(w) + b"]"), 400, "bad_json"),
    Case("lone-surrogate", _body(lambda w: _spliced(w, '"\\ud800"')), 400, "bad_json"),
    Case("nesting-10000-deep", _body(lambda w: _spliced(w, "[" * 10_000 + "]" * 10_000)),
         400, "too_deep"),
    Case("duplicate-actor-key",
         _body(lambda w: _json(w)[:-1] + b',"actor":"https://victim.test/actors/alice"}'),
         400, "duplicate_key"),
    # numbers
    Case("integer-above-2-53", _body(lambda w: _spliced(w, str(2**53))), 400, "bad_number"),
    Case("integer-below-minus-2-53", _body(lambda w: _spliced(w, str(-(2**53) - 1))),
         400, "bad_number"),
    Case("nan", _body(lambda w: _spliced(w, "NaN")), 400, "bad_number"),
    Case("infinity", _body(lambda w: _spliced(w, "-Infinity")), 400, "bad_number"),
    Case("float-overflow", _body(lambda w: _spliced(w, "1e400")), 400, "bad_number"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_hostile_body_is_refused_before_any_fetch(world: World, refused: Refuse,
                                                        case: Case) -> None:
    await refused(case.build(world), case.status, case.reason, allowed=())
