"""The court's working-day calendar: days off and adjusted working days, read from the court's own table.

The State Council publishes each year's holidays and adjusted working weekends (调休)
late in the year before; no package knows them in advance. A year counts as known
once the court has *published* it (entered in full). Before that, only days the court
entered as working days may be booked, so no resident is ever given a meeting on
what may turn out to be a holiday.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ValidationError
from court.core.timeutil import to_local
from court.records import journal
from court.store.schema import CalendarDay, CalendarDayKind, CalendarYear

# Holidays on fixed dates: the desk's best guess for a year not published yet (never used to book).
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}
# From this day of December on, admins are warned when next year is not published.
WARN_FROM = (12, 1)
_SESSION_KEY = "court.records.workcalendar"


@dataclass
class _Year:
    published: bool
    holidays: dict[dt.date, str] = field(default_factory=dict)
    workdays: dict[dt.date, str] = field(default_factory=dict)


class WorkCalendar:
    """Working days as the court has entered them; loads a year on first use."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        if year not in self._years:
            published = self._session.get(CalendarYear, year) is not None
            info = _Year(published)
            rows = self._session.execute(select(CalendarDay).where(
                CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31))).scalars()
            for row in rows:
                (info.holidays if row.kind == CalendarDayKind.HOLIDAY.value else info.workdays)[row.day] = row.name
            self._years[year] = info
        return self._years[year]

    def is_published(self, year: int) -> bool:
        return self._year(year).published

    def is_confirmed(self, day: dt.date) -> bool:
        """The court knows for sure whether ``day`` is a working day."""
        info = self._year(day.year)
        return info.published or day in info.workdays

    def is_working_day(self, day: dt.date) -> bool:
        """Best knowledge: the court's entries, else weekdays less fixed-date holidays (for desk hours)."""
        info = self._year(day.year)
        if day in info.holidays:
            return False
        if day in info.workdays:
            return True
        if info.published:
            return day.weekday() < 5
        return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS

    def is_bookable(self, day: dt.date) -> bool:
        """A day a resident may be booked on: a working day the court has confirmed."""
        return self.is_confirmed(day) and self.is_working_day(day)

    def holiday_name(self, day: dt.date) -> Optional[str]:
        return self._year(day.year).holidays.get(day)

    def confirmed_until(self, day: dt.date, *, limit_days: int = 400) -> dt.date:
        """The last day of the unbroken confirmed run that starts at ``day`` (the day before, if unconfirmed)."""
        last = day - dt.timedelta(days=1)
        for _ in range(limit_days):
            if not self.is_confirmed(last + dt.timedelta(days=1)):
                break
            last += dt.timedelta(days=1)
        return last


def of(session: Session) -> WorkCalendar:
    """The calendar for this session (one load per year per session; sessions are short)."""
    calendar = session.info.get(_SESSION_KEY)
    if calendar is None:
        calendar = session.info[_SESSION_KEY] = WorkCalendar(session)
    return calendar


def schedule_weekday(day: dt.date) -> int:
    """The weekday whose weekly hours apply on ``day``: an adjusted working weekend follows Monday's."""
    weekday = day.weekday()
    return 0 if weekday >= 5 else weekday


def unconfirmed_notice(calendar: WorkCalendar, day: dt.date, today: dt.date) -> str:
    """Why ``day`` cannot be booked yet, in words for the resident."""
    until = calendar.confirmed_until(today)
    reach = f"目前可以预约到{until.year}年{until.month}月{until.day}日" if until >= today else "目前暂时无法预约"
    return (f"{day.year}年的节假日安排法院还没有公布，{day.month}月{day.day}日是否上班还不能确定，"
            f"为免白跑一趟，暂时不能约这一天。{reach}，请选这之前的时间；也可以拨打12368咨询。")


def next_year_missing(session: Session, now: Optional[dt.datetime] = None) -> Optional[int]:
    """Next year, when it is December (or later) and the court has not published it yet."""
    today = to_local(now or clock.now()).date()
    if (today.month, today.day) < WARN_FROM:
        return None
    year = today.year + 1
    return None if session.get(CalendarYear, year) is not None else year


# --- entering a year ---------------------------------------------------------------


@dataclass(frozen=True)
class YearSummary:
    year: int
    published: bool
    source: Optional[str]
    holidays: int
    workdays: int


def years(session: Session, around: int) -> list[YearSummary]:
    """The years an admin looks at: last year to two years on, and any others entered."""
    entered = {r.year: r for r in session.execute(select(CalendarYear)).scalars()}
    days = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
    wanted = sorted(set(range(around - 1, around + 3)) | {y for y in entered if y >= around - 1})
    out = []
    for year in wanted:
        kinds = [k for d, k in days if d.year == year]
        row = entered.get(year)
        out.append(YearSummary(year, row is not None, row.source if row else None,
                               kinds.count(CalendarDayKind.HOLIDAY.value), kinds.count(CalendarDayKind.WORKDAY.value)))
    return out


@dataclass(frozen=True)
class DayEntry:
    day: dt.date
    kind: str
    name: str
    entered_by: str


