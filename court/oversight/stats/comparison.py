"""A report beside the period before it (环比) and the same period a year earlier (同比):
the headline figures, each with its change and its definition."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy.orm import Session

from court.oversight.stats.area_scope import AreaRef
from court.oversight.stats.figures import Report, report
from court.oversight.stats.periods import previous, year_before
from court.oversight.stats.sql import share


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    kind: str  # "count" (relative change), "share" (percentage points), "minutes" / "days" (difference)
    value: Optional[float]
    previous: Optional[float]
    year_before: Optional[float]
    basis: str  # the date the figure is counted by
    definition: str

    @staticmethod
    def _change(kind: str, value: Optional[float], base: Optional[float]) -> Optional[float]:
        if value is None or base is None:
            return None
        if kind == "count":
            return None if base == 0 else (value - base) / base
        return value - base

    @property
    def vs_previous(self) -> Optional[float]:
        """环比: relative change for counts, difference (points, minutes, days) otherwise."""
        return self._change(self.kind, self.value, self.previous)

    @property
    def vs_year_before(self) -> Optional[float]:
        return self._change(self.kind, self.value, self.year_before)


@dataclass(frozen=True)
class Comparison:
    current: Report
    previous: Report
    year_before: Report
    headlines: list[Headline]


def _success_rate(r: Report) -> Optional[float]:
    failed = next(f.value for f in r.outcomes if f.key == "failed")
    return share(r.successes, r.successes + failed)


# key, label, kind, value of a report, date basis, definition
_HEADLINES: list[tuple[str, str, str, Callable[[Report], Optional[float]], str, str]] = [
    ("intakes", "受理纠纷", "count", lambda r: r.intakes, "按受理日期",
     "本期新登记的纠纷（助手和12368热线），按纠纷发生地所在地区统计；服务点按预约的服务点统计。"),
    ("steered", "进入非诉渠道", "count", lambda r: r.steered, "按受理日期",
     "本期受理的纠纷中，至少预约过一次调解的（预约时间不限于本期）。"),
    ("steered_share", "非诉分流率", "share", lambda r: r.steered_share, "按受理日期",
     "进入非诉渠道 ÷ 受理纠纷。"),
    ("booked", "预约调解", "count", lambda r: r.appointments_booked, "按调解开始时间",
     "本期开始的调解预约，不含已取消和调解员拒绝的。"),
    ("held", "已调解", "count", lambda r: r.appointments_held, "按调解开始时间",
     "本期开始、已经举行的调解。"),
    ("successes", "调解成功", "count", lambda r: r.successes, "按结果登记日期",
     "本期登记的调解结果中，调解成功和达成协议并申请司法确认的。"),
    ("success_rate", "调解成功率", "share", _success_rate, "按结果登记日期",
     "调解成功 ÷（调解成功 + 调解不成），当事人未到的不计入。"),
    ("jc_requested", "申请司法确认", "count", lambda r: r.jc_requested, "按申请日期",
     "本期提出的司法确认申请，含本期之前达成协议、本期才申请的。"),
    ("handoffs", "转人工", "count", lambda r: r.handoffs, "按转人工时间",
     "本期居民转到12368热线人工的次数。"),
    ("wait_in_hours", "工作时间内等待中位数", "minutes", lambda r: r.wait_in_hours_median_min, "按转人工时间",
     "工作日8:30—17:00内转入、已被接手的，从转入到坐席接手的分钟数的中位数；下班后转入的另计。"),
]


def compare(session: Session, *, area: AreaRef, start: dt.date, end: dt.date) -> Comparison:
    current = report(session, area=area, start=start, end=end)
    before = report(session, area=area, start=previous(start, end)[0], end=previous(start, end)[1])
    last_year = report(session, area=area, start=year_before(start, end)[0], end=year_before(start, end)[1])
    headlines = [Headline(key, label, kind, value(current), value(before), value(last_year), basis, definition)
                 for key, label, kind, value, basis, definition in _HEADLINES]
    return Comparison(current, before, last_year, headlines)
