"""schema.org descriptions of pages, for search engines (JSON-LD, https://schema.org/).

Each public page carries one JSON-LD block (docs/bridges.md): the node as an ``Organization``
on every page, and the page's subject besides it — an initiative as an ``Organization``, a
knowledge item as an ``Article``, an event as an ``Event``, a question as a ``QAPage`` whose
``mainEntity`` is the ``Question`` with its ``acceptedAnswer`` and ``suggestedAnswer`` s.
The ``@context`` is the string ``https://schema.org`` that search engines expect; the node never
expands it (tests expand it with a small vendored copy, tests/data/schemaorg-context.jsonld).

Every ``url`` is the subject's canonical URL: for a received copy, its page at the origin.
:func:`script_json` writes the block so that no text in it can end the ``<script>`` element.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from node.services.content import plain_text_from_html
from node.store.actors import StoredActor
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

SCHEMA_CONTEXT = "https://schema.org"
COUNTRY = "NL"


def plain_text(html_text: str | None, limit: int = 5000) -> str:
    """Stored HTML as text (tags dropped, entities decoded), at most ``limit`` characters."""
    return plain_text_from_html(html_text or "")[:limit]


def _stamp(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _theme_labels(theme_ids: list[str]) -> list[str]:
    return [vocab_themes.get(t).label.nl for t in theme_ids if vocab_themes.is_theme(t)]


def _address(place: dict[str, Any] | None, province: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {"@type": "PostalAddress", "addressCountry": COUNTRY}
    place = place or {}
    for key, term in (("street_address", "streetAddress"), ("postal_code", "postalCode"),
                      ("locality", "addressLocality")):
        if place.get(key):
            address[term] = place[key]
    if "addressLocality" not in address and place.get("name"):
        address["addressLocality"] = place["name"]
    label = vocab_themes.PROVINCES.get(province) if province else None
    if label is not None:
        address["addressRegion"] = label.nl
    return address


def _geo(latitude: Any, longitude: Any) -> dict[str, Any] | None:
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        return {"@type": "GeoCoordinates", "latitude": latitude, "longitude": longitude}
    return None


def node_organization(name: str, url: str) -> dict[str, Any]:
    return {"@context": SCHEMA_CONTEXT, "@type": "Organization", "@id": f"{url}/#organization",
            "name": name, "url": url}


def _publisher(node_url: str) -> dict[str, str]:
    return {"@id": f"{node_url}/#organization"}


def _person(actor: StoredActor | None, iri: str) -> dict[str, Any]:
    if actor is None:
        return {"@type": "Organization", "url": iri, "name": iri}
    return {"@type": "Organization", "url": actor.ap_id,
            "name": actor.name or actor.preferred_username or actor.ap_id}


def initiative_organization(actor: StoredActor) -> dict[str, Any]:
    """An initiative as a schema.org ``Organization``."""
    profile = actor.profile or {}
    place = profile.get("place") if isinstance(profile.get("place"), dict) else None
    province = (place or {}).get("province_code") or profile.get("province_code")
    data: dict[str, Any] = {
        "@context": SCHEMA_CONTEXT, "@type": "Organization", "@id": actor.ap_id,
        "name": actor.name or actor.preferred_username or actor.ap_id, "url": actor.ap_id,
        "address": _address(place, province),
    }
    description = actor.summary or plain_text(profile.get("description_html"))
    if description:
        data["description"] = description
    geo = _geo((place or {}).get("latitude"), (place or {}).get("longitude"))
    if geo:
        data["location"] = {"@type": "Place", "geo": geo, "address": data["address"]}
    if profile.get("founded"):
        data["foundingDate"] = str(profile["founded"])
    if profile.get("website"):
        data["sameAs"] = [profile["website"]]
    keywords = _theme_labels(list(profile.get("themes") or []))
    if keywords:
        data["keywords"] = ", ".join(keywords)
    return data


def _common(item: StoredObject, authors: dict[str, StoredActor]) -> dict[str, Any]:
    data: dict[str, Any] = {"url": item.ap_id, "author": _person(authors.get(item.attributed_to),
                                                                 item.attributed_to),
                            "datePublished": _stamp(item.published),
                            "dateModified": _stamp(item.updated)}
    if item.language:
        data["inLanguage"] = item.language
    keywords = _theme_labels(list(item.themes or []))
    if keywords:
        data["keywords"] = ", ".join(keywords)
    return data


def _answer(answer: StoredObject, authors: dict[str, StoredActor]) -> dict[str, Any]:
    return {"@type": "Answer", "text": plain_text(answer.content_html) or answer.title or "",
            "url": answer.ap_id, "dateCreated": _stamp(answer.published),
            "author": _person(authors.get(answer.attributed_to), answer.attributed_to)}


def _event(item: StoredObject, authors: dict[str, StoredActor]) -> dict[str, Any]:
    fields = item.fields
    data: dict[str, Any] = {"@context": SCHEMA_CONTEXT, "@type": "Event", "@id": item.ap_id,
                            "name": item.title or "", **_common(item, authors)}
    data["organizer"] = data.pop("author")
    if fields.get("start_time"):
        data["startDate"] = fields["start_time"]
    if fields.get("end_time"):
        data["endDate"] = fields["end_time"]
    online = bool(fields.get("online"))
    data["eventAttendanceMode"] = ("https://schema.org/OnlineEventAttendanceMode" if online
                                   else "https://schema.org/OfflineEventAttendanceMode")
    data["eventStatus"] = "https://schema.org/EventScheduled"
    place = fields.get("place") if isinstance(fields.get("place"), dict) else None
    if online:
        data["location"] = {"@type": "VirtualLocation", "url": item.ap_id}
    else:
        location: dict[str, Any] = {"@type": "Place",
                                    "address": _address(place, item.province_code)}
        if place and place.get("name"):
            location["name"] = place["name"]
        geo = _geo(item.latitude, item.longitude)
        if geo:
            location["geo"] = geo
        data["location"] = location
    description = item.summary or plain_text(item.content_html)
    if description:
        data["description"] = description
    return data


def item_description(item: StoredObject, authors: dict[str, StoredActor], node_url: str,
                     answers: list[StoredObject] | None = None) -> dict[str, Any]:
    """An item's schema.org description: ``Event``, ``QAPage`` (a question) or ``Article``."""
    if item.kind == "event":
        return _event(item, authors)
    if item.kind == "question":
        accepted = item.fields.get("accepted_answer")
        question: dict[str, Any] = {
            "@type": "Question", "name": item.title or plain_text(item.content_html, 110),
            "text": plain_text(item.content_html) or item.title or "",
            "answerCount": len(answers or []), "dateCreated": _stamp(item.published),
            **_common(item, authors)}
        found = [_answer(a, authors) for a in answers or [] if a.ap_id == accepted]
        if found:
            question["acceptedAnswer"] = found[0]
        others = [_answer(a, authors) for a in answers or [] if a.ap_id != accepted]
        if others:
            question["suggestedAnswer"] = others
        return {"@context": SCHEMA_CONTEXT, "@type": "QAPage", "@id": item.ap_id,
                "url": item.ap_id, "mainEntity": question}
    data: dict[str, Any] = {"@context": SCHEMA_CONTEXT, "@type": "Article", "@id": item.ap_id,
                            "headline": (item.title or item.summary or "")[:110],
                            "mainEntityOfPage": item.ap_id, "publisher": _publisher(node_url),
                            **_common(item, authors)}
    if item.summary:
        data["description"] = item.summary
    return data


def script_json(data: object) -> str:
    """JSON for a ``<script type="application/ld+json">`` element: ``<``, ``>`` and ``&`` are
    written as ``\\u003c`` etc., so no string in it can close the element (``</script>``) or open
    a comment (``<!--``); the JSON means the same."""
    text = orjson.dumps(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
