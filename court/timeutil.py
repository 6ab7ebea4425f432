"""Local time (Asia/Shanghai) and China's working days."""
from __future__ import annotations

import datetime as dt
import logging

import chinese_calendar

from court.settings import LOCAL_TZ

log = logging.getLogger(__name__)

# Statutory holidays that fall on the same date every year; used only for
# years the chinese-calendar package does not cover yet (lunar holidays unknown).
_FIXED_HOLIDAYS = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def to_local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def local_datetime(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=LOCAL_TZ)


def is_working_day(day: dt.date) -> bool:
    """True on working days, including weekend days made working by the State Council."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # The published schedule for this year is not in the package yet.
        return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def schedule_weekday(day: dt.date) -> int:
    """The weekday whose weekly hours apply on ``day``.

    An adjusted working Saturday or Sunday (调休) follows Monday's hours.
    """
    weekday = day.weekday()
    return 0 if weekday >= 5 else weekday


def format_local(moment: dt.datetime) -> str:
    """A time as residents read it, e.g. 12月3日（周四）上午10:00."""
    local = to_local(moment)
    week = "一二三四五六日"[local.weekday()]
    half = "上午" if local.hour < 12 else "下午"
    return f"{local.month}月{local.day}日（周{week}）{half}{local:%H:%M}"
