"""Validated inputs of the content use cases (what ``validation.parse_*`` returns).

Field names are the JSON API's (snake_case). A value of ``UNSET`` in a patch means "not given".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final


class _Unset:
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()


@dataclass(frozen=True)
class PlaceInput:
    name: str | None = None
    latitude: float | None = None  # already rounded to village precision unless exact
    longitude: float | None = None
    province_code: str | None = None
    municipality_code: str | None = None
    exact: bool = False


@dataclass(frozen=True)
class AttachmentInput:
    url: str
    name: str | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class InitiativeInput:
    handle: str
    name: str
    summary: str | None = None
    description: str | None = None
    legal_form: str | None = None
    themes: tuple[str, ...] = ()
    phase: str | None = None
    status: str = "active"
    place: PlaceInput | None = None
    founded: date | None = None
    goals: str | None = None
    reason_for_starting: str | None = None
    open_questions: tuple[str, ...] = ()
    website: str | None = None
    contact: str | None = None
    networks: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    members_count: int | None = None
    last_confirmed: date | None = None


@dataclass(frozen=True)
class ItemInput:
    kind: str
    title: str | None
    content: str
    initiative: str | None = None  # handle or actor IRI; None: the node actor
    summary: str | None = None
    themes: tuple[str, ...] = ()
    language: str = "nl"
    license: str = "CC-BY-4.0"
    place: PlaceInput | None = None
    question_category: str | None = None
    in_reply_to: str | None = None
    regulation: str | None = None
    bottleneck_status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    attachments: tuple[AttachmentInput, ...] = ()


@dataclass(frozen=True)
class Patch:
    """Changes to an initiative or item: only the fields given, already validated."""

    changes: dict[str, Any] = field(default_factory=dict)
