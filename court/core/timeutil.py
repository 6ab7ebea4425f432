"""Local time (Asia/Shanghai) at the edges: conversions and the way residents read a time."""
from __future__ import annotations

import datetime as dt

from court.core.settings import LOCAL_TZ


def to_local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def local_datetime(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=LOCAL_TZ)


def clock_text(moment: dt.datetime) -> str:
    """The time of day as people say it: 上午8:30, 中午12:00, 下午1:30 (never 下午13:30)."""
    local = to_local(moment)
    half = "上午" if local.hour < 12 else ("中午" if local.hour == 12 else "下午")
    hour = local.hour - 12 if local.hour > 12 else local.hour
    return f"{half}{hour}:{local.minute:02d}"


def format_local(moment: dt.datetime) -> str:
    """A time as residents read it, e.g. 12月3日（周四）上午10:00."""
    local = to_local(moment)
    week = "一二三四五六日"[local.weekday()]
    return f"{local.month}月{local.day}日（周{week}）{clock_text(local)}"


def format_relative(moment: dt.datetime, now: dt.datetime) -> str:
    """Like format_local, but 今天上午8:30 / 明天下午1:30 when it is that close."""
    days = (to_local(moment).date() - to_local(now).date()).days
    if days == 0:
        return f"今天{clock_text(moment)}"
    if days == 1:
        return f"明天{clock_text(moment)}"
    return format_local(moment)
