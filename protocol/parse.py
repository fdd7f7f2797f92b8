"""Typed views of incoming ActivityStreams 2.0 documents: a raw dict in, a frozen dataclass out.

Implements the shapes ActivityPub server-to-server federation uses (ActivityPub §3 objects,
§4 actors, §7 activities; AS2 Core §4 and AS2 Vocabulary §3), tolerant of what real servers
send (Mastodon, Misskey, Pleroma, GoToSocial) and strict about what we rely on:

- a property may hold one value or a list of one; a reference may be an IRI or an embedded
  object (its ``id`` is taken); ``null`` is the same as absent (Misskey sends many nulls);
- ``type`` may be a list: the first type this parser knows wins;
- ``@context`` is not interpreted (compacted AS2 terms are read as plain names), only checked
  for shape; ``@graph``, ``@included`` and ``@reverse`` would hide nodes from that reading, so a
  document using them is refused (``forbidden_keyword``);
- embedded LD signatures (``signature``) are ignored; a ``proof`` is only noted (``has_proof``):
  verifying it is ``protocol.proofs``'s job, deciding who may say what is the node's;
- an actor's keys (``publicKey``, ``assertionMethod``) are not read here, but by
  :func:`protocol.actors.actor_keys`, the one place that decides which keys an actor vouches for.

Every failure is a :class:`~protocol.errors.DocumentError` with one of the reasons
``missing_id``, ``bad_id``, ``missing_type``, ``unsupported_type``, ``missing_field``,
``bad_field``, ``too_deep``, ``forbidden_keyword``. Input is expected to have passed
``protocol.jsonlimits.load_json``.

Usage::

    activity = parse_activity(load_json(body))
    if activity.type == "Follow":
        followee = activity.object_id
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Final, NoReturn, TypeAlias, TypeGuard
from urllib.parse import urlsplit

from protocol.errors import DocumentError
from protocol.vocab import (
    ACTIVITY_TYPES,
    ACTOR_TYPES,
    FLAG,
    OBJECT_TYPES,
    PUBLIC,
    PUBLIC_ALIASES,
    TOMBSTONE,
    RawObject,
    as_list,
    get_id,
)

DEFAULT_MAX_DEPTH: Final = 8
MAX_IRI_LENGTH: Final = 4096
FORBIDDEN_KEYWORDS: Final = ("@graph", "@included", "@reverse")
# Activities whose object is required (all we handle); Flag alone may name several objects.
_MULTI_OBJECT_TYPES: Final = frozenset({FLAG})


@dataclass(frozen=True, slots=True)
class Place:
    """An AS2 ``Place`` (AS2 Vocabulary §3.3), with our CBS province/municipality codes."""

    id: str | None
    name: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    radius: float | None
    units: str | None
    province_code: str | None
    municipality_code: str | None


@dataclass(frozen=True, slots=True)
class Tag:
    """One ``tag`` entry: a ``Mention``, ``Hashtag``, ``Emoji`` or other link-like value."""

    type: str | None
    name: str | None
    href: str | None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One ``attachment`` entry: a file (``Document``/``Image``…), a ``Link`` or a profile field."""

    type: str | None
    media_type: str | None
    url: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Source:
    """The ``source`` an object was written in (ActivityPub §3.3), e.g. Markdown."""

    content: str
    media_type: str | None


@dataclass(frozen=True, slots=True)
class Tombstone:
    """What remains of a deleted object (AS2 Vocabulary §3.3 ``Tombstone``)."""

    id: str
    former_type: str | None
    deleted: datetime | None
    raw: RawObject = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ASObject:
    """A content object: Note, Article, Document, Question, Event, … (kk ``kind``/``version``)."""

    id: str
    type: str
    attributed_to: str | None
    name: str | None
    summary: str | None
    content: str | None
    content_map: Mapping[str, str] = field(hash=False)
    name_map: Mapping[str, str] = field(hash=False)
    summary_map: Mapping[str, str] = field(hash=False)
    media_type: str | None
    source: Source | None
    in_reply_to: str | None
    published: datetime | None
    updated: datetime | None
    version: int | None
    kind: str | None
    tags: tuple[Tag, ...]
    attachments: tuple[Attachment, ...]
    location: Place | None
    start_time: datetime | None
    end_time: datetime | None
    url: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    poll_options: tuple[str, ...]
    """Names of a poll's ``oneOf``/``anyOf`` options; empty for our (non-poll) questions."""
    has_proof: bool
    raw: RawObject = field(repr=False, compare=False)

    @property
    def is_poll(self) -> bool:
        """A ``Question`` with ``oneOf``/``anyOf`` is a poll; ours (kk ``question``) has neither."""
        return self.raw.get("oneOf") is not None or self.raw.get("anyOf") is not None


