"""The OpenAPI 3.1 description of the JSON API (``GET /api/openapi.json``), built as data.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1 §4.8.24); enumerations come from
``protocol.themes`` so the document can never disagree with validation about the vocabularies.
Every route in ``node/web/api.py`` has a path item here and vice versa (a test checks both ways).
"""

from __future__ import annotations

from typing import Any

from protocol import themes

JSON = "application/json"
API_VERSION = "1.0.0"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict[str, str]:
    return _ref("schemas", name)


def _text(max_length: int, description: str = "", *, nullable: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["string", "null"] if nullable else "string",
                              "maxLength": max_length}
    if description:
        schema["description"] = description
    return schema


def _enum(values: Any, description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if description:
        schema["description"] = description
    return schema


def _list(items: dict[str, Any], max_items: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "maxItems": max_items}


def _theme_ids() -> list[str]:
    return [t.id for t in themes.all_themes()]


_PLAIN = "Plain text: no HTML (a tag, even entity-encoded, is refused with html_not_allowed)."
_HANDLE = r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$"


def _place() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Where: village precision by default (coordinates are rounded to two "
                       "decimals, about 1 km) unless `exact` is true.",
        "additionalProperties": False,
        "properties": {
            "name": _text(200, _PLAIN),
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
            "province_code": _enum(themes.PROVINCES, "CBS province code."),
            "municipality_code": {"type": "string", "pattern": r"^GM\d{4}$",
                                  "description": "CBS municipality code."},
            "exact": {"type": "boolean", "default": False},
        },
        "dependentRequired": {"latitude": ["longitude"], "longitude": ["latitude"]},
    }


def _attachment() -> dict[str, Any]:
    return {
        "type": "object", "additionalProperties": False, "required": ["url"],
        "properties": {
            "url": {"type": "string", "format": "uri", "maxLength": 2048},
            "name": _text(200),
            "media_type": {"type": "string", "examples": ["application/pdf"]},
        },
    }


def _initiative_fields() -> dict[str, Any]:
    return {
        "name": _text(200, _PLAIN),
        "summary": _text(500, _PLAIN),
        "description": _text(50_000, "Markdown."),
        "legal_form": _enum(themes.LEGAL_FORMS),
        "themes": _list(_enum(_theme_ids()), 20),
        "phase": _enum(themes.PHASES),
        "status": {**_enum(themes.STATUSES), "default": "active"},
        "place": _schema("Place"),
        "founded": {"type": "string", "format": "date", "description": "Not in the future."},
        "goals": _text(5000, _PLAIN),
        "reason_for_starting": _text(5000, _PLAIN),
        "open_questions": _list(_text(1000), 50),
        "website": {"type": "string", "format": "uri", "maxLength": 2048},
        "contact": _text(200, _PLAIN),
        "networks": _list(_text(200), 50),
        "partners": _list(_text(200), 50),
        "members_count": {"type": "integer", "minimum": 0, "maximum": 10_000_000},
        "last_confirmed": {"type": "string", "format": "date"},
    }


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or ``null``: in a patch, null clears a field (back to its default)."""
    return {"anyOf": [schema, {"type": "null"}]}


def _item_fields() -> dict[str, Any]:
    return {
        "title": _text(300, _PLAIN + " Required for every kind but answer."),
        "content": _text(100_000, "Markdown source."),
        "summary": _text(500, _PLAIN),
        "themes": _list(_enum(_theme_ids()), 20),
        "language": {"type": "string", "default": "nl", "examples": ["nl", "fy-NL", "en"]},
        "license": {**_text(100), "default": "CC-BY-4.0"},
        "place": _schema("Place"),
        "question_category": {**_enum(themes.QUESTION_CATEGORIES, "Questions only."),
                              "default": "content"},
        "regulation": _text(300, "Bottlenecks only: the regulation concerned."),
        "bottleneck_status": {**_enum(["open", "raised", "resolved"], "Bottlenecks only."),
                              "default": "open"},
        "start_time": {"type": "string", "format": "date-time",
                       "description": "Events only (required for them); with a UTC offset."},
        "end_time": {"type": "string", "format": "date-time",
                     "description": "Events only; not before start_time."},
        "attachments": {**_list(_schema("Attachment"), 20), "description": "Templates and guides."},
    }


def _item_input() -> dict[str, Any]:
    fields = _item_fields()
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "content"],
        "properties": {
            "kind": _enum(themes.ITEM_KINDS),
            **fields,
            "initiative": {"type": "string", "description": "Author: the handle or actor IRI of "
                           "a local initiative; absent means the node actor."},
            "in_reply_to": {"type": "string", "format": "uri",
                            "description": "Answers only (required for them): the question's IRI."},
        },
        "allOf": [
            {"if": {"properties": {"kind": {"const": "answer"}}},
             "then": {"required": ["in_reply_to"]}, "else": {"required": ["title"]}},
            {"if": {"properties": {"kind": {"const": "event"}}},
             "then": {"required": ["start_time"]}},
        ],
        "examples": [{"kind": "story", "title": "Een molen vol energie",
                      "content": "Hoe **Reduzum** zijn molen terugkocht.",
                      "themes": ["energy-generation"], "initiative": "dorpsmolen-reduzum"}],
    }


def _item_patch() -> dict[str, Any]:
    fields = {name: _nullable(schema) for name, schema in _item_fields().items()}
    fields["accepted_answer"] = _nullable({"type": "string", "format": "uri",
                                           "description": "Questions only: an answer's IRI."})
    return {"type": "object", "additionalProperties": False, "properties": fields,
            "description": "Only the fields given change; null clears one. kind, initiative and "
                           "in_reply_to cannot change; fields of another kind are refused."}


_SERVER_FIELDS: dict[str, Any] = {
    "version": {"type": "integer", "minimum": 1, "description": "Grows by one on every change."},
    "published": {"type": "string", "format": "date-time"},
    "updated": {"type": "string", "format": "date-time"},
    "origin": {"type": "string", "description": "Host of the node the record comes from."},
    "local": {"type": "boolean", "description": "Whether it originates on this node."},
    "deleted": {"type": "boolean"},
}


def _item() -> dict[str, Any]:
    nullable_text = {"type": ["string", "null"]}
    fields = {name: _nullable(schema) for name, schema in _item_fields().items()}
    return {
        "type": "object",
        "required": ["id", "local_id", "kind", "title", "content", "content_html", "summary",
                     "themes", "initiative", "initiative_handle", "language", "license", "place",
                     "province", *_SERVER_FIELDS],
        "properties": {
            "id": {"type": "string", "format": "uri", "description": "The object IRI."},
            "local_id": {**nullable_text, "description": "Null for items from other nodes."},
            "kind": _enum(themes.ITEM_KINDS),
            **fields,
            "themes": _list(_enum(_theme_ids()), 20),
            "content": {**nullable_text, "description": "Markdown source (null when a remote "
                        "item came without one)."},
            "content_html": {**nullable_text, "description": "Sanitised HTML."},
            "initiative": {"type": "string", "format": "uri", "description": "Author actor IRI."},
            "initiative_handle": {**nullable_text, "description": "Author handle when local."},
            "province": {"type": ["string", "null"], "enum": [*themes.PROVINCES, None],
                         "description": "CBS code of the item's province: its place's, else "
                         "its initiative's, else its node's (what province= filters on)."},
            "in_reply_to": {"type": ["string", "null"], "description": "Answers only."},
            "accepted_answer": {"type": ["string", "null"], "description": "Questions only."},
            "attachments": _list(_schema("Attachment"), 20),
            **_SERVER_FIELDS,
        },
    }


def _initiative_input() -> dict[str, Any]:
    return {
        "type": "object", "additionalProperties": False, "required": ["handle", "name"],
        "properties": {"handle": {"type": "string", "pattern": _HANDLE,
                                  "description": "Becomes handle@host; cannot change later."},
                       **_initiative_fields()},
        "examples": [{"handle": "dorpsmolen-reduzum", "name": "Dorpsmolen Reduzum",
                      "legal_form": "cooperative", "themes": ["energy-generation"]}],
    }


def _initiative_patch() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "properties": {n: _nullable(s) for n, s in _initiative_fields().items()},
            "description": "Only the fields given change; null clears one; handle cannot change."}


def _initiative() -> dict[str, Any]:
    fields = {n: _nullable(s) for n, s in _initiative_fields().items()}
    return {
        "type": "object",
        "required": ["id", "handle", "acct", "name", *_initiative_fields(), *_SERVER_FIELDS],
        "properties": {
            "id": {"type": "string", "format": "uri", "description": "The actor IRI."},
            "handle": {"type": ["string", "null"]},
            "acct": {"type": "string", "description": "handle@host (WebFinger)."},
            **fields,
            "description_html": {"type": ["string", "null"]},
            **_SERVER_FIELDS,
        },
    }


def _schemas() -> dict[str, Any]:
    page = {"type": ["string", "null"], "format": "uri",
            "description": "URL of the next page, null on the last one."}
    return {
        "Error": {
            "type": "object", "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string", "description": "Stable machine-readable reason.",
                          "examples": ["unknown_theme", "unauthenticated", "gone"]},
                "detail": {"type": "string", "description": "For people."},
                "field": {"type": "string", "description": "The offending field, dotted for "
                          "nested ones (place.latitude, attachments[0].url)."},
            },
        },
        "Place": _place(),
        "Attachment": _attachment(),
        "InitiativeInput": _initiative_input(),
        "InitiativePatch": _initiative_patch(),
        "Initiative": _initiative(),
        "InitiativePage": {"type": "object", "required": ["initiatives", "next"], "properties": {
            "initiatives": {"type": "array", "items": _schema("Initiative")}, "next": page}},
        "ItemInput": _item_input(),
        "ItemPatch": _item_patch(),
        "Item": _item(),
        "ItemPage": {"type": "object", "required": ["items", "next"], "properties": {
            "items": {"type": "array", "items": _schema("Item")}, "next": page}},
        "Theme": {"type": "object", "required": ["id", "labels", "hashtag", "iri"], "properties": {
            "id": _enum(_theme_ids()),
            "labels": {"type": "object", "required": ["nl", "en"],
                       "properties": {"nl": {"type": "string"}, "en": {"type": "string"}}},
            "hashtag": {"type": "string"}, "iri": {"type": "string", "format": "uri"},
            "broader": {"type": ["string", "null"]},
            "narrower": {"type": "array", "items": {"type": "string"}}}},
        "ThemeList": {"type": "object", "required": ["themes"], "properties": {
            "themes": {"type": "array", "items": _schema("Theme")}}},
        "FollowInput": {"type": "object", "required": ["target"], "additionalProperties": False,
                        "properties": {"target": {"type": "string", "maxLength": 2048},
                                       "as": {"type": ["string", "null"]}}},
        "Follow": {"type": "object", "required": ["follower", "followee", "state"],
                   "properties": {"follower": {"type": "string", "format": "uri"},
                                  "followee": {"type": "string", "format": "uri"},
                                  "state": _enum(["pending", "accepted", "rejected"])}},
        "FollowList": {"type": "object", "required": ["follows"], "properties": {
            "follows": {"type": "array", "items": _schema("Follow")}}},
        "FlagList": {"type": "object", "required": ["flags"], "properties": {
            "flags": {"type": "array", "items": {"type": "object"}}}},
        "FederationStatus": {"type": "object", "required": ["deliveries", "inbox", "peers"],
                             "properties": {"deliveries": {"type": "object"},
                                            "inbox": {"type": "object"},
                                            "peers": {"type": "array",
                                                      "items": {"type": "object"}}}},
        "Me": {"type": "object", "required": ["username", "role", "admin"], "properties": {
            "username": {"type": "string"}, "role": _enum(["admin", "editor"]),
            "admin": {"type": "boolean"}}},
    }


_ERRORS = {
    "BadRequest": ("400", "Not a JSON object (bad_json), or a malformed request."),
    "Unauthenticated": ("401", "No bearer token (unauthenticated) or an unknown one (bad_token)."),
    "Forbidden": ("403", "The token's user may not change this record (forbidden)."),
    "NotFound": ("404", "No such record (not_found)."),
    "Conflict": ("409", "The handle is taken (handle_taken)."),
    "Gone": ("410", "The record was deleted (gone)."),
    "TooLarge": ("413", "The body is larger than limits.max_body_bytes (too_large)."),
    "UnsupportedMediaType": ("415", "The body is not application/json or +json "
                                    "(unsupported_media_type)."),
    "Unprocessable": ("422", "A field or parameter is missing, unknown, of the wrong type or "
                             "value (missing_field, unknown_field, bad_type, bad_value, "
                             "unknown_theme, bad_coordinates, html_not_allowed, too_long, …)."),
}


def _responses() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (status, description) in _ERRORS.items():
        out[name] = {"description": description,
                     "content": {JSON: {"schema": _schema("Error")}}}
        if status == "401":
            out[name]["headers"] = {"WWW-Authenticate": {
                "description": "Bearer challenge (RFC 6750 §3).", "schema": {"type": "string"}}}
    return out


def _errors(*names: str) -> dict[str, Any]:
    return {_ERRORS[name][0]: _ref("responses", name) for name in names}


def _ok(schema: str, description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": _schema(schema)}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _parameters() -> dict[str, Any]:
    return {
        "handle": {"name": "handle", "in": "path", "required": True,
                   "schema": {"type": "string"}, "description": "A local initiative's handle."},
        "local_id": {"name": "local_id", "in": "path", "required": True,
                     "schema": {"type": "string"},
                     "description": "A local item's id (the last segment of its IRI)."},
        "id": {"name": "id", "in": "query", "required": True,
               "schema": {"type": "string", "format": "uri"},
               "description": "The record's IRI (URL-encoded); items may be from other nodes."},
        "limit": _query("limit", {"type": "integer", "minimum": 1, "maximum": 100},
                        "Page size, 1 to 100 (default limits.page_size)."),
        "cursor": _query("cursor", {"type": "string"}, "From a previous page's `next`."),
        "offset": _query("offset", {"type": "integer", "minimum": 0}, "Records to skip."),
        "kind": _query("kind", _enum(themes.ITEM_KINDS), "Only items of this kind."),
        "theme": _query("theme", _enum(_theme_ids()),
                        "Only items with this theme or a narrower one."),
        "province": _query("province", _enum(themes.PROVINCES), "CBS province code."),
        "q": _query("q", {"type": "string", "maxLength": 200},
                    "Words that must all occur (Dutch stemming)."),
        "origin": _query("origin", {"type": "string"},
                         "`local`, `remote`, or the host of the node the items come from."),
        "initiative": _query("initiative", {"type": "string"},
                             "Only items by this author (handle or actor IRI)."),
    }


_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_WRITE_ERRORS = ("BadRequest", "Unauthenticated", "Forbidden", "TooLarge",
                 "UnsupportedMediaType", "Unprocessable")


def _body(schema: str, media: tuple[str, ...] = (JSON,)) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": _schema(schema)} for m in media}}


def _record_operations(tag: str, name: str, ref: str, *, by: str) -> dict[str, Any]:
    """GET / PATCH / DELETE of one initiative or item, addressed ``by`` a path or query param."""
    what = tag[:-1].lower()
    suffix = "ByIri" if by == "id" else ""
    patch_media = (JSON, "application/merge-patch+json")
    return {
        "parameters": [_ref("parameters", by)],
        "get": {"operationId": f"get{name}{suffix}", "tags": [tag], "summary": f"Read an {what}",
                "security": [],
                "responses": {**_ok(name, "The record."), **_errors("NotFound", "Gone",
                                                                    "Unprocessable")}},
        "patch": {"operationId": f"update{name}{suffix}", "tags": [tag],
                  "summary": "Change some fields; version grows by one", "security": _BEARER,
                  "requestBody": _body(ref, patch_media),
                  "responses": {**_ok(name, "The changed record."),
                                **_errors(*_WRITE_ERRORS, "NotFound", "Gone")}},
        "delete": {"operationId": f"delete{name}{suffix}", "tags": [tag],
                   "summary": "Delete: leaves a Tombstone; later reads answer 410",
                   "security": _BEARER,
                   "responses": {"204": {"description": "Deleted."},
                                 **_errors("Unauthenticated", "Forbidden", "NotFound", "Gone",
                                           "Unprocessable")}},
    }


def _paths() -> dict[str, Any]:
    item_filters = [_ref("parameters", p) for p in
                    ("kind", "theme", "province", "q", "origin", "initiative", "cursor", "limit")]
    return {
        "/api/openapi.json": {"get": {
            "operationId": "getOpenApi", "tags": ["meta"], "summary": "This document",
            "security": [], "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                                  "content": {JSON: {"schema": {"type": "object"}}}}}}},
        "/api/me": {"get": {
            "operationId": "getMe", "tags": ["meta"], "summary": "Who the token belongs to",
            "security": _BEARER,
            "responses": {**_ok("Me", "The token's user."), **_errors("Unauthenticated")}}},
        "/api/themes": {"get": {
            "operationId": "listThemes", "tags": ["meta"], "security": [],
            "summary": "The theme scheme with Dutch and English labels",
            "responses": _ok("ThemeList", "Every theme, each top-level one before its narrower.")}},
        "/api/initiatives": {
            "get": {"operationId": "listInitiatives", "tags": ["initiatives"], "security": [],
                    "summary": "This node's initiatives, by name",
                    "parameters": [_ref("parameters", "limit"), _ref("parameters", "offset")],
                    "responses": {**_ok("InitiativePage", "A page."),
                                  **_errors("Unprocessable")}},
            "post": {"operationId": "createInitiative", "tags": ["initiatives"],
                     "summary": "Create an initiative (an actor with its own keys)",
                     "description": "An editor who creates an initiative may edit it from then on.",
                     "security": _BEARER, "requestBody": _body("InitiativeInput"),
                     "responses": {**_ok("Initiative", "Created; Location names it.", "201"),
                                   **_errors(*_WRITE_ERRORS, "Conflict")}},
        },
        "/api/initiatives/by-id": _record_operations("initiatives", "Initiative",
                                                     "InitiativePatch", by="id"),
        "/api/initiatives/{handle}": _record_operations("initiatives", "Initiative",
                                                        "InitiativePatch", by="handle"),
        "/api/items": {
            "get": {"operationId": "listItems", "tags": ["items"], "security": [],
                    "summary": "Items, local and received from other nodes, newest first",
                    "parameters": item_filters,
                    "responses": {**_ok("ItemPage", "A page; follow `next` for more."),
                                  **_errors("Unprocessable")}},
            "post": {"operationId": "createItem", "tags": ["items"],
                     "summary": "Publish a knowledge item", "security": _BEARER,
                     "requestBody": _body("ItemInput"),
                     "responses": {**_ok("Item", "Created; Location names it.", "201"),
                                   **_errors(*_WRITE_ERRORS, "Gone")}},
        },
        "/api/items/by-id": _record_operations("items", "Item", "ItemPatch", by="id"),
        "/api/items/{local_id}": _record_operations("items", "Item", "ItemPatch", by="local_id"),
        **_federation_paths(),
    }


def _federation_paths() -> dict[str, Any]:
    handle = _ref("parameters", "handle")
    follows = {"operationId": "", "tags": ["federation"], "security": [],
               "responses": {**_ok("FollowList", "Accepted and pending follows."),
                             **_errors("NotFound")}}
    following = {"parameters": [handle], "get": {
        **follows, "operationId": "listFollowing", "summary": "Whom a local actor follows"}}
    followers = {"parameters": [handle], "get": {
        **follows, "operationId": "listFollowers", "summary": "Who follows a local actor"}}
    target = [_query("target", {"type": "string"}, "Handle or actor URL."),
              _query("as", {"type": "string"}, "Local initiative handle (default: the node).")]
    return {
        "/api/follows": {
            "post": {"operationId": "follow", "tags": ["federation"], "security": _BEARER,
                     "summary": "Follow a node, initiative or theme anywhere",
                     "description": "As the node actor (admins) or `as` a local initiative "
                                    "(its editors). 201 when the follow holds at once (same "
                                    "node), 202 while the other side is asked.",
                     "requestBody": _body("FollowInput"),
                     "responses": {**_ok("Follow", "The follow holds.", "201"),
                                   **_ok("Follow", "Asked; the worker delivers it.", "202"),
                                   **_errors(*_WRITE_ERRORS, "NotFound")}},
            "delete": {"operationId": "unfollow", "tags": ["federation"], "security": _BEARER,
                       "summary": "Stop following", "parameters": target,
                       "responses": {"204": {"description": "Not following any more."},
                                     **_errors("Unauthenticated", "Forbidden", "NotFound",
                                               "Unprocessable")}},
        },
        "/api/actors/{handle}/feed": {"parameters": [handle], "get": {
            "operationId": "getFeed", "tags": ["federation"], "security": [],
            "summary": "What the actors this local actor follows published, newest first",
            "parameters": [_ref("parameters", "limit"),
                           _query("max_id", {"type": "integer", "minimum": 1},
                                  "From a previous page's `next`.")],
            "responses": {**_ok("ItemPage", "A page; follow `next` for more."),
                          **_errors("NotFound", "Unprocessable")}}},
        "/api/actors/{handle}/following": following,
        "/api/actors/{handle}/followers": followers,
        "/api/flags": {"get": {
            "operationId": "listFlags", "tags": ["federation"], "security": _BEARER,
            "summary": "Reports (Flag) received from other servers (admins)",
            "responses": {**_ok("FlagList", "Newest first."),
                          **_errors("Unauthenticated", "Forbidden")}}},
        "/api/federation": {"get": {
            "operationId": "getFederationStatus", "tags": ["federation"], "security": _BEARER,
            "summary": "Delivery and inbox queues and peer health (admins)",
            "responses": {**_ok("FederationStatus", "Counts by state and every known peer."),
                          **_errors("Unauthenticated", "Forbidden")}}},
    }


def build_openapi(base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the JSON API of the node at ``base_url``."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Kennisknoop node API",
            "version": API_VERSION,
            "summary": "Initiatives and knowledge items of one Kennisknoop node.",
            "description": (
                "Reads are public; writes need `Authorization: Bearer <token>` (admins may change "
                "everything, editors the initiatives granted to them and their items). Records "
                "are addressed by local name (`/api/items/{local_id}`) or by IRI "
                "(`/api/items/by-id?id=<IRI>`). A deleted record answers 410 `gone`. Every error "
                "body is `{\"error\": <reason>, \"detail\": …}`. Request bodies are JSON objects "
                "(`application/json` or a `+json` type)."),
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": base_url}],
        "tags": [{"name": "items", "description": "Knowledge items: stories, guides, templates, "
                  "questions, answers, bottlenecks, events."},
                 {"name": "initiatives", "description": "Resident initiatives (actors)."},
                 {"name": "federation", "description": "Follows, feeds, reports, queues."},
                 {"name": "meta", "description": "This document, the caller, the themes."}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "responses": _responses(),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "An API token of an admin or editor account."}},
        },
        "security": _BEARER,
    }
