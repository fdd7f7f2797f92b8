"""Mappers from stored rows to the ActivityStreams documents this node serves and sends (``to_ap``).

Every document a local actor originates is signed with an ``eddsa-jcs-2022`` integrity proof by
that actor's Ed25519 key (FEP-8b32), so relayed copies can be checked against the origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric import ed25519

from node.store.actors import StoredActor
from protocol import themes as vocab_themes
from protocol.actors import ActorType, build_actor
from protocol.context import build_context, shared_context
from protocol.keys import PrivateKey, load_private_pem, multikey_decode
from protocol.proofs import add_proof
from protocol.vocab import PUBLIC

EVENT_TIMEZONE = "Europe/Amsterdam"  # editors enter Dutch wall-clock time (localtime.py)

# Item kind -> AS2 type (DESIGN.md, "Objects").
KIND_TYPES = {
    "story": "Article",
    "guide": "Document",
    "template": "Document",
    "question": "Question",
    "answer": "Note",
    "bottleneck": "Article",
    "event": "Event",
}


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=1024)
def private_key(pem: str) -> PrivateKey:
    """A local actor's private key from its stored PEM, parsed once per key, not per use.

    Parsing an RSA-2048 PEM validates the key (~45 ms of CPU); every delivery and every
    signed document needs one.
    """
    return load_private_pem(pem.encode())


def sign(document: dict[str, Any], actor: StoredActor, created: datetime, *,
         share: bool = False) -> dict[str, Any]:
    """``document`` with an eddsa-jcs-2022 proof by ``actor``'s Ed25519 key; ``share``: holding
    ``document``'s members, not copies (``add_proof``: neither is changed afterwards)."""
    if not actor.ed_private_pem or not actor.ed_key_id:
        raise ValueError(f"{actor.ap_id} has no signing key")
    key = cast(ed25519.Ed25519PrivateKey, private_key(actor.ed_private_pem))
    return add_proof(document, key, actor.ed_key_id, created=created, share=share)


def place_document(place: dict[str, Any] | None) -> dict[str, Any] | None:
    if not place:
        return None
    doc: dict[str, Any] = {"type": "Place"}
    if place.get("name"):
        doc["name"] = place["name"]
    if place.get("latitude") is not None:
        doc["latitude"] = place["latitude"]
        doc["longitude"] = place["longitude"]
    if place.get("province_code"):
        doc["provinceCode"] = place["province_code"]
    if place.get("municipality_code"):
        doc["municipalityCode"] = place["municipality_code"]
    return doc


def postal_address(place: dict[str, Any] | None, province_code: str | None) -> dict[str, Any]:
    """A schema.org ``PostalAddress`` of a place: its name as the locality, the province, NL."""
    address: dict[str, Any] = {"type": "PostalAddress", "addressCountry": "NL"}
    if place and place.get("name"):
        address["addressLocality"] = place["name"]
    province = vocab_themes.PROVINCES.get(province_code) if province_code else None
    if province is not None:
        address["addressRegion"] = province.nl
    return address


def _event_terms(doc: dict[str, Any], fields: dict[str, Any], province_code: str | None) -> None:
    """What Mobilizon and the WordPress ActivityPub plugin read from an ``Event``.

    interop(mobilizon): ``location`` is a ``Place`` with a schema.org ``address``; ``isOnline``,
    ``joinMode`` (``free``: anyone may come, nobody registers here) and ``timezone`` are
    Mobilizon's terms (``mz:``), declared in our inline context (docs/bridges.md).
    """
    if fields.get("start_time"):
        doc["startTime"] = fields["start_time"]
    if fields.get("end_time"):
        doc["endTime"] = fields["end_time"]
    doc["isOnline"] = bool(fields.get("online"))
    doc["joinMode"] = "free"
    doc["timezone"] = EVENT_TIMEZONE
    if "location" in doc:
        doc["location"]["address"] = postal_address(fields.get("place"), province_code)


def _theme_terms(theme_ids: list[str]) -> dict[str, Any]:
    return {
        "tag": vocab_themes.build_tags(theme_ids),
        "themes": [vocab_themes.concept_iri(t) for t in theme_ids],
    }


def initiatives_collection(node_ap_id: str) -> str:
    """The IRI of a node actor's ``kk:initiatives`` collection (the directory it publishes)."""
    return f"{node_ap_id}/initiatives"


