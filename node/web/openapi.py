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
from node.web.openapi_common import (
    _BEARER,
    _ERRORS,
    _WRITE_ERRORS,
    JSON,
    _body,
    _enum,
    _errors,
    _inline,
    _nullable,
    _ok,
    _query,
    _ref,
    _responses,
    _schema,
    _theme_ids,
)
from node.web.openapi_federation import federation_paths, feed_paths
from node.web.openapi_map import bridge_paths, map_paths
from node.web.questions_api import SimilarQuestions
from node.web.search import SearchAnswer
from protocol import themes

API_VERSION = "1.0.0"


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
        **federation_paths(),
        **map_paths(),
        **bridge_paths(),
        **feed_paths(),
        **bottleneck_paths(_WRITE_ERRORS, {name: status for name, (status, _) in _ERRORS.items()}),
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
