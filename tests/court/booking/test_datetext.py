import contextlib
import dataclasses
import datetime as dt
import io
import subprocess
import sys

import pytest

from court.booking import slots
from court.booking.datetext import WhenRange, parse_when
from court.core.errors import DateNotUnderstood, PastTime, ValidationError
from court.core.settings import LOCAL_TZ, REPO_ROOT

SUNDAY = dt.datetime(2026, 11, 29, 10, 0, tzinfo=LOCAL_TZ)
WEDNESDAY = dt.datetime(2026, 12, 2, 14, 0, tzinfo=LOCAL_TZ)


def at(month, day, hour=0, minute=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def whole_day(month, day, year=2026):
    start = at(month, day, year=year)
    return WhenRange(start, start + dt.timedelta(days=1), "day")


def morning(month, day):
    return WhenRange(at(month, day, 8), at(month, day, 12), "half_day")


def afternoon(month, day):
    return WhenRange(at(month, day, 12), at(month, day, 18), "half_day")


def exact(month, day, hour, minute=0):
    return WhenRange(at(month, day, hour, minute), at(month, day, hour, minute), "time")


ON_SUNDAY = [
    ("明天下午", afternoon(11, 30)),
    ("下周一上午", morning(11, 30)),  # weeks start on Monday: on a Sunday, 下周一 is tomorrow
    ("12月3号上午十点", exact(12, 3, 10)),
    ("后天", whole_day(12, 1)),
    ("今天下午三点", exact(11, 29, 15)),
    ("周三", whole_day(12, 2)),  # this week's Wednesday has passed: the coming one
    ("下礼拜二", whole_day(12, 1)),
    ("大后天", whole_day(12, 2)),
    ("12月3日", whole_day(12, 3)),
    ("明早", morning(11, 30)),
    ("明天上午9点半", exact(11, 30, 9, 30)),
    ("下周", WhenRange(at(11, 30), at(12, 7), "day")),
    ("明天早上", morning(11, 30)),
    ("明儿个下午", afternoon(11, 30)),
    ("明天头午", morning(11, 30)),
    ("明天两点", exact(11, 30, 14)),  # an office appointment at 两点 is 14:00
    ("下周三下午两点", exact(12, 2, 14)),
    ("十二月三日下午两点", exact(12, 3, 14)),
    ("我想约明天下午", afternoon(11, 30)),
    ("那就下周一上午吧", morning(11, 30)),
    ("明天 9:30", exact(11, 30, 9, 30)),
    ("３号下午", afternoon(12, 3)),  # day of month already passed: next month
    ("三号", whole_day(12, 3)),
    ("1月5号", whole_day(1, 5, year=2027)),  # January said in November: next year
    ("今天", whole_day(11, 29)),
    ("今晚", WhenRange(at(11, 29, 18), at(11, 30), "half_day")),
]


@pytest.mark.parametrize("text, expected", ON_SUNDAY)
def test_on_a_sunday(text, expected):
    assert parse_when(text, SUNDAY) == expected


ON_WEDNESDAY = [
    ("明天下午", afternoon(12, 3)),
    ("下周一上午", morning(12, 7)),
    ("这周五", whole_day(12, 4)),
    ("周三", whole_day(12, 2)),  # today, still going on
    ("周三上午", morning(12, 9)),  # this morning is over: next Wednesday
    ("周一", whole_day(12, 7)),
    ("周日", whole_day(12, 6)),
    ("后天", whole_day(12, 4)),
    ("大后天", whole_day(12, 5)),
    ("下礼拜二", whole_day(12, 8)),
    ("今天下午三点", exact(12, 2, 15)),
    ("今天下午", afternoon(12, 2)),
    ("明早", morning(12, 3)),
    ("下周", WhenRange(at(12, 7), at(12, 14), "day")),
    ("12月3号上午十点", exact(12, 3, 10)),
]


@pytest.mark.parametrize("text, expected", ON_WEDNESDAY)
def test_on_a_wednesday(text, expected):
    assert parse_when(text, WEDNESDAY) == expected


def test_result_is_aware_local_time():
    when = parse_when("明天下午", SUNDAY)
    assert when.start.tzinfo is not None and when.start.utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        when.start = SUNDAY  # type: ignore[misc]


def test_now_in_utc_means_the_same_local_day():
    # 07:00 in Heihe is still the previous day in UTC; "明天" follows Heihe's calendar.
    early = dt.datetime(2026, 11, 29, 7, 0, tzinfo=LOCAL_TZ)
    assert parse_when("明天", early.astimezone(dt.timezone.utc)) == whole_day(11, 30)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        parse_when("明天", dt.datetime(2026, 11, 29, 10))


@pytest.mark.parametrize("now, text, message", [
    (SUNDAY, "这周五", "11月27日已经过去了，请选一个以后的日期。"),
    (SUNDAY, "11月27日", "11月27日已经过去了，请选一个以后的日期。"),
    (SUNDAY, "昨天", "11月28日已经过去了，请选一个以后的日期。"),
    (SUNDAY, "上周五", "11月20日已经过去了，请选一个以后的日期。"),
    (SUNDAY, "今天上午九点", "11月29日9:00已经过去了，请选一个以后的时间。"),
    (SUNDAY, "上周", "11月16日到11月22日已经过去了，请选一个以后的日期。"),
    (WEDNESDAY, "今天上午", "12月2日上午已经过去了，请选一个以后的时间。"),
    (WEDNESDAY, "这周一", "11月30日已经过去了，请选一个以后的日期。"),
])
def test_past(now, text, message):
    with pytest.raises(PastTime) as err:
        parse_when(text, now)
    assert err.value.message == message


def test_this_morning_is_not_past_before_noon():
    assert parse_when("今天上午", SUNDAY) == morning(11, 29)


def test_horizon():
    limit = SUNDAY + dt.timedelta(days=slots.HORIZON_DAYS)
    assert limit.date() == dt.date(2027, 1, 28)
    assert parse_when("1月28日", SUNDAY) == whole_day(1, 28, year=2027)
    for text in ["1月29日", "2027年3月1日", "明年五月一号"]:
        with pytest.raises(ValidationError) as err:
            parse_when(text, SUNDAY)
        assert not isinstance(err.value, (PastTime, DateNotUnderstood)), text
        assert f"{slots.HORIZON_DAYS}天以内" in err.value.message
        assert "1月28日" in err.value.message


@pytest.mark.parametrize("text", [
    "", "   ", "abc", "好的", "谢谢", "不知道", "随便", "标的十万", "13945612378",
    "三天", "两个小时", "每周一", "明天下午3点到5点", "周一到周三", "2026年", "下个月",
])
def test_not_understood(text):
    with pytest.raises(DateNotUnderstood) as err:
        parse_when(text, SUNDAY)
    assert err.value.message  # Chinese text for the resident


def test_not_a_string():
    with pytest.raises(DateNotUnderstood):
        parse_when(None, SUNDAY)  # type: ignore[arg-type]


def test_quiet_in_process():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        parse_when("明天下午", SUNDAY)
    assert out.getvalue() == ""


def test_quiet_on_first_import():
    # jionlp prints a banner on import; a fresh interpreter shows whether it leaks.
    code = ("import datetime as dt; from court.booking.datetext import parse_when; from court.core.settings import LOCAL_TZ; "
            "parse_when('明天下午', dt.datetime(2026, 11, 29, 10, tzinfo=LOCAL_TZ))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_day_of_month_rolls_into_next_year():
    new_years_eve = dt.datetime(2026, 12, 31, 10, 0, tzinfo=LOCAL_TZ)
    assert parse_when("30号", new_years_eve) == whole_day(1, 30, year=2027)
    assert parse_when("1月5日", new_years_eve) == whole_day(1, 5, year=2027)


# New Year's Eve late at night and just after midnight, Beijing time: UTC is still on 31 December.
NEW_YEARS_EVE = dt.datetime(2026, 12, 31, 23, 30, tzinfo=LOCAL_TZ)
JUST_AFTER_MIDNIGHT = dt.datetime(2027, 1, 1, 0, 10, tzinfo=LOCAL_TZ)


def test_the_year_boundary_moments_are_still_31_december_in_utc():
    assert NEW_YEARS_EVE.astimezone(dt.timezone.utc).date() == dt.date(2026, 12, 31)
    assert JUST_AFTER_MIDNIGHT.astimezone(dt.timezone.utc).date() == dt.date(2026, 12, 31)


def days(first, last):
    start = dt.datetime.combine(first, dt.time.min, LOCAL_TZ)
    return WhenRange(start, dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, LOCAL_TZ), "day")


D = dt.date
ACROSS_NEW_YEAR = [
    (NEW_YEARS_EVE, "明天", days(D(2027, 1, 1), D(2027, 1, 1))),
    (NEW_YEARS_EVE, "下周一", days(D(2027, 1, 4), D(2027, 1, 4))),
    (NEW_YEARS_EVE, "大后天", days(D(2027, 1, 3), D(2027, 1, 3))),
    (NEW_YEARS_EVE, "后天上午", WhenRange(at(1, 2, 8, year=2027), at(1, 2, 12, year=2027), "half_day")),
    (NEW_YEARS_EVE, "1月3号", days(D(2027, 1, 3), D(2027, 1, 3))),
    (NEW_YEARS_EVE, "下个月5号", days(D(2027, 1, 5), D(2027, 1, 5))),
    (NEW_YEARS_EVE, "月底", days(D(2026, 12, 29), D(2026, 12, 31))),  # still the 31st for half an hour
    (NEW_YEARS_EVE, "下个月底", days(D(2027, 1, 29), D(2027, 1, 31))),
    (NEW_YEARS_EVE, "元旦后", days(D(2027, 1, 2), D(2027, 1, 8))),
    (NEW_YEARS_EVE, "过了元旦", days(D(2027, 1, 2), D(2027, 1, 8))),
    (JUST_AFTER_MIDNIGHT, "明天", days(D(2027, 1, 2), D(2027, 1, 2))),
    (JUST_AFTER_MIDNIGHT, "今天下午", WhenRange(at(1, 1, 12, year=2027), at(1, 1, 18, year=2027), "half_day")),
    (JUST_AFTER_MIDNIGHT, "下周一", days(D(2027, 1, 4), D(2027, 1, 4))),
    (JUST_AFTER_MIDNIGHT, "大后天", days(D(2027, 1, 4), D(2027, 1, 4))),
    (JUST_AFTER_MIDNIGHT, "月底", days(D(2027, 1, 29), D(2027, 1, 31))),
    (JUST_AFTER_MIDNIGHT, "元旦以后", days(D(2027, 1, 2), D(2027, 1, 8))),
    (JUST_AFTER_MIDNIGHT, "下个月5号", days(D(2027, 2, 5), D(2027, 2, 5))),
]


@pytest.mark.parametrize("now, text, expected", ACROSS_NEW_YEAR, ids=lambda v: v if isinstance(v, str) else None)
def test_dates_across_new_year_in_beijing_time(now, text, expected):
    assert parse_when(text, now) == expected


def test_12_3_across_new_year_is_past_or_too_far_never_a_wrong_day():
    with pytest.raises(PastTime) as late:
        parse_when("12月3号", NEW_YEARS_EVE)  # four weeks ago: a slip, not next December
    assert "12月3日已经过去了" in late.value.message
    with pytest.raises(ValidationError) as far:
        parse_when("12月3号", JUST_AFTER_MIDNIGHT)
    assert "60天以内" in far.value.message
