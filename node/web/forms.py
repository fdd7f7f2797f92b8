"""HTML forms: reading a posted form, and the item form's mapping to and from the JSON API shape.

A form arrives as ``application/x-www-form-urlencoded`` (no file uploads, so no multipart)
within the node's body limit. ``item_raw`` turns the item form into the dict that
``node.services.validation.parse_item`` / ``parse_item_patch`` validate, so the forms and the
JSON API share one set of rules. Dates and times are entered as Dutch wall-clock time
(``<input type="datetime-local">``) and given the offset the Netherlands has at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from node.services.errors import BadRequestError, ValidationError
from node.store.objects import StoredObject
from node.web import strings
from node.web.common import read_body

FORM_KINDS = ("story", "guide", "template", "question", "bottleneck", "event")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "question": ("question_category",),
    "bottleneck": ("regulation", "bottleneck_status"),
    "event": ("start_time", "end_time"),
}
_TEXT_FIELDS = ("title", "summary", "content")
_TIMES = ("start_time", "end_time")
_MAX_FIELDS = 200
DEFAULTS: dict[str, Any] = {
    "kind": "story", "title": "", "summary": "", "content": "", "themes": [], "initiative": "",
    "question_category": "content", "start_time": "", "end_time": "", "regulation": "",
    "bottleneck_status": "open",
}


@dataclass(frozen=True)
class Form:
    """A posted form: every value of every field, as sent."""

    fields: dict[str, list[str]]

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
    if media != "application/x-www-form-urlencoded":
        return Form({})
    body = await read_body(request)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=_MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError("bad_form", "the form is not valid UTF-8 urlencoded data") from exc
    return Form(fields)


# --- Dutch civil time (EU rule: CEST from the last Sunday of March to the last of October) ------


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def _dutch_offset(moment: datetime) -> timedelta:
    """The offset of Dutch civil time at an aware ``moment`` (changes happen at 01:00 UTC)."""
    utc = moment.astimezone(UTC)
    start = datetime.combine(_last_sunday(utc.year, 3), time(1), UTC)
    end = datetime.combine(_last_sunday(utc.year, 10), time(1), UTC)
    return timedelta(hours=2 if start <= utc < end else 1)


def from_dutch_local(value: str) -> str:
    """``2026-12-03T19:30`` (Dutch wall-clock) as ISO 8601 with its offset; other text unchanged.

    Text that already has an offset, or that is not a date and time, is passed on as typed so
    validation accepts or names it.
    """
    text = value.strip()
    try:
        local = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return text
    if local.tzinfo is not None:
        return text
    # Try winter time first; in the spring gap and the autumn overlap this picks a valid moment.
    offset = _dutch_offset(local.replace(tzinfo=UTC) - timedelta(hours=1))
    if offset == timedelta(hours=2) and _dutch_offset(
            local.replace(tzinfo=UTC) - timedelta(hours=2)) != offset:
        offset = timedelta(hours=1)
    return local.replace(second=0, microsecond=0, tzinfo=timezone(offset)).isoformat()


def to_dutch_local(value: Any) -> str:
    """A stored ISO 8601 moment as the ``datetime-local`` value of Dutch wall-clock time."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M")
    local = moment.astimezone(timezone(_dutch_offset(moment)))
    return local.strftime("%Y-%m-%dT%H:%M")


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
    for name in KIND_FIELDS.get(kind or "", ()):
        value = form.get(name) or None
        raw[name] = from_dutch_local(value) if value and name in _TIMES else value
    return raw


def submitted_values(form: Form) -> dict[str, Any]:
    """What the form showed, as submitted (to re-render it after an error)."""
    values: dict[str, Any] = {name: form.get(name) for name in DEFAULTS}
    values["themes"] = form.getlist("themes")
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
    }


def field_errors(exc: ValidationError) -> dict[str, str]:
    """``{form field: Dutch message}`` for a validation failure (``themes[2]`` → ``themes``)."""
    field = (exc.field or "form").split("[", 1)[0].split(".", 1)[0]
    return {field: strings.validation_message(field, exc.reason, exc.detail)}
