"""The OpenAPI part of bottlenecks: endorsing one, and the ranking (``node.web.bottlenecks``).

Kept beside ``node.web.openapi``, which merges these paths, schemas and parameters into the
one document.
"""

from __future__ import annotations

from typing import Any

from protocol import themes

JSON = "application/json"
_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _errors(*names: tuple[str, str]) -> dict[str, Any]:
    return {status: _ref("responses", name) for status, name in names}


def _ok(schema: str, description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description,
                     "content": {JSON: {"schema": _ref("schemas", schema)}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def bottleneck_parameters() -> dict[str, Any]:
    return {
        "bottleneck_status": _query("bottleneck_status",
                                    {"type": "string", "enum": list(themes.BOTTLENECK_STATUSES)},
                                    "Only bottlenecks with this status."),
        "regulation_area": _query("regulation_area",
                                  {"type": "string", "enum": list(themes.REGULATION_AREAS)},
                                  "Only bottlenecks in this area of regulation."),
        "sort": _query("sort", {"type": "string", "enum": ["endorsements", "newest"],
                                "default": "endorsements"},
                       "`endorsements`: by endorsing initiatives, then by their provinces, "
                       "then newest; `newest`: newest first."),
    }


def bottleneck_schemas() -> dict[str, Any]:
    province = {"type": "string", "enum": list(themes.PROVINCES)}
    return {
        "Tally": {
            "type": "object", "required": ["count", "provinces", "support"],
            "description": "Bottlenecks only: what the bottleneck's origin published "
                           "(kk:endorsements).",
            "properties": {
                "count": {"type": "integer", "minimum": 0,
                          "description": "Initiatives that endorse it, each once."},
                "provinces": {"type": "array", "items": province,
                              "description": "The provinces those initiatives are in."},
                "support": {"type": "integer", "minimum": 0,
                            "description": "Likes from fediverse accounts that are not "
                                           "Kennisknoop initiatives."}}},
        "Endorsement": {
            "type": "object", "required": ["item", "initiative", "note", "province",
                                           "created_at"],
            "properties": {
                "item": {"type": "string", "format": "uri", "description": "The bottleneck."},
                "initiative": {"type": "string", "format": "uri",
                               "description": "The endorsing initiative's actor IRI."},
                "note": {"type": ["string", "null"]},
                "province": {"anyOf": [province, {"type": "null"}]},
                "created_at": {"type": "string", "format": "date-time"}}},
        "BottleneckPage": {
            "type": "object", "required": ["bottlenecks", "total", "next"], "properties": {
                "bottlenecks": {"type": "array", "items": _ref("schemas", "Item")},
                "total": {"type": "integer", "minimum": 0},
                "next": {"type": ["string", "null"], "format": "uri",
                         "description": "URL of the next page, null on the last one."}}},
    }


def bottleneck_paths(write_errors: tuple[str, ...], status_of: dict[str, str]) -> dict[str, Any]:
    """``/api/endorsements`` and ``/api/bottlenecks``; ``status_of`` maps error names to codes."""
    def errors(*names: str) -> dict[str, Any]:
        return _errors(*((status_of[name], name) for name in names))

    withdraw_query = [{**_query("item", {"type": "string", "format": "uri"}, "The bottleneck."),
                       "required": True},
                      {**_query("as", {"type": "string"}, "The initiative's handle."),
                       "required": True}]
    return {
        "/api/endorsements": {
            "post": {
                "operationId": "endorseBottleneck", "tags": ["bottlenecks"],
                "security": _BEARER,
                "summary": "An initiative endorses a bottleneck (\"Wij lopen hier ook "
                           "tegenaan\")",
                "description": "From any node that holds a copy. On the bottleneck's own node "
                               "it counts at once; elsewhere a Like goes to its origin, which "
                               "counts it and publishes the tally. Editors act for the "
                               "initiatives granted to them (else 403). 201 when new; 200 when "
                               "the initiative already endorsed it (counted once; a new note "
                               "replaces the old). 422 `not_a_bottleneck`, `unknown_initiative`, "
                               "`not_an_initiative`.",
                "requestBody": {"required": True, "content": {
                    JSON: {"schema": _ref("schemas", "EndorsementInput")}}},
                "responses": {**_ok("Endorsement", "Endorsed now.", "201"),
                              **_ok("Endorsement", "It already was: nothing changed but the "
                                    "note."),
                              **errors(*write_errors, "NotFound", "Gone")}},
            "delete": {
                "operationId": "withdrawEndorsement", "tags": ["bottlenecks"],
                "security": _BEARER,
                "summary": "Withdraw an initiative's endorsement",
                "description": "`item` and `as` as a JSON body (EndorsementWithdrawal) or as "
                               "query parameters. Elsewhere than the origin an Undo of the Like "
                               "goes to it. 404 `not_endorsed` when there is none.",
                "parameters": withdraw_query,
                "requestBody": {"required": False, "content": {
                    JSON: {"schema": _ref("schemas", "EndorsementWithdrawal")}}},
                "responses": {"204": {"description": "Withdrawn."},
                              **errors(*write_errors, "NotFound", "Gone")}},
        },
        "/api/bottlenecks": {"get": {
            "operationId": "listBottlenecks", "tags": ["bottlenecks"], "security": [],
            "summary": "Bottlenecks ranked by endorsing initiatives, then their provinces",
            "description": "Local and received alike, by the tally each origin published: the "
                           "same ranking as the page /knelpunten (the national agenda on the "
                           "aggregator).",
            "parameters": [_ref("parameters", p) for p in (
                "theme", "regulation_area", "bottleneck_status", "province", "sort", "limit",
                "offset")],
            "responses": {**_ok("BottleneckPage", "A page; follow `next` for more."),
                          **errors("Unprocessable")}}},
    }
