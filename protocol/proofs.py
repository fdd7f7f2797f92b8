"""Object integrity proofs: FEP-8b32 with the W3C Data Integrity ``eddsa-jcs-2022`` cryptosuite.

Implements Data Integrity EdDSA Cryptosuites v1.0 §3.3 (eddsa-jcs-2022):

* §3.3.1 create: the proof configuration is the proof options plus the document's ``@context``;
  hashData = SHA-256(JCS(proofConfig)) ‖ SHA-256(JCS(document without ``proof``)); the Ed25519
  signature over hashData becomes ``proofValue`` = ``z`` + base58btc(signature).
* §3.3.2 verify: drop ``proofValue`` from the proof and ``proof`` from the document; when the proof
  carries ``@context``, the document's ``@context`` must start with it, and the proof's value is
  hashed in its place; then recompute hashData and check the signature.

This module only checks the cryptography. Which key to use is the caller's business: fetch the
key named by ``proof_verification_method`` and make sure its controller is the object's origin
actor (FEP-8b32 §Verification; DESIGN.md, Federation semantics) before trusting the result.

Usage::

    signed = add_proof(note, ed_key, "https://kennis.example/actors/drenthe#ed25519-key")
    method = proof_verification_method(signed)   # fetch this key, check its controller, then:
    verify_proof(signed, fetched_public_key)     # returns method, or raises ProofError
"""

from __future__ import annotations

import copy
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from protocol.errors import DocumentError, KeyFormatError, ProofError
from protocol.jcs import canonicalize, canonicalize_members, join_members, remember
from protocol.keys import base58btc_decode, base58btc_encode

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "add_proof",
    "proof_verification_method",
    "verify_proof",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"
_SIGNATURE_LENGTH = 64
# An Ed25519 signature is at most 88 base58 digits; refuse anything much longer before decoding.
_MAX_PROOF_VALUE_LENGTH = 100
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?", re.ASCII)


def _is_datetime(value: str) -> bool:
    """Whether ``value`` is an xsd:dateTime, as Data Integrity §2.1 requires for ``created``."""
    if not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _format_created(created: datetime | str | None) -> str:
    if created is None:
        created = datetime.now(UTC)
    if isinstance(created, str):
        if not _is_datetime(created):
            raise ValueError(f"created is not an xsd:dateTime: {created!r}")
        return created
    if created.tzinfo is None:
        raise ValueError("created must be timezone-aware")
    if created.tzinfo is not UTC:
        created = created.astimezone(UTC)
    # isoformat is "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00" in UTC: to the second, then "Z".
    return created.isoformat()[:19] + "Z"


