"""The OpenAPI part of the map (GeoJSON of initiatives and events) and of the outbound bridges
under /api (the Murmurations profile). ``node.web.openapi`` merges these paths into the one
document.
"""

from __future__ import annotations

from typing import Any

from node.web.openapi_common import _enum, _errors, _nullable, _ref, _theme_ids
from protocol import themes


def bridge_paths() -> dict[str, Any]:
    """Outbound bridges under /api (docs/bridges.md); the feeds and calendars are outside /api."""
    url = {"type": "string", "format": "uri", "pattern": "^https?://"}
    profile = {
        "type": "object", "required": ["linked_schemas", "name", "primary_url"],
        "description": "A Murmurations profile of the organizations schema.",
        "properties": {
            "linked_schemas": {"type": "array", "items": {"const": "organizations_schema-v1.0.0"}},
            "name": {"type": "string"}, "primary_url": url,
            "urls": {"type": "array", "items": {"type": "object", "required": ["url"],
                                                 "properties": {"name": {"type": "string"},
                                                                "url": url}}},
            "description": {"type": "string"}, "mission": {"type": "string"},
            "locality": {"type": "string"}, "region": {"type": "string"},
            "country_name": {"type": "string"},
            "geolocation": {"type": "object", "required": ["lat", "lon"], "properties": {
                "lat": {"type": "number"}, "lon": {"type": "number"}}},
            "email": {"type": "string"}, "rss": url,
            "tags": {"type": "array", "items": {"type": "string"}}}}
    return {"/api/initiatives/{handle}/murmurations": {
        "parameters": [_ref("parameters", "handle")],
        "get": {"operationId": "getMurmurationsProfile", "tags": ["initiatives"], "security": [],
                "summary": "A local initiative as a Murmurations organizations_schema profile",
                "description": "For the maps of the Murmurations network: give an index this "
                               "URL. The node itself registers nothing anywhere.",
                "responses": {"200": {"description": "The profile.",
                                      "content": {"application/json": {"schema": profile}}},
                              **_errors("NotFound", "Gone")}}}}


_GEOJSON = "application/geo+json"


def _feature_collection() -> dict[str, Any]:
    """RFC 7946 FeatureCollection of Points at [longitude, latitude]."""
    point = {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"const": "Point"},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 2,
                        "items": {"type": "number"},
                        "description": "[longitude, latitude] (RFC 7946 §3.1.1)"}}}
    feature = {"type": "object", "required": ["type", "id", "geometry", "properties"],
               "properties": {
                   "type": {"const": "Feature"}, "id": {"type": "string", "format": "uri"},
                   "geometry": point,
                   "properties": {"type": "object", "required": [
                       "kind", "id", "url", "name", "province", "origin", "themes"],
                       "properties": {
                           "kind": _enum(("initiative", "event")),
                           "id": {"type": "string", "format": "uri"},
                           "url": {"type": "string", "format": "uri"},
                           "name": {"type": "string"},
                           "province": _nullable(_enum(themes.PROVINCES)),
                           "province_name": {"type": ["string", "null"]},
                           "origin": {"type": "string", "description": "The node's host."},
                           "themes": {"type": "array", "items": _enum(_theme_ids())},
                           "place": {"type": ["string", "null"]},
                           "start_time": {"type": "string", "format": "date-time"}}}}}
    return {"type": "object", "required": ["type", "features"], "properties": {
        "type": {"const": "FeatureCollection"}, "features": {"type": "array", "items": feature}}}


def map_paths() -> dict[str, Any]:
    def operation(op_id: str, summary: str, params: tuple[str, ...]) -> dict[str, Any]:
        return {"get": {
            "operationId": op_id, "tags": ["map"], "security": [], "summary": summary,
            "parameters": [_ref("parameters", p) for p in params],
            "responses": {"200": {"description": "An RFC 7946 FeatureCollection.",
                                  "content": {_GEOJSON: {"schema": _feature_collection()}}},
                          **_errors("Unprocessable")}}}
    return {
        "/api/initiatives.geojson": operation(
            "initiativesGeoJSON", "Initiatives with a place, as map points",
            ("directory_theme", "province", "legal_form", "phase")),
        "/api/events.geojson": operation(
            "eventsGeoJSON", "Upcoming events with a place, as map points, soonest first",
            ("theme", "province")),
    }
