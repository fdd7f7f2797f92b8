"""Forged, broken, stale and replayed HTTP signatures at the inbox (both flavours).

Every case is a valid, freshly signed Create by Mallory with one thing changed after (or while)
signing. Policy (docs/federation.md, "Receiving"; Mastodon's inbox rules): the signature covers
``(request-target)``, ``host``, ``date`` (or ``(created)``) and, on a POST, ``digest``; it is
fresh within created + 5 min (expiry capped at 12 h) plus 1 h of skew; the key is fetched from
its owner. Fetching the signer's key is the only outbound request these checks may make, and
the fetched actor is cached only once a request is accepted — so a refusal leaves no row.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from protocol.httpsig.cavage import (
    build_signing_string,
    format_signature_header,
    parse_signature_header,
    sign_signing_string,
)
from protocol.keys import generate_rsa
from tests.hardening.conftest import NODE_HOST, Refuse, RemoteActor, Wire, World

ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493
CAVAGE = ("(request-target)", "host", "date", "digest")


def _resign(world: World, wire: Wire, covered: tuple[str, ...] = CAVAGE, *,
            algorithm: str = "rsa-sha256", created: str | None = None,
            expires: str | None = None) -> Wire:
    """Sign ``wire`` again (cavage) over exactly ``covered``, with Mallory's RSA key."""
    text = build_signing_string(wire.method, wire.path, wire.headers, covered, created=created,
                                expires=expires)
    signature = sign_signing_string(text, world.mallory.rsa)
    return wire.set("Signature", format_signature_header(
        world.mallory.key_id, algorithm, covered, signature, created=created, expires=expires))


def _tamper_cavage(wire: Wire, change: Callable[[bytes], bytes]) -> Wire:
    sig = parse_signature_header(wire.get("Signature") or "")
    return wire.set("Signature", format_signature_header(
        sig.key_id, sig.algorithm or "rsa-sha256", sig.headers, change(sig.signature)))


def _tamper_rfc9421(wire: Wire, change: Callable[[bytes], bytes]) -> Wire:
    label, _, value = (wire.get("Signature") or "").partition("=")
    signature = change(b64decode(value.strip(":")))
    return wire.set("Signature", f"{label}=:{b64encode(signature).decode()}:")


def _non_canonical(signature: bytes) -> bytes:
    """The same Ed25519 signature with S + L in place of S: valid maths, non-canonical."""
    s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
    return signature[:32] + s.to_bytes(32, "little")


def _rfc9421(world: World, **sign: object) -> Wire:
    return world.sign(world.activity(), flavour="rfc9421", **sign)  # type: ignore[arg-type]


def _header_swap(name: str, old: str, new: str) -> Callable[[World], Wire]:
    def build(world: World) -> Wire:
        wire = world.sign(world.activity())
        return wire.set(name, (wire.get(name) or "").replace(old, new))
    return build


def _covering(*covered: str) -> Callable[[World], Wire]:
    return lambda world: _resign(world, world.sign(world.activity()), covered)


def _dated(date: str) -> Callable[[World], Wire]:
    return lambda world: _resign(world, world.sign(world.activity()).set("Date", date))


def _created_expires(world: World) -> Wire:
    # created 14 h ago, expiring in an hour: the lifetime is capped at 12 h (+1 h skew).
    now = int(world.clock().timestamp())
    wire = world.sign(world.activity()).drop("Date")
    return _resign(world, wire, ("(request-target)", "host", "(created)", "(expires)", "digest"),
                   algorithm="hs2019", created=str(now - 14 * 3600), expires=str(now + 3600))


def _by(when: timedelta, flavour: str = "cavage") -> Callable[[World], Wire]:
    return lambda world: world.sign(world.activity(), now=world.clock() + when,
                                    flavour=flavour)


def _weak_key(world: World) -> Wire:
    weak = RemoteActor(f"{world.evil.origin}/actors/weak", generate_rsa(1024), world.mallory.ed)
    world.evil.serve(weak.ap_id, weak.document())
    return world.sign(world.activity(actor=weak, obj=world.note(weak)), signer=weak)


