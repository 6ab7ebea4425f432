"""When a resident wants to come: Chinese date expressions to a local time range.

jionlp.parse_time does the parsing; this module fixes what it gets wrong for
booking (colloquial words, half days, bare weekdays that already passed) and
applies the booking window.
"""
from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import io
import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Literal, Optional

from court.booking import slots
from court.core.errors import DateNotUnderstood, PastTime, ValidationError
from court.core.settings import LOCAL_TZ

Precision = Literal["day", "half_day", "time"]

MORNING = (dt.time(8), dt.time(12))
AFTERNOON = (dt.time(12), dt.time(18))
MAX_RANGE = dt.timedelta(days=7)  # "下周" is fine; "2026年" or "十二月" is not a day to book

# A month and day without a year that passed longer ago than this means next year;
# "11月27日" said on 11月29日 is a slip, answered with "已经过去了".
_NEXT_YEAR_AFTER = dt.timedelta(days=180)

_NOT_A_POINT = ("请说一个具体的日子或时间点，不要说一段时间，"
                "例如“明天下午”“下周一上午”“12月3号上午十点”。")
_TOO_WIDE = "这个范围太大了，请说一个具体的日子，例如“下周三”“12月3号上午”。"


@dataclass(frozen=True)
class WhenRange:
    start: dt.datetime  # aware, LOCAL_TZ
    end: dt.datetime  # exclusive; equals start when precision is "time"
    precision: Precision


# --- jionlp, loaded on first use -------------------------------------------------

_parse_time: Optional[Callable[..., Any]] = None
_import_lock = threading.Lock()
_parse_lock = threading.Lock()  # jionlp's parser is one shared object that keeps state between calls


def _jionlp_parse_time() -> Callable[..., Any]:
    global _parse_time
    with _import_lock:
        if _parse_time is None:
            with contextlib.redirect_stdout(io.StringIO()):  # its import prints a banner
                import jionlp
            _parse_time = jionlp.parse_time
    return _parse_time


# --- normalising what residents type -------------------------------------------

# Colloquial and northeastern words jionlp does not know; unknown words are
# dropped silently by it ("明天头午" would become all of tomorrow).
_REWRITES = (
    ("明儿个", "明天"), ("明儿", "明天"), ("今儿个", "今天"), ("今儿", "今天"),
    ("后儿个", "后天"), ("后儿", "后天"), ("明早", "明天上午"), ("明晨", "明天上午"),
    ("今早", "今天上午"), ("明晚", "明天晚上"), ("今晚", "今天晚上"),
    ("早上", "上午"), ("早晨", "上午"), ("头午", "上午"), ("前晌", "上午"), ("头晌", "上午"),
    ("晌午", "中午"), ("下晌", "下午"), ("后晌", "下午"), ("过晌", "下午"),
)

_HALF_DAY_WORDS = ("上午", "中午", "下午", "傍晚", "晚上")
_EARLY_WORDS = re.compile(r"上午|凌晨|清晨|早|夜|晚")

