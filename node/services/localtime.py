"""Dutch civil time (``Europe/Amsterdam`` from the IANA database, via ``zoneinfo``).

Editors type and read event times as Dutch wall-clock time; the node stores and federates ISO
8601 moments with their offset. The ``tzdata`` package supplies the zone where the system has
no time-zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

NL_TIME = ZoneInfo("Europe/Amsterdam")


def today_in_nl(now: datetime | None = None) -> date:
    """The date in the Netherlands at ``now`` (an aware moment; default: the system clock)."""
    return (now or datetime.now(UTC)).astimezone(NL_TIME).date()


def from_dutch_local(value: str) -> str:
    """``2026-12-03T19:30`` (Dutch wall-clock) as ISO 8601 with its offset; other text unchanged.

    Text that already has an offset, or that is not a date and time, is passed on as typed so
    validation accepts or names it. A time in the spring gap (02:30 on the last Sunday of March)
    is read as winter time and written as the summer time it is (03:30+02:00); in the autumn
    overlap the first of the two moments is taken.
    """
    text = value.strip()
    try:
        local = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return text
    if local.tzinfo is not None:
        return text
    moment = local.replace(second=0, microsecond=0, tzinfo=NL_TIME).astimezone(UTC)
    return moment.astimezone(NL_TIME).isoformat()


def to_dutch_local(value: Any) -> str:
    """A stored ISO 8601 moment as the ``datetime-local`` value of Dutch wall-clock time."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(NL_TIME)
    return moment.strftime("%Y-%m-%dT%H:%M")