def _ed25519_as_rsa(world: World) -> Wire:
    wire = world.sign(world.activity(), key=world.mallory.ed, key_id=world.mallory.ed_key_id)
    return wire.set("Signature", (wire.get("Signature") or "").replace(
        'algorithm="hs2019"', 'algorithm="rsa-sha256"'))


def _digest(value: str) -> Callable[[World], Wire]:
    return lambda world: _resign(world, world.sign(world.activity()).set("Digest", value))


def _other_body(world: World) -> Wire:
    wire = world.sign(world.activity())
    wire.body = wire.body.replace(b"Hallo Drenthe", b"Hallo Fryslan")
    return wire


def _path(path: str) -> Callable[[World], Wire]:
    def build(world: World) -> Wire:
        wire = world.sign(world.activity())
        wire.path = path
        return wire
    return build


def _signed_as_get(world: World) -> Wire:
    return world.sign(world.activity(), method="GET")


def _by_key_of(world: World) -> Wire:
    # Mallory signs with her own key but names Alice's key (and Alice as the actor).
    return world.sign(world.activity(actor=world.alice, obj=world.note(world.alice)),
                      key=world.mallory.rsa, key_id=world.alice.key_id)


def _unknown_key(world: World) -> Wire:
    return world.sign(world.activity(), key=world.mallory.rsa,
                      key_id=f"{world.evil.origin}/keys/nowhere")


def _not_an_iri_key(world: World) -> Wire:
    return world.sign(world.activity(), key=world.mallory.rsa, key_id="acct:mallory@evil.test")


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[World], Wire]
    status: int
    reason: str
    fetches_key: bool = True  # whether the check may fetch the signer's key first

    def allowed(self, world: World) -> list[str]:
        return [world.mallory.ap_id, world.alice.ap_id,
                f"{world.evil.origin}/keys/nowhere", f"{world.evil.origin}/actors/weak"
                ] if self.fetches_key else []


