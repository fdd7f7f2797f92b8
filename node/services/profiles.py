"""The profile of a received initiative actor (``from_ap``): what the directory lists of it.

A remote initiative is cached as a remote actor (``actors`` row, ``is_local`` false) with
``kind = "initiative"`` and a ``profile`` holding the same keys a local initiative's profile
holds, read from its signed actor document: themes, legal form, phase, status, place, province
and ``last_confirmed``. Only known vocabulary values are kept; anything else is dropped, never
shown. The description is not copied: the directory links to the initiative's own page.
The ``icon`` (an ``Image``) is kept as ``avatar`` and ``avatar_media_type``, as a local
initiative's are; the pages show it only when it is a file stored on this node (never
hotlinked: the pages' CSP allows only the node's own images).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from node.services import provinces
from protocol import themes as vocab_themes
from protocol.parse import parse_datetime
from protocol.vocab import as_list

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TEXT_LIMIT = 200
_URL_LIMIT = 2048
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def is_initiative(raw: dict[str, Any]) -> bool:
    """Whether an actor document describes an initiative (``kk:kind``)."""
    return raw.get("kind") == "initiative" and raw.get("type") == "Organization"


def _choice(raw: dict[str, Any], term: str, allowed: Any) -> str | None:
    value = raw.get(term)
    return value if isinstance(value, str) and value in allowed else None


def _themes(raw: dict[str, Any]) -> list[str]:
    found = [t for t in map(vocab_themes.from_concept_iri, as_list(raw.get("themes"))) if t]
    if not found:
        found = vocab_themes.parse_tags(raw.get("tag"))
    return list(dict.fromkeys(found))


def _place(raw: dict[str, Any]) -> dict[str, Any] | None:
    location = next((p for p in as_list(raw.get("location")) if isinstance(p, dict)), None)
    if location is None:
        return None
    place: dict[str, Any] = {}
    name = location.get("name")
    if isinstance(name, str) and name.strip():
        place["name"] = name.strip()[:_TEXT_LIMIT]
    lat, lon = location.get("latitude"), location.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and \
            not isinstance(lat, bool) and not isinstance(lon, bool) and \
            -90 <= lat <= 90 and -180 <= lon <= 180:
        place["latitude"], place["longitude"] = float(lat), float(lon)
    code = provinces.valid(location.get("provinceCode"))
    if code:
        place["province_code"] = code
    municipality = location.get("municipalityCode")
    if isinstance(municipality, str) and re.fullmatch(r"GM[0-9]{4}", municipality):
        place["municipality_code"] = municipality
    return place or None


def _icon(raw: dict[str, Any]) -> dict[str, str]:
    """``{"avatar": url, "avatar_media_type": …}`` of the first usable ``icon``, else ``{}``."""
    for icon in as_list(raw.get("icon")):
        if not isinstance(icon, dict) or icon.get("type", "Image") != "Image":
            continue
        url = next((u if isinstance(u, str) else u.get("href") for u in as_list(icon.get("url"))
                    if isinstance(u, str | dict)), None)
        media_type = icon.get("mediaType")
        if isinstance(url, str) and url.startswith(("https://", "http://")) and \
                len(url) <= _URL_LIMIT and media_type in _IMAGE_TYPES:
            return {"avatar": url, "avatar_media_type": media_type}
    return {}


def _date(raw: dict[str, Any], term: str) -> str | None:
    value = raw.get(term)
    if isinstance(value, str) and _DATE.match(value):
        return value[:10]
    return None


def initiative_profile(raw: dict[str, Any]) -> dict[str, Any]:
    """The directory profile of a received initiative actor document."""
    profile: dict[str, Any] = {"themes": _themes(raw)}
    for key, term, allowed in (("legal_form", "legalForm", vocab_themes.LEGAL_FORMS),
                               ("phase", "phase", vocab_themes.PHASES),
                               ("status", "status", vocab_themes.STATUSES)):
        value = _choice(raw, term, allowed)
        if value is not None:
            profile[key] = value
    place = _place(raw)
    if place:
        profile["place"] = place
    province = provinces.of_document(raw)
    if province:
        profile["province_code"] = province
    for key, term in (("last_confirmed", "lastConfirmed"), ("founded", "founded")):
        value = _date(raw, term)
        if value:
            profile[key] = value
    profile.update(_icon(raw))
    return profile


def document_updated(raw: dict[str, Any]) -> datetime | None:
    """The ``updated`` time the document states, in UTC (None when absent or unreadable)."""
    value = parse_datetime(raw.get("updated"))
    return value.astimezone(UTC) if value is not None else None
