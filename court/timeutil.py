"""Local time (Asia/Shanghai) at the edges: conversions and the way residents read a time."""
from __future__ import annotations

import datetime as dt
from court.settings import LOCAL_TZ

def to_local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def local_datetime(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=LOCAL_TZ)


def format_local(moment: dt.datetime) -> str:
    """A time as residents read it, e.g. 12月3日（周四）上午10:00."""
    local = to_local(moment)
    week = "一二三四五六日"[local.weekday()]
    half = "上午" if local.hour < 12 else "下午"
    return f"{local.month}月{local.day}日（周{week}）{half}{local:%H:%M}"
