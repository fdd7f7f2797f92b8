"""The map's data: initiatives and upcoming events as GeoJSON (RFC 7946) FeatureCollections.

A feature is a ``Point`` at ``[longitude, latitude]`` (RFC 7946 §3.1.1: longitude first), rounded
to six decimals (§11.2; places are stored at village precision anyway). An initiative is on the
map when its profile's place has coordinates; an event when it has a place with coordinates and
has not ended (its end, else its start, is now or later). Both take the browsing filters, and
leave out what the federation policy refuses, as every list does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from node.services import browse, policy
from node.services.browse import InitiativeEntry
from node.services.context import NodeContext
from node.services.listing import Filters, item_filter
from node.store import objects as object_store
from node.store.objects import StoredObject
from protocol import themes as vocab_themes

MAX_EVENTS = 5000
MAX_KNOWN_PLACES = 2000  # place names the initiative form suggests  # upcoming events one answer holds


@dataclass(frozen=True)
class Marker:
    """One point of the map, and what its list entry shows."""

    kind: str  # initiative | event
    id: str
    name: str
    latitude: float
    longitude: float
    province: str | None
    origin: str
    themes: list[str]
    place: str | None = None
    start_time: str | None = None

    def feature(self) -> dict[str, Any]:
        province = vocab_themes.PROVINCES.get(self.province) if self.province else None
        properties: dict[str, Any] = {
            "kind": self.kind, "id": self.id, "url": self.id, "name": self.name,
            "province": self.province, "province_name": province.nl if province else None,
            "origin": self.origin, "themes": self.themes, "place": self.place,
        }
        if self.kind == "event":
            properties["start_time"] = self.start_time
        return {"type": "Feature", "id": self.id,
                "geometry": {"type": "Point",
                             "coordinates": [round(self.longitude, 6), round(self.latitude, 6)]},
                "properties": properties}


def feature_collection(markers: list[Marker]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [m.feature() for m in markers]}


def _coordinates(place: Any) -> tuple[float, float] | None:
    if not isinstance(place, dict):
        return None
    lat, lon = place.get("latitude"), place.get("longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and \
            not isinstance(lat, bool) and not isinstance(lon, bool) and \
            -90 <= lat <= 90 and -180 <= lon <= 180:
        return float(lat), float(lon)
    return None


def _initiative_marker(entry: InitiativeEntry) -> Marker | None:
    place = (entry.actor.profile or {}).get("place")
    point = _coordinates(place)
    if point is None:
        return None
    return Marker("initiative", entry.actor.ap_id,
                  entry.actor.name or entry.actor.preferred_username or entry.actor.ap_id,
                  point[0], point[1], entry.province, entry.origin, entry.themes,
                  place=place.get("name") if isinstance(place, dict) else None)


async def initiative_markers(ctx: NodeContext, filters: Filters) -> list[Marker]:
    entries = [e for e in await browse.all_initiatives(ctx) if browse.matches(e, filters)]
    return [m for m in map(_initiative_marker, entries) if m is not None]


def _event_time(item: StoredObject, name: str) -> datetime | None:
    value = item.fields.get(name)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _event_marker(item: StoredObject, now: datetime) -> tuple[datetime, Marker] | None:
    if item.latitude is None or item.longitude is None:
        return None
    start = _event_time(item, "start_time")
    last = _event_time(item, "end_time") or start
    if start is None or last is None or last < now:
        return None
    place = item.fields.get("place")
    return start, Marker("event", item.ap_id, item.title or "", item.latitude, item.longitude,
                         item.province_code, item.host, list(item.themes or []),
                         place=place.get("name") if isinstance(place, dict) else None,
                         start_time=start.isoformat())


async def event_markers(ctx: NodeContext, filters: Filters) -> list[Marker]:
    """Upcoming events with a place, soonest first."""
    now = ctx.now()
    async with ctx.db.sessions() as session:
        f = item_filter(Filters(theme=filters.theme, province=filters.province,
                                       kind="event"), hosts=await policy.rule(ctx, session))
        rows = await object_store.list_page(session, f, limit=MAX_EVENTS)
    found = [m for m in (_event_marker(i, now) for i in rows) if m is not None]
    return [marker for _, marker in sorted(found, key=lambda pair: pair[0])]


# --- places the node knows --------------------------------------------------------------------


@dataclass(frozen=True)
class KnownPlace:
    """A village or town with coordinates, as some initiative this node lists has it."""

    name: str
    latitude: float
    longitude: float
    province_code: str | None


async def known_places(ctx: NodeContext, limit: int | None = MAX_KNOWN_PLACES) -> list[KnownPlace]:
    """The named places with coordinates of the initiatives in the directory (own and received),
    one per name (case-insensitive, the first by initiative name wins), sorted by name.

    The node has no gazetteer of its own: the places its initiatives are in are the villages it
    knows (docs/pages.md, "Editing an initiative").
    """
    found: dict[str, KnownPlace] = {}
    for entry in await browse.all_initiatives(ctx):
        place = (entry.actor.profile or {}).get("place")
        point = _coordinates(place)
        if point is None or not isinstance(place, dict):
            continue
        name = place.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        province = place.get("province_code") or entry.province
        found.setdefault(name.strip().casefold(), KnownPlace(
            name.strip(), point[0], point[1], province if isinstance(province, str) else None))
    return sorted(found.values(), key=lambda p: p.name.casefold())[:limit]


async def locate(ctx: NodeContext, name: str) -> KnownPlace | None:
    """The known place called ``name`` (case and surrounding spaces ignored), if any."""
    wanted = name.strip().casefold()
    return next((p for p in await known_places(ctx, None) if p.name.casefold() == wanted), None)
