"""The OpenAPI 3.1 description of the JSON API (``GET /api/openapi.json``), built as data.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1 §4.8.24). The request body schemas are generated
from the input models that validate them (``node.services.schemas``), so the document can never
disagree with validation; this module holds the paths, and the served records' schemas built on
the input ones. Every route in ``node/web/api.py`` has a path item here and vice versa (a test
checks both ways).
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from node.services.inputs import KIND_MODELS
from node.services.schemas import REF_TEMPLATE, input_schemas
from node.services.search import ORIGINS, TYPES
from node.web.openapi_bottlenecks import (
    bottleneck_parameters,
    bottleneck_paths,
    bottleneck_schemas,
)
from node.web.questions_api import SimilarQuestions
from node.web.search import SearchAnswer
from protocol import themes

JSON = "application/json"
API_VERSION = "1.0.0"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _schema(name: str) -> dict[str, str]:
    return _ref("schemas", name)


def _enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _theme_ids() -> list[str]:
    return [t.id for t in themes.all_themes()]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or ``null`` (a field a record may lack)."""
    if "anyOf" in schema and {"type": "null"} in schema["anyOf"]:
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


_SERVER_FIELDS: dict[str, Any] = {
    "version": {"type": "integer", "minimum": 1, "description": "Grows by one on every change."},
    "published": {"type": "string", "format": "date-time"},
    "updated": {"type": "string", "format": "date-time"},
    "origin": {"type": "string", "description": "Host of the node the record comes from."},
    "local": {"type": "boolean", "description": "Whether it originates on this node."},
    "deleted": {"type": "boolean"},
}


def _item(inputs: dict[str, Any]) -> dict[str, Any]:
    """A served item: the fields of every kind's input (each may be null), and the server's."""
    fields: dict[str, Any] = {}
    for model in KIND_MODELS.values():
        for name, schema in inputs[model.__name__]["properties"].items():
            fields.setdefault(name, _nullable(schema))
    fields.pop("kind")
    nullable_text = {"type": ["string", "null"]}
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
            "themes": {"type": "array", "items": _enum(_theme_ids())},
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
            "endorsements": _schema("Tally"),
            "attachments": {"type": "array", "items": _schema("AttachmentInput")},
            **_SERVER_FIELDS,
        },
    }


def _initiative(inputs: dict[str, Any]) -> dict[str, Any]:
    """A served initiative: its input fields (each may be null), and the server's."""
    fields = {n: _nullable(s) for n, s in inputs["InitiativeInput"]["properties"].items()
              if n != "handle"}
    return {
        "type": "object",
        "required": ["id", "handle", "acct", *fields, *_SERVER_FIELDS],
        "properties": {
            "id": {"type": "string", "format": "uri", "description": "The actor IRI."},
            "handle": {"type": ["string", "null"]},
            "acct": {"type": "string", "description": "handle@host (WebFinger)."},
            **fields,
            "description_html": {"type": ["string", "null"]},
            **_SERVER_FIELDS,
        },
    }


def _search_schemas() -> dict[str, Any]:
    _, top = models_json_schema([(SearchAnswer, "serialization"),
                                 (SimilarQuestions, "serialization")],
                                ref_template=REF_TEMPLATE)
    return dict(top["$defs"])


def _schemas() -> dict[str, Any]:
    inputs = input_schemas()
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
        **inputs,
        **_search_schemas(),
        "Initiative": _initiative(inputs),
        "InitiativePage": {"type": "object", "required": ["initiatives", "next"], "properties": {
            "initiatives": {"type": "array", "items": _schema("Initiative")}, "next": page}},
        "DirectoryEntry": {"allOf": [_schema("Initiative"), {
            "type": "object", "required": ["province", "last_confirmed", "stale"],
            "properties": {
                "province": {"type": ["string", "null"], "description": "CBS province code: "
                             "the place's, else the one the profile names, else its node's."},
                "last_confirmed": {"type": "string", "format": "date", "description":
                                   "The later of the profile's last_confirmed and the day it "
                                   "was last edited."},
                "stale": {"type": "boolean",
                          "description": "Not confirmed for over a year."}}}]},
        "DirectoryPage": {"type": "object", "required": ["initiatives", "next"], "properties": {
            "initiatives": {"type": "array", "items": _schema("DirectoryEntry")}, "next": page}},
        "Item": _item(inputs),
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
        **bottleneck_schemas(),
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
                             "value (missing_field, unknown_field, immutable_field, "
                             "field_not_for_kind, bad_type, bad_value, bad_date, unknown_theme, "
                             "bad_coordinates, html_not_allowed, too_long, …). The body names "
                             "the first problem found, an unknown or immutable field first; "
                             "`field` is dotted for nested values."),
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
        "directory_origin": _query("origin", _enum(("all", "local", "remote")),
                                   "`all` (default): this node's and those received from the "
                                   "nodes it follows; `local`; `remote`."),
        "directory_theme": _query("theme", _enum(_theme_ids()),
                                  "Only initiatives with this theme or a narrower one."),
        "legal_form": _query("legal_form", _enum(themes.LEGAL_FORMS), "Only this legal form."),
        "phase": _query("phase", _enum(themes.PHASES), "Only this phase."),
        "status": _query("status", _enum(themes.STATUSES), "Only this status."),
        "stale": _query("stale", _enum(("true", "false")),
                        "`true`: only profiles not confirmed for over a year."),
        **_search_parameters(),
        **bottleneck_parameters(),
        "question_category": _query("category", _enum(themes.QUESTION_CATEGORIES),
                                    "Kind of question: content, organisational or ethical."),
        "question_state": _query("state", _enum(("open", "has_answers", "answered")),
                                 "How far it is answered."),
    }