@dataclass(frozen=True, slots=True)
class Actor:
    """An actor document (ActivityPub §4.1).

    Its keys are not read here: :func:`protocol.actors.actor_keys` reads them, with the rules
    that decide which keys the actor vouches for, from ``raw``.
    """

    id: str
    type: str
    preferred_username: str | None
    name: str | None
    summary: str | None
    inbox: str
    outbox: str | None
    followers: str | None
    following: str | None
    shared_inbox: str | None
    url: str | None
    manually_approves_followers: bool
    location: Place | None
    raw: RawObject = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity we handle (Follow, Accept, Reject, Undo, Create, Update, Delete, Announce, Flag).

    ``object`` is an IRI or the parsed embedded document. Every activity we handle has one, so
    it is never ``None``; ``objects`` holds all of them (a ``Flag`` may report several) and
    ``object`` is the first.
    """

    id: str
    type: str
    actor: str
    object: ObjectValue
    objects: tuple[ObjectValue, ...]
    target: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    published: datetime | None
    content: str | None
    has_proof: bool
    raw: RawObject = field(repr=False, compare=False)

    @property
    def object_id(self) -> str:
        """The IRI of ``object``, whether it was sent as an IRI or embedded."""
        return self.object if isinstance(self.object, str) else self.object.id


ObjectValue: TypeAlias = str | ASObject | Tombstone | Actor | Activity
Document: TypeAlias = Activity | Actor | ASObject | Tombstone


def _fail(reason: str, detail: str) -> NoReturn:
    raise DocumentError(reason, detail)


# --- scalar fields -------------------------------------------------------------------------


# Whitespace (``\s`` is ``str.isspace``), control characters, DEL and backslashes.
_NOT_IN_IRI = re.compile(r"[\s\x00-\x1f\x7f\\]")


def is_iri(value: object) -> TypeGuard[str]:
    """Whether ``value`` is an absolute http(s) IRI we accept as an identifier or link.

    Refused: other schemes, no host, userinfo (``user@host`` hides the real host from a
    reader), whitespace/control characters, backslashes (browsers read them as ``/``), a bad port.

    >>> is_iri("https://kennis.example/items/1"), is_iri("mailto:a@b.example"), is_iri(42)
    (True, False, False)
    """
    return isinstance(value, str) and _is_iri_text(value)


@lru_cache(maxsize=1024)  # at most 1024 × MAX_IRI_LENGTH characters
def _is_iri_text(value: str) -> bool:
    """``is_iri`` of a string: held, as a document names the same few IRIs many times (its
    actor, the public collection, followers) and the same ones come in request after request
    (a ``urlsplit`` each otherwise)."""
    if not value or len(value) > MAX_IRI_LENGTH:
        return False
    if _NOT_IN_IRI.search(value):
        return False
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and value[: len(parts.scheme) + 3].lower() == f"{parts.scheme}://"
        and "@" not in parts.netloc
        and bool(parts.hostname)
        and port_ok
    )


def _single(raw: RawObject, key: str, *, first_of_many: bool = False) -> Any:
    """A functional property's value: a list of one is unwrapped, an empty list is absent."""
    value = raw.get(key)
    if isinstance(value, list):
        if not value:
            return None
        if len(value) > 1 and not first_of_many:
            _fail("bad_field", f"{key} must hold one value, not {len(value)}")
        return value[0]
    return value


def _ref(value: Any, key: str) -> str | None:
    """An IRI from an IRI or an embedded object; ``None`` stays absent."""
    if value is None:
        return None
    iri = get_id(value)
    if not is_iri(iri):
        _fail("bad_field", f"{key} must be an http(s) IRI or an object with one")
    return iri


