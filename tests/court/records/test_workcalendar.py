"""The court's own holiday calendar: seeded years, years entered by the court, unpublished years."""
import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import select

from court.admin import cli
from court.booking import engine, offers, slots
from court.core.errors import ValidationError
from court.core.timeutil import to_local
from court.records import workcalendar
from court.seeding.calendar import known_years, load_year, seed_calendar
from court.store.schema import AuditEntry, CalendarDay, CalendarYear
from tests.factories import local, new_case, point

XIGANGZI = "SP-231102101"  # 西岗子镇: Monday to Friday, 08:30-11:30 and 13:30-16:30
# Test data shaped like a State Council notice; not the official 2027 schedule.
SPRING_2027 = {
    "year": 2027,
    "source": "测试用安排",
    "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-01"},
                 {"name": "春节", "from": "2027-02-05", "to": "2027-02-13"}],
    "workdays": [{"name": "春节调休上班", "date": "2027-02-14"}, "2027-02-20"],
    "publish": True,
}


def at(y, m, d, hh=9, mm=0):
    return local(dt.date(y, m, d), hh, mm)


def starts(found):
    return sorted({to_local(x.starts_at).strftime("%m-%d %H:%M") for x in found})


def test_the_seed_publishes_every_year_chinesecalendar_knows_with_chinese_names(db):
    with db.reader() as s:
        published = set(s.execute(select(CalendarYear.year)).scalars())
        assert set(known_years()) <= published and 2026 in published and 2027 not in published
        calendar = workcalendar.of(s)
        assert calendar.holiday_name(dt.date(2026, 2, 17)) == "春节"
        assert calendar.holiday_name(dt.date(2026, 10, 1)) == "国庆节"
        # Every day of 2026 agrees with the package it was seeded from.
        day = dt.date(2026, 1, 1)
        while day.year == 2026:
            assert calendar.is_working_day(day) == chinese_calendar.is_workday(day), day
            day += dt.timedelta(days=1)
    with db.transaction() as s:
        assert seed_calendar(s) == 0  # idempotent


def test_no_slot_on_a_holiday_and_an_adjusted_sunday_opens_with_mondays_hours(db):
    with db.transaction() as s:
        load_year(s, SPRING_2027, actor="admin:test", now=at(2026, 12, 1))
    now = at(2027, 1, 25)
    with db.reader() as s:
        sp = point(s, XIGANGZI)
        assert slots.free_slots(s, sp.id, dt.date(2027, 2, 5), dt.date(2027, 2, 13), now=now) == []
        sunday = slots.free_slots(s, sp.id, dt.date(2027, 2, 14), dt.date(2027, 2, 14), now=now)
        monday = slots.free_slots(s, sp.id, dt.date(2027, 2, 15), dt.date(2027, 2, 15), now=now)
        assert sunday and [t[6:] for t in starts(sunday)] == [t[6:] for t in starts(monday)]
        assert slots.free_slots(s, sp.id, dt.date(2027, 2, 21), dt.date(2027, 2, 21), now=now) == []  # a Sunday
        # The first offer after the break is the adjusted Sunday, not the third day of the new year.
        first = slots.earliest_slots(s, sp.id, now=at(2027, 2, 4, 17), count=1)[0]
        assert to_local(first.starts_at).date() == dt.date(2027, 2, 14)


def test_an_unpublished_year_offers_no_date_past_the_confirmed_range(db):
    with db.reader() as s:
        sp = point(s, XIGANGZI)
        now = at(2026, 12, 28, 9)
        assert slots.free_slots(s, sp.id, dt.date(2027, 1, 4), dt.date(2027, 1, 8), now=now) == []
        offered = slots.earliest_slots(s, sp.id, now=now, count=50)
        assert offered and max(to_local(x.starts_at).date() for x in offered) <= dt.date(2026, 12, 31)
        with pytest.raises(ValidationError) as refused:
            offers.offer(s, lat=sp.lat, lng=sp.lng, dispute_type="neighbor", after=at(2027, 2, 8), now=now)
        assert "2027年的节假日安排法院还没有公布" in refused.value.message
        assert "2月8日" in refused.value.message and "2026年12月31日" in refused.value.message
    with db.transaction() as s, pytest.raises(ValidationError) as refused:
        engine.book(s, new_case(s), point_id=point(s, XIGANGZI).id, starts_at=at(2027, 1, 4, 8, 30),
                    actor="test", now=at(2026, 12, 28, 9))
    assert "还没有公布" in refused.value.message