_SEARCH_REFS = ("search_q", "search_type", "kind", "theme", "province", "search_legal_form",
                "search_phase", "search_status", "search_origin", "search_near",
                "search_within_km", "limit", "search_offset")


def _search_parameters() -> dict[str, Any]:
    """Parameters of /api/search that the item list does not share (named ``search_*``)."""
    return {
        "search_q": _query("q", {"type": "string", "maxLength": 200},
                           "Words (all, else any), \"a phrase\", -excluded; at most 32 terms."),
        "search_type": _query("type", _enum(TYPES), "Only items or only initiatives."),
        "search_legal_form": _query("legal_form", _enum(themes.LEGAL_FORMS),
                                    "Initiatives of this legal form."),
        "search_phase": _query("phase", _enum(themes.PHASES), "Initiatives in this phase."),
        "search_status": _query("status", _enum(themes.STATUSES),
                                "Initiatives with this status."),
        "search_origin": _query("origin", _enum(ORIGINS), "Held here, received, or both "
                                "(default all)."),
        "search_near": _query("near", {"type": "string", "pattern": r"^-?[0-9.]+,-?[0-9.]+$"},
                              "LAT,LON: only what lies within `within_km` (default 25)."),
        "search_within_km": _query("within_km", {"type": "number", "exclusiveMinimum": 0,
                                                 "maximum": 500}, "Radius around `near`."),
        "search_offset": _query("offset", {"type": "integer", "minimum": 0, "maximum": 1000},
                                "Results to skip (from `next`)."),
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
                    ("kind", "theme", "province", "q", "origin", "initiative",
                     "bottleneck_status", "regulation_area", "cursor", "limit")]
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
                    "summary": "The directory: this node's initiatives and those of the nodes "
                               "it follows, by name",
                    "parameters": [_ref("parameters", p) for p in (
                        "directory_origin", "directory_theme", "province", "legal_form",
                        "phase", "status", "stale", "limit", "offset")],
                    "responses": {**_ok("DirectoryPage", "A page."),
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
        "/api/attachments": {"post": {
            "operationId": "uploadAttachment", "tags": ["items"], "security": _BEARER,
            "summary": "Upload a file an item can then name as attachment `url`",
            "description": "PDF, ODT, DOCX, XLSX, PNG, JPEG, GIF or WebP, judged by content "
                           "(not name or Content-Type); at most `uploads.max_bytes`. Stored once "
                           "per content under its SHA-256, served at `/bestanden/<sha256>`.",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "contentMediaType":
                                        "application/octet-stream"}}}}}},
            "responses": {"201": {"description": "Stored; Location is the file's URL.",
                                  "content": {JSON: {"schema": {
                                      "type": "object",
                                      "required": ["url", "mediaType", "digestMultibase", "size"],
                                      "properties": {
                                          "url": {"type": "string", "format": "uri"},
                                          "mediaType": {"type": "string"},
                                          "name": {"type": ["string", "null"]},
                                          "digestMultibase": {"type": "string"},
                                          "size": {"type": "integer"}}}}}},
                          **_errors(*_WRITE_ERRORS)}}},
        "/api/search": {"get": {
            "operationId": "search", "tags": ["search"], "security": [],
            "summary": "Search items and initiatives, local and received, in Dutch",
            "description": "Words: all of them, else any (`match` says which); `\"a phrase\"`; "
                           "`-word` excludes. Stemmed, stopwords ignored, diacritics folded; a "
                           "word also finds compounds containing it, ranked lower. Facet counts "
                           "cover the whole result set.",
            "parameters": [_ref("parameters", p) for p in _SEARCH_REFS],
            "responses": {**_ok("SearchAnswer", "A page of results with total and facets."),
                          **_errors("Unprocessable")}}},
        "/api/questions": {"get": {
            "operationId": "listQuestions", "tags": ["items"], "security": [],
            "summary": "Questions, own and received: the least answered and oldest first",
            "description": "As the page /vragen lists them: `open` (no answer) first, then "
                           "`has_answers`, then `answered` (an accepted answer); within each, "
                           "the oldest first. Each with its answers, the accepted one first.",
            "parameters": [
                _ref("parameters", "theme"), _ref("parameters", "province"),
                _ref("parameters", "question_category"), _ref("parameters", "question_state"),
                _ref("parameters", "limit"), _ref("parameters", "offset")],
            "responses": {**_inline({
                "type": "object", "required": ["questions", "total", "next"], "properties": {
                    "questions": {"type": "array", "items": {
                        "type": "object",
                        "required": ["question", "state", "answer_count", "answers"],
                        "properties": {
                            "question": _schema("Item"),
                            "state": _enum(("open", "has_answers", "answered")),
                            "answer_count": {"type": "integer", "minimum": 0},
                            "answers": {"type": "array", "items": _schema("Item"),
                                        "description": "The accepted answer first, then the "
                                                       "others, oldest first."}}}},
                    "total": {"type": "integer", "minimum": 0},
                    "next": {"type": ["string", "null"], "format": "uri"}}},
                "A page; follow `next` for more."), **_errors("Unprocessable")}}},
        "/api/questions/similar": {"get": {
            "operationId": "similarQuestions", "tags": ["items"], "security": [],
            "summary": "Answered questions like a text being typed (the question form's check)",
            "description": "Questions this node holds, its own and received, that have answers "
                           "and share words with `q` (Dutch stemming, compounds, as /api/search; "
                           "any of the words, best matches only). Answered ones (with an "
                           "accepted answer) first, then by relevance; each with its accepted "
                           "answer, else its first, before the others.",
            "parameters": [
                {**_query("q", {"type": "string", "maxLength": 2000},
                          "The question as typed: title, then text."), "required": True},
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 20},
                       "At most this many questions (default 5).")],
            "responses": {**_ok("SimilarQuestions", "The similar answered questions."),
                          **_errors("Unprocessable")}}},
        "/api/items/by-id": _record_operations("items", "Item", "ItemPatch", by="id"),
        "/api/items/{local_id}": _record_operations("items", "Item", "ItemPatch", by="local_id"),
        **_federation_paths(),
        **_map_paths(),
        **_bridge_paths(),
        **_feed_paths(),
        **bottleneck_paths(_WRITE_ERRORS, {name: status for name, (status, _) in _ERRORS.items()}),
    }


