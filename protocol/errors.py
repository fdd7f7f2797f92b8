"""The ``ProtocolError`` tree: every failure the protocol layer reports, with a stable reason code.

Each error carries ``reason`` (a short, stable, machine-readable code such as ``"digest_mismatch"``)
and ``detail`` (a human-readable sentence). Callers map classes to HTTP statuses; the protocol layer
itself knows nothing about HTTP responses.

::

    ProtocolError                 reason codes are listed on each class
     ├── KeyFormatError           bad_key, unsupported_key
     ├── SignatureError           missing_signature, bad_signature_header, unsupported_algorithm,
     │   │                        missing_component, bad_date, date_in_future, signature_expired,
     │   │                        invalid_signature, key_mismatch (the node adds
     │   │                        unknown_key and host_mismatch at its inbox)
     │   └── DigestError          missing_digest, bad_digest, unsupported_digest, digest_mismatch
     ├── ProofError               missing_proof, bad_proof, unsupported_cryptosuite, invalid_proof
     └── DocumentError            bad_json, too_large, too_deep, missing_id, bad_id, missing_field,
                                  bad_field, unsupported_type, forbidden_keyword

A request's verification (``protocol.httpsig.verify_request``) raises only ``SignatureError``:
the body's digest is part of what a signature covers, so ``DigestError`` is one of its kinds, and
``except SignatureError`` catches a tampered body too (reason ``digest_mismatch``).

Usage::

    from protocol.errors import ProtocolError
    try:
        ...
    except ProtocolError as exc:
        body = {"error": exc.reason, "detail": exc.detail}
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every protocol failure; ``reason`` is stable, ``detail`` is for people."""

    default_reason = "protocol_error"

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        self.reason = reason or self.default_reason
        self.detail = detail or self.reason.replace("_", " ")
        super().__init__(f"{self.reason}: {self.detail}")


class KeyFormatError(ProtocolError):
    """A key could not be parsed or is of an unsupported type."""

    default_reason = "bad_key"


class SignatureError(ProtocolError):
    """An HTTP signature is missing, malformed, outside its time window or does not verify."""

    default_reason = "invalid_signature"


class DigestError(SignatureError):
    """A ``Digest`` / ``Content-Digest`` header is missing, malformed or does not match the body.

    A kind of ``SignatureError``: the digest is how a signature covers the body.
    """

    default_reason = "bad_digest"


class ProofError(ProtocolError):
    """An object integrity proof (FEP-8b32) is missing, malformed or does not verify."""

    default_reason = "invalid_proof"


class DocumentError(ProtocolError):
    """An ActivityStreams document is not acceptable: malformed, too big, or of the wrong shape."""

    default_reason = "bad_document"
