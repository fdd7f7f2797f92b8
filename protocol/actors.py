"""Actor documents: build ours so Mastodon can read them, and read the keys any actor publishes.

An actor (ActivityPub §4.1) carries both of our keys (DESIGN.md, Protocol):

* ``publicKey`` (security/v1): ``{id: <actor>#main-key, owner, publicKeyPem}``, the RSA key that
  draft-cavage signatures name and that Mastodon, GoToSocial and Misskey read;
* ``assertionMethod`` (FEP-521a): ``[{id: <actor>#ed25519-key, type: Multikey, controller,
  publicKeyMultibase}]``, the Ed25519 key for RFC 9421 signatures and FEP-8b32 proofs.

``actor_keys`` extracts every key an actor document vouches for. A key counts only if its
``owner``/``controller`` is the actor and its id has the actor's origin: otherwise an actor on one
host could publish a key under another host's key id and have it cached under that id.

Usage::

    actor = build_actor(ap_id="https://kennis.example/actors/drenthe", type="Organization", ...)
    [rsa_key, ed_key] = actor_keys(actor)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from protocol.context import build_actor_context
from protocol.errors import DocumentError, KeyFormatError
from protocol.keys import (
    PublicKey,
    VerificationKey,
    load_public_pem,
    multikey_decode,
    multikey_encode,
    public_pem,
)
from protocol.origin import origin_of, same_origin
from protocol.vocab import as_list

__all__ = [
    "ACTOR_TYPES",
    "ED25519_KEY_FRAGMENT",
    "RSA_KEY_FRAGMENT",
    "ActorType",
    "actor_keys",
    "build_actor",
    "ed25519_key_id",
    "find_key",
    "rsa_key_id",
]

ActorType = Literal["Organization", "Group", "Person", "Service"]
ACTOR_TYPES: frozenset[str] = frozenset({"Organization", "Group", "Person", "Service"})
RSA_KEY_FRAGMENT = "#main-key"
ED25519_KEY_FRAGMENT = "#ed25519-key"
MULTIKEY = "Multikey"

# Fields build_actor owns; ``extra`` may add to an actor or override a default, never these.
_RESERVED = frozenset(
    {
        "@context", "id", "type", "preferredUsername", "inbox", "outbox", "followers",
        "following", "endpoints", "publicKey", "assertionMethod",
    }
)


def rsa_key_id(ap_id: str) -> str:
    """The id of an actor's RSA key (the cavage ``keyId``).

    >>> rsa_key_id("https://kennis.example/actors/drenthe")
    'https://kennis.example/actors/drenthe#main-key'
    """
    return ap_id + RSA_KEY_FRAGMENT


def ed25519_key_id(ap_id: str) -> str:
    """The id of an actor's Ed25519 key (the RFC 9421 ``keyid``, the proof verificationMethod).

    >>> ed25519_key_id("https://kennis.example/actors/drenthe")
    'https://kennis.example/actors/drenthe#ed25519-key'
    """
    return ap_id + ED25519_KEY_FRAGMENT


def _is_http_iri(iri: str) -> bool:
    try:
        origin_of(iri)
    except DocumentError:
        return False
    return True


def _format_time(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("published must be timezone-aware")
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_actor(
    *,
    ap_id: str,
    type: ActorType,  # shadows the builtin: the AS2 property name reads best at call sites
    preferred_username: str,
    name: str,
    inbox: str,
    outbox: str,
    followers: str,
    following: str,
    rsa_public_pem: str | bytes,
    ed25519_public_key: ed25519.Ed25519PublicKey,
    shared_inbox: str | None = None,
    summary: str | None = None,
    url: str | None = None,
    published: datetime | str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build an actor document that Mastodon and FEP-521a readers understand.

    ``extra`` adds fields (``icon``, ``attachment``, ``kk`` terms such as ``legalForm``) or
    overrides defaults such as ``manuallyApprovesFollowers``; it cannot replace ids or keys.

    Raises:
        DocumentError: ``bad_id`` if ``ap_id`` is not an absolute http(s) IRI without fragment;
            ``unsupported_type`` for another actor type.
        KeyFormatError: ``rsa_public_pem`` is not an RSA public key.
        ValueError: ``extra`` names a reserved field.

    >>> from protocol.keys import generate_ed25519, generate_rsa, public_pem
    >>> base = "https://kennis.example/actors/drenthe"
    >>> actor = build_actor(ap_id=base, type="Organization", preferred_username="drenthe",
    ...                     name="BOKD Drenthe", inbox=f"{base}/inbox", outbox=f"{base}/outbox",
    ...                     followers=f"{base}/followers", following=f"{base}/following",
    ...                     rsa_public_pem=public_pem(generate_rsa()),
    ...                     ed25519_public_key=generate_ed25519().public_key())
    >>> actor["publicKey"]["id"], actor["assertionMethod"][0]["type"]
    ('https://kennis.example/actors/drenthe#main-key', 'Multikey')
    """
    if not _is_http_iri(ap_id) or "#" in ap_id:
        raise DocumentError("bad_id", f"actor id must be an http(s) IRI without fragment: {ap_id}")
    if type not in ACTOR_TYPES:
        raise DocumentError("unsupported_type", f"cannot build an actor of type {type!r}")
    rsa_key = load_public_pem(rsa_public_pem)
    if not isinstance(rsa_key, rsa.RSAPublicKey):
        raise KeyFormatError("unsupported_key", "publicKeyPem must hold the actor's RSA key")
    clash = _RESERVED.intersection(extra or {})
    if clash:
        raise ValueError(f"extra may not set {sorted(clash)}")

    actor: dict[str, Any] = {
        "@context": build_actor_context(),
        "id": ap_id,
        "type": type,
        "preferredUsername": preferred_username,
        "name": name,
    }
    if summary is not None:
        actor["summary"] = summary
    if url is not None:
        actor["url"] = url
    actor.update({"inbox": inbox, "outbox": outbox, "followers": followers, "following": following})
    if shared_inbox is not None:
        actor["endpoints"] = {"sharedInbox": shared_inbox}
    actor["manuallyApprovesFollowers"] = False
    # interop(mastodon): discoverable lets the account appear in Mastodon's directory and search.
    actor["discoverable"] = True
    if published is not None:
        actor["published"] = _format_time(published)
    actor["publicKey"] = {
        "id": rsa_key_id(ap_id),
        "owner": ap_id,
        "publicKeyPem": public_pem(rsa_key),
    }
    actor["assertionMethod"] = [
        {
            "id": ed25519_key_id(ap_id),
            "type": MULTIKEY,
            "controller": ap_id,
            "publicKeyMultibase": multikey_encode(ed25519_public_key),
        }
    ]
    actor.update(extra or {})
    return actor


