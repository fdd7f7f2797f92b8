"""Open Referral HSDS export of the node's care initiatives (``kennisknoop export --format hsds``).

The Human Services Data Specification (https://openreferral.org/) describes who offers which
service where, for care directories and municipalities. This node's initiatives with a theme
under care and wellbeing (``care-wellbeing`` and its narrower themes) become:

- an ``organization`` (the initiative: name, description, website, e-mail when the contact is
  an address, legal status, year founded, ``uri`` its IRI);
- a ``service`` for each of its care themes (named by the theme's Dutch label; ``status``
  ``active``, or ``inactive`` for an initiative on hold, completed or stopped);
- a ``location`` (``physical``) when it has a place, and a ``service_at_location`` linking each
  service to it.

The document holds one array per HSDS table, each record as HSDS 3 describes it (docs/bridges.md).
Identifiers are UUIDs (version 5, from the initiative's IRI), so a second export gives every
record the id it had, and a directory that imported the first one updates rather than doubles.
"""

from __future__ import annotations

import uuid
from typing import Any

from node.services.context import NodeContext
from node.services.documents import iso
from node.services.items import theme_and_narrower
from node.services.structured_data import plain_text
from node.store import actors as actor_store
from node.store.actors import StoredActor
from protocol import themes as vocab_themes

HSDS_FORMAT = "hsds"
HSDS_VERSION = "3.0"
CARE_THEMES = frozenset(theme_and_narrower("care-wellbeing"))
_INACTIVE = frozenset({"on-hold", "completed", "stopped"})
_PAGE = 500


def record_id(iri: str, part: str = "") -> str:
    """A stable UUID for a record derived from an IRI (``part`` tells records of one IRI apart)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, iri + part))


def _organization(actor: StoredActor) -> dict[str, Any]:
    profile = actor.profile or {}
    name = actor.name or actor.preferred_username or actor.ap_id
    org: dict[str, Any] = {
        "id": record_id(actor.ap_id), "name": name,
        "description": plain_text(profile.get("description_html")) or actor.summary or name,
        "uri": actor.ap_id,
    }
    website = profile.get("website")
    if isinstance(website, str) and website.startswith(("http://", "https://")):
        org["website"] = website
    contact = profile.get("contact")
    if isinstance(contact, str) and "@" in contact and " " not in contact.strip():
        org["email"] = contact.strip()
    legal = vocab_themes.LEGAL_FORMS.get(profile.get("legal_form") or "")
    if legal is not None:
        org["legal_status"] = legal.nl
    founded = str(profile.get("founded") or "")
    if founded[:4].isdigit():
        org["year_incorporated"] = int(founded[:4])
    return org


def initiative_records(actor: StoredActor) -> dict[str, list[dict[str, Any]]]:
    """The HSDS records of one care initiative, by table."""
    profile = actor.profile or {}
    org = _organization(actor)
    status = "inactive" if profile.get("status") in _INACTIVE else "active"
    services: list[dict[str, Any]] = []
    themes = [t for t in profile.get("themes") or [] if t in CARE_THEMES]
    for theme in themes:
        service: dict[str, Any] = {
            "id": record_id(actor.ap_id, f"#service-{theme}"), "organization_id": org["id"],
            "name": vocab_themes.get(theme).label.nl,
            "description": profile.get("goals") or org["description"], "url": actor.ap_id,
            "status": status}
        if "email" in org:
            service["email"] = org["email"]
        services.append(service)
    records: dict[str, list[dict[str, Any]]] = {
        "organizations": [org], "services": services, "locations": [],
        "service_at_locations": []}
    place = profile.get("place") if isinstance(profile.get("place"), dict) else None
    if place:
        location: dict[str, Any] = {"id": record_id(actor.ap_id, "#location"),
                                    "location_type": "physical", "organization_id": org["id"]}
        if place.get("name"):
            location["name"] = place["name"]
        if isinstance(place.get("latitude"), int | float):
            location["latitude"] = place["latitude"]
            location["longitude"] = place["longitude"]
        records["locations"].append(location)
        records["service_at_locations"] = [
            {"id": record_id(actor.ap_id, f"#service-{theme}@location"),
             "service_id": service["id"], "location_id": location["id"]}
            for theme, service in zip(themes, services, strict=True)]
    return records


def is_care_initiative(actor: StoredActor) -> bool:
    return bool(CARE_THEMES & set((actor.profile or {}).get("themes") or []))


async def export_hsds(ctx: NodeContext) -> dict[str, Any]:
    """The node's live care initiatives as HSDS records, one array per table, by name."""
    tables: dict[str, list[dict[str, Any]]] = {
        "organizations": [], "services": [], "locations": [], "service_at_locations": []}
    async with ctx.db.sessions() as session:
        offset = 0
        while batch := await actor_store.list_local(session, kind="initiative", limit=_PAGE,
                                                    offset=offset):
            offset += len(batch)
            for actor in filter(is_care_initiative, batch):
                for table, records in initiative_records(actor).items():
                    tables[table].extend(records)
    return {"format": HSDS_FORMAT, "hsds_version": HSDS_VERSION, "exported": iso(ctx.now()),
            "publisher": {"name": ctx.settings.node.name, "url": ctx.settings.node.url},
            **tables}
