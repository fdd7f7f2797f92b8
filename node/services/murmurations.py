"""An initiative as a Murmurations profile (``organizations_schema-v1.0.0``), for the maps of
that network (https://murmurations.network; docs/bridges.md).

A Murmurations index reads a profile from the URL it is given and validates it against every
schema the profile lists in ``linked_schemas``; this one lists the organizations schema only.
That schema requires ``linked_schemas``, ``name`` and ``primary_url``; the rest is filled when
the profile has it. ``primary_url`` is the initiative's own website when it has one (its
"well-known" address), else its page on this node. Serving the profile sends nothing anywhere:
registering it with an index is the admin's choice (not done by the node).
"""

from __future__ import annotations

from typing import Any

from node.services.actors import get_initiative
from node.services.context import NodeContext
from node.services.structured_data import plain_text
from node.store.actors import StoredActor
from protocol import themes as vocab_themes

ORGANIZATIONS_SCHEMA = "organizations_schema-v1.0.0"
COUNTRY_NAME = "Netherlands"
MAX_TEXT = 5000


def _label(table: Any, value: Any) -> str | None:
    label = table.get(value) if isinstance(value, str) else None
    return label.nl if label is not None else None


def build_profile(actor: StoredActor, *, feed_url: str) -> dict[str, Any]:
    """The Murmurations profile of an initiative (``feed_url``: its Atom feed, for ``rss``)."""
    profile = actor.profile or {}
    website = profile.get("website") if isinstance(profile.get("website"), str) else None
    out: dict[str, Any] = {
        "linked_schemas": [ORGANIZATIONS_SCHEMA],
        "name": actor.name or actor.preferred_username or actor.ap_id,
        "primary_url": website or actor.ap_id,
        "urls": [{"name": "Kennisknoop", "url": actor.ap_id}],
        "rss": feed_url,
        "country_name": COUNTRY_NAME,
    }
    if website:
        out["urls"].append({"name": "Website", "url": website})
    description = plain_text(profile.get("description_html"), MAX_TEXT) or actor.summary
    if description:
        out["description"] = description
    if profile.get("goals"):
        out["mission"] = str(profile["goals"])[:MAX_TEXT]
    found = profile.get("place")
    place: dict[str, Any] = found if isinstance(found, dict) else {}
    if place.get("name"):
        out["locality"] = place["name"]
    region = _label(vocab_themes.PROVINCES,
                    place.get("province_code") or profile.get("province_code"))
    if region:
        out["region"] = region
    lat, lon = place.get("latitude"), place.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        out["geolocation"] = {"lat": lat, "lon": lon}
    contact = profile.get("contact")
    if isinstance(contact, str) and "@" in contact and " " not in contact.strip():
        out["email"] = contact.strip()
    tags = [vocab_themes.get(t).label.nl for t in profile.get("themes") or []
            if vocab_themes.is_theme(t)]
    legal_form = _label(vocab_themes.LEGAL_FORMS, profile.get("legal_form"))
    if legal_form:
        tags.append(legal_form)
    if tags:
        out["tags"] = list(dict.fromkeys(tags))
    return out


async def initiative_profile(ctx: NodeContext, handle: str, *, feed_url: str) -> dict[str, Any]:
    """The profile of one of this node's live initiatives (404 for others, 410 once deleted)."""
    return build_profile(await get_initiative(ctx, handle), feed_url=feed_url)
