"""Reporting periods: the quick choices a clerk is asked for (本月, 上月, 本季度 ...), and the
periods a figure is compared with: the one before (环比) and the same one a year earlier (同比).

All dates are local calendar days, both ends included.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: dt.date
    end: dt.date


def month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (earlier when negative), clamped to the month's end (31 Mar - 1 = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


def _months_spanned(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _shift(start: dt.date, end: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """Both ends moved by whole months; an end on a month's last day stays on the last day."""
    first = add_months(start, months)
    last = add_months(end, months)
    if _is_month_end(end):
        last = month_end(last.year, last.month)
    return first, last


def previous(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period a 环比 compares with.

    A period starting on the 1st of a month is read in months: March -> February, Q2 -> Q1,
    1-7 December -> 1-7 November (the same days of the month before). Any other period is
    the same number of days just before it.
    """
    if start.day == 1:
        return _shift(start, end, -_months_spanned(start, end))
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def year_before(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The same dates a year earlier (同比); 29 February becomes the 28th."""
    return _shift(start, end, -12)


def quick_periods(today: dt.date) -> list[Period]:
    """本月 and 本季度 and 本年 run to today: days ahead have no intakes yet."""
    quarter_start = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    last_quarter_start = add_months(quarter_start, -3)
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    return [
        Period("this_month", "本月", today.replace(day=1), today),
        Period("last_month", "上月", last_month_end.replace(day=1), last_month_end),
        Period("this_quarter", "本季度", quarter_start, today),
        Period("last_quarter", "上季度", last_quarter_start, quarter_start - dt.timedelta(days=1)),
        Period("this_year", "本年", dt.date(today.year, 1, 1), today),
        Period("last_year", "去年", dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)),
    ]


def months_ending(end: dt.date, count: int = 12) -> list[tuple[dt.date, dt.date]]:
    """The ``count`` calendar months up to and including ``end``'s month, oldest first."""
    last = end.replace(day=1)
    out = []
    for back in range(count - 1, -1, -1):
        first = add_months(last, -back)
        out.append((first, month_end(first.year, first.month)))
    return out


def describe(start: dt.date, end: dt.date) -> str:
    """A period as a clerk says it: 2026年3月, 2026年第二季度, 2026年, else the two dates."""
    if start.day == 1 and _is_month_end(end):
        months = _months_spanned(start, end)
        if months == 1:
            return f"{start.year}年{start.month}月"
        if months == 3 and start.month % 3 == 1:
            return f"{start.year}年第{'一二三四'[start.month // 3]}季度"
        if months == 12 and start.month == 1:
            return f"{start.year}年"
    return f"{start.year}年{start.month}月{start.day}日至{end.year}年{end.month}月{end.day}日"