def actor_document(actor: StoredActor, *, node_kind_type: str | None = None) -> dict[str, Any]:
    """The unsigned actor document of a local actor (node or initiative)."""
    profile = actor.profile
    extra: dict[str, Any] = {"kind": "node" if actor.kind == "node" else actor.kind}
    extra.update(_theme_terms(list(profile.get("themes", []))))
    if actor.kind == "node":
        extra["initiatives"] = initiatives_collection(actor.ap_id)
    if actor.kind == "initiative":
        for key, term in (("legal_form", "legalForm"), ("phase", "phase"), ("status", "status"),
                          ("founded", "founded"), ("goals", "goals"),
                          ("reason_for_starting", "reasonForStarting"),
                          ("contact", "contact"), ("members_count", "membersCount"),
                          ("last_confirmed", "lastConfirmed")):
            if profile.get(key) not in (None, "", []):
                extra[term] = profile[key]
        for key, term in (("open_questions", "openQuestions"), ("networks", "networks"),
                          ("partners", "partners")):
            if profile.get(key):
                extra[term] = list(profile[key])
        if profile.get("description_html"):
            extra["content"] = profile["description_html"]
            extra["source"] = {"content": profile.get("description", ""),
                               "mediaType": "text/markdown"}
        if profile.get("website"):
            extra["attachment"] = [{"type": "PropertyValue", "name": "Website",
                                    "value": profile["website"]}]
        if profile.get("avatar") and profile.get("avatar_media_type"):
            # What Mastodon and the like show as the account's picture.
            extra["icon"] = {"type": "Image", "mediaType": profile["avatar_media_type"],
                             "url": profile["avatar"]}
    place = place_document(profile.get("place"))
    if place:
        extra["location"] = place
    if profile.get("province_code"):
        extra["provinceCode"] = profile["province_code"]
    if profile.get("also_known_as"):  # the actors this one moved from (kennisknoop alias)
        extra["alsoKnownAs"] = list(profile["also_known_as"])
    if profile.get("moved_to"):  # kennisknoop move
        extra["movedTo"] = profile["moved_to"]
    # interop(mastodon): a locked account; its Follows wait for an Accept (docs/following.md).
    extra["manuallyApprovesFollowers"] = actor.approves_followers
    extra["version"] = actor.version
    extra["updated"] = iso(actor.updated)
    if actor.deleted_at is not None:
        extra["deleted"] = iso(actor.deleted_at)
    assert actor.handle and actor.rsa_public_pem and actor.ed_public_multibase
    return build_actor(
        ap_id=actor.ap_id,
        type=cast(ActorType, actor.type),  # build_actor checks it at run time
        preferred_username=actor.handle,
        name=actor.name or actor.handle,
        summary=actor.summary,
        inbox=actor.inbox or "",
        outbox=actor.outbox or "",
        followers=actor.followers or "",
        following=actor.following or "",
        shared_inbox=f"{actor.ap_id.split('/actors/')[0]}/inbox",
        url=actor.ap_id,
        rsa_public_pem=actor.rsa_public_pem,
        ed25519_public_key=multikey_decode(actor.ed_public_multibase),
        published=iso(actor.published),
        extra=extra,
    )


