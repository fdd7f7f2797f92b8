"""HTML forms: reading a posted form, and the item form's mapping to and from the JSON API shape.

A form arrives as ``application/x-www-form-urlencoded`` within the node's body limit, or (the
item form, which can carry an attachment) as ``multipart/form-data`` within ``uploads.max_bytes``.
``item_raw`` turns the item form into the dict that
``node.services.validation.parse_item`` / ``parse_item_patch`` validate, so the forms and the
JSON API share one set of rules (the input models); the form marks as required what the kind's
model requires, and shows a Dutch message for every field that failed. Dates and times are
entered as Dutch wall-clock time (``<input type="datetime-local">``) and given the offset the
Netherlands has at that moment.

The place fieldset (``_place.html``) is shared by the item and initiative forms: a village name,
coordinates, or both (``place_raw``); a name without coordinates gets those of the place of that
name the node knows (``with_known_place``), so a form stores the same ``place`` the API would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from markupsafe import Markup
from starlette.datastructures import UploadFile
from starlette.requests import Request

from node.services import geo
from node.services.content import render_markdown
from node.services.context import NodeContext
from node.services.errors import BadRequestError, ValidationError
from node.services.inputs import KIND_MODELS, kind_fields
from node.services.localtime import from_dutch_local, to_dutch_local
from node.services.records import StoredObject
from node.web import strings
from node.web.common import ctx_of, read_body

FORM_KINDS = ("story", "guide", "template", "question", "bottleneck", "event")
_NOT_IN_FORM = frozenset({"attachments", "accepted_answer"})  # no uploads, no JavaScript
# The fields of each kind's model that the form shows beside the common ones.
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    kind: names for kind in FORM_KINDS
    if (names := tuple(n for n, _ in kind_fields(kind) if n not in _NOT_IN_FORM))}
# The kinds whose items carry attachments: their forms have the upload field.
UPLOAD_KINDS = frozenset(kind for kind in FORM_KINDS if "attachments" in KIND_MODELS[kind].model_fields)
_TEXT_FIELDS = ("title", "summary", "content", "license", "language")
_CHECKBOXES = ("online",)  # a ticked box is true, an unticked one false
POST_ANYWAY = "toch_plaatsen"  # a new question is posted although similar ones were shown
_TIMES = ("start_time", "end_time")
_MAX_FIELDS = 200
MULTIPART_OVERHEAD = 64 * 1024  # field values and boundaries around an uploaded file
UPLOAD_FIELD = "bijlage"
PREVIEW = "voorbeeld"  # the name of the "Voorbeeld bekijken" submit button
# The place fieldset: form field → field of the API's ``place``.
PLACE = {"place_name": "name", "latitude": "latitude", "longitude": "longitude",
         "province_code": "province_code"}
PLACE_DEFAULTS: dict[str, Any] = {**{name: "" for name in PLACE}, "exact": False}
# A failed field of the API body → the form field that shows it.
_PLACE_ERRORS = {f"place.{api}": form for form, api in PLACE.items()} | {
    "place": "place_name", "place.municipality_code": "place_name", "place.exact": "exact"}
DEFAULTS: dict[str, Any] = {
    **PLACE_DEFAULTS, "kind": "story", "title": "", "summary": "", "content": "", "themes": [],
    "initiative": "",
    "question_category": "content", "start_time": "", "end_time": "", "regulation": "",
    "bottleneck_status": "open", "regulation_area": "", "bottleneck_outcome": "",
    "license": "CC-BY-4.0", "language": "nl", "online": False,
}


@dataclass(frozen=True)
class Form:
    """A posted form: every value of every field, as sent."""

    fields: dict[str, list[str]]
    files: dict[str, tuple[bytes, str | None]] = field(default_factory=dict)  # name: (data, file name)

    def get(self, name: str) -> str:
        values = self.fields.get(name)
        return values[0] if values else ""

    def getlist(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))


async def read_form(request: Request) -> Form:
    """The urlencoded body of a POST (413 past the body limit).

    Any other body counts as an empty form: it has no CSRF token, so the caller refuses it
    with 403 (a cross-site ``text/plain`` POST is exactly what that check is for).
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return await _read_multipart(request)
    if media != "application/x-www-form-urlencoded":
        return Form({})
    body = await read_body(request)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=_MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError("bad_form", "the form is not valid UTF-8 urlencoded data") from exc
    return Form(fields)


async def _read_multipart(request: Request) -> Form:
    limit = ctx_of(request).settings.uploads.max_bytes + MULTIPART_OVERHEAD
    request._body = await read_body(request, limit)  # Starlette parses the body read here
    try:
        parsed = await request.form(max_files=1, max_fields=_MAX_FIELDS)
    except Exception as exc:  # python-multipart's errors: a malformed body
        raise BadRequestError("bad_form", "the multipart body could not be read") from exc
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[bytes, str | None]] = {}
    for name, value in parsed.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            if data:
                files[name] = (data, value.filename)
        else:
            fields.setdefault(name, []).append(value)
    return Form(fields, files)


def preview_of(form: Form, name: str) -> Markup | None:
    """The Markdown field ``name`` rendered and sanitised as the item page shows it, when the
    form was sent with the "Voorbeeld bekijken" button; None for any other submit."""
    if not form.get(PREVIEW):
        return None
    return Markup(render_markdown(form.get(name)))  # render_markdown sanitises (nh3)