def days_of(session: Session, year: int) -> list[DayEntry]:
    rows = session.execute(select(CalendarDay).where(
        CalendarDay.day >= dt.date(year, 1, 1), CalendarDay.day <= dt.date(year, 12, 31)).order_by(CalendarDay.day))
    return [DayEntry(r.day, r.kind, r.name, r.entered_by) for r in rows.scalars()]


def _span(first: dt.date, last: dt.date, *, max_days: int = 31) -> list[dt.date]:
    if last < first:
        raise ValidationError("结束日期不能早于开始日期。")
    if first.year != last.year:
        raise ValidationError("一次只能录入同一年里的日期，跨年的假期请分两段录入。")
    if (last - first).days >= max_days:
        raise ValidationError(f"一次最多录入{max_days}天。")
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _clean_name(name: str, default: str) -> str:
    text = " ".join((name or "").split())[:40]
    return text or default


def enter_holiday(session: Session, first: dt.date, last: dt.date, name: str, *, actor: str,
                  now: Optional[dt.datetime] = None) -> int:
    """Mark ``first``..``last`` as days off (e.g. 春节); replaces what those days said before."""
    now = now or clock.now()
    label = _clean_name(name, "节假日")
    days = _span(first, last)
    _replace(session, days, CalendarDayKind.HOLIDAY, label, actor=actor, now=now)
    return len(days)


def confirm_weekdays(session: Session, first: dt.date, last: dt.date, *, actor: str,
                     now: Optional[dt.datetime] = None) -> int:
    """Confirm the weekdays of ``first``..``last`` as working days, so they can be booked before the year
    is published. Weekends and days entered as holidays are left as they are."""
    now = now or clock.now()
    span = _span(first, last, max_days=92)
    holidays = set(session.execute(select(CalendarDay.day).where(
        CalendarDay.day.in_(span), CalendarDay.kind == CalendarDayKind.HOLIDAY.value)).scalars())
    days = [d for d in span if d.weekday() < 5 and d not in holidays]
    _replace(session, days, CalendarDayKind.WORKDAY, "确认上班", actor=actor, now=now)
    return len(days)


def enter_adjusted_workday(session: Session, day: dt.date, name: str = "", *, actor: str,
                           now: Optional[dt.datetime] = None) -> None:
    """A Saturday or Sunday made a working day (调休上班); it follows Monday's hours."""
    if day.weekday() < 5:
        raise ValidationError(f"{day.month}月{day.day}日不是周末，不需要录入为调休上班日。")
    _replace(session, [day], CalendarDayKind.WORKDAY, _clean_name(name, "调休上班"), actor=actor, now=now or clock.now())


def remove_day(session: Session, day: dt.date, *, actor: str, now: Optional[dt.datetime] = None) -> None:
    row = session.get(CalendarDay, day)
    if row is None:
        raise ValidationError("这一天没有录入过。")
    before = {"day": day.isoformat(), "kind": row.kind, "name": row.name}
    session.delete(row)
    session.flush()
    _forget(session)
    journal.audit(session, at=now or clock.now(), actor=actor, action="calendar.remove", entity_type="calendar",
                  entity_id=day.year, before=before)


def publish(session: Session, year: int, *, actor: str, source: str = "desk",
            now: Optional[dt.datetime] = None) -> None:
    """Declare ``year`` entered in full: from now on its unlisted weekdays are bookable working days."""
    now = now or clock.now()
    if not 2000 <= year <= 2100:
        raise ValidationError("年份不对。")
    holidays = [d for d in days_of(session, year) if d.kind == CalendarDayKind.HOLIDAY.value]
    if not holidays:
        raise ValidationError(f"{year}年还没有录入任何节假日，不能发布。请先按国务院办公厅的通知录入放假安排。")
    if session.get(CalendarYear, year) is not None:
        raise ValidationError(f"{year}年的安排已经发布过了。")
    session.add(CalendarYear(year=year, source=source[:64], published_by=actor[:64], published_at=now))
    session.flush()
    _forget(session)
    journal.audit(session, at=now, actor=actor, action="calendar.publish", entity_type="calendar", entity_id=year,
                  after={"year": year, "holidays": len(holidays), "source": source[:64]})


def _replace(session: Session, days: Iterable[dt.date], kind: CalendarDayKind, name: str, *, actor: str,
             now: dt.datetime) -> None:
    days = list(days)
    if not days:
        return
    session.execute(delete(CalendarDay).where(CalendarDay.day.in_(days)).execution_options(synchronize_session=False))
    session.add_all(CalendarDay(day=d, kind=kind.value, name=name, entered_by=actor[:64], entered_at=now) for d in days)
    session.flush()
    _forget(session)
    journal.audit(session, at=now, actor=actor, action=f"calendar.{kind.value}", entity_type="calendar",
                  entity_id=days[0].year,
                  after={"from": days[0].isoformat(), "to": days[-1].isoformat(), "days": len(days), "name": name})


def _forget(session: Session) -> None:
    session.info.pop(_SESSION_KEY, None)