def _feed_paths() -> dict[str, Any]:
    """Inbound feed subscriptions (docs/bridges.md)."""
    subscription = {"type": "object", "required": ["id", "url", "as", "kind", "state"],
                    "properties": {
                        "id": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                        "as": {"type": "string"}, "actor": {"type": "string", "format": "uri"},
                        "kind": {"type": "string"}, "themes": {"type": "array",
                                                               "items": {"type": "string"}},
                        "state": _enum(("ok", "failing")),
                        "failures": {"type": "integer", "description": "Failed fetches in a "
                                     "row (retried with back-off)."},
                        "last_error": {"type": ["string", "null"]},
                        "last_fetched": {"type": ["string", "null"], "format": "date-time"},
                        "next_fetch": {"type": "string", "format": "date-time"},
                        "entries": {"type": "integer", "description": "Entries seen so far."}}}
    one = {"description": "The subscription.",
           "content": {JSON: {"schema": subscription}}}
    listed = {"description": "Every subscription, with its fetch state.", "content": {JSON: {
        "schema": {"type": "object", "required": ["feeds"], "properties": {
            "feeds": {"type": "array", "items": subscription}}}}}}
    return {
        "/api/feeds": {
            "get": {"operationId": "listFeeds", "tags": ["feeds"], "security": [],
                    "summary": "Feed subscriptions and how their fetches go",
                    "responses": {"200": listed}},
            "post": {"operationId": "subscribeFeed", "tags": ["feeds"], "security": _BEARER,
                     "summary": "Subscribe an initiative to an RSS or Atom feed",
                     "description": "The worker fetches it at once, then every "
                                    "`feeds.poll_seconds`; each new entry becomes an item by "
                                    "the initiative, linking to the original.",
                     "requestBody": _body("FeedInput"),
                     "responses": {"201": one, **_errors(*_WRITE_ERRORS, "NotFound")}}},
        "/api/feeds/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "delete": {"operationId": "unsubscribeFeed", "tags": ["feeds"], "security": _BEARER,
                       "summary": "Stop fetching a feed (its items stay)",
                       "responses": {"204": {"description": "Unsubscribed."},
                                     **_errors("Unauthenticated", "Forbidden", "NotFound")}}},
    }


