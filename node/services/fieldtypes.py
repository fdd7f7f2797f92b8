"""Field types of the input models (``inputs.py``): each one check, and the JSON Schema that says it.

A type is ``Annotated[<python type>, <marker>]``; the marker gives pydantic both the validator
(``__get_pydantic_core_schema__``) and the schema (``__get_pydantic_json_schema__``), so a limit
or a pattern is written once and the OpenAPI document (``node/web/openapi.py``) shows what is
checked. Rules follow DESIGN.md ("Objects", "Places") and the vocabularies of ``protocol.themes``.

A failure raises ``PydanticCustomError`` whose type is already one of our stable reason codes
(``html_not_allowed``, ``unknown_theme``, ``bad_date`` …); pydantic's own error types are mapped
to reason codes in ``validation.py``. Non-strings are handed on untouched where pydantic's own
type check names them (``bad_type``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, ValidationInfo
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from node.services.content import contains_html
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
HANDLE_PATTERN = r"[a-z0-9][a-z0-9-]{1,38}[a-z0-9]"
LANGUAGE_PATTERN = r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*"
MEDIA_TYPE_PATTERN = r"[\w.+-]+/[\w.+-]+"
MUNICIPALITY_PATTERN = r"GM\d{4}"
_HANDLE = re.compile(HANDLE_PATTERN, re.ASCII)
_LANGUAGE = re.compile(LANGUAGE_PATTERN, re.ASCII)
_MEDIA_TYPE = re.compile(MEDIA_TYPE_PATTERN, re.ASCII)
_MUNICIPALITY = re.compile(MUNICIPALITY_PATTERN, re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})", re.ASCII)
# Unicode category Cc but tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
PLAIN_TEXT = "Plain text: no HTML (a tag, even entity-encoded, is refused with html_not_allowed)."


def fail(reason: str, message: str, field: str | None = None) -> PydanticCustomError:
    """A failure with our ``reason``; ``field`` names a sub-field when a model check fails."""
    return PydanticCustomError(reason, message, {"field": field} if field else None)


def _anchored(pattern: str) -> str:
    return f"^{pattern}$"


def _text(value: object) -> object:
    """NFC, CRLF as LF, no control characters; a non-string goes on to the type check."""
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    if _CONTROL.search(text):
        raise fail("bad_value", "contains control characters")
    return text


def _stripped(value: object) -> object:
    text = _text(value)
    return text.strip() if isinstance(text, str) else text


def _no_html(text: str) -> str:
    if contains_html(text):
        raise fail("html_not_allowed", "plain text only, no HTML")
    return text


def _need_str(value: object) -> str:
    if not isinstance(value, str):
        raise fail("bad_type", "must be a string")
    return value


def _too_long(text: str, max_length: int) -> str:
    if len(text) > max_length:
        raise fail("too_long", f"at most {max_length} characters")
    return text


@dataclass(frozen=True)
class _Marker:
    """A field type: ``check`` runs on the raw value, then the inner schema, then ``after``."""

    def check(self, value: Any) -> Any:
        return value

    def inner(self) -> CoreSchema:
        return core_schema.str_schema()

    def after(self, value: Any) -> Any:
        return value

    def extra(self) -> dict[str, Any]:
        return {}

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        schema = self.inner()
        if type(self).after is not _Marker.after:
            schema = core_schema.no_info_after_validator_function(self.after, schema)
        return core_schema.no_info_before_validator_function(self.check, schema)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        value = handler(schema)
        value.update(self.extra())
        return value


@dataclass(frozen=True)
class Plain(_Marker):
    """Plain text of at most ``max_length`` characters, stripped; no HTML."""

    max_length: int

    def check(self, value: Any) -> Any:
        return _stripped(value)

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=self.max_length)

    def after(self, value: Any) -> Any:
        return _no_html(value)


@dataclass(frozen=True)
class Markdown(_Marker):
    """Markdown source of at most ``max_length`` characters, kept as written."""

    max_length: int

    def check(self, value: Any) -> Any:
        return _text(value)

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=self.max_length)

    def extra(self) -> dict[str, Any]:
        return {"description": "Markdown source."}


@dataclass(frozen=True)
class Choice(_Marker):
    """One of a fixed list of machine values (the order of ``values`` is the documented one)."""

    values: tuple[str, ...]
    reason: str = "bad_value"
    upper: bool = False  # codes: " pv22" is PV22

    @classmethod
    def of(cls, values: Iterable[str], reason: str = "bad_value", *, upper: bool = False
           ) -> Choice:
        return cls(tuple(values), reason, upper)

    def check(self, value: Any) -> Any:
        return value.strip().upper() if self.upper and isinstance(value, str) else value

    def after(self, value: Any) -> Any:
        if value not in self.values:
            if self.reason == "unknown_theme":
                raise fail(self.reason, f"{value[:60]!r} is not a theme id")
            raise fail(self.reason, f"must be one of {', '.join(sorted(self.values))}")
        return value

    def extra(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


def theme_ids() -> tuple[str, ...]:
    return tuple(t.id for t in themes.all_themes())


@dataclass(frozen=True)
class Pattern(_Marker):
    """A short code or tag matching ``pattern`` after ``normalise``; ``example`` for the error."""

    pattern: str
    max_length: int
    example: str
    normalise: Callable[[str], str] = str.strip

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = _too_long(self.normalise(_need_str(_text(value))), self.max_length)
        if not re.fullmatch(self.pattern, text, re.ASCII):
            raise fail("bad_value", f"must be {self.example}")
        return text

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=self.max_length)

    def extra(self) -> dict[str, Any]:
        return {"pattern": _anchored(self.pattern)}


def _language_tag(text: str) -> str:
    head, sep, tail = text.strip().partition("-")
    return head.lower() + sep + tail


def _lower(text: str) -> str:
    return text.strip().lower()


def _upper(text: str) -> str:
    return text.strip().upper()


LANGUAGE = Pattern(LANGUAGE_PATTERN, 35, "a language tag such as nl or fy-NL", _language_tag)
MEDIA_TYPE = Pattern(MEDIA_TYPE_PATTERN, 255, "a media type such as application/pdf", _lower)
MUNICIPALITY = Pattern(MUNICIPALITY_PATTERN, 6, "a code like GM1680", _upper)


@dataclass(frozen=True)
class Handle(_Marker):
    """An actor handle: 3–40 of ``a-z 0-9 -``, no hyphen at either end, not a reserved word."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return parse_handle(value)

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=40)

    def extra(self) -> dict[str, Any]:
        return {"pattern": _anchored(HANDLE_PATTERN)}


