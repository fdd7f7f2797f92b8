"""Protocol benchmark: our signature framing against bare ``cryptography``, in one run.

For each path it prints operations per second for the bare primitive and for our function, and
the ratio ours/bare (1.0 means the framing is free). Figures only, never pass/fail: the machine
is shared and noisy, so bare and ours are measured in alternating short rounds and the best
round of each counts.

- Ed25519: ``key.sign``/``verify`` of a signature-base-sized message vs RFC 9421
  ``sign_request``/``verify_request`` (and cavage ``hs2019``) with a small JSON body.
- RSA-2048: bare PKCS#1 v1.5 SHA-256 vs cavage ``rsa-sha256`` and RFC 9421 ``rsa-v1_5-sha256``.
- JCS: ``canonicalize`` of an item with floats vs the pure-Python ``rfc8785`` (the reference).
- eddsa-jcs-2022: ``add_proof``/``verify_proof`` vs bare Ed25519 over the bytes the cryptosuite
  signs, SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document)) (checked to be the same bytes), so
  canonicalization, hashing, base58 and the proof object all count as framing.

Every verified request is distinct (body and ``created``), as a server's are, so nothing that
remembers earlier requests (the URL and Date caches) flatters the figures.

Run: ``.venv/bin/python bench/protocol.py`` (about a minute).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import cryptography
import rfc8785
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from protocol.context import build_context
from protocol.httpsig import sign_request, verify_request
from protocol.jcs import canonicalize
from protocol.keys import base58btc_decode
from protocol.proofs import add_proof, verify_proof

T = TypeVar("T")

ROUNDS = 15  # alternating rounds per pair; ROUND_SECONDS each, so ~1.5 s per measurement
ROUND_SECONDS = 0.1
DISTINCT = 600  # more than the 256 entries of the URL cache
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
INBOX = "https://drenthe.test/actors/dorpsmolen/inbox"
KEY_ID = "https://fryslan.test/actors/kerkje#main-key"
HEADERS = {"Host": "drenthe.test", "Content-Type": "application/activity+json"}
PKCS1 = padding.PKCS1v15()


def _body(i: int) -> bytes:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"https://fryslan.test/activities/{i}",
        "type": "Like",
        "actor": "https://fryslan.test/actors/kerkje",
        "object": "https://drenthe.test/items/dorpsmolen-verhaal",
    }
    return json.dumps(activity).encode()


def _rate(fn: Callable[[T], object], items: Sequence[T], seconds: float) -> float:
    """Calls per second of ``fn`` over ``items`` (cycled) for about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for offset in range(0, len(items), 50):
            chunk = items[offset : offset + 50]
            for item in chunk:
                fn(item)
            count += len(chunk)
            now = time.perf_counter()
            if now >= deadline:
                return count / (now - start)


def _pair(
    bare: Callable[[Any], object],
    bare_items: Sequence[Any],
    ours: Callable[[Any], object],
    our_items: Sequence[Any],
) -> tuple[float, float]:
    best_bare = best_ours = 0.0
    for _ in range(ROUNDS):
        best_bare = max(best_bare, _rate(bare, bare_items, ROUND_SECONDS))
        best_ours = max(best_ours, _rate(ours, our_items, ROUND_SECONDS))
    return best_bare, best_ours


Request = tuple[str, dict[str, str], bytes]  # url, headers, body


def _signed_requests(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, flavour: str,
                     count: int) -> list[Request]:
    requests = []
    for i in range(count):
        body = _body(i)
        added = sign_request("POST", INBOX, HEADERS, body, key, KEY_ID, flavour=flavour,  # type: ignore[arg-type]
                             now=NOW + timedelta(seconds=i))
        requests.append((INBOX, {**HEADERS, **added}, body))
    return requests


