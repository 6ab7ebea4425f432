"""The oversight report: one area's and period's cases, appointments, outcomes and
handoffs, and the report flattened to rows for CSV and Excel."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from court.core.errors import ValidationError
from court.hotline.handoffs import desk_open, next_opening
from court.oversight.stats import delegated
from court.oversight.stats.area_scope import BELOW_COUNTY, AreaRef, case_area, county_code_of, owner_in_area
from court.oversight.stats.delegated import DelegatedFigures
from court.oversight.stats.sql import period, scaled, seconds_between, share, spread, spread_of, sum_when, within
from court.records.workcalendar import WorkCalendar
from court.reference import guidance, labels
from court.store.schema import (
    Appointment,
    AppointmentStatus,
    Case,
    CaseSource,
    DisputeType,
    Handoff,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    ServicePoint,
)

UNKNOWN = "unknown"

SOURCE_LABELS = {source: labels.CASE_SOURCE[source] for source in (CaseSource.BOT.value, CaseSource.HOTLINE.value)}
# 委派调解 is counted apart (court/oversight/stats/delegated.py): the residents' figures leave it out.
_DELEGATED = CaseSource.DELEGATED.value
OUTCOME_LABELS = labels.OUTCOME_RESULT
# Handoff reasons are the assistant's intent names; these are always listed, others when they occur.
HANDOFF_REASON_LABELS = {
    "request_human": "居民要求转人工",
    "misunderstood": "助手多次没听懂",
    "frustration": "居民不满意",
    "assistant_down": "助手暂时故障",
    "resident_asked": "居民要求转人工",
}
_LISTED_REASONS = ("request_human", "misunderstood", "frustration", "assistant_down")
_SUBAREA_SECTIONS = {"city": "按县区", "county": "按乡镇", "town": "按服务点"}
_UNKNOWN_LABELS = {"city": "未定位", "county": "未定位到乡镇", "town": "未预约服务点"}
_NOT_BOOKED = (AppointmentStatus.CANCELLED.value, AppointmentStatus.DECLINED.value)
SUCCESS_RESULTS = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: int


@dataclass(frozen=True)
class Report:
    area: AreaRef
    start: dt.date
    end: dt.date
    intakes: int
    by_type: list[Figure]
    by_source: list[Figure]
    by_subarea: list[Figure]
    steered: int
    steered_share: Optional[float]
    appointments_booked: int
    appointments_held: int
    appointments_no_show: int
    appointments_cancelled: int
    outcomes: list[Figure]
    jc_requested: int
    median_days_to_first_appointment: Optional[float]
    handoffs: int
    handoffs_by_reason: list[Figure]
    handoff_wait_median_min: Optional[float]
    handoff_wait_p90_min: Optional[float]
    handoffs_never_taken: int
    # Declined offers and the booked ones not held yet (or not recorded): booked = held + no_show + pending.
    appointments_declined: int = 0
    appointments_pending: int = 0
    # Confirmation requests by date requested, split by when the agreement was recorded:
    # jc_requested = jc_recorded_in_period + jc_recorded_before.
    jc_recorded_in_period: int = 0
    jc_recorded_before: int = 0
    # Agreements needing confirmation recorded in the period whose request came after it.
    agreements_jc_later: int = 0
    # Hand-overs split by whether the desk was staffed when asked: in_hours + after_hours = handoffs.
    handoffs_in_hours: int = 0
    handoffs_after_hours: int = 0
    wait_in_hours_median_min: Optional[float] = None
    wait_in_hours_p90_min: Optional[float] = None
    # After hours: from the desk's next opening to the take (the night is not an agent's wait).
    wait_after_opening_median_min: Optional[float] = None
    wait_after_opening_p90_min: Optional[float] = None
    # 委派调解: the cases the court delegated in the period, apart from every figure above.
    delegated: Optional[DelegatedFigures] = None

    @property
    def successes(self) -> int:
        return sum(f.value for f in self.outcomes if f.key in SUCCESS_RESULTS)


def report(session: Session, *, area: AreaRef, start: dt.date, end: dt.date) -> Report:
    """Figures for the cases, appointments, outcomes and handoffs of one area and period.

    Definitions (each counted over the local days ``start``..``end``):
    - intakes: cases created in the period whose place (the town of the dispute) is in
      the area; for a service point, cases whose point it is.
    - steered: those intakes that entered a non-litigation channel, i.e. got at least
      one appointment (any status, whenever it was made); steered_share = steered / intakes.
    - median_days_to_first_appointment: over steered intakes, the earliest appointment's
      start minus the case's creation, in days.
    - appointments_*: appointments starting in the period, of cases in the area (for a
      point: held at that point). "booked" excludes cancelled and declined ones: a
      declined offer is replaced by its reassignment or sends the case back to intake,
      so counting it too would count one meeting twice.
    - outcomes: recorded in the period; jc_requested: judicial confirmation requested in it.
    - handoffs: created in the period; outside the city, a handoff belongs to its case, or
      else to its resident's latest case opened by then (their first case if none was).
      Waits are taken_at - created_at in minutes; never taken = no taken_at yet.
      In hours = asked while the desk was staffed (working days 08:30-17:00, the court's
      calendar); after hours waits run from the desk's next opening to the take.
    - appointments_pending: booked ones neither held nor missed (ahead, or no outcome yet).
    - every figure above is of residents' own cases (assistant, 12368): delegated cases
      (委派调解) are left out of intakes and outcomes and counted in ``delegated``.
    - jc_recorded_in_period / _before: requests of the period whose agreement was recorded in
      the period / before it; agreements_jc_later: agreements recorded in the period whose
      request came after it (or has not come).
    """
    first, last, lo, hi = period(start, end)
    county_code = county_code_of(session, area.id) if area.kind == "county" else None
    if area.kind in ("town", "point") and area.id is None:
        raise ValidationError("没有找到这个地区，请从列表中重新选择。")
    intake = _intake_figures(session, area, county_code, lo, hi)
    appointments = _appointment_counts(session, area, county_code, lo, hi)
    outcomes, jc = _outcome_counts(session, area, county_code, lo, hi)
    handoffs = _handoff_figures(session, area, county_code, lo, hi)
    booked = sum(n for status, n in appointments.items() if status not in _NOT_BOOKED)
    held = appointments.get(AppointmentStatus.DONE.value, 0)
    no_show = appointments.get(AppointmentStatus.NO_SHOW.value, 0)
    in_hours, after_hours = handoffs["in_hours"], handoffs["after_hours"]
    return Report(
        area=area, start=first, end=last,
        intakes=intake["intakes"], by_type=intake["by_type"], by_source=intake["by_source"],
        by_subarea=intake["by_subarea"], steered=intake["steered"],
        steered_share=share(intake["steered"], intake["intakes"]),
        appointments_booked=booked, appointments_held=held, appointments_no_show=no_show,
        appointments_cancelled=appointments.get(AppointmentStatus.CANCELLED.value, 0),
        appointments_declined=appointments.get(AppointmentStatus.DECLINED.value, 0),
        appointments_pending=booked - held - no_show,
        outcomes=[Figure(r.value, OUTCOME_LABELS[r.value], outcomes.get(r.value, 0)) for r in OutcomeResult],
        jc_requested=jc["requested"], jc_recorded_in_period=jc["both"], jc_recorded_before=jc["requested"] - jc["both"],
        agreements_jc_later=outcomes.get(OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value, 0) - jc["both_agreement"],
        median_days_to_first_appointment=scaled(intake["first_waits"].median, 86400),
        handoffs=handoffs["total"], handoffs_by_reason=handoffs["by_reason"],
        handoff_wait_median_min=scaled(handoffs["waits"].median, 60),
        handoff_wait_p90_min=scaled(handoffs["waits"].p90, 60),
        handoffs_never_taken=handoffs["never_taken"],
        handoffs_in_hours=in_hours["count"], handoffs_after_hours=after_hours["count"],
        wait_in_hours_median_min=scaled(in_hours["waits"].median, 60),
        wait_in_hours_p90_min=scaled(in_hours["waits"].p90, 60),
        wait_after_opening_median_min=scaled(after_hours["waits"].median, 60),
        wait_after_opening_p90_min=scaled(after_hours["waits"].p90, 60),
        delegated=delegated.figures(session, area=area, county_code=county_code, start=first, end=last),
    )


def _subarea_key(area: AreaRef) -> Optional[Any]:
    return {"city": Place.county_code, "county": Case.place_id, "town": Case.service_point_id}.get(area.kind)


def _intake_figures(session: Session, area: AreaRef, county_code: Optional[str],
                    lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    where = [within(Case.created_at, lo, hi), Case.source != _DELEGATED, *case_area(area, county_code)]
    has_appointment = select(Appointment.id).where(Appointment.case_id == Case.id).exists()
    key = _subarea_key(area)
    groups = [Case.dispute_type, Case.source] + ([key] if key is not None else [])
    query = select(*groups, func.count(), sum_when(has_appointment)).select_from(Case)
    if area.kind == "city":
        query = query.outerjoin(Place, Place.id == Case.place_id)
    rows = session.execute(query.where(*where).group_by(*groups)).all()

    by_type: dict[str, int] = {}
    by_source: dict[str, int] = {}
    by_key: dict[Any, int] = {}
    steered = 0
    for row in rows:
        n = int(row[-2])
        by_type[row[0]] = by_type.get(row[0], 0) + n
        by_source[row[1]] = by_source.get(row[1], 0) + n
        if key is not None:
            by_key[row[2]] = by_key.get(row[2], 0) + n
        steered += int(row[-1] or 0)

    first_start = func.min(Appointment.starts_at)
    waits = spread(session, select(seconds_between(first_start, Case.created_at)).select_from(Case)
                    .join(Appointment, Appointment.case_id == Case.id).where(*where)
                    .group_by(Case.id, Case.created_at))
    return {
        "intakes": sum(by_type.values()),
        "by_type": [Figure(t.value, guidance.card(t.value).label, by_type.get(t.value, 0)) for t in DisputeType],
        "by_source": [Figure(s, label, by_source.get(s, 0)) for s, label in SOURCE_LABELS.items()],
        "by_subarea": _subareas(session, area, county_code, by_key),
        "steered": steered,
        "first_waits": waits,
    }


def _subareas(session: Session, area: AreaRef, county_code: Optional[str], counts: dict[Any, int]) -> list[Figure]:
    """Counts per county (city), town (county) or service point (town), zeros included."""
    if area.kind == "point":
        return []
    unknown = 0
    figures: list[Figure] = []
    if area.kind == "city":
        counties = session.execute(select(Place.id, Place.name, Place.county_code)
                                   .where(Place.level == PlaceLevel.COUNTY.value).order_by(Place.code)).all()
        known = {c.county_code for c in counties}
        figures = [Figure(str(c.id), c.name, counts.get(c.county_code, 0)) for c in counties]
        unknown = sum(n for code, n in counts.items() if code not in known)
    elif area.kind == "county":
        towns = session.execute(select(Place.id, Place.name).where(
            Place.county_code == county_code, Place.level.in_(BELOW_COUNTY)).order_by(Place.code)).all()
        known = {t.id for t in towns}
        figures = [Figure(str(t.id), t.name, counts.get(t.id, 0)) for t in towns]
        unknown = sum(n for place_id, n in counts.items() if place_id not in known)
    else:  # town: the points its cases were booked at, its own points first
        used = [pid for pid in counts if pid is not None]
        points = session.execute(select(ServicePoint.id, ServicePoint.name, ServicePoint.place_id).where(
            (ServicePoint.place_id == area.id) | ServicePoint.id.in_(used))).all()
        points = sorted(points, key=lambda p: (p.place_id != area.id, -counts.get(p.id, 0), p.id))
        figures = [Figure(str(p.id), p.name, counts.get(p.id, 0)) for p in points]
        unknown = counts.get(None, 0)
    if unknown:
        figures.append(Figure(UNKNOWN, _UNKNOWN_LABELS[area.kind], unknown))
    return figures


def _appointment_counts(session: Session, area: AreaRef, county_code: Optional[str],
                        lo: dt.datetime, hi: dt.datetime) -> dict[str, int]:
    query = (select(Appointment.status, func.count()).select_from(Appointment)
             .where(within(Appointment.starts_at, lo, hi)).group_by(Appointment.status))
    if area.kind == "point":
        query = query.where(Appointment.service_point_id == area.id)
    else:
        query = query.where(*owner_in_area(Appointment.case_id, area, county_code))
    return {status: int(n) for status, n in session.execute(query)}


def _outcomes_in(query: Select, area: AreaRef, county_code: Optional[str]) -> Select:
    """Outcomes of cases in the area; for a point, those of appointments held there."""
    if area.kind == "point":
        held_at = select(Appointment.service_point_id).where(Appointment.id == Outcome.appointment_id)
        return query.where(held_at.scalar_subquery() == area.id)
    return query.where(*owner_in_area(Outcome.case_id, area, county_code))


def _outcome_counts(session: Session, area: AreaRef, county_code: Optional[str],
                    lo: dt.datetime, hi: dt.datetime) -> tuple[dict[str, int], dict[str, int]]:
    recorded, requested = within(Outcome.recorded_at, lo, hi), within(Outcome.jc_requested_at, lo, hi)
    # A delegated case's outcome has no appointment; a resident's has one.
    query = (select(Outcome.result, sum_when(recorded), sum_when(requested), sum_when(and_(recorded, requested)))
             .select_from(Outcome).where(or_(recorded, requested), Outcome.appointment_id.isnot(None))
             .group_by(Outcome.result))
    rows = session.execute(_outcomes_in(query, area, county_code)).all()
    jc = {"requested": sum(int(n or 0) for _, _, n, _ in rows), "both": sum(int(n or 0) for _, _, _, n in rows),
          "both_agreement": sum(int(n or 0) for result, _, _, n in rows
                                if result == OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)}
    return {result: int(n or 0) for result, n, _, _ in rows}, jc


def _handoff_case_id() -> ColumnElement:
    """The case a handoff is about: its own, else the resident's latest case opened by then, else their first."""
    earlier, later = aliased(Case), aliased(Case)
    latest_before = (select(earlier.id).where(earlier.resident_id == Handoff.resident_id,
                                              earlier.created_at <= Handoff.created_at)
                     .order_by(earlier.created_at.desc(), earlier.id.desc()).limit(1)
                     .correlate(Handoff).scalar_subquery())
    first_after = (select(later.id).where(later.resident_id == Handoff.resident_id)
                   .order_by(later.created_at, later.id).limit(1).correlate(Handoff).scalar_subquery())
    return func.coalesce(Handoff.case_id, latest_before, first_after)