def _required_ref(value: Any, key: str) -> str:
    iri = _ref(value, key)
    if iri is None:
        _fail("bad_field", f"{key} holds a null")
    return iri


def _iri(raw: RawObject, key: str, *, first_of_many: bool = False) -> str | None:
    return _ref(_single(raw, key, first_of_many=first_of_many), key)


def _required_iri(raw: RawObject, key: str) -> str:
    iri = _iri(raw, key)
    if iri is None:
        _fail("missing_field", f"{raw.get('type')} has no {key}")
    return iri


def _audience(raw: RawObject, key: str) -> tuple[str, ...]:
    """Addressing (``to``/``cc``): IRIs, with every spelling of the public collection made one."""
    seen: dict[str, None] = {}
    for entry in as_list(raw.get(key)):
        if isinstance(entry, str) and entry in PUBLIC_ALIASES:
            seen[PUBLIC] = None
        else:
            seen[_required_ref(entry, key)] = None
    return tuple(seen)


def _text(raw: RawObject, key: str) -> str | None:
    value = _single(raw, key)
    if value is not None and not isinstance(value, str):
        _fail("bad_field", f"{key} must be a string")
    return value


def _lang_map(raw: RawObject, key: str) -> Mapping[str, str]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        _fail("bad_field", f"{key} must map language tags to strings")
    return dict(value)


def _first_type(value: Any, key: str = "type") -> str | None:
    """The first name of a ``type``-like value (a string or a list of strings)."""
    names = as_list(value)
    if not all(isinstance(name, str) for name in names):
        _fail("bad_field", f"{key} must be a string or a list of strings")
    return names[0] if names else None


_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def parse_datetime(value: object) -> datetime | None:
    """An RFC 3339 / xsd:dateTime with a zone (``Z`` or ``±hh:mm``), or ``None`` if it is not one.

    >>> parse_datetime("2026-12-03T19:30:00+01:00")
    datetime.datetime(2026, 12, 3, 19, 30, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600)))
    >>> parse_datetime("2026-12-03T19:30:00") is None   # no zone: not a time we can order
    True
    """
    match = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if match.group(9):
        off_h, off_m = int(match.group(10)), int(match.group(11))
        if off_h > 23 or off_m > 59:
            return None
        offset = timedelta(hours=off_h, minutes=off_m) * (-1 if match.group(9) == "-" else 1)
    try:
        return datetime(year, month, day, hour, minute, second, micro, timezone(offset))
    except ValueError:
        return None


def _datetime(raw: RawObject, key: str) -> datetime | None:
    value = _single(raw, key)
    if value is None:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        _fail("bad_field", f"{key} must be a date-time with a time zone, e.g. 2024-05-01T12:00:00Z")
    return parsed


def _number(raw: RawObject, key: str, low: float, high: float) -> float | None:
    value = _single(raw, key)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        _fail("bad_field", f"{key} must be a number from {low} to {high}")
    return float(value)


def _pattern(raw: RawObject, key: str, pattern: re.Pattern[str]) -> str | None:
    value = _text(raw, key)
    if value is not None and not pattern.fullmatch(value):
        _fail("bad_field", f"{key} {value[:32]!r} does not have the expected form")
    return value


# --- document skeleton ---------------------------------------------------------------------


def _check_document(raw: Any, what: str) -> RawObject:
    if not isinstance(raw, dict):
        _fail("bad_field", f"{what} must be a JSON object")
    for keyword in FORBIDDEN_KEYWORDS:
        if keyword in raw:
            _fail("forbidden_keyword", f"{keyword} is not accepted in federated documents")
    context = raw.get("@context")
    if context is not None and not all(
        entry is None or isinstance(entry, (str, dict)) for entry in as_list(context)
    ):
        _fail("bad_field", "@context must be IRIs and context objects")
    return raw


def _document_id(raw: RawObject) -> str:
    value = raw.get("id")
    if value is None:
        _fail("missing_id", f"{raw.get('type', 'document')} has no id")
    if not is_iri(value):
        _fail("bad_id", "id must be an absolute http(s) IRI without userinfo or whitespace")
    return value


