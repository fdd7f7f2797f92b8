"""The building blocks the OpenAPI modules share: references, the error responses, the query
parameter, request and response shapes (``node.web.openapi`` and its ``openapi_*`` parts).

Their names keep the leading underscore: they are for the ``node.web.openapi*`` modules only.
"""

from __future__ import annotations

from typing import Any

from protocol import themes

JSON = "application/json"


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


_BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
_WRITE_ERRORS = ("BadRequest", "Unauthenticated", "Forbidden", "TooLarge",
                 "UnsupportedMediaType", "Unprocessable")


def _body(schema: str, media: tuple[str, ...] = (JSON,)) -> dict[str, Any]:
    return {"required": True, "content": {m: {"schema": _schema(schema)} for m in media}}


def _inline(schema: dict[str, Any], description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {JSON: {"schema": schema}}}}