# --- the place fieldset, shared by the item and initiative forms --------------------------------


def _number(value: str) -> float | str:
    """A typed coordinate (a Dutch decimal comma too); what is no number goes on, to be refused."""
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value


def place_raw(form: Form) -> dict[str, Any] | None:
    """The place fieldset as the API's ``place`` (None when left blank)."""
    values = {api: form.get(name).strip() for name, api in PLACE.items()}
    if not any(values.values()):
        return None
    place: dict[str, Any] = {k: v for k, v in values.items() if v}
    for name in ("latitude", "longitude"):
        if name in place:
            place[name] = _number(place[name])
    if form.get("exact"):
        place["exact"] = True
    return place


async def with_known_place(ctx: NodeContext, raw: dict[str, Any]) -> dict[str, Any]:
    """A place typed as a name only gets the coordinates of the known place of that name."""
    place = raw.get("place")
    if not place or "name" not in place or "latitude" in place or "longitude" in place:
        return raw
    found = await geo.locate(ctx, place["name"])
    if found is None:
        return raw  # kept as a name only: valid, just not on the map
    place = {**place, "name": found.name, "latitude": found.latitude,
             "longitude": found.longitude}
    if found.province_code and "province_code" not in place:
        place["province_code"] = found.province_code
    return {**raw, "place": place}


def place_values(stored: object) -> dict[str, Any]:
    """The place fieldset's values of a stored ``place``."""
    place: dict[str, Any] = stored if isinstance(stored, dict) else {}
    values: dict[str, Any] = {name: "" if place.get(api) is None else str(place.get(api))
                              for name, api in PLACE.items()}
    values["exact"] = bool(place.get("exact"))
    return values


def error_field(path: str) -> str:
    """The form field that shows the failure of the API body's ``path`` (``themes[2]`` →
    ``themes``, ``place.latitude`` → ``latitude``)."""
    return _PLACE_ERRORS.get(path) or path.split("[", 1)[0].split(".", 1)[0]


# --- the item form -----------------------------------------------------------------------------


def item_raw(form: Form, kind: str | None = None) -> dict[str, object]:
    """The item form as a JSON API body; ``kind`` None means create (kind and initiative sent).

    Only the fields of the item's kind are sent (the form shows all of them: no JavaScript);
    a blank field is sent as null, which clears it in an edit.
    """
    creating = kind is None
    kind = form.get("kind") if creating else kind
    if creating and kind not in FORM_KINDS:
        raise ValidationError("bad_value", "kind: choose one of the form's kinds", field="kind")
    raw: dict[str, object] = {name: form.get(name) or None for name in _TEXT_FIELDS}
    raw["themes"] = form.getlist("themes")
    if creating:
        raw["kind"] = kind
        raw["initiative"] = form.get("initiative") or None
    raw["place"] = place_raw(form)
    for name in KIND_FIELDS.get(kind or "", ()):
        value = form.get(name) or None
        if name in _CHECKBOXES:
            raw[name] = bool(value)
        else:
            raw[name] = from_dutch_local(value) if value and name in _TIMES else value
    return raw


def submitted_values(form: Form) -> dict[str, Any]:
    """What the form showed, as submitted (to re-render it after an error)."""
    values: dict[str, Any] = {name: form.get(name) for name in DEFAULTS}
    values["themes"] = form.getlist("themes")
    for name in ("exact", *_CHECKBOXES):
        values[name] = bool(form.get(name))
    return values


def item_values(item: StoredObject) -> dict[str, Any]:
    """The form values of a stored local item (its Markdown source, Dutch local times)."""
    fields = item.fields
    return {
        **DEFAULTS, "kind": item.kind, "title": item.title or "", "summary": item.summary or "",
        "content": item.content or "", "themes": list(item.themes),
        "question_category": fields.get("question_category") or "content",
        "start_time": to_dutch_local(fields.get("start_time")),
        "end_time": to_dutch_local(fields.get("end_time")),
        "regulation": fields.get("regulation") or "",
        "bottleneck_status": fields.get("bottleneck_status") or "open",
        "regulation_area": fields.get("regulation_area") or "",
        "bottleneck_outcome": fields.get("bottleneck_outcome") or "",
        "license": item.license or "", "language": item.language or "",
        "online": bool(fields.get("online")),
        **place_values(fields.get("place")),
    }


def required_fields(kind: str) -> frozenset[str]:
    """The fields an item of ``kind`` must have (the form marks them), from its input model."""
    return frozenset(name for name, info in KIND_MODELS[kind].model_fields.items()
                     if info.is_required())


REQUIRED: dict[str, frozenset[str]] = {kind: required_fields(kind) for kind in KIND_MODELS}


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{form field: Dutch message}`` for every failure found (``themes[2]`` → ``themes``).

    The same checks as the JSON API (one set of input models); the first failure of a field
    is the one shown.
    """
    out: dict[str, str] = {}
    for error in exc.errors:
        field = error_field(error.field or "form")
        out.setdefault(field, strings.validation_message(field, error.reason, error.detail))
    return out