def test_days_the_court_confirms_are_bookable_before_the_year_is_published(db):
    with db.transaction() as s:
        assert workcalendar.enter_holiday(s, dt.date(2027, 1, 1), dt.date(2027, 1, 1), "元旦", actor="admin:a") == 1
        # Only the weekdays of a confirmed range: weekends stay unconfirmed, the holiday keeps its name.
        assert workcalendar.confirm_weekdays(s, dt.date(2027, 1, 1), dt.date(2027, 1, 10), actor="admin:a") == 5
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert not calendar.is_published(2027)
        assert calendar.is_bookable(dt.date(2027, 1, 4)) and not calendar.is_bookable(dt.date(2027, 1, 1))
        assert not calendar.is_bookable(dt.date(2027, 1, 9)) and not calendar.is_bookable(dt.date(2027, 1, 11))
        assert calendar.confirmed_until(dt.date(2026, 12, 30)) == dt.date(2026, 12, 31)  # 1 Jan is not a workday row
        sp = point(s, XIGANGZI)
        # A booking across New Year: from New Year's Eve the next times are on the confirmed 4 January.
        offered = slots.earliest_slots(s, sp.id, now=at(2026, 12, 31, 16), count=3)
        assert {to_local(x.starts_at).date() for x in offered} == {dt.date(2027, 1, 4)}
    with db.transaction() as s:
        appt = engine.book(s, new_case(s), point_id=point(s, XIGANGZI).id, starts_at=at(2027, 1, 4, 8, 30),
                           actor="test", now=at(2026, 12, 31, 16))
        assert appt.status == "booked"


def test_admins_are_warned_from_december_when_next_year_is_missing(db):
    with db.reader() as s:
        assert workcalendar.next_year_missing(s, at(2026, 11, 30)) is None
        assert workcalendar.next_year_missing(s, at(2026, 12, 1, 0, 5)) == 2027
    with db.transaction() as s:
        load_year(s, SPRING_2027, actor="admin:test")
    with db.reader() as s:
        assert workcalendar.next_year_missing(s, at(2026, 12, 20)) is None
        assert workcalendar.next_year_missing(s, at(2027, 12, 1)) == 2028


def test_entering_and_publishing_are_audited_and_checked(db):
    with db.transaction() as s:
        with pytest.raises(ValidationError):
            workcalendar.publish(s, 2028, actor="admin:a")  # nothing entered yet
        with pytest.raises(ValidationError):
            workcalendar.enter_holiday(s, dt.date(2028, 12, 30), dt.date(2029, 1, 2), "元旦", actor="admin:a")
        with pytest.raises(ValidationError):
            workcalendar.enter_holiday(s, dt.date(2028, 5, 5), dt.date(2028, 5, 1), "劳动节", actor="admin:a")
        workcalendar.enter_holiday(s, dt.date(2028, 5, 1), dt.date(2028, 5, 5), "劳动节", actor="admin:a")
        workcalendar.publish(s, 2028, actor="admin:a")
        with pytest.raises(ValidationError):
            workcalendar.publish(s, 2028, actor="admin:a")
        workcalendar.remove_day(s, dt.date(2028, 5, 5), actor="admin:a")
        actions = [a for (a,) in s.execute(select(AuditEntry.action).where(AuditEntry.entity_type == "calendar"))]
        assert actions == ["calendar.holiday", "calendar.publish", "calendar.remove"]
        assert workcalendar.of(s).is_bookable(dt.date(2028, 5, 5))


@pytest.mark.parametrize("data, complaint", [
    ({"holidays": []}, "年份"),
    ({"year": 2027, "holidays": [{"name": "春节", "from": "2027-02-30"}]}, "看不懂"),
    ({"year": 2027, "holidays": [{"name": "元旦", "from": "2026-12-31", "to": "2026-12-31"}]}, "不在2027年内"),
    ({"year": 2027, "workdays": ["2027-02-15"]}, "2月15日不是周末"),
    ({"year": 2027, "publish": True}, "还没有录入任何节假日"),
])
def test_a_bad_year_file_is_refused_whole(db, data, complaint):
    with pytest.raises(ValidationError) as refused, db.transaction() as s:
        load_year(s, data, actor="clerk:cli")
    assert complaint in refused.value.message
    with db.reader() as s:
        assert not s.execute(select(CalendarDay).where(CalendarDay.day >= dt.date(2027, 1, 1))).first()


def test_the_cli_loads_a_year_file_and_lists_the_years(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    path = tmp_path / "2027.yaml"
    path.write_text(
        "year: 2027\nsource: 测试用安排\nholidays:\n  - {name: 春节, from: 2027-02-05, to: 2027-02-13}\n"
        "workdays:\n  - {name: 春节调休上班, date: 2027-02-14}\npublish: true\n", encoding="utf-8")
    assert cli.main(["load-calendar", str(path)]) == 0
    assert "2027年节假日安排已录入并发布" in capsys.readouterr().out
    assert cli.main(["calendar"]) == 0
    assert "2027年\t已发布（测试用安排）\t放假9天\t上班日1天" in capsys.readouterr().out