def _bridge_paths() -> dict[str, Any]:
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


def _map_paths() -> dict[str, Any]:
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
        "/api/admin/blocks": _block_paths(),
        "/api/admin/hidden": _hidden_paths(),
        **_follow_request_paths(),
        "/api/aggregator/suggestions": {"get": {
            "operationId": "listAggregatorSuggestions", "tags": ["federation"],
            "security": _BEARER,
            "summary": "Nodes followed by the nodes this node follows, not followed yet (admins)",
            "description": "Offered, never followed on their own: follow one with "
                           "POST /api/follows.",
            "responses": {**_inline({"type": "object", "required": ["suggestions"],
                                     "properties": {"suggestions": {"type": "array", "items": {
                                         "type": "object",
                                         "required": ["actor", "name", "host", "followed_by"],
                                         "properties": {
                                             "actor": {"type": "string", "format": "uri"},
                                             "name": {"type": ["string", "null"]},
                                             "host": {"type": "string"},
                                             "followed_by": {"type": "array", "items": {
                                                 "type": "string", "format": "uri"}}}}}}},
                                    "Node actors, in the order they were found."),
                          **_errors("Unauthenticated", "Forbidden")}}},
    }


def _inline(schema: dict[str, Any], description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}


def _block_paths() -> dict[str, Any]:
    """Run-time host blocks (``kennisknoop block``): small inline schemas, admins only."""
    host = {"type": "string", "maxLength": 255, "description": "A host name, e.g. evil.example."}
    block = {"type": "object", "required": ["host", "created_at"], "properties": {
        "host": host, "created_at": {"type": "string", "format": "date-time"},
        "reason": {"type": ["string", "null"]}}}
    listing = {"type": "object", "required": ["mode", "blocks"], "properties": {
        "mode": {"enum": ["open", "allowlist"]},
        "configured_block": {"type": "array", "items": {"type": "string"}},
        "allow": {"type": "array", "items": {"type": "string"}},
        "blocks": {"type": "array", "items": block}}}
    body = {"type": "object", "required": ["host"], "additionalProperties": False, "properties": {
        "host": host, "purge": {"type": "boolean", "default": False,
                                "description": "Also delete what is stored from the host."},
        "reason": {"type": "string", "maxLength": 1000}}}
    added = {"type": "object", "required": ["host", "purged"], "properties": {
        "host": host, "purged": {"type": "integer", "minimum": 0}}}
    tags, errors = ["federation"], ("Unauthenticated", "Forbidden")
    return {
        "get": {"operationId": "listBlocks", "tags": tags, "security": _BEARER,
                "summary": "The federation policy: mode, configured and run-time blocks (admins)",
                "responses": {**_inline(listing, "Run-time blocks, host order."),
                              **_errors(*errors)}},
        "post": {"operationId": "blockHost", "tags": tags, "security": _BEARER,
                 "summary": "Block a host (and its subdomains) at once (admins)",
                 "description": "Nothing more is fetched from or sent to it; what is stored "
                                "from it is hidden until it is unblocked, or deleted with "
                                "`purge`. 201 when newly blocked, 200 when it was already.",
                 "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                 "responses": {**_inline(added, "Newly blocked.", "201"),
                               **_inline(added, "Was blocked already.", "200"),
                               **_errors(*_WRITE_ERRORS)}},
        "delete": {"operationId": "unblockHost", "tags": tags, "security": _BEARER,
                   "summary": "Lift a run-time block (admins)",
                   "parameters": [{**_query("host", host, "The blocked host."),
                                   "required": True}],
                   "responses": {"204": {"description": "Unblocked; its content shows again."},
                                 **_errors(*errors, "NotFound", "Unprocessable")}},
    }


