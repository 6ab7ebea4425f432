"""When the 12368 desk is staffed, and when it opens next (holidays and adjusted weekends included)."""
import datetime as dt

import pytest

from court.core.settings import LOCAL_TZ
from court.hotline.handoffs import desk_open, next_opening
from court.records import workcalendar


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize("moment, expected", [
    (at(2026, 11, 30, 10), at(2026, 11, 30, 10)),  # Monday morning: open now
    (at(2026, 11, 30, 7, 59), at(2026, 11, 30, 8, 30)),  # before opening: same day
    (at(2026, 11, 30, 17, 0), at(2026, 12, 1, 8, 30)),  # closing time is closed
    (at(2026, 12, 4, 18), at(2026, 12, 7, 8, 30)),  # Friday evening: Monday
    (at(2026, 12, 5, 9), at(2026, 12, 7, 8, 30)),  # Saturday
    (at(2026, 2, 13, 18), at(2026, 2, 14, 8, 30)),  # Saturday 14 Feb 2026 is a working day
    (at(2026, 2, 14, 17, 30), at(2026, 2, 24, 8, 30)),  # across the Spring Festival break
])
def test_next_opening(db, moment, expected):
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert next_opening(calendar, moment) == expected
        assert desk_open(calendar, expected)


def test_utc_moments_are_read_in_heihe_time(db):
    # 00:30 UTC is 08:30 in Heihe.
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert desk_open(calendar, dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.timezone.utc))
        assert not desk_open(calendar, dt.datetime(2026, 11, 30, 0, 29, tzinfo=dt.timezone.utc))


def test_an_unpublished_year_falls_back_to_weekdays_less_fixed_holidays(db):
    # Desk hours are a best guess before the court enters a year (never used to book).
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert next_opening(calendar, at(2026, 12, 31, 18)) == at(2027, 1, 4, 8, 30)
