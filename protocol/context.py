"""JSON-LD contexts, shipped as data and never fetched over the network.

Our documents are read as plain JSON by every peer we know of; the ``@context`` is there so that a
JSON-LD processor reads the same meaning. Extension terms are declared inline with plain names
mapped to the ``kk:`` namespace, the way Mastodon declares ``toot:`` terms (DESIGN.md, Objects),
so a document reads ``"version": 3``, not ``"kk:version": 3``.

Order matters to JSON-LD processors: ``security/v1`` is not protected and comes before the
``@protected`` Data Integrity and Multikey contexts, and the inline mapping, last, redefines none
of their protected terms.

``CONTEXT_DOCUMENTS`` holds offline copies of the remote contexts for a document loader. They are
trimmed to the terms Kennisknoop emits (term IRIs as published); a URL not listed is refused, so
nothing is ever fetched (JSON-LD 1.1 API §9.4, LoadDocumentCallback).

Usage::

    note = {"@context": build_context(), "type": "Article", "kind": "story", "version": 1}
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from protocol.errors import DocumentError
from protocol.jcs import remember_list

__all__ = [
    "AS_CONTEXT",
    "AS_NAMESPACE",
    "CONTEXT_DOCUMENTS",
    "DATA_INTEGRITY_CONTEXT",
    "KK_NAMESPACE",
    "KK_TERMS",
    "MULTIKEY_CONTEXT",
    "SECURITY_NAMESPACE",
    "SECURITY_V1",
    "build_actor_context",
    "build_context",
    "load_context",
    "shared_context",
]

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AS_NAMESPACE = "https://www.w3.org/ns/activitystreams#"
SECURITY_V1 = "https://w3id.org/security/v1"
SECURITY_NAMESPACE = "https://w3id.org/security#"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
KK_NAMESPACE = "https://kennisknoop.nl/ns#"
TOOT_NAMESPACE = "http://joinmastodon.org/ns#"
MOBILIZON_NAMESPACE = "https://joinmobilizon.org/ns#"
SCHEMA_NAMESPACE = "http://schema.org#"
XSD_NAMESPACE = "http://www.w3.org/2001/XMLSchema#"

_ID = "@id"


def _kk(name: str, *, type_: str | None = None, container: str | None = None) -> Any:
    """A ``kk:`` term: a bare compact IRI, or an expanded definition when typed or a container."""
    if type_ is None and container is None:
        return f"kk:{name}"
    definition = {"@id": f"kk:{name}"}
    if type_ is not None:
        definition["@type"] = type_
    if container is not None:
        definition["@container"] = container
    return definition


#: The inline context: our ``kk:`` terms plus the AS2/Mastodon extensions the AS2 context lacks.
KK_TERMS: Mapping[str, Any] = MappingProxyType(
    {
        "kk": KK_NAMESPACE,
        "as": AS_NAMESPACE,
        "toot": TOOT_NAMESPACE,
        "mz": MOBILIZON_NAMESPACE,
        "schema": SCHEMA_NAMESPACE,
        "xsd": XSD_NAMESPACE,
        # AS2 terms used by the fediverse but missing from the published AS2 context.
        "Hashtag": "as:Hashtag",
        "sensitive": "as:sensitive",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        # interop(mastodon): account migration (Move), as Mastodon declares them.
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        # interop(mastodon): profile fields and search opt-ins, as Mastodon declares them.
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        # interop(mobilizon): an Event's address and terms, as Mobilizon declares them.
        "PostalAddress": "schema:PostalAddress",
        "address": "schema:address",
        "addressCountry": "schema:addressCountry",
        "addressLocality": "schema:addressLocality",
        "addressRegion": "schema:addressRegion",
        "postalCode": "schema:postalCode",
        "streetAddress": "schema:streetAddress",
        "isOnline": "mz:isOnline",
        "joinMode": "mz:joinMode",
        "timezone": "mz:timezone",
        # FEP-521a: assertionMethod sits on the actor, outside the Multikey scoped context.
        "assertionMethod": {
            "@id": f"{SECURITY_NAMESPACE}assertionMethod",
            "@type": _ID,
            "@container": "@set",
        },
        # Kennisknoop terms (DESIGN.md, Objects).
        "kind": _kk("kind"),
        "version": _kk("version", type_="xsd:integer"),
        "legalForm": _kk("legalForm"),
        "phase": _kk("phase"),
        "status": _kk("status"),
        "themes": _kk("themes", type_=_ID, container="@set"),
        "provinceCode": _kk("provinceCode"),
        "municipalityCode": _kk("municipalityCode"),
        "acceptedAnswer": _kk("acceptedAnswer", type_=_ID),
        "questionCategory": _kk("questionCategory"),
        "regulation": _kk("regulation"),
        "lastConfirmed": _kk("lastConfirmed", type_="xsd:date"),
        # A bottleneck: its area of regulation, the outcome its origin reports, and the tally
        # its origin publishes (docs/bottlenecks.md). The tally's own keys are scoped to it.
        "regulationArea": _kk("regulationArea"),
        "outcome": _kk("outcome"),
        "endorsements": {
            "@id": "kk:endorsements",
            "@context": {
                "count": {"@id": "kk:endorsementCount", "@type": "xsd:integer"},
                "provinces": {"@id": "kk:endorsementProvinces", "@container": "@set"},
                "support": {"@id": "kk:supportCount", "@type": "xsd:integer"},
            },
        },
        "goals": _kk("goals"),
        "reasonForStarting": _kk("reasonForStarting"),
        "openQuestions": _kk("openQuestions"),
        "networks": _kk("networks", container="@set"),
        "partners": _kk("partners", container="@set"),
        "membersCount": _kk("membersCount", type_="xsd:integer"),
        # "2014" or "2014-05-01": left untyped so either precision is valid.
        "founded": _kk("founded"),
        "license": _kk("license"),
        "contact": _kk("contact"),
        "hashtag": _kk("hashtag"),
        "initiatives": _kk("initiatives", type_=_ID),
    }
)


def build_context(*, data_integrity: bool = True) -> list[Any]:
    """Return a fresh ``@context`` for objects and activities: AS2, Data Integrity, inline terms.

    >>> build_context()[0]
    'https://www.w3.org/ns/activitystreams'
    >>> "https://w3id.org/security/data-integrity/v2" in build_context(data_integrity=False)
    False
    """
    context: list[Any] = [AS_CONTEXT]
    if data_integrity:
        context.append(DATA_INTEGRITY_CONTEXT)
    context.append(copy.deepcopy(dict(KK_TERMS)))
    return context


_SHARED_CONTEXT: list[Any] = []


def shared_context() -> list[Any]:
    """The ``@context`` of :func:`build_context`, one object for the whole process.

    For documents that are about to be signed: ``add_proof`` copies it into the document it
    returns (or, with ``share=True``, keeps this very object there), and
    ``protocol.jcs.canonicalize`` reuses its canonical bytes instead of walking its 5 KB again.
    It must never be mutated (nothing in this code base does; the tests check that signing
    leaves it unchanged): take :func:`build_context` for a context of your own.

    >>> shared_context() is shared_context(), shared_context() == build_context()
    (True, True)
    """
    if not _SHARED_CONTEXT:
        _SHARED_CONTEXT.extend(build_context())
        remember_list(_SHARED_CONTEXT)
    return _SHARED_CONTEXT


def build_actor_context() -> list[Any]:
    """Return a fresh ``@context`` for actors: adds security/v1 (``publicKey``) and Multikey.

    >>> context = build_actor_context()
    >>> "https://w3id.org/security/v1" in context
    True
    """
    terms = copy.deepcopy(dict(KK_TERMS))
    return [AS_CONTEXT, SECURITY_V1, DATA_INTEGRITY_CONTEXT, MULTIKEY_CONTEXT, terms]


def _as(name: str) -> str:
    return f"as:{name}"


def _as_id(name: str) -> dict[str, str]:
    return {"@id": f"as:{name}", "@type": _ID}


def _as_typed(name: str, xsd: str) -> dict[str, str]:
    return {"@id": f"as:{name}", "@type": f"xsd:{xsd}"}


_AS_CLASSES = (
    "Object", "Link", "Activity", "IntransitiveActivity", "Collection", "OrderedCollection",
    "CollectionPage", "OrderedCollectionPage", "Application", "Group", "Organization",
    "Person", "Service", "Article", "Document", "Event", "Image", "Note", "Page", "Place",
    "Question", "Tombstone", "Mention", "Accept", "Add", "Announce", "Block", "Create",
    "Delete", "Flag", "Follow", "Like", "Move", "Reject", "Remove", "Undo", "Update",
)
_AS_ID_PROPERTIES = (
    "actor", "attachment", "attributedTo", "audience", "bcc", "bto", "cc", "context", "first",
    "generator", "href", "icon", "image", "inReplyTo", "instrument", "last", "location",
    "next", "object", "oneOf", "anyOf", "origin", "partOf", "prev", "replies", "result", "tag",
    "target", "to", "url", "items", "current",
)
_AS_PLAIN_PROPERTIES = (
    "content", "name", "summary", "mediaType", "preferredUsername", "formerType", "closed",
    "hreflang", "rel", "accuracy", "altitude", "units",
    "source",  # ActivityPub §3.3, declared by the published AS2 context
)

_AS_DOCUMENT: dict[str, Any] = {
    "@context": {
        "@vocab": "_:",
        "xsd": XSD_NAMESPACE,
        "as": AS_NAMESPACE,
        "ldp": "http://www.w3.org/ns/ldp#",
        "id": "@id",
        "type": "@type",
        **{name: _as(name) for name in _AS_CLASSES},
        **{name: _as_id(name) for name in _AS_ID_PROPERTIES},
        **{name: _as(name) for name in _AS_PLAIN_PROPERTIES},
        **{f"{name}Map": {"@id": f"as:{name}", "@container": "@language"}
           for name in ("content", "name", "summary")},
        "orderedItems": {"@id": "as:items", "@type": _ID, "@container": "@list"},
        "published": _as_typed("published", "dateTime"),
        "updated": _as_typed("updated", "dateTime"),
        "deleted": _as_typed("deleted", "dateTime"),
        "startTime": _as_typed("startTime", "dateTime"),
        "endTime": _as_typed("endTime", "dateTime"),
        "latitude": _as_typed("latitude", "float"),
        "longitude": _as_typed("longitude", "float"),
        "radius": _as_typed("radius", "float"),
        "totalItems": _as_typed("totalItems", "nonNegativeInteger"),
        "inbox": {"@id": "ldp:inbox", "@type": _ID},
        "outbox": {"@id": "as:outbox", "@type": _ID},
        "followers": {"@id": "as:followers", "@type": _ID},
        "following": {"@id": "as:following", "@type": _ID},
        "endpoints": {"@id": "as:endpoints", "@type": _ID},
        "sharedInbox": {"@id": "as:sharedInbox", "@type": _ID},
    }
}

_SECURITY_V1_DOCUMENT: dict[str, Any] = {
    "@context": {
        "id": "@id",
        "type": "@type",
        "sec": SECURITY_NAMESPACE,
        "dc": "http://purl.org/dc/terms/",
        "xsd": XSD_NAMESPACE,
        "CryptographicKey": "sec:Key",
        "created": {"@id": "dc:created", "@type": "xsd:dateTime"},
        "owner": {"@id": "sec:owner", "@type": _ID},
        "publicKey": {"@id": "sec:publicKey", "@type": _ID},
        "publicKeyPem": "sec:publicKeyPem",
    }
}

_SEC = SECURITY_NAMESPACE
_DATA_INTEGRITY_DOCUMENT: dict[str, Any] = {
    "@context": {
        "id": "@id",
        "type": "@type",
        "@protected": True,
        "proof": {"@id": f"{_SEC}proof", "@type": _ID, "@container": "@graph"},
        # As the published context defines it: an attachment's multihash (Document attachments).
        "digestMultibase": {"@id": f"{_SEC}digestMultibase", "@type": f"{_SEC}multibase"},
        "DataIntegrityProof": {
            "@id": f"{_SEC}DataIntegrityProof",
            "@context": {
                "@protected": True,
                "id": "@id",
                "type": "@type",
                "created": {"@id": "http://purl.org/dc/terms/created",
                            "@type": f"{XSD_NAMESPACE}dateTime"},
                "expires": {"@id": f"{_SEC}expiration", "@type": f"{XSD_NAMESPACE}dateTime"},
                "cryptosuite": {"@id": f"{_SEC}cryptosuite", "@type": f"{_SEC}cryptosuiteString"},
                "proofPurpose": {
                    "@id": f"{_SEC}proofPurpose",
                    "@type": "@vocab",
                    "@context": {
                        "@protected": True,
                        "id": "@id",
                        "type": "@type",
                        "assertionMethod": {"@id": f"{_SEC}assertionMethod", "@type": _ID,
                                            "@container": "@set"},
                        "authentication": {"@id": f"{_SEC}authenticationMethod", "@type": _ID,
                                           "@container": "@set"},
                    },
                },
                "proofValue": {"@id": f"{_SEC}proofValue", "@type": f"{_SEC}multibase"},
                "verificationMethod": {"@id": f"{_SEC}verificationMethod", "@type": _ID},
            },
        },
    }
}

_MULTIKEY_DOCUMENT: dict[str, Any] = {
    "@context": {
        "id": "@id",
        "type": "@type",
        "@protected": True,
        "Multikey": {
            "@id": f"{_SEC}Multikey",
            "@context": {
                "@protected": True,
                "id": "@id",
                "type": "@type",
                "controller": {"@id": f"{_SEC}controller", "@type": _ID},
                "revoked": {"@id": f"{_SEC}revoked", "@type": f"{XSD_NAMESPACE}dateTime"},
                "expires": {"@id": f"{_SEC}expiration", "@type": f"{XSD_NAMESPACE}dateTime"},
                "publicKeyMultibase": {"@id": f"{_SEC}publicKeyMultibase",
                                       "@type": f"{_SEC}multibase"},
                "secretKeyMultibase": {"@id": f"{_SEC}secretKeyMultibase",
                                       "@type": f"{_SEC}multibase"},
            },
        },
    }
}

#: Offline copies of the remote contexts we reference, keyed by URL (trimmed; see module doc).
CONTEXT_DOCUMENTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        AS_CONTEXT: _AS_DOCUMENT,
        SECURITY_V1: _SECURITY_V1_DOCUMENT,
        DATA_INTEGRITY_CONTEXT: _DATA_INTEGRITY_DOCUMENT,
        MULTIKEY_CONTEXT: _MULTIKEY_DOCUMENT,
    }
)


def load_context(url: str) -> dict[str, Any]:
    """Return a copy of a shipped context document: a document loader that never fetches.

    Raises:
        DocumentError: ``bad_field`` for a context URL that is not shipped.

    >>> "@context" in load_context("https://www.w3.org/ns/activitystreams")
    True
    """
    # interop: documents name the AS2 context with and without "#" and sometimes over http.
    key = url.rstrip("#")
    if key == "http://www.w3.org/ns/activitystreams":
        key = AS_CONTEXT
    document = CONTEXT_DOCUMENTS.get(key)
    if document is None:
        raise DocumentError("bad_field", f"context {url!r} is not shipped and is never fetched")
    return copy.deepcopy(dict(document))