def _hidden_paths() -> dict[str, Any]:
    """Received items hidden on this node (node.services.hiding): admins only."""
    iri = {"type": "string", "format": "uri", "maxLength": 2048,
           "description": "The IRI of a received item."}
    hidden = {"allOf": [_schema("Item"), {"type": "object",
                                           "required": ["hidden_at", "hidden_by"], "properties": {
                                               "hidden_at": {"type": "string",
                                                             "format": "date-time"},
                                               "hidden_by": {"type": ["string", "null"]}}}]}
    listing = {"type": "object", "required": ["items"],
               "properties": {"items": {"type": "array", "items": hidden}}}
    body = {"type": "object", "required": ["item"], "additionalProperties": False,
            "properties": {"item": iri}}
    tags, errors = ["federation"], ("Unauthenticated", "Forbidden")
    return {
        "get": {"operationId": "listHiddenItems", "tags": tags, "security": _BEARER,
                "summary": "Received items an admin hid on this node (admins)",
                "responses": {**_inline(listing, "Most recently hidden first."),
                              **_errors(*errors)}},
        "post": {"operationId": "hideItem", "tags": tags, "security": _BEARER,
                 "summary": "Hide a received item on this node (admins)",
                 "description": "It disappears from every list, search, feed, the map, the "
                                "statistics and this node's outboxes, and its page answers 404 "
                                "to anyone but an admin. An Update from its origin does not "
                                "show it again; a Delete still deletes it. An item of this node "
                                "itself is refused (422 `local_item`): edit or delete it. 201 "
                                "when newly hidden, 200 when it was already.",
                 "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                 "responses": {**_inline(hidden, "Newly hidden.", "201"),
                               **_inline(hidden, "Was hidden already.", "200"),
                               **_errors(*_WRITE_ERRORS, "NotFound")}},
        "delete": {"operationId": "showItem", "tags": tags, "security": _BEARER,
                   "summary": "Show a hidden item again (admins)",
                   "parameters": [{**_query("item", iri, "The hidden item."), "required": True}],
                   "responses": {"204": {"description": "Shown again, everywhere."},
                                 **_errors(*errors, "NotFound", "Unprocessable")}},
    }


def _follow_request_paths() -> dict[str, Any]:
    """Follow requests waiting for an actor that approves followers by hand."""
    row = {"type": "object", "required": ["id", "follower", "followee", "state", "created_at"],
           "properties": {"id": {"type": "integer"},
                          "follower": {"type": "string", "format": "uri"},
                          "followee": {"type": "string", "format": "uri"},
                          "state": {"enum": ["pending", "accepted", "rejected"]},
                          "created_at": {"type": "string", "format": "date-time"}}}
    listing = {"type": "object", "required": ["requests"],
               "properties": {"requests": {"type": "array", "items": row}}}
    body = {"type": "object", "required": ["answer"], "additionalProperties": False,
            "properties": {"answer": {"enum": ["accept", "reject"]}}}
    tags = ["federation"]
    return {
        "/api/follow-requests": {"get": {
            "operationId": "listFollowRequests", "tags": tags, "security": _BEARER,
            "summary": "Follow requests waiting for an answer, oldest first",
            "description": "For an admin those of every local actor, for an editor those of the "
                           "initiatives granted to them. A request waits when the followed "
                           "actor approves followers by hand (`manuallyApprovesFollowers`).",
            "responses": {**_inline(listing, "Oldest first."),
                          **_errors("Unauthenticated")}}},
        "/api/follow-requests/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1}}],
            "post": {"operationId": "answerFollowRequest", "tags": tags, "security": _BEARER,
                     "summary": "Accept or reject a waiting follow request",
                     "description": "`accept` adds the follower and sends `Accept`; `reject` "
                                    "forgets the request and sends `Reject`. 404 when it is "
                                    "not waiting (answered, or withdrawn by an Undo).",
                     "requestBody": {"required": True, "content": {JSON: {"schema": body}}},
                     "responses": {**_inline(row, "Answered."),
                                   **_errors(*_WRITE_ERRORS, "NotFound")}}},
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
                 {"name": "search", "description": "Dutch search over items and initiatives."},
                 {"name": "federation", "description": "Follows, feeds, reports, queues."},
                 {"name": "map", "description": "Initiatives and upcoming events as GeoJSON."},
                 {"name": "feeds", "description": "RSS and Atom feeds whose entries become "
                  "items of an initiative."},
                 {"name": "bottlenecks", "description": "Endorsing bottlenecks; the agenda "
                  "that ranks them."},
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