_WEEK_ANCHOR = re.compile(r"[这本上下]个?(?:周|星期|礼拜)")
_DAY_ANCHOR = re.compile(r"[今明后昨前]天|[这本上下]个?月|\d+天[后以]|年")
_BARE_WEEKDAY = re.compile(r"(?:周|星期|礼拜)[一二三四五六日天1-7]")
_BARE_DAY_OF_MONTH = re.compile(r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[号日]")


# Ranges jionlp does not read: the end of a month, and "after New Year's Day".
_MONTH_END = re.compile(r"(下个?|这个?|本)?月[底末]")
_AFTER_NEW_YEAR = re.compile(r"元旦(?:节|假期)?(?:[以之]?后|过后)|过[了完]元旦")
_MONTH_END_DAYS = 3
_AFTER_HOLIDAY_DAYS = 7


def _named_range(text: str, now_local: dt.datetime) -> Optional[WhenRange]:
    """月底 (the last three days of this or next month) and 元旦后 (the week after the coming 1 January)."""
    month_end = _MONTH_END.search(text)
    if month_end:
        ahead = 1 if (month_end.group(1) or "").startswith("下") else 0
        index = now_local.month - 1 + ahead
        year, month = now_local.year + index // 12, index % 12 + 1
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        first = last - dt.timedelta(days=_MONTH_END_DAYS - 1)
        return WhenRange(_on(first, dt.time.min), _on(last + dt.timedelta(days=1), dt.time.min), "day")
    if _AFTER_NEW_YEAR.search(text):
        today = now_local.date()
        year = today.year if (today.month, today.day) == (1, 1) else today.year + 1
        first = dt.date(year, 1, 2)
        return WhenRange(_on(first, dt.time.min), _on(first + dt.timedelta(days=_AFTER_HOLIDAY_DAYS), dt.time.min),
                         "day")
    return None


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip()
    for old, new in _REWRITES:
        text = text.replace(old, new)
    return text


def _local(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=LOCAL_TZ)


def _parse_with_jionlp(text: str, now_local: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(start, inclusive end) of a single point in time, or DateNotUnderstood."""
    parse_time = _jionlp_parse_time()
    # A wall-clock base: jionlp reads a float timestamp in the process's own time zone.
    base = now_local.replace(tzinfo=None)
    try:
        with _parse_lock:
            result = parse_time(text, time_base=base)
    except Exception as exc:  # jionlp raises ValueError, TypeError, AssertionError... on odd input
        raise DateNotUnderstood() from exc
    if not isinstance(result, dict):
        raise DateNotUnderstood()
    if result.get("type") != "time_point":  # time_span, time_period, time_delta
        raise DateNotUnderstood(_NOT_A_POINT)
    try:
        first, last = result["time"]
        return _local(first), _local(last)
    except (KeyError, TypeError, ValueError) as exc:
        raise DateNotUnderstood() from exc


# --- shaping the range -----------------------------------------------------------


def _on(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=LOCAL_TZ)


def _shape(text: str, start: dt.datetime, last: dt.datetime) -> WhenRange:
    end = last + dt.timedelta(seconds=1)
    span = end - start
    if span <= dt.timedelta(hours=1):
        # jionlp gives "10点" as 10:00-10:59:59; residents mean 10:00.
        if start.hour in range(1, 7) and not _EARLY_WORDS.search(text):
            start += dt.timedelta(hours=12)  # "明天两点" is 14:00 at a court, not 02:00
        return WhenRange(start, start, "time")
    if span < dt.timedelta(days=1):
        day = start.date()
        has_morning, has_afternoon = "上午" in text, "下午" in text
        if has_morning and not has_afternoon:
            return WhenRange(_on(day, MORNING[0]), _on(day, MORNING[1]), "half_day")
        if has_afternoon and not has_morning:
            return WhenRange(_on(day, AFTERNOON[0]), _on(day, AFTERNOON[1]), "half_day")
        return WhenRange(start, end, "half_day")
    if span > MAX_RANGE:
        raise DateNotUnderstood(_TOO_WIDE)
    return WhenRange(start, end, "day")


def _shift(when: WhenRange, *, days: int = 0, months: int = 0) -> Optional[WhenRange]:
    def move(moment: dt.datetime) -> Optional[dt.datetime]:
        if months:
            month_index = moment.month - 1 + months
            year, month = moment.year + month_index // 12, month_index % 12 + 1
            if moment.day > calendar.monthrange(year, month)[1]:
                return None  # "31号" has no next-month twin in a 30-day month
            moment = moment.replace(year=year, month=month)
        return moment + dt.timedelta(days=days)

    start = move(when.start)
    if start is None:
        return None
    return WhenRange(start, start + (when.end - when.start), when.precision)


def _later_reading(text: str, when: WhenRange, now: dt.datetime) -> Optional[WhenRange]:
    """The reading ahead of a past, unanchored date, if a resident would mean it.

    jionlp puts "周三" in the current week and "3号"/"1月5号" in the current
    month/year even when that has passed; explicit "这周五" or "昨天" stay past.
    """
    if _DAY_ANCHOR.search(text):
        return None
    if _BARE_WEEKDAY.search(text):
        if _WEEK_ANCHOR.search(text):
            return None
        later = _shift(when, days=7)
    elif "月" not in text and _BARE_DAY_OF_MONTH.search(text):
        later = _shift(when, months=1)
    elif "月" in text and now - when.end > _NEXT_YEAR_AFTER:
        # "1月5号" said in November is next January (the horizon check may still refuse it).
        return _shift(when, months=12)
    else:
        return None
    if later is None or _is_past(later, now) or _too_far(later, now):
        return None
    return later


def _is_past(when: WhenRange, now: dt.datetime) -> bool:
    return when.start < now if when.precision == "time" else when.end <= now


def _too_far(when: WhenRange, now: dt.datetime) -> bool:
    return when.start > now + dt.timedelta(days=slots.HORIZON_DAYS)


def _md(moment: dt.datetime) -> str:
    return f"{moment.month}月{moment.day}日"


def _past_message(text: str, when: WhenRange) -> str:
    if when.precision == "time":
        return f"{_md(when.start)}{when.start.hour}:{when.start:%M}已经过去了，请选一个以后的时间。"
    if when.precision == "half_day":
        part = next((w for w in _HALF_DAY_WORDS if w in text), "这个时段")
        return f"{_md(when.start)}{part}已经过去了，请选一个以后的时间。"
    last_day = when.end - dt.timedelta(seconds=1)
    if last_day.date() != when.start.date():
        return f"{_md(when.start)}到{_md(last_day)}已经过去了，请选一个以后的日期。"
    return f"{_md(when.start)}已经过去了，请选一个以后的日期。"


def parse_when(text: str, now: dt.datetime) -> WhenRange:
    """The time range a resident means by ``text`` (e.g. 明天下午), relative to ``now``.

    Raises DateNotUnderstood (not a point in time), PastTime, or ValidationError
    (beyond the booking horizon); each carries a Chinese message for the resident.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(text, str) or not text.strip():
        raise DateNotUnderstood()
    now_local = now.astimezone(LOCAL_TZ)
    cleaned = _normalise(text)
    when = _named_range(cleaned, now_local)
    if when is None:
        start, last = _parse_with_jionlp(cleaned, now_local)
        when = _shape(cleaned, start, last)
    if _is_past(when, now_local):
        later = _later_reading(cleaned, when, now_local)
        if later is None or _is_past(later, now_local):
            raise PastTime(_past_message(cleaned, when))
        when = later
    if _too_far(when, now_local):
        limit = now_local + dt.timedelta(days=slots.HORIZON_DAYS)
        raise ValidationError(
            f"只能预约{slots.HORIZON_DAYS}天以内的时间（最晚到{_md(limit)}），请选一个近一点的日期。")
    return when
