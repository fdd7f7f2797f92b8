"""Validation of JSON API input: a parsed JSON value to the models of ``inputs.py``, or raise.

This is the one place where pydantic's errors become ours: every failure is a ``ValidationError``
(422) with a stable ``reason`` and the offending ``field`` (dotted for nested values:
``place.latitude``, ``attachments[0].url``), and it lists every failure found (``errors``) for
the HTML forms; a body that is not a JSON object at all is a ``BadRequestError`` (400,
``bad_json``). The field rules themselves live in ``inputs.py`` and ``fieldtypes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

import pydantic
from pydantic_core import ErrorDetails, PydanticCustomError

from node.services import fieldtypes
from node.services.errors import BadRequestError, FieldError, ValidationError
from node.services.inputs import (
    ITEM_ADAPTER,
    ITEM_FIELDS,
    AcceptInput,
    EndorsementInput,
    EndorsementWithdrawal,
    FeedInput,
    FollowInput,
    InitiativeInput,
    InitiativePatch,
    InputModel,
    ItemInput,
    ItemPatch,
    Patch,
    PatchModel,
    PlaceInput,
)
from protocol import themes

RESERVED_HANDLES = fieldtypes.RESERVED_HANDLES
MAX_URL = fieldtypes.MAX_URL

# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) → ours.
# Our own checks raise PydanticCustomError whose type already is our reason code.
_REASONS: Mapping[str, str] = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "too_long": "too_long",
    "greater_than_equal": "bad_value",
    "less_than_equal": "bad_value",
    "literal_error": "bad_value",
    "timezone_aware": "bad_date",
}
_MESSAGES: Mapping[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
}
_CUSTOM = frozenset({"bad_value", "bad_type", "bad_date", "bad_coordinates", "too_long",
                     "html_not_allowed", "unknown_theme", "missing_field", "field_not_for_kind"})


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _one(error: ErrorDetails, model: type[pydantic.BaseModel] | None, tagged: bool,
         prefix: tuple[str, ...]) -> FieldError:
    """One pydantic error as our reason, field and detail."""
    kind, ctx = error["type"], error.get("ctx") or {}
    loc = error["loc"][1:] if tagged and error["loc"] else error["loc"]
    if kind.startswith("union_tag"):
        loc = ("kind",)
    if ctx.get("field"):
        loc = (*loc, ctx["field"])
    loc = (*prefix, *loc)
    field = _path(loc) or "body"
    if kind in _CUSTOM:
        reason, message = kind, error["msg"]
    elif kind == "union_tag_invalid" and ctx.get("tag") not in (None, "None"):
        reason, message = "bad_value", "must be one of " + ", ".join(sorted(themes.ITEM_KINDS))
    elif kind.startswith("union_tag") or (kind.endswith("_type") and error["input"] is None):
        reason, message = "missing_field", "is required"
    elif kind.endswith("_type"):
        reason, message = "bad_type", _MESSAGES.get(kind, error["msg"])
    else:
        reason = _REASONS.get(kind, "bad_value")
        message = _MESSAGES.get(kind, error["msg"])
        if kind in ("string_too_long", "too_long"):
            unit = "characters" if kind == "string_too_long" else "entries"
            message = f"at most {ctx.get('max_length')} {unit}"
        elif kind in ("greater_than_equal", "less_than_equal"):
            message = "is out of range"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        if name in getattr(model, "immutable", ()):
            reason, message = "immutable_field", "cannot be changed"
        elif tagged and len(loc) == 1 and name in ITEM_FIELDS:
            reason, message = "field_not_for_kind", f"does not apply to a {error['loc'][0]}"
    return FieldError(reason, field, f"{field}: {message}")


def to_validation_error(exc: pydantic.ValidationError, model: type[pydantic.BaseModel] | None,
                        *, tagged: bool = False, prefix: tuple[str, ...] = ()) -> ValidationError:
    """Our 422 for a pydantic failure: the first problem, unknown fields first; all in ``errors``.

    ``tagged``: the model was a union told apart by ``kind`` (whose tag leads every location).
    """
    errors = [_one(error, model, tagged, prefix) for error in exc.errors()]
    errors.sort(key=lambda e: e.reason not in ("unknown_field", "immutable_field"))
    first = errors[0]
    return ValidationError(first.reason, first.detail, field=first.field, errors=errors)


def _custom_error(exc: PydanticCustomError, field: str) -> ValidationError:
    context = exc.context or {}
    name = _path((field, context["field"])) if context.get("field") else field
    error = FieldError(exc.type, name, f"{name}: {exc.message()}")
    return ValidationError(error.reason, error.detail, field=name, errors=[error])


def _body(raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise BadRequestError("bad_json", "the body must be a JSON object")
    return raw


M = TypeVar("M", bound=InputModel)


def _validate(model: type[M], raw: object, context: dict[str, Any] | None = None) -> M:
    try:
        return model.model_validate(_body(raw), context=context)
    except pydantic.ValidationError as exc:
        raise to_validation_error(exc, model) from None


def _context(today: date | None) -> dict[str, Any] | None:
    return None if today is None else {"today": today}


def parse_initiative(raw: object, *, today: date | None = None) -> InitiativeInput:
    """Validate the body that creates an initiative (only ``handle`` and ``name`` required)."""
    return _validate(InitiativeInput, raw, _context(today))


def _changes(patch: PatchModel, kind: str) -> Patch:
    try:
        return Patch(patch.changes(kind))
    except PydanticCustomError as exc:
        raise _custom_error(exc, "") from None


def parse_initiative_patch(raw: object, *, today: date | None = None) -> Patch:
    """Validate a partial update of an initiative; ``handle`` cannot change."""
    return _changes(_validate(InitiativePatch, raw, _context(today)), "")


def parse_item(raw: object) -> ItemInput:
    """Validate the body that creates a knowledge item of any kind."""
    try:
        return ITEM_ADAPTER.validate_python(_body(raw))
    except pydantic.ValidationError as exc:
        raise to_validation_error(exc, None, tagged=True) from None


def parse_item_patch(raw: object, kind: str) -> Patch:
    """Validate a partial update of an item of ``kind`` (the stored item's kind).

    ``end_time`` is checked against ``start_time`` only when both are in the patch; the caller
    checks the merged result against the stored values.
    """
    if kind not in themes.ITEM_KINDS:
        raise ValueError(f"not an item kind: {kind!r}")
    return _changes(_validate(ItemPatch, raw), kind)


def parse_follow(raw: object) -> FollowInput:
    """Validate a follow request (``target``, optional ``as``)."""
    return _validate(FollowInput, raw)


def parse_endorsement(raw: object) -> EndorsementInput:
    """Validate an endorsement (``item``, ``as``, optional ``note``)."""
    return _validate(EndorsementInput, raw)


def parse_withdrawal(raw: object) -> EndorsementWithdrawal:
    """Validate the withdrawal of an endorsement (``item``, ``as``)."""
    return _validate(EndorsementWithdrawal, raw)


def parse_feed(raw: object) -> FeedInput:
    """Validate a feed subscription (``url``, ``as``, optional ``kind`` and ``themes``)."""
    return _validate(FeedInput, raw)


def parse_accept(raw: object) -> AcceptInput:
    """Validate an import file's accept row (``question`` and ``answer``, each ``ref:<name>``)."""
    return _validate(AcceptInput, raw)


def parse_place(raw: object, field: str) -> PlaceInput:
    """A place: name, CBS codes, and coordinates rounded to village precision unless ``exact``."""
    try:
        return PlaceInput.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise to_validation_error(exc, PlaceInput, prefix=(field,)) from None


def parse_handle(value: object, field: str) -> str:
    """An actor handle: 3–40 of ``a-z 0-9 -``, no hyphen at either end, not a reserved word."""
    try:
        return fieldtypes.parse_handle(value)  # type: ignore[arg-type]
    except PydanticCustomError as exc:
        raise _custom_error(exc, field) from None


def parse_http_url(value: object, field: str) -> str:
    """An absolute http(s) URL or IRI: no whitespace, no user name or password in it."""
    try:
        return fieldtypes.parse_http_url(value)  # type: ignore[arg-type]
    except PydanticCustomError as exc:
        raise _custom_error(exc, field) from None