CASES = [
    # missing or unparsable
    Case("missing", lambda w: w.sign(w.activity()).drop("Signature"), 401, "missing_signature",
         fetches_key=False),
    Case("unparsable", lambda w: w.sign(w.activity()).set("Signature", "Signature: yes please"),
         401, "bad_signature_header", fetches_key=False),
    Case("signature-not-base64", _header_swap("Signature", 'signature="', 'signature="!!'),
         401, "bad_signature_header", fetches_key=False),
    Case("duplicate-parameter",
         _header_swap("Signature", 'algorithm="rsa-sha256"',
                      'algorithm="rsa-sha256",algorithm="hs2019"'),
         401, "bad_signature_header", fetches_key=False),
    Case("unsupported-algorithm", _header_swap("Signature", "rsa-sha256", "hmac-sha256"),
         401, "unsupported_algorithm"),
    Case("rfc9421-unsupported-algorithm",
         lambda w: _rfc9421(w).set("Signature-Input", (_rfc9421(w).get("Signature-Input") or "")
                                   .replace('alg="ed25519"', 'alg="hmac-sha256"')),
         401, "unsupported_algorithm"),
    Case("key-id-not-an-iri", _not_an_iri_key, 401, "bad_signature_header", fetches_key=False),
    # what the signature must cover
    Case("digest-not-covered", _covering("(request-target)", "host", "date"),
         401, "missing_component"),
    Case("request-target-not-covered", _covering("host", "date", "digest"),
         401, "missing_component"),
    Case("host-not-covered", _covering("(request-target)", "date", "digest"),
         401, "missing_component"),
    Case("date-not-covered", _covering("(request-target)", "host", "digest"),
         401, "missing_component"),
    # digest
    Case("body-changed-after-signing", _other_body, 401, "digest_mismatch"),
    Case("digest-malformed", _digest("SHA-256=bm90IGEgZGlnZXN0"), 400, "bad_digest"),
    Case("digest-unsupported-algorithm", _digest("MD5=Q2hlY2sgSW50ZWdyaXR5IQ=="),
         400, "unsupported_digest"),
    # time
    Case("date-two-hours-old", _by(timedelta(hours=-2)), 401, "signature_expired"),
    Case("date-two-hours-ahead", _by(timedelta(hours=2)), 401, "date_in_future"),
    Case("date-unparsable", _dated("gisteren rond het middaguur"), 401, "bad_date"),
    Case("expires-beyond-12-hours", _created_expires, 401, "signature_expired"),
    Case("rfc9421-created-two-hours-old", _by(timedelta(hours=-2), "rfc9421"),
         401, "signature_expired"),
    Case("rfc9421-created-two-hours-ahead", _by(timedelta(hours=2), "rfc9421"),
         401, "date_in_future"),
    # the request changed after signing
    Case("path-changed", _path("/actors/drenthe/inbox"), 401, "invalid_signature"),
    Case("query-added", _path("/inbox?via=relay"), 401, "invalid_signature"),
    Case("method-changed", _signed_as_get, 401, "invalid_signature"),
    Case("host-changed", _header_swap("Host", NODE_HOST, "fryslan.test"),
         401, "host_mismatch", fetches_key=False),
    Case("host-changed-to-ours", lambda w: w.sign(w.activity(), host="fryslan.test")
         .set("Host", NODE_HOST), 401, "invalid_signature"),
    Case("replayed-from-another-server", lambda w: w.sign(w.activity(), host="fryslan.test"),
         401, "host_mismatch", fetches_key=False),
    # keys and signature bytes
    Case("signed-by-another-key", _by_key_of, 401, "invalid_signature"),
    Case("key-not-found", _unknown_key, 401, "unknown_key"),
    Case("rsa-key-of-1024-bits", _weak_key, 401, "key_mismatch"),
    Case("ed25519-key-claimed-as-rsa-sha256", _ed25519_as_rsa, 401, "key_mismatch"),
    Case("rsa-signature-with-trailing-byte",
         lambda w: _tamper_cavage(w.sign(w.activity()), lambda s: s + b"\x00"),
         401, "invalid_signature"),
    Case("rsa-signature-with-leading-zero",
         lambda w: _tamper_cavage(w.sign(w.activity()), lambda s: b"\x00" + s),
         401, "invalid_signature"),
    Case("ed25519-signature-non-canonical",
         lambda w: _tamper_rfc9421(_rfc9421(w), _non_canonical), 401, "invalid_signature"),
    Case("ed25519-signature-with-trailing-byte",
         lambda w: _tamper_rfc9421(_rfc9421(w), lambda s: s + b"\x00"),
         401, "invalid_signature"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_signature_is_refused(world: World, refused: Refuse, case: Case) -> None:
    await refused(case.build(world), case.status, case.reason, allowed=case.allowed(world))


async def test_another_key_is_refused_even_after_refetching_a_cached_key(
        world: World, refused: Refuse) -> None:
    # Given Alice's key is cached (she posted before)
    assert (await world.post(world.activity(actor=world.alice, obj=world.note(world.alice)),
                             signer=world.alice)).status == 202
    # When Mallory signs as Alice's key, the key is fetched once more (rotation) and still fails
    wire = _by_key_of(world)
    wire.body = wire.body.replace(b"create-1", b"create-2")
    wire = world.sign(wire.body, key=world.mallory.rsa, key_id=world.alice.key_id)
    await refused(wire, 401, "invalid_signature", allowed=[world.alice.ap_id])
    assert world.net.requested(world.alice.ap_id)


async def test_replay_within_the_window_is_a_duplicate(world: World) -> None:
    # Given an accepted delivery
    activity = world.activity()
    wire = world.sign(activity)
    assert (await world.send(wire)).status == 202
    await world.work()
    before = await world.counts()
    # When the very same request is replayed four minutes later
    world.clock.advance(240)
    replayed = await world.send(wire)
    await world.work()
    # Then it is answered 202 as a duplicate, and nothing changed
    assert replayed.status == 202
    assert await world.counts() == before


async def test_replay_after_the_window_is_refused(world: World, refused: Refuse) -> None:
    # Given an accepted delivery
    wire = world.sign(world.activity())
    assert (await world.send(wire)).status == 202
    # When it is replayed after created + 5 min + 1 h of skew
    world.clock.advance(66 * 60)
    # Then it is refused as expired, without touching the (cached) key's owner
    await refused(wire, 401, "signature_expired", allowed=[])


async def test_our_host_spelled_differently_is_still_ours(world: World) -> None:
    # Host names are compared after one normalisation: case and the default port do not matter.
    sent = await world.post(world.activity(), host="Drenthe.TEST:443")
    assert sent.status == 202