def _handoffs_in(query: Select, area: AreaRef, county_code: Optional[str]) -> Select:
    return query.where(*owner_in_area(_handoff_case_id(), area, county_code))


def _handoff_figures(session: Session, area: AreaRef, county_code: Optional[str],
                     lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    in_period = within(Handoff.created_at, lo, hi)
    query = (select(Handoff.reason, func.count(), sum_when(Handoff.taken_at.is_(None))).select_from(Handoff)
             .where(in_period).group_by(Handoff.reason))
    rows = session.execute(_handoffs_in(query, area, county_code)).all()
    counts = {reason: int(n) for reason, n, _ in rows}
    extra = sorted((r for r in counts if r not in _LISTED_REASONS), key=lambda r: (-counts[r], r))
    waits = spread(session, _handoffs_in(
        select(seconds_between(Handoff.taken_at, Handoff.created_at)).select_from(Handoff)
        .where(in_period, Handoff.taken_at.isnot(None)), area, county_code))
    in_hours, after_hours = _waits_by_desk_hours(session, session.execute(_handoffs_in(
        select(Handoff.created_at, Handoff.taken_at).select_from(Handoff).where(in_period), area, county_code)).all())
    return {
        "in_hours": in_hours, "after_hours": after_hours,
        "total": sum(counts.values()),
        "by_reason": [Figure(r, HANDOFF_REASON_LABELS.get(r, r), counts.get(r, 0)) for r in (*_LISTED_REASONS, *extra)],
        "never_taken": sum(int(never or 0) for _, _, never in rows),
        "waits": waits,
    }


def _waits_by_desk_hours(session: Session, handoffs: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Counts and wait spreads of hand-overs asked while the desk was staffed, and of the others.

    The court's calendar is Python (holidays, adjusted working days), so the classing runs here
    over the period's (created_at, taken_at) pairs, a few thousand a year."""
    calendar = WorkCalendar(session)
    in_count = after_count = 0
    in_waits: list[float] = []
    after_waits: list[float] = []
    for created, taken in handoffs:
        if desk_open(calendar, created):
            in_count += 1
            if taken is not None:
                in_waits.append((taken - created).total_seconds())
        else:
            after_count += 1
            if taken is not None:  # an agent taking it before the desk opens waited nothing
                after_waits.append(max(0.0, (taken - next_opening(calendar, created)).total_seconds()))
    return ({"count": in_count, "waits": spread_of(in_waits)}, {"count": after_count, "waits": spread_of(after_waits)})


def rows(report: Report) -> list[tuple[str, str, object]]:
    """The report flattened to (section, label, value) rows in Chinese, for CSV and Excel."""
    out: list[tuple[str, str, object]] = [
        ("概况", "受理纠纷", report.intakes),
        ("概况", "进入非诉渠道（已预约调解）", report.steered),
        ("概况", "非诉分流率", None if report.steered_share is None else round(report.steered_share, 4)),
        ("概况", "受理至首次调解天数（中位数）", report.median_days_to_first_appointment),
    ]
    out += _figure_rows("按纠纷类型", report.by_type)
    out += _figure_rows("按来源", report.by_source)
    if report.area.kind in _SUBAREA_SECTIONS:
        out += _figure_rows(_SUBAREA_SECTIONS[report.area.kind], report.by_subarea)
    out += [
        ("调解预约", "预约场次（按开始时间，不含取消、拒绝）", report.appointments_booked),
        ("调解预约", "其中：已调解", report.appointments_held),
        ("调解预约", "其中：当事人未到", report.appointments_no_show),
        ("调解预约", "其中：尚未进行或未登记结果", report.appointments_pending),
        ("调解预约", "另：已取消（不计入预约场次）", report.appointments_cancelled),
        ("调解预约", "另：调解员拒绝（已改派或另约，不计入）", report.appointments_declined),
    ]
    out += _figure_rows("调解结果（按结果登记日期）", report.outcomes)
    out += [
        ("司法确认", "申请司法确认（按申请日期）", report.jc_requested),
        ("司法确认", "其中：本期登记调解结果的", report.jc_recorded_in_period),
        ("司法确认", "其中：本期之前登记调解结果的", report.jc_recorded_before),
        ("司法确认", "本期达成协议、本期之后才申请的", report.agreements_jc_later),
        ("12368转人工", "转人工次数", report.handoffs),
        ("12368转人工", "其中：工作时间内", report.handoffs_in_hours),
        ("12368转人工", "其中：下班及节假日", report.handoffs_after_hours),
        ("12368转人工", "等待接手时间中位数（分钟，全部）", report.handoff_wait_median_min),
        ("12368转人工", "等待接手时间P90（分钟，全部）", report.handoff_wait_p90_min),
        ("12368转人工", "工作时间内等待中位数（分钟）", report.wait_in_hours_median_min),
        ("12368转人工", "工作时间内等待P90（分钟）", report.wait_in_hours_p90_min),
        ("12368转人工", "下班后转入：开门后等待中位数（分钟）", report.wait_after_opening_median_min),
        ("12368转人工", "下班后转入：开门后等待P90（分钟）", report.wait_after_opening_p90_min),
        ("12368转人工", "未被接手", report.handoffs_never_taken),
    ]
    out += _figure_rows("转人工原因", report.handoffs_by_reason)
    d = report.delegated
    if d is not None:
        out += [
            ("委派调解（按委派日期，不计入以上各项）", "法院委派", d.delegated),
            ("委派调解（按委派日期，不计入以上各项）", "调解员已接受", d.accepted),
            ("委派调解（按委派日期，不计入以上各项）", "达成协议", d.settled),
            ("委派调解（按委派日期，不计入以上各项）", "其中：申请司法确认", d.jc_requested),
            ("委派调解（按委派日期，不计入以上各项）", "调解不成，转立案", d.returned),
            ("委派调解（按委派日期，不计入以上各项）", "尚在办理", d.still_open),
            ("委派调解（按委派日期，不计入以上各项）", "调解成功率",
             None if d.success_rate is None else round(d.success_rate, 4)),
            ("委派调解（按委派日期，不计入以上各项）", "委派至办结天数（中位数）", d.days_to_outcome_median),
        ]
    return out


def _figure_rows(section: str, figures: Iterable[Figure]) -> list[tuple[str, str, object]]:
    return [(section, f.label, f.value) for f in figures]