def parse_handle(value: str) -> str:
    """A handle, lower-cased; raises ``PydanticCustomError`` (see ``Handle``)."""
    text = _too_long(_need_str(_text(value)).lower(), 40)
    if not _HANDLE.fullmatch(text):
        raise fail("bad_value", "3-40 letters a-z, digits or '-', not starting or ending in '-'")
    if text in RESERVED_HANDLES:
        raise fail("bad_value", f"{text!r} is reserved")
    return text


def parse_http_url(value: str) -> str:
    """An absolute http(s) URL or IRI: no whitespace, no user name or password in it."""
    text = _too_long(_need_str(_stripped(value)), MAX_URL)
    if any(ch.isspace() for ch in text):
        raise fail("bad_value", "must not contain whitespace")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise fail("bad_value", "is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise fail("bad_value", "must be an absolute http or https URL")
    if "@" in parts.netloc:
        raise fail("bad_value", "must not contain a user name or password")
    return text


@dataclass(frozen=True)
class HttpUrl(_Marker):
    """An absolute http(s) URL (see ``parse_http_url``)."""

    def check(self, value: Any) -> Any:
        return parse_http_url(value) if isinstance(value, str) else value

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=MAX_URL)

    def extra(self) -> dict[str, Any]:
        return {"format": "uri"}


@dataclass(frozen=True)
class ActorRef(_Marker):
    """A local initiative by handle, or an actor by IRI; which one it is, is decided by ``://``."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = _too_long(_need_str(_stripped(value)), MAX_URL)
        if "://" in text:
            return parse_http_url(text)
        if not _HANDLE.fullmatch(text.lower()):
            raise fail("bad_value", "must be an initiative handle or actor IRI")
        return text.lower()

    def inner(self) -> CoreSchema:
        return core_schema.str_schema(max_length=MAX_URL)


@dataclass(frozen=True)
class IsoDate(_Marker):
    """A calendar date ``YYYY-MM-DD``, not after today in the Netherlands (or ``context["today"]``)."""

    def check(self, value: Any) -> Any:
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise fail("bad_type", "must be a string")
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise fail("bad_date", "must be a date YYYY-MM-DD") from None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler
                                     ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(
            self.check, core_schema.with_info_after_validator_function(
                _not_in_future, core_schema.date_schema()))


def _not_in_future(value: date, info: ValidationInfo) -> date:
    context = info.context if isinstance(info.context, dict) else {}
    today = context.get("today") or today_in_nl()
    if value > today:
        raise fail("bad_date", "must not be in the future")
    return value


@dataclass(frozen=True)
class IsoDateTime(_Marker):
    """An ISO 8601 date and time with a UTC offset (``2025-03-01T19:30:00+01:00``)."""

    def check(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return value
        if not isinstance(value, str):
            raise fail("bad_type", "must be a string")
        text = value.upper()
        try:
            if not _DATETIME.fullmatch(text):
                raise ValueError(value)
            return datetime.fromisoformat(text)
        except ValueError:
            raise fail("bad_date", "must be a date and time with offset, "
                                   "such as 2025-03-01T19:30:00+01:00") from None

    def inner(self) -> CoreSchema:
        return core_schema.datetime_schema(tz_constraint="aware")


@dataclass(frozen=True)
class Coordinate(_Marker):
    """A latitude (``limit`` 90) or longitude (180) in degrees."""

    limit: float

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail("bad_coordinates", "must be a number")
        number = float(value)
        if not math.isfinite(number) or not -self.limit <= number <= self.limit:
            raise fail("bad_coordinates", f"must be between -{self.limit:g} and {self.limit:g}")
        return number

    def inner(self) -> CoreSchema:
        return core_schema.float_schema(ge=-self.limit, le=self.limit)


REF_PREFIX = "ref:"


def ref_name(value: object) -> str | None:
    """The name in ``ref:<name>`` (a link between the rows of an import file), or None."""
    if isinstance(value, str) and value.startswith(REF_PREFIX) and value[len(REF_PREFIX):].strip():
        return value[len(REF_PREFIX):].strip()
    return None


@dataclass(frozen=True)
class Ref(_Marker):
    """A link to another row of the same import file, ``ref:<name>``; the value is the name."""

    def check(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        name = ref_name(value)
        if name is None:
            raise fail("bad_value", f'must be "{REF_PREFIX}<name>"')
        return name

    def extra(self) -> dict[str, Any]:
        return {"pattern": f"^{REF_PREFIX}."}


def unique(values: tuple[str, ...]) -> tuple[str, ...]:
    """De-duplicated in first-seen order: the order is the editor's emphasis."""
    return tuple(dict.fromkeys(values))
