"""Validation of JSON API input: a parsed JSON value to the dataclasses of ``inputs.py``, or raise.

The field rules follow DESIGN.md ("Objects", "Places") and the fixed vocabularies of
``protocol.themes``. Every failure is a ``ValidationError`` (422) with a stable ``reason`` and
the offending ``field`` (dotted for nested values: ``place.latitude``, ``attachments[0].url``);
a body that is not a JSON object at all is a ``BadRequestError`` (400, ``bad_json``).

Conventions shared by every field: ``null`` and an absent key mean the same thing on create;
in a patch ``null`` clears the field (back to its default) unless the field is required. A blank
string counts as ``null``, blank entries of string lists are dropped. Strings are NFC-normalised
and plain-text ones stripped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from node.services.content import contains_html, round_coordinates
from node.services.errors import BadRequestError, ValidationError
from node.services.inputs import AttachmentInput, InitiativeInput, ItemInput, Patch, PlaceInput
from node.services.localtime import today_in_nl
from protocol import themes

RESERVED_HANDLES = frozenset({
    "api", "inbox", "outbox", "admin", "actors", "items", "activities", "themes", "static",
    "well-known", "nodeinfo", "users", "login", "logout", "search", "map",
    "by-id",  # /api/initiatives/by-id?id=<IRI> (node/web/api.py)
    # theme feed actors (node.services.actors): the hashtags of the top-level themes
    *(t.hashtag for t in themes.all_themes() if t.broader is None),
})
MAX_URL = 2048
_HANDLE = re.compile(r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]", re.ASCII)
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*", re.ASCII)
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+", re.ASCII)
_MUNICIPALITY = re.compile(r"GM\d{4}", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII)

_Parse = Callable[[object, str], Any]


def _fail(reason: str, field: str, detail: str) -> ValidationError:
    return ValidationError(reason, f"{field}: {detail}", field=field)


# --- primitive parsers: (value, field) -> validated value; never called with None -------------


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _fail("bad_type", field, "must be a string")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        raise _fail("bad_value", field, "contains control characters")
    return text


def _check_length(text: str, field: str, max_len: int) -> str:
    if len(text) > max_len:
        raise _fail("too_long", field, f"at most {max_len} characters")
    return text


def _plain(max_len: int) -> _Parse:
    """A plain-text string of at most ``max_len`` characters, stripped; blank gives ``None``."""
    def parse(value: object, field: str) -> str | None:
        text = _check_length(_string(value, field).strip(), field, max_len)
        if contains_html(text):
            raise _fail("html_not_allowed", field, "plain text only, no HTML")
        return text or None
    return parse


def _markdown(max_len: int) -> _Parse:
    """Markdown source of at most ``max_len`` characters (kept as written); blank gives ``None``."""
    def parse(value: object, field: str) -> str | None:
        text = _check_length(_string(value, field), field, max_len)
        return text if text.strip() else None
    return parse


def _choice(allowed: Mapping[str, object] | frozenset[str]) -> _Parse:
    """One of a fixed set of machine values."""
    def parse(value: object, field: str) -> str:
        if not isinstance(value, str):
            raise _fail("bad_type", field, "must be a string")
        if value not in allowed:
            raise _fail("bad_value", field, f"must be one of {', '.join(sorted(allowed))}")
        return value
    return parse


def _list(item: _Parse, max_items: int) -> _Parse:
    """A list of at most ``max_items`` values; ``None`` results (blank strings) are dropped."""
    def parse(value: object, field: str) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _fail("bad_type", field, "must be a list")
        if len(value) > max_items:
            raise _fail("too_long", field, f"at most {max_items} entries")
        parsed = (item(entry, f"{field}[{i}]") for i, entry in enumerate(value))
        return tuple(entry for entry in parsed if entry is not None)
    return parse


def _theme_id(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _fail("bad_type", field, "must be a string")
    if not themes.is_theme(value):
        raise _fail("unknown_theme", field, f"{value[:60]!r} is not a theme id")
    return value


def _themes(value: object, field: str) -> tuple[str, ...]:
    # De-duplicated in first-seen order: the order is the editor's emphasis.
    return tuple(dict.fromkeys(_list(_theme_id, 20)(value, field)))


def parse_handle(value: object, field: str) -> str:
    """An actor handle: 3–40 of ``a-z 0-9 -``, no hyphen at either end, not a reserved word."""
    text = _string(value, field).lower()
    _check_length(text, field, 40)
    if not _HANDLE.fullmatch(text):
        raise _fail("bad_value", field, "3-40 letters a-z, digits or '-', not starting or ending in '-'")
    if text in RESERVED_HANDLES:
        raise _fail("bad_value", field, f"{text!r} is reserved")
    return text


def parse_http_url(value: object, field: str) -> str:
    """An absolute http(s) URL or IRI: no whitespace, no user name or password in it."""
    text = _check_length(_string(value, field).strip(), field, MAX_URL)
    if any(ch.isspace() for ch in text):
        raise _fail("bad_value", field, "must not contain whitespace")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise _fail("bad_value", field, "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _fail("bad_value", field, "must be an absolute http or https URL")
    if "@" in parts.netloc:
        raise _fail("bad_value", field, "must not contain a user name or password")
    return text


def _actor_ref(value: object, field: str) -> str:
    # An initiative by local handle or by actor IRI; which one it is, is decided by "://".
    text = _check_length(_string(value, field).strip(), field, MAX_URL)
    if "://" in text:
        return parse_http_url(text, field)
    if not _HANDLE.fullmatch(text.lower()):
        raise _fail("bad_value", field, "must be an initiative handle or actor IRI")
    return text.lower()


def _integer(low: int, high: int) -> _Parse:
    def parse(value: object, field: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):  # 3.0 is not a count either
            raise _fail("bad_type", field, "must be an integer")
        if not low <= value <= high:
            raise _fail("bad_value", field, f"must be between {low} and {high}")
        return value
    return parse


def _boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _fail("bad_type", field, "must be true or false")
    return value


def _iso_date(*, not_after: date | None = None) -> _Parse:
    """A calendar date ``YYYY-MM-DD``, optionally no later than ``not_after``."""
    def parse(value: object, field: str) -> date:
        if not isinstance(value, str):
            raise _fail("bad_type", field, "must be a string")
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            parsed = date.fromisoformat(value)
        except ValueError:
            raise _fail("bad_date", field, "must be a date YYYY-MM-DD") from None
        if not_after is not None and parsed > not_after:
            raise _fail("bad_date", field, "must not be in the future")
        return parsed
    return parse


def _iso_datetime(value: object, field: str) -> datetime:
    """An ISO 8601 date and time with a UTC offset (``2025-03-01T19:30:00+01:00``)."""
    if not isinstance(value, str):
        raise _fail("bad_type", field, "must be a string")
    text = value.upper()
    try:
        if not _DATETIME.fullmatch(text):
            raise ValueError(value)
        return datetime.fromisoformat(text)
    except ValueError:
        raise _fail("bad_date", field, "must be a date and time with offset, "
                                       "such as 2025-03-01T19:30:00+01:00") from None


def _coordinate(value: object, field: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail("bad_coordinates", field, "must be a number")
    number = float(value)
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise _fail("bad_coordinates", field, f"must be between -{limit:g} and {limit:g}")
    return number


def _code(pattern: re.Pattern[str] | Mapping[str, object], example: str) -> _Parse:
    def parse(value: object, field: str) -> str:
        if not isinstance(value, str):
            raise _fail("bad_type", field, "must be a string")
        code = value.strip().upper()
        ok = pattern.fullmatch(code) if isinstance(pattern, re.Pattern) else code in pattern
        if not ok:
            raise _fail("bad_value", field, f"must be a code like {example}")
        return code
    return parse


def _language(value: object, field: str) -> str:
    head, sep, tail = _string(value, field).strip().partition("-")
    tag = _check_length(head.lower() + sep + tail, field, 35)
    if not _LANGUAGE.fullmatch(tag):
        raise _fail("bad_value", field, "must be a language tag such as nl or fy-NL")
    return tag


def _media_type(value: object, field: str) -> str:
    text = _check_length(_string(value, field).strip().lower(), field, 255)
    if not _MEDIA_TYPE.fullmatch(text):
        raise _fail("bad_value", field, "must be a media type such as application/pdf")
    return text


def _object(value: object, field: str, allowed: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _fail("bad_type", field, "must be an object")
    for key in value:
        if key not in allowed:
            raise _fail("unknown_field", f"{field}.{key}", "is not a known field")
    return value


_PLACE_FIELDS = ("name", "latitude", "longitude", "province_code", "municipality_code", "exact")
_PLACE_NAME = _plain(200)
_PROVINCE = _code(themes.PROVINCES, "PV22")
_MUNICIPALITY_CODE = _code(_MUNICIPALITY, "GM1680")


def parse_place(raw: object, field: str) -> PlaceInput:
    """A place: name, CBS codes, and coordinates rounded to village precision unless ``exact``."""
    data = _object(raw, field, _PLACE_FIELDS)

    def get(key: str, parse: Callable[[object, str], Any]) -> Any:
        value = data.get(key)
        return None if value is None else parse(value, f"{field}.{key}")

    exact = get("exact", _boolean) or False
    lat = get("latitude", lambda v, f: _coordinate(v, f, 90.0))
    lon = get("longitude", lambda v, f: _coordinate(v, f, 180.0))
    if (lat is None) != (lon is None):
        missing = "latitude" if lat is None else "longitude"
        raise _fail("bad_coordinates", f"{field}.{missing}", "latitude and longitude go together")
    if lat is not None:
        lat, lon = round_coordinates(lat, lon, exact)
    return PlaceInput(
        name=get("name", _PLACE_NAME), latitude=lat, longitude=lon,
        province_code=get("province_code", _PROVINCE),
        municipality_code=get("municipality_code", _MUNICIPALITY_CODE), exact=exact)


def _attachment(value: object, field: str) -> AttachmentInput:
    data = _object(value, field, ("url", "name", "media_type"))
    if data.get("url") is None:
        raise _fail("missing_field", f"{field}.url", "is required")
    name, media_type = data.get("name"), data.get("media_type")
    return AttachmentInput(
        url=parse_http_url(data["url"], f"{field}.url"),
        name=None if name is None else _PLACE_NAME(name, f"{field}.name"),
        media_type=None if media_type is None else _media_type(media_type, f"{field}.media_type"))


# --- field tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    parse: _Parse
    required: bool | frozenset[str] = False  # True, or the item kinds that require it
    default: Any = None  # on create when absent, and what null in a patch resets to
    kinds: frozenset[str] | None = None  # the item kinds the field belongs to; None: all

    def is_required(self, kind: str | None) -> bool:
        return self.required if isinstance(self.required, bool) else kind in self.required

    def applies(self, kind: str | None) -> bool:
        return self.kinds is None or kind in self.kinds


_PLACE = _Field(parse_place)
_TEXT_LIST = _list(_plain(200), 50)


def _initiative_fields(today: date | None) -> dict[str, _Field]:
    not_after = today or today_in_nl()
    return {
        "handle": _Field(parse_handle, required=True),
        "name": _Field(_plain(200), required=True),
        "summary": _Field(_plain(500)),
        "description": _Field(_markdown(50_000)),
        "legal_form": _Field(_choice(themes.LEGAL_FORMS)),
        "themes": _Field(_themes, default=()),
        "phase": _Field(_choice(themes.PHASES)),
        "status": _Field(_choice(themes.STATUSES), default="active"),
        "place": _PLACE,
        "founded": _Field(_iso_date(not_after=not_after)),
        "goals": _Field(_plain(5000)),
        "reason_for_starting": _Field(_plain(5000)),
        "open_questions": _Field(_list(_plain(1000), 50), default=()),
        "website": _Field(parse_http_url),
        "contact": _Field(_plain(200)),
        "networks": _Field(_TEXT_LIST, default=()),
        "partners": _Field(_TEXT_LIST, default=()),
        "members_count": _Field(_integer(0, 10_000_000)),
        "last_confirmed": _Field(_iso_date(not_after=not_after)),
    }


def _kinds(*names: str) -> frozenset[str]:
    return frozenset(names)


_ALL_BUT_ANSWER = frozenset(themes.ITEM_KINDS) - {"answer"}
_ITEM_FIELDS: dict[str, _Field] = {
    "kind": _Field(_choice(themes.ITEM_KINDS), required=True),
    "title": _Field(_plain(300), required=_ALL_BUT_ANSWER),
    "content": _Field(_markdown(100_000), required=True),
    "initiative": _Field(_actor_ref),
    "summary": _Field(_plain(500)),
    "themes": _Field(_themes, default=()),
    "language": _Field(_language, default="nl"),
    "license": _Field(_plain(100), default="CC-BY-4.0"),
    "place": _PLACE,
    "question_category": _Field(_choice(themes.QUESTION_CATEGORIES), default="content",
                                kinds=_kinds("question")),
    "in_reply_to": _Field(parse_http_url, required=_kinds("answer"), kinds=_kinds("answer")),
    "regulation": _Field(_plain(300), kinds=_kinds("bottleneck")),
    "bottleneck_status": _Field(_choice(_kinds("open", "raised", "resolved")), default="open",
                                kinds=_kinds("bottleneck")),
    "start_time": _Field(_iso_datetime, required=_kinds("event"), kinds=_kinds("event")),
    "end_time": _Field(_iso_datetime, kinds=_kinds("event")),
    "attachments": _Field(_list(_attachment, 20), default=(), kinds=_kinds("template", "guide")),
}
# Patch only: the question's owner marks one answer as accepted (``kk:acceptedAnswer``).
_ACCEPTED_ANSWER = _Field(parse_http_url, kinds=_kinds("question"))
_INITIATIVE_IMMUTABLE = frozenset({"handle"})
_ITEM_IMMUTABLE = frozenset({"kind", "initiative", "in_reply_to"})


# --- the parse_* API ---------------------------------------------------------------------------


def _body(raw: object) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise BadRequestError("bad_json", "the body must be a JSON object")
    return raw


def _check_keys(data: dict[str, object], known: Mapping[str, _Field],
                immutable: frozenset[str] = frozenset()) -> None:
    for key in data:
        if key in immutable:
            raise _fail("immutable_field", key, "cannot be changed")
        if key not in known:
            raise _fail("unknown_field", str(key), "is not a known field")


def _check_kind(name: str, spec: _Field, value: object, kind: str | None) -> None:
    if value is not None and not spec.applies(kind):
        raise _fail("field_not_for_kind", name, f"does not apply to a {kind}")


def _create(data: dict[str, object], fields: Mapping[str, _Field], kind: str | None = None
            ) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        value = data.get(name)
        _check_kind(name, spec, value, kind)
        if not spec.applies(kind):
            continue  # the dataclass default (None or ()) stands
        parsed = None if value is None else spec.parse(value, name)
        if parsed is None and spec.is_required(kind):
            raise _fail("missing_field", name, "is required")
        values[name] = spec.default if parsed is None else parsed
    return values


def _patch(data: dict[str, object], fields: Mapping[str, _Field], kind: str | None = None
           ) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in data:
            continue
        value = data[name]
        _check_kind(name, spec, value, kind)
        if not spec.applies(kind):
            continue  # null for a field the kind does not have: nothing to clear
        parsed = None if value is None else spec.parse(value, name)
        if parsed is None and spec.is_required(kind):
            raise _fail("missing_field", name, "is required and cannot be cleared")
        changes[name] = spec.default if parsed is None else parsed
    return changes


def _check_event_times(values: Mapping[str, Any]) -> None:
    start, end = values.get("start_time"), values.get("end_time")
    if start is not None and end is not None and end < start:
        raise _fail("bad_value", "end_time", "must not be before start_time")


def parse_initiative(raw: object, *, today: date | None = None) -> InitiativeInput:
    """Validate the body that creates an initiative (only ``handle`` and ``name`` required)."""
    data = _body(raw)
    fields = _initiative_fields(today)
    _check_keys(data, fields)
    return InitiativeInput(**_create(data, fields))


def parse_initiative_patch(raw: object, *, today: date | None = None) -> Patch:
    """Validate a partial update of an initiative; ``handle`` cannot change."""
    data = _body(raw)
    fields = _initiative_fields(today)
    _check_keys(data, fields, _INITIATIVE_IMMUTABLE)
    return Patch(_patch(data, fields))


def parse_item(raw: object) -> ItemInput:
    """Validate the body that creates a knowledge item of any kind."""
    data = _body(raw)
    _check_keys(data, _ITEM_FIELDS)
    raw_kind = data.get("kind")
    if raw_kind is None:
        raise _fail("missing_field", "kind", "is required")
    kind = _ITEM_FIELDS["kind"].parse(raw_kind, "kind")
    values = _create(data, _ITEM_FIELDS, kind)
    _check_event_times(values)
    return ItemInput(**values)


def parse_item_patch(raw: object, kind: str) -> Patch:
    """Validate a partial update of an item of ``kind`` (the stored item's kind).

    ``end_time`` is checked against ``start_time`` only when both are in the patch; the caller
    checks the merged result against the stored values.
    """
    if kind not in themes.ITEM_KINDS:
        raise ValueError(f"not an item kind: {kind!r}")
    data = _body(raw)
    fields = {**_ITEM_FIELDS, "accepted_answer": _ACCEPTED_ANSWER}
    _check_keys(data, fields, _ITEM_IMMUTABLE)
    changes = _patch(data, fields, kind)
    _check_event_times(changes)
    return Patch(changes)