def _hash_data(proof_config: dict[str, Any], unsecured: dict[str, Any]) -> bytes:
    """§3.3.4 Hashing: SHA-256 of the canonical proof config, then of the canonical document."""
    return (
        hashlib.sha256(canonicalize(proof_config)).digest()
        + hashlib.sha256(canonicalize(unsecured)).digest()
    )


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _clone(value: Any) -> Any:
    """A deep copy of a JSON value: dicts and lists are copied, immutable scalars shared.

    ``copy.deepcopy`` gives the same result for JSON and costs several times more; anything
    other than a dict, list or immutable scalar still goes through it.
    """
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) is str else _clone(item) for key, item in value.items()}
    if kind is list:
        return [item if type(item) is str else _clone(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


def _keep(value: Any) -> Any:
    return value


def _as_list(value: Any) -> list[Any]:
    """A JSON-LD value (``@context``, ``proof``) as a list: ``None`` is empty, one item is wrapped."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def add_proof(
    document: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | str | None = None,
    proof_purpose: str = "assertionMethod",
    share: bool = False,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an ``eddsa-jcs-2022`` proof added.

    ``created`` defaults to now; a datetime is written in UTC to the second (``…Z``), a string is
    kept verbatim (to reproduce known vectors). A document that already has proofs keeps them and
    gains one more (a Data Integrity proof set: every proof covers the document without ``proof``).
    The input is never mutated. ``share``: the copy holds ``document``'s members themselves
    (its ``@context`` in the proof too) instead of deep copies of them, for a caller that built
    them for this document and changes neither afterwards (a batch signing thousands of
    documents: ``node.services.bulk``); the bytes signed and returned are the same.

    Raises:
        DocumentError: ``bad_json`` if the document cannot be canonicalized.
        ValueError: ``created`` is a naive datetime or a string that is not an xsd:dateTime.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> note = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
    ...         "id": "https://kennis.example/items/1", "content": "Hallo"}
    >>> signed = add_proof(note, key, "https://kennis.example/actors/drenthe#ed25519-key")
    >>> signed["proof"]["cryptosuite"], "proof" in note
    ('eddsa-jcs-2022', False)
    """
    clone = _keep if share else _clone
    unsecured = {k: clone(v) for k, v in document.items() if k != "proof"}
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _format_created(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    if "@context" in unsecured:
        proof["@context"] = clone(unsecured["@context"])
    # Each member is canonicalized once: its bytes make the unsigned form (signed here) and then
    # the signed form, remembered for when the document is embedded in its activities.
    members = canonicalize_members(unsecured)
    hash_data = (hashlib.sha256(canonicalize(proof)).digest()
                 + hashlib.sha256(join_members(members)).digest())
    signature = private_key.sign(hash_data)
    proof["proofValue"] = "z" + base58btc_encode(signature)

    # unsecured is our own copy: the proof goes last, as before.
    existing = clone(_as_list(document["proof"])) if "proof" in document else None
    unsecured["proof"] = [*existing, proof] if existing else proof
    members["proof"] = canonicalize(unsecured["proof"])
    # Shared, the document is not changed afterwards: it is its own record of what was signed.
    remember(unsecured, join_members(members), unsecured if share else None)
    return unsecured


def _select_proof(document: Any) -> dict[str, Any]:
    """Pick the proof to check: the only one, or the first eddsa-jcs-2022 one of a proof set."""
    if not isinstance(document, dict):
        raise ProofError("bad_proof", "document is not a JSON object")
    candidates = _as_list(document.get("proof"))
    if not candidates:
        raise ProofError("missing_proof", "document has no proof")
    for candidate in candidates:
        if not isinstance(candidate, dict):
            raise ProofError("bad_proof", "proof is not a JSON object")
    for candidate in candidates:
        if candidate.get("type") == PROOF_TYPE and candidate.get("cryptosuite") == CRYPTOSUITE:
            return dict(candidate)
    raise ProofError("unsupported_cryptosuite", f"no {PROOF_TYPE} proof with {CRYPTOSUITE}")


def _method(proof: dict[str, Any]) -> str:
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise ProofError("bad_proof", "proof has no verificationMethod")
    return method


def proof_verification_method(document: dict[str, Any]) -> str:
    """Return the ``verificationMethod`` (key id) of the proof ``verify_proof`` would check.

    Raises:
        ProofError: ``missing_proof``, ``bad_proof`` or ``unsupported_cryptosuite``.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> note = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
    ...         "id": "https://kennis.example/items/1", "content": "Hallo"}
    >>> signed = add_proof(note, key, "https://kennis.example/actors/drenthe#ed25519-key")
    >>> proof_verification_method(signed)
    'https://kennis.example/actors/drenthe#ed25519-key'
    """
    return _method(_select_proof(document))


def verify_proof(
    document: dict[str, Any],
    public_key: ed25519.Ed25519PublicKey,
    *,
    proof_purpose: str = "assertionMethod",
) -> str:
    """Verify the document's ``eddsa-jcs-2022`` proof with ``public_key``.

    Returns:
        The proof's ``verificationMethod``: the caller must have fetched ``public_key`` from it.

    Raises:
        ProofError: ``missing_proof``; ``bad_proof`` (malformed proof or undecodable document);
            ``unsupported_cryptosuite``; ``invalid_proof`` (wrong purpose, ``@context`` not a
            prefix of the document's, or a signature that does not verify).
        KeyFormatError: ``unsupported_key`` if ``public_key`` is not Ed25519.

    >>> from protocol.keys import generate_ed25519
    >>> key = generate_ed25519()
    >>> note = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
    ...         "id": "https://kennis.example/items/1", "content": "Hallo"}
    >>> signed = add_proof(note, key, "https://kennis.example/actors/drenthe#ed25519-key")
    >>> verify_proof(signed, key.public_key())
    'https://kennis.example/actors/drenthe#ed25519-key'
    >>> verify_proof({**signed, "content": "Hoi"}, key.public_key())
    Traceback (most recent call last):
    ...
    protocol.errors.ProofError: invalid_proof: signature does not verify
    """
    if not isinstance(public_key, ed25519.Ed25519PublicKey):
        raise KeyFormatError("unsupported_key", "eddsa-jcs-2022 needs an Ed25519 public key")
    proof = _select_proof(document)
    method = _method(proof)
    if proof.get("proofPurpose") != proof_purpose:
        raise ProofError("invalid_proof", f"proof purpose is not {proof_purpose}")
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _is_datetime(created)):
        raise ProofError("bad_proof", "created is not an xsd:dateTime")

    proof_value = proof.pop("proofValue", None)
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise ProofError("bad_proof", "proofValue must be multibase base58btc ('z')")
    if len(proof_value) > _MAX_PROOF_VALUE_LENGTH:
        raise ProofError("bad_proof", "proofValue too long")
    try:
        signature = base58btc_decode(proof_value[1:])
    except ValueError as exc:
        raise ProofError("bad_proof", "proofValue is not valid base58btc") from exc
    if len(signature) != _SIGNATURE_LENGTH:
        raise ProofError("bad_proof", "proofValue is not an Ed25519 signature")

    unsecured = {k: v for k, v in document.items() if k != "proof"}
    if "@context" in proof:
        # §3.3.2 step 4: the signer's contexts must lead the document's; later ones may be added.
        expected = _as_list(proof["@context"])
        actual = _as_list(unsecured.get("@context"))
        if actual[: len(expected)] != expected:
            raise ProofError("invalid_proof", "document @context does not start with the proof's")
        unsecured["@context"] = proof["@context"]

    try:
        hash_data = _hash_data(proof, unsecured)
    except DocumentError as exc:
        raise ProofError("bad_proof", f"cannot canonicalize: {exc.detail}") from exc
    try:
        public_key.verify(signature, hash_data)
    except InvalidSignature as exc:
        raise ProofError("invalid_proof", "signature does not verify") from exc
    return method
