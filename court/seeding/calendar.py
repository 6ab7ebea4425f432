"""Loading the court's holiday calendar: the years chinesecalendar knows, and a year file from the clerk.

A year file (YAML), entered when the State Council publishes the next year's schedule::

    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:                      # days off, inclusive ranges
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
      - {name: 春节, from: 2027-02-06, to: 2027-02-13}
    workdays:                      # adjusted working weekend days (调休上班)
      - {name: 春节调休, date: 2027-02-14}
    publish: true                  # the year is complete: its other weekdays are working days
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

import chinese_calendar
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ValidationError
from court.records import workcalendar
from court.store.schema import CalendarDay, CalendarDayKind, CalendarYear

_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "National Day": "国庆节", "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}
SOURCE = "chinesecalendar"


def known_years() -> range:
    """The years the installed chinesecalendar package has the State Council's schedule for."""
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def seed_calendar(session: Session, *, years: Optional[range] = None, now: Optional[dt.datetime] = None) -> int:
    """Enter and publish every year chinesecalendar knows that the court has not entered yet."""
    now = now or clock.now()
    entered = set(session.execute(select(CalendarYear.year)).scalars())
    added = 0
    for year in years or known_years():
        if year in entered:
            continue
        rows = [CalendarDay(day=day, kind=CalendarDayKind.HOLIDAY.value, name=_NAMES.get(name, name),
                            entered_by="seed", entered_at=now)
                for day, name in chinese_calendar.holidays.items() if day.year == year]
        rows += [CalendarDay(day=day, kind=CalendarDayKind.WORKDAY.value, name=f"{_NAMES.get(name, name)}调休上班",
                             entered_by="seed", entered_at=now)
                 for day, name in chinese_calendar.workdays.items() if day.year == year]
        if not rows:
            continue
        session.add_all(rows)
        session.add(CalendarYear(year=year, source=SOURCE, published_by="seed", published_at=now))
        added += 1
    session.flush()
    return added


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(f"{where}：日期“{value}”看不懂，请写成2027-02-06这样。") from exc


def load_year(session: Session, data: dict, *, actor: str, now: Optional[dt.datetime] = None) -> int:
    """Enter one year from a parsed year file; returns the year. All of it, or nothing (the caller's transaction)."""
    if not isinstance(data, dict) or not isinstance(data.get("year"), int):
        raise ValidationError("文件里要写明年份，例如 year: 2027。")
    year = data["year"]
    for i, item in enumerate(data.get("holidays") or [], 1):
        if not isinstance(item, dict):
            raise ValidationError(f"第{i}个节假日的格式不对。")
        first = _date(item.get("from"), f"第{i}个节假日")
        last = _date(item.get("to", item.get("from")), f"第{i}个节假日")
        if first.year != year or last.year != year:
            raise ValidationError(f"第{i}个节假日不在{year}年内。")
        workcalendar.enter_holiday(session, first, last, str(item.get("name") or ""), actor=actor, now=now)
    for i, item in enumerate(data.get("workdays") or [], 1):
        item = item if isinstance(item, dict) else {"date": item}
        day = _date(item.get("date"), f"第{i}个调休上班日")
        if day.year != year:
            raise ValidationError(f"第{i}个调休上班日不在{year}年内。")
        workcalendar.enter_adjusted_workday(session, day, str(item.get("name") or ""), actor=actor, now=now)
    if data.get("publish"):
        workcalendar.publish(session, year, actor=actor, source=str(data.get("source") or "file"), now=now)
    return year


def load_year_file(session: Session, path: Path, *, actor: str, now: Optional[dt.datetime] = None) -> int:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationError(f"读不了这个文件：{exc}") from exc
    return load_year(session, data, actor=actor, now=now)