def _pick_type(raw: RawObject, accepted: frozenset[str]) -> str:
    names = as_list(raw.get("type"))
    if not names:
        _fail("missing_type", "document has no type")
    if not all(isinstance(name, str) for name in names):
        _fail("bad_field", "type must be a string or a list of strings")
    for name in names:
        if name in accepted:
            return str(name)
    _fail("unsupported_type", f"type {names[0][:64]!r} is not handled here")


# --- parts ---------------------------------------------------------------------------------

_PROVINCE = re.compile(r"PV[0-9]{2}")
_MUNICIPALITY = re.compile(r"GM[0-9]{4}")


def _place(value: Any) -> Place | None:
    """A ``location``: an embedded Place (the first, if several); an IRI alone tells us nothing."""
    first = next((entry for entry in as_list(value) if isinstance(entry, dict)), None)
    if first is None:
        return None
    return Place(
        id=_iri(first, "id"),
        name=_text(first, "name"),
        latitude=_number(first, "latitude", -90.0, 90.0),
        longitude=_number(first, "longitude", -180.0, 180.0),
        altitude=_number(first, "altitude", -1e7, 1e9),
        radius=_number(first, "radius", 0.0, math.inf),
        units=_text(first, "units"),
        province_code=_pattern(first, "provinceCode", _PROVINCE),
        municipality_code=_pattern(first, "municipalityCode", _MUNICIPALITY),
    )


def _url(raw: RawObject, key: str = "url") -> str | None:
    """``url``: an IRI, a Link (``href``) or a list of them; an HTML link is preferred."""
    candidates: list[tuple[str | None, Any]] = []
    for entry in as_list(raw.get(key)):
        if isinstance(entry, dict):
            candidates.append((entry.get("mediaType"), entry.get("href")))
        else:
            candidates.append((None, entry))
    if not candidates:
        return None
    chosen = next((href for media, href in candidates if media == "text/html"), candidates[0][1])
    if not is_iri(chosen):
        _fail("bad_field", f"{key} must be an http(s) IRI or a Link with an href")
    return chosen


def _tags(raw: RawObject) -> tuple[Tag, ...]:
    tags = []
    for entry in as_list(raw.get("tag")):
        if isinstance(entry, str):
            continue  # a bare IRI reference names nothing we could show
        if not isinstance(entry, dict):
            _fail("bad_field", "tag entries must be objects")
        tags.append(Tag(_first_type(entry.get("type")), _text(entry, "name"), _iri(entry, "href")))
    return tuple(tags)


def _attachments(raw: RawObject) -> tuple[Attachment, ...]:
    result = []
    for entry in as_list(raw.get("attachment")):
        if isinstance(entry, str):
            result.append(Attachment("Link", None, _required_ref(entry, "attachment"), None))
            continue
        if not isinstance(entry, dict):
            _fail("bad_field", "attachment entries must be objects or IRIs")
        try:
            url = _url(entry) if entry.get("url") is not None else _iri(entry, "href")
        except DocumentError:
            # interop(fediverse-pasture): FEP-0ea0 payment links (payto:) and inline data:
            # images are real attachments; one we cannot link to is dropped, not the whole
            # object (Mastodon and Misskey show such notes without it).
            continue
        result.append(
            Attachment(
                _first_type(entry.get("type")), _text(entry, "mediaType"), url, _text(entry, "name")
            )
        )
    return tuple(result)


def _source(raw: RawObject) -> Source | None:
    value = raw.get("source")
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("content"), str):
        _fail("bad_field", "source must be an object with a content string")
    return Source(value["content"], _text(value, "mediaType"))


def _version(raw: RawObject) -> int | None:
    value = raw.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        _fail("bad_field", "version must be a non-negative integer")
    return value


def _poll_options(raw: RawObject) -> tuple[str, ...]:
    names = []
    for key in ("oneOf", "anyOf"):
        for option in as_list(raw.get(key)):
            if not isinstance(option, dict) or not isinstance(option.get("name"), str):
                _fail("bad_field", f"{key} entries must be objects with a name")
            names.append(option["name"])
    return tuple(names)


def _has_proof(raw: RawObject) -> bool:
    return raw.get("proof") is not None


# --- documents -----------------------------------------------------------------------------


