"""Dutch civil time: wall-clock times typed in forms, shown back, and today's date in NL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from node.services.localtime import from_dutch_local, to_dutch_local, today_in_nl

CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(("typed", "stored"), [
    ("2026-12-03T19:30", "2026-12-03T19:30:00+01:00"),
    ("2026-07-01T19:30", "2026-07-01T19:30:00+02:00"),
    ("2026-07-01 19:30", "2026-07-01T19:30:00+02:00"),
    ("2026-03-29T03:30", "2026-03-29T03:30:00+02:00"),  # just after the spring change
    ("2026-03-29T01:30", "2026-03-29T01:30:00+01:00"),  # just before it
    ("2026-03-29T02:30", "2026-03-29T03:30:00+02:00"),  # in the gap: the summer time it is
    ("2026-10-25T02:30", "2026-10-25T02:30:00+02:00"),  # in the overlap: the first of two
    ("2026-10-25T03:30", "2026-10-25T03:30:00+01:00"),  # after the autumn change
    ("2026-12-03T19:30:00+00:00", "2026-12-03T19:30:00+00:00"),  # an offset is kept
    ("morgen", "morgen"),  # left for validation to name
])
def test_dutch_local_time_gets_the_offset_of_that_day(typed: str, stored: str) -> None:
    assert from_dutch_local(typed) == stored


def test_stored_time_is_shown_as_dutch_wall_clock() -> None:
    assert to_dutch_local("2026-07-01T17:30:00+00:00") == "2026-07-01T19:30"
    assert to_dutch_local("2026-10-25T01:30:00Z") == "2026-10-25T02:30"  # CET again from 01:00 UTC
    assert to_dutch_local(datetime(2026, 12, 3, 19, 30, tzinfo=CET).isoformat()) == \
        "2026-12-03T19:30"


@pytest.mark.parametrize(("now", "today"), [
    (datetime(2026, 12, 3, 22, 30, tzinfo=UTC), date(2026, 12, 3)),  # 23:30 in winter
    (datetime(2026, 12, 3, 23, 30, tzinfo=UTC), date(2026, 12, 4)),  # 00:30 the next day
    (datetime(2026, 6, 30, 21, 59, tzinfo=UTC), date(2026, 6, 30)),  # 23:59 in summer
    (datetime(2026, 6, 30, 22, 0, tzinfo=UTC), date(2026, 7, 1)),
])
def test_today_is_the_date_in_the_netherlands(now: datetime, today: date) -> None:
    assert today_in_nl(now) == today
