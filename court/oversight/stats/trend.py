"""The monthly trend of an area: the twelve calendar months up to a period's last month,
each beside the same month a year earlier, counted with the report's own definitions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from court.core.timeutil import local_datetime
from court.oversight.stats.area_scope import AreaRef, case_area, county_code_of, owner_in_area
from court.oversight.stats.figures import _handoffs_in, _outcomes_in
from court.oversight.stats.periods import add_months, months_ending
from court.oversight.stats.sql import sum_when, within
from court.store.schema import Appointment, AppointmentStatus, Case, CaseSource, Handoff, Outcome, OutcomeResult

MONTHS = 12
SERIES = {  # key -> (label, date basis)
    "intakes": ("受理", "按受理日期"),
    "steered": ("进入非诉渠道", "按受理日期"),
    "held": ("已调解", "按调解开始时间"),
    "successes": ("调解成功", "按结果登记日期"),
    "handoffs": ("转人工", "按转人工时间"),
}
_SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)


@dataclass(frozen=True)
class Month:
    start: dt.date
    end: dt.date
    in_period: bool  # inside the report's period (the chart marks it)
    values: dict[str, int]
    year_before: dict[str, int]

    @property
    def label(self) -> str:
        return f"{self.start.month}月"


@dataclass(frozen=True)
class Trend:
    area: AreaRef
    months: list[Month]

    def total(self, key: str) -> int:
        return sum(m.values[key] for m in self.months)


def _bucket(column: Any, bounds: list[dt.datetime]) -> ColumnElement:
    """The index of the month a timestamp falls in: portable CASE over the month starts."""
    return case(*[(column < bounds[i + 1], i) for i in range(len(bounds) - 1)], else_=-1)


def trend(session: Session, *, area: AreaRef, start: dt.date, end: dt.date, months: int = MONTHS) -> Trend:
    """``months`` calendar months up to ``end``'s month, and each same month a year earlier."""
    county_code = county_code_of(session, area.id) if area.kind == "county" else None
    shown = months_ending(end, months)
    first = add_months(shown[0][0], -12)
    bounds = [local_datetime(add_months(first, i), dt.time.min) for i in range(months + 12 + 1)]
    lo, hi = bounds[0], bounds[-1]
    counts: dict[str, dict[int, int]] = {key: {} for key in SERIES}

    bucket = _bucket(Case.created_at, bounds)
    has_appointment = select(Appointment.id).where(Appointment.case_id == Case.id).exists()
    for index, n, steered in session.execute(
            select(bucket, func.count(), sum_when(has_appointment)).select_from(Case)
            .where(within(Case.created_at, lo, hi), Case.source != CaseSource.DELEGATED.value,
                   *case_area(area, county_code)).group_by(bucket)):
        counts["intakes"][int(index)] = int(n)
        counts["steered"][int(index)] = int(steered or 0)

    bucket = _bucket(Appointment.starts_at, bounds)
    held = (select(bucket, func.count()).select_from(Appointment)
            .where(within(Appointment.starts_at, lo, hi), Appointment.status == AppointmentStatus.DONE.value))
    held = (held.where(Appointment.service_point_id == area.id) if area.kind == "point"
            else held.where(*owner_in_area(Appointment.case_id, area, county_code)))
    counts["held"] = {int(i): int(n) for i, n in session.execute(held.group_by(bucket))}

    bucket = _bucket(Outcome.recorded_at, bounds)
    won = (select(bucket, func.count()).select_from(Outcome)
           .where(within(Outcome.recorded_at, lo, hi), Outcome.result.in_(_SUCCESSES),
                  Outcome.appointment_id.isnot(None)))  # residents' cases: delegated ones are counted apart
    counts["successes"] = {int(i): int(n) for i, n in
                           session.execute(_outcomes_in(won, area, county_code).group_by(bucket))}

    bucket = _bucket(Handoff.created_at, bounds)
    asked = select(bucket, func.count()).select_from(Handoff).where(within(Handoff.created_at, lo, hi))
    counts["handoffs"] = {int(i): int(n) for i, n in
                          session.execute(_handoffs_in(asked, area, county_code).group_by(bucket))}

    out = []
    for i, (month_start, month_end) in enumerate(shown):
        out.append(Month(
            start=month_start, end=month_end, in_period=month_end >= start and month_start <= end,
            values={key: counts[key].get(i + 12, 0) for key in SERIES},
            year_before={key: counts[key].get(i, 0) for key in SERIES},
        ))
    return Trend(area, out)