def _parse_tombstone(raw: RawObject, ap_id: str) -> Tombstone:
    former_type = _first_type(raw.get("formerType"), "formerType")
    return Tombstone(ap_id, former_type, _datetime(raw, "deleted"), raw)


def _parse_object(raw: RawObject, ap_id: str, type_: str) -> ASObject:
    return ASObject(
        id=ap_id,
        type=type_,
        attributed_to=_iri(raw, "attributedTo", first_of_many=True),
        name=_text(raw, "name"),
        summary=_text(raw, "summary"),
        content=_text(raw, "content"),
        content_map=_lang_map(raw, "contentMap"),
        name_map=_lang_map(raw, "nameMap"),
        summary_map=_lang_map(raw, "summaryMap"),
        media_type=_text(raw, "mediaType"),
        source=_source(raw),
        in_reply_to=_iri(raw, "inReplyTo"),
        published=_datetime(raw, "published"),
        updated=_datetime(raw, "updated"),
        version=_version(raw),
        kind=_text(raw, "kind"),
        tags=_tags(raw),
        attachments=_attachments(raw),
        location=_place(raw.get("location")),
        start_time=_datetime(raw, "startTime"),
        end_time=_datetime(raw, "endTime"),
        url=_url(raw),
        to=_audience(raw, "to"),
        cc=_audience(raw, "cc"),
        poll_options=_poll_options(raw),
        has_proof=_has_proof(raw),
        raw=raw,
    )


def parse_object(raw: RawObject) -> ASObject | Tombstone:
    """Parse a content object, or the ``Tombstone`` left by its deletion.

    Actor types are accepted too: a knowledge partner is an ``Organization`` object, not an actor.

    >>> note = parse_object({"id": "https://lvkk.example/notes/1", "type": "Note",
    ...                      "attributedTo": "https://lvkk.example/actors/lvkk",
    ...                      "content": "<p>Hallo</p>"})
    >>> note.type, note.attributed_to, note.content
    ('Note', 'https://lvkk.example/actors/lvkk', '<p>Hallo</p>')
    """
    raw = _check_document(raw, "object")
    ap_id = _document_id(raw)
    type_ = _pick_type(raw, OBJECT_TYPES | ACTOR_TYPES)
    if type_ == TOMBSTONE:
        return _parse_tombstone(raw, ap_id)
    return _parse_object(raw, ap_id, type_)


def parse_actor(raw: RawObject) -> Actor:
    """Parse an actor document; ``inbox`` is required (ActivityPub §4.1).

    >>> actor = parse_actor({"id": "https://lvkk.example/actors/lvkk", "type": "Organization",
    ...                      "inbox": "https://lvkk.example/actors/lvkk/inbox"})
    >>> actor.inbox
    'https://lvkk.example/actors/lvkk/inbox'
    """
    raw = _check_document(raw, "actor")
    ap_id = _document_id(raw)
    type_ = _pick_type(raw, ACTOR_TYPES)
    endpoints = raw.get("endpoints")
    shared_inbox = _iri(endpoints, "sharedInbox") if isinstance(endpoints, dict) else None
    approves = raw.get("manuallyApprovesFollowers")
    if approves is not None and not isinstance(approves, bool):
        _fail("bad_field", "manuallyApprovesFollowers must be a boolean")
    return Actor(
        id=ap_id,
        type=type_,
        preferred_username=_text(raw, "preferredUsername"),
        name=_text(raw, "name"),
        summary=_text(raw, "summary"),
        inbox=_required_iri(raw, "inbox"),
        outbox=_iri(raw, "outbox"),
        followers=_iri(raw, "followers"),
        following=_iri(raw, "following"),
        shared_inbox=shared_inbox,
        url=_url(raw),
        manually_approves_followers=bool(approves),
        location=_place(raw.get("location")),
        raw=raw,
    )


_ALL_TYPES: Final = ACTIVITY_TYPES | ACTOR_TYPES | OBJECT_TYPES


def _parse_any(raw: RawObject, depth: int, max_depth: int) -> Document:
    if depth > max_depth:
        _fail("too_deep", f"documents are embedded more than {max_depth} levels deep")
    raw = _check_document(raw, "document")
    type_ = _pick_type(raw, _ALL_TYPES)
    if type_ in ACTIVITY_TYPES:
        return _parse_activity(raw, depth, max_depth)
    if type_ in ACTOR_TYPES and raw.get("inbox") is not None:
        return parse_actor(raw)
    return parse_object(raw)