def item_document(*, ap_id: str, kind: str, author: StoredActor, values: dict[str, Any],
                  version: int, published: datetime, updated: datetime,
                  replying_to: str | None = None) -> dict[str, Any]:
    """The unsigned AS2 document of a knowledge item from its stored column values.

    ``replying_to``: an answer's question's author, addressed in ``cc`` as a reply is (and
    delivered to, by the caller), so its origin relays the answer to its followers.
    """
    fields: dict[str, Any] = values.get("fields") or {}
    doc: dict[str, Any] = {
        "@context": shared_context(),  # signed: see ``sign``
        "id": ap_id,
        "type": KIND_TYPES[kind],
        "kind": kind,
        "attributedTo": author.ap_id,
        "published": iso(published),
        "updated": iso(updated),
        "version": version,
        "to": [PUBLIC],
        "cc": [*([author.followers] if author.followers else []),
               *([replying_to] if replying_to and replying_to != author.ap_id else [])],
        "url": ap_id,
        "mediaType": "text/html",
        "content": values.get("content_html") or "",
        "source": {"content": values.get("content") or "", "mediaType": "text/markdown"},
    }
    if values.get("title"):
        doc["name"] = values["title"]
    if values.get("summary"):
        doc["summary"] = values["summary"]
    language = values.get("language")
    if language:
        doc["contentMap"] = {language: doc["content"]}
    if values.get("license"):
        doc["license"] = values["license"]
    doc.update(_theme_terms(list(values.get("themes") or [])))
    place = place_document(fields.get("place"))
    if place:
        doc["location"] = place
    if values.get("province_code"):
        doc["provinceCode"] = values["province_code"]
    if values.get("municipality_code"):
        doc["municipalityCode"] = values["municipality_code"]
    if values.get("in_reply_to"):
        doc["inReplyTo"] = values["in_reply_to"]
    if kind == "question":
        doc["questionCategory"] = fields.get("question_category") or "content"
        if fields.get("accepted_answer"):
            doc["acceptedAnswer"] = fields["accepted_answer"]
    if kind == "bottleneck":
        if fields.get("regulation"):
            doc["regulation"] = fields["regulation"]
        if fields.get("regulation_area"):
            doc["regulationArea"] = fields["regulation_area"]
        doc["status"] = fields.get("bottleneck_status") or "open"
        if fields.get("bottleneck_outcome"):
            doc["outcome"] = fields["bottleneck_outcome"]
        doc["endorsements"] = tally_document(fields.get("endorsements"))
    if kind == "event":
        _event_terms(doc, fields, values.get("province_code"))
    if fields.get("attachments"):
        doc["attachment"] = [
            {k: v for k, v in (("type", "Document"), ("url", a["url"]), ("name", a.get("name")),
                               ("mediaType", a.get("media_type")),
                               ("digestMultibase", a.get("digest_multibase"))) if v}
            for a in fields["attachments"]
        ]
    return doc


def tally_fields(count: int, provinces: Iterable[str], support: int) -> dict[str, Any]:
    """A bottleneck's tally as its ``fields["endorsements"]`` hold it (``province_count``
    is kept beside the list so the ranking can sort on it in SQL)."""
    chosen = sorted(set(provinces))
    return {"count": count, "provinces": chosen, "province_count": len(chosen),
            "support": support}


def tally_document(stored: Any) -> dict[str, Any]:
    """The ``kk:endorsements`` value of a bottleneck from its stored tally (zero when none)."""
    tally = stored if isinstance(stored, dict) else {}
    return {"count": int(tally.get("count") or 0), "provinces": list(tally.get("provinces") or []),
            "support": int(tally.get("support") or 0)}


def tally_from_ap(value: Any) -> dict[str, Any] | None:
    """The tally a received bottleneck carries (``kk:endorsements``), checked; None if unusable.

    Counts must be whole numbers from 0 to a million; provinces are kept only when they are
    CBS province codes.
    """
    if not isinstance(value, dict):
        return None
    numbers = []
    for key in ("count", "support"):
        number = value.get(key, 0)
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 10**6:
            return None
        numbers.append(number)
    provinces = [code.upper() for code in value.get("provinces") or []
                 if isinstance(code, str) and code.upper() in vocab_themes.PROVINCES]
    return tally_fields(numbers[0], provinces, numbers[1])


def tombstone_document(*, ap_id: str, former_type: str, deleted: datetime, version: int
                       ) -> dict[str, Any]:
    return {
        "@context": build_context(),
        "id": ap_id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": iso(deleted),
        "updated": iso(deleted),
        "version": version,
    }


def follow_reference(*, ap_id: str, actor: str, followee: str) -> dict[str, Any]:
    """A Follow as an Accept, Reject or Undo embeds it: ``{id, type, actor, object}``.

    interop(fedify): embedding a received Follow whole brings its own ``@context`` inside ours;
    when it defines a term of a ``@protected`` context differently (Fedify's does, for
    ``DataIntegrityProof``), the Accept is invalid JSON-LD and Fedify refuses it (issue 8). Only
    what identifies the Follow is embedded, as Mastodon does.
    """
    return {"id": ap_id, "type": "Follow", "actor": actor, "object": followee}


def activity_document(*, ap_id: str, type: str, actor: StoredActor, obj: dict[str, Any] | str,
                      published: datetime, to: list[str] | None = None,
                      cc: list[str] | None = None) -> dict[str, Any]:
    """An unsigned activity by ``actor``.

    An embedded object is kept whole, ``@context`` and proof included, so that anyone holding the
    activity can still verify the object's own proof against its author (FEP-8b32).
    """
    return {
        "@context": shared_context(),  # signed: see ``sign``
        "id": ap_id,
        "type": type,
        "actor": actor.ap_id,
        "object": obj,
        "published": iso(published),
        "to": to if to is not None else [PUBLIC],
        "cc": cc if cc is not None else ([actor.followers] if actor.followers else []),
    }