def _http_rows(
    label: str,
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    flavour: str,
    distinct: int,
) -> list[tuple[str, float, float]]:
    public = key.public_key()
    bodies = [_body(i) for i in range(distinct)]
    # Bare operations get a message as long as a typical signature base.
    base_len = len(
        "\n".join(f"{n}: {v}" for n, v in _signed_requests(key, flavour, 1)[0][1].items())
    )
    messages = [body.ljust(base_len, b" ") for body in bodies]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        ed = key
        ed_public = ed.public_key()

        def bare_sign(message: bytes) -> object:
            return ed.sign(message)

        signed_messages = [(ed.sign(m), m) for m in messages]

        def bare_verify(pair: tuple[bytes, bytes]) -> object:
            ed_public.verify(*pair)
            return None
    else:
        rk = key
        rk_public = rk.public_key()

        def bare_sign(message: bytes) -> object:
            return rk.sign(message, PKCS1, hashes.SHA256())

        signed_messages = [(rk.sign(m, PKCS1, hashes.SHA256()), m) for m in messages]

        def bare_verify(pair: tuple[bytes, bytes]) -> object:
            rk_public.verify(pair[0], pair[1], PKCS1, hashes.SHA256())
            return None

    def our_sign(body: bytes) -> object:
        return sign_request("POST", INBOX, HEADERS, body, key, KEY_ID, flavour=flavour)  # type: ignore[arg-type]

    requests = _signed_requests(key, flavour, distinct)
    verify_at = NOW + timedelta(seconds=distinct // 2)

    def our_verify(request: Request) -> object:
        url, headers, body = request
        return verify_request("POST", url, headers, body, public, now=verify_at)

    sign = _pair(bare_sign, messages, our_sign, bodies)
    verify = _pair(bare_verify, signed_messages, our_verify, requests)
    return [(f"{label} sign", *sign), (f"{label} verify", *verify)]


def _proof_rows(key: ed25519.Ed25519PrivateKey) -> list[tuple[str, float, float]]:
    public = key.public_key()
    method = "https://fryslan.test/actors/kerkje#ed25519-key"
    documents = []
    for i in range(DISTINCT):
        documents.append({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v2"],
            "id": f"https://fryslan.test/items/{i}",
            "type": "Article",
            "attributedTo": "https://fryslan.test/actors/kerkje",
            "name": "Dorpsmolen draait weer",
            "content": "<p>Na twee jaar restauratie draait de molen weer op eigen kracht.</p>",
            "published": "2024-05-01T12:00:00Z",
            "tag": [{"type": "Hashtag", "name": "#energie"}],
        })
    # What Ed25519 signs in eddsa-jcs-2022 (§3.3.4): the two SHA-256 hashes, config then document.
    config = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": method,
        "proofPurpose": "assertionMethod",
    }
    hash_data = [
        hashlib.sha256(canonicalize({**config, "@context": document["@context"]})).digest()
        + hashlib.sha256(canonicalize(document)).digest()
        for document in documents
    ]
    signed_hash_data = [(key.sign(data), data) for data in hash_data]
    proved = [add_proof(document, key, method, created=NOW) for document in documents]
    assert all(verify_proof(document, public) for document in proved)
    assert [key.sign(data) for data in hash_data[:3]] == [
        base58btc_decode(document["proof"]["proofValue"][1:]) for document in proved[:3]
    ], "bare must sign the very bytes add_proof signs"

    def bare_sign(data: bytes) -> object:
        return key.sign(data)

    def bare_verify(pair: tuple[bytes, bytes]) -> object:
        public.verify(*pair)
        return None

    def our_add(document: dict[str, Any]) -> object:
        return add_proof(document, key, method, created=NOW)

    def our_verify(document: dict[str, Any]) -> object:
        return verify_proof(document, public)

    add = _pair(bare_sign, hash_data, our_add, documents)
    check = _pair(bare_verify, signed_hash_data, our_verify, proved)
    return [("eddsa-jcs-2022 add_proof", *add), ("eddsa-jcs-2022 verify_proof", *check)]


def _item(i: int) -> dict[str, Any]:
    """A knowledge item as nodes sign it: about 8 KB, with a place (two floats)."""
    words = " ".join(("dorp", "molen", "coöperatie", "zorg", "energie")[(i * j) % 5]
                     for j in range(500))
    return {
        "@context": build_context(), "id": f"https://drenthe.test/items/{i}", "type": "Article",
        "attributedTo": "https://drenthe.test/actors/dorpsmolen", "content": f"<p>{words}</p>",
        "source": {"content": words, "mediaType": "text/markdown"}, "name": f"Item {i}",
        "location": {"type": "Place", "name": "Reduzum", "latitude": 53.12 + i / 1e4,
                     "longitude": 5.78}, "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


def _jcs_rows() -> list[tuple[str, float, float]]:
    """JCS of an item with floats: our fast path against the pure-Python reference."""
    items = [_item(i) for i in range(50)]
    assert all(canonicalize(item) == rfc8785.dumps(item) for item in items)
    return [("JCS of an 8 KB item with a place (vs rfc8785)",
             *_pair(rfc8785.dumps, items, canonicalize, items))]


def measure() -> list[tuple[str, float, float]]:
    """Every row: (path, bare operations/s, ours operations/s)."""
    ed = ed25519.Ed25519PrivateKey.generate()
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rows: list[tuple[str, float, float]] = []
    rows += _http_rows("Ed25519 RFC 9421", ed, "rfc9421", DISTINCT)
    rows += _http_rows("Ed25519 cavage hs2019", ed, "cavage", DISTINCT)
    rows += _http_rows("RSA-2048 cavage rsa-sha256", rk, "cavage", 300)
    rows += _http_rows("RSA-2048 RFC 9421 rsa-v1_5-sha256", rk, "rfc9421", 300)
    rows += _proof_rows(ed)
    rows += _jcs_rows()
    return rows


def main() -> None:
    print(f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
          f"{ROUNDS}×{ROUND_SECONDS}s alternating rounds per side, best round counts")
    rows = measure()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'path':<{width}}  {'bare/s':>9}  {'ours/s':>9}  {'ours/bare':>9}")
    for name, bare, ours in rows:
        print(f"{name:<{width}}  {bare:>9.0f}  {ours:>9.0f}  {ours / bare:>9.2f}")


if __name__ == "__main__":
    main()