def _embedded(value: Any, key: str, depth: int, max_depth: int) -> ObjectValue:
    """An ``object``: an IRI, a bare ``{"id": …}`` reference, or a parsed embedded document."""
    if isinstance(value, dict) and value.get("type") is None and value.get("id") is not None:
        value = value["id"]  # a typeless {"id": …} is only a reference
    if isinstance(value, dict):
        return _parse_any(value, depth + 1, max_depth)
    return _required_ref(value, key)


def _parse_activity(raw: RawObject, depth: int, max_depth: int) -> Activity:
    ap_id = _document_id(raw)
    type_ = _pick_type(raw, ACTIVITY_TYPES)
    actor = _required_iri(raw, "actor")
    values = as_list(raw.get("object"))
    if not values:
        _fail("missing_field", f"{type_} has no object")
    if len(values) > 1 and type_ not in _MULTI_OBJECT_TYPES:
        _fail("bad_field", f"{type_} must have one object, not {len(values)}")
    objects = tuple(_embedded(value, "object", depth, max_depth) for value in values)
    return Activity(
        id=ap_id,
        type=type_,
        actor=actor,
        object=objects[0],
        objects=objects,
        target=_iri(raw, "target"),
        to=_audience(raw, "to"),
        cc=_audience(raw, "cc"),
        published=_datetime(raw, "published"),
        content=_text(raw, "content"),
        has_proof=_has_proof(raw),
        raw=raw,
    )


@dataclass(frozen=True, slots=True)
class Envelope:
    """What makes a document an activity at all, whatever its type: ``id``, ``type``, ``actor``.

    Enough to authenticate a ``Like`` or an ``EmojiReact`` (whose signer must be its actor)
    that the node then ignores without reading further.
    """

    id: str
    type: str
    actor: str


def parse_envelope(raw: RawObject) -> Envelope:
    """Parse the ``id``, first ``type`` and ``actor`` of an activity of any type, known or not.

    Usage::

        envelope = parse_envelope({"id": "https://a.example/likes/1", "type": "Like",
                                   "actor": "https://a.example/users/an",
                                   "object": "https://b.example/items/7"})
        assert envelope.type == "Like"

    >>> envelope = parse_envelope({"id": "https://lvkk.example/likes/1", "type": "Like",
    ...                            "actor": "https://lvkk.example/actors/lvkk"})
    >>> envelope.type, envelope.actor
    ('Like', 'https://lvkk.example/actors/lvkk')
    """
    raw = _check_document(raw, "activity")
    ap_id = _document_id(raw)
    type_ = _first_type(raw.get("type"))
    if type_ is None:
        _fail("missing_type", "document has no type")
    return Envelope(ap_id, type_, _required_iri(raw, "actor"))


def parse_activity(raw: RawObject, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Activity:
    """Parse an activity we handle, with its embedded documents parsed too.

    ``max_depth`` bounds the nesting of embedded documents, the activity itself being level 1
    (``Announce`` → ``Create`` → ``Note`` is 3).

    >>> follow = parse_activity({"id": "https://lvkk.example/activities/1", "type": "Follow",
    ...                          "actor": "https://lvkk.example/actors/lvkk",
    ...                          "object": "https://kennis.example/actors/drenthe"})
    >>> follow.type, follow.object
    ('Follow', 'https://kennis.example/actors/drenthe')
    """
    if max_depth < 1:
        _fail("too_deep", "max_depth leaves no room for the activity itself")
    raw = _check_document(raw, "activity")
    return _parse_activity(raw, 1, max_depth)


def parse_document(raw: RawObject, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Document:
    """Parse any document we understand, dispatching on its ``type``.

    An actor type with an ``inbox`` is an :class:`Actor`; without one it is a plain object
    (a knowledge partner ``Organization``).

    >>> type(parse_document({"id": "https://lvkk.example/notes/1", "type": "Note",
    ...                      "attributedTo": "https://lvkk.example/actors/lvkk"})).__name__
    'ASObject'
    """
    return _parse_any(raw, 1, max_depth)