def _key_from_entry(entry: Mapping[str, Any], actor_id: str) -> VerificationKey | None:
    """One ``publicKey`` or ``assertionMethod`` entry as a key, or ``None`` if it does not count."""
    key_id = entry.get("id")
    if not isinstance(key_id, str) or not same_origin(key_id, actor_id):
        return None
    key: PublicKey
    try:
        if MULTIKEY in as_list(entry.get("type")):
            # FEP-521a: a revoked key is kept in the document only to say it is revoked.
            multibase = entry.get("publicKeyMultibase")
            if entry.get("controller") != actor_id or "revoked" in entry:
                return None
            if not isinstance(multibase, str):
                return None
            key = multikey_decode(multibase)
        else:
            pem = entry.get("publicKeyPem")
            if entry.get("owner") != actor_id or not isinstance(pem, str):
                return None
            key = load_public_pem(pem)
    except KeyFormatError:
        # A key type we cannot use (e.g. P-256) or a broken entry: the others still count.
        return None
    return VerificationKey(key_id=key_id, controller=actor_id, key=key)


def actor_keys(actor_raw: Mapping[str, Any]) -> list[VerificationKey]:
    """Every usable key an actor document publishes, ``publicKey`` first, each id once.

    ``publicKey`` may be one object or a list; ``assertionMethod`` entries count when they are
    ``Multikey``. Entries that are bare references, of another owner/controller, from another
    origin, revoked or unparseable are left out.

    Raises:
        DocumentError: ``bad_json`` if not an object, ``missing_id`` without a string ``id``.

    >>> from protocol.keys import generate_ed25519, generate_rsa, public_pem
    >>> base = "https://kennis.example/actors/drenthe"
    >>> ed = generate_ed25519()
    >>> actor = build_actor(ap_id=base, type="Organization", preferred_username="drenthe",
    ...                     name="BOKD Drenthe", inbox=f"{base}/inbox", outbox=f"{base}/outbox",
    ...                     followers=f"{base}/followers", following=f"{base}/following",
    ...                     rsa_public_pem=public_pem(generate_rsa()), ed25519_public_key=ed.public_key())
    >>> [key.key_id for key in actor_keys(actor)]
    ['https://kennis.example/actors/drenthe#main-key', 'https://kennis.example/actors/drenthe#ed25519-key']
    """
    if not isinstance(actor_raw, Mapping):
        raise DocumentError("bad_json", "actor is not a JSON object")
    actor_id = actor_raw.get("id")
    if not isinstance(actor_id, str) or not actor_id:
        raise DocumentError("missing_id", "actor has no id")
    found: dict[str, VerificationKey] = {}
    for entry in [*as_list(actor_raw.get("publicKey")), *as_list(actor_raw.get("assertionMethod"))]:
        if isinstance(entry, Mapping):
            key = _key_from_entry(entry, actor_id)
            if key is not None:
                found.setdefault(key.key_id, key)
    return list(found.values())


def find_key(actor_raw: Mapping[str, Any], key_id: str) -> VerificationKey | None:
    """The key with id ``key_id`` among ``actor_keys(actor_raw)``, or ``None``.

    >>> from protocol.keys import generate_ed25519, generate_rsa, public_pem
    >>> base = "https://kennis.example/actors/drenthe"
    >>> actor = build_actor(ap_id=base, type="Organization", preferred_username="drenthe",
    ...                     name="BOKD Drenthe", inbox=f"{base}/inbox", outbox=f"{base}/outbox",
    ...                     followers=f"{base}/followers", following=f"{base}/following",
    ...                     rsa_public_pem=public_pem(generate_rsa()),
    ...                     ed25519_public_key=generate_ed25519().public_key())
    >>> find_key(actor, ed25519_key_id(base)).controller
    'https://kennis.example/actors/drenthe'
    >>> find_key(actor, "https://elders.example/actor#main-key") is None
    True
    """
    return next((key for key in actor_keys(actor_raw) if key.key_id == key_id), None)
