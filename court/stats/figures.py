"""The oversight report: one area's and period's cases, appointments, outcomes and
handoffs, and the report flattened to rows for CSV and Excel."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select

from court import guidance
from court.errors import ValidationError
from court.stats.area_scope import BELOW_COUNTY, AreaRef, case_area, county_code_of, owner_in_area
from court.stats.sql import period, scaled, seconds_between, share, spread, sum_when, within
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

SOURCE_LABELS = {CaseSource.BOT.value: "助手", CaseSource.HOTLINE.value: "12368热线"}
OUTCOME_LABELS = {
    OutcomeResult.SUCCESS.value: "调解成功",
    OutcomeResult.FAILED.value: "调解不成",
    OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value: "达成协议并申请司法确认",
    OutcomeResult.NO_SHOW.value: "当事人未到",
}
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
    """
    first, last, lo, hi = period(start, end)
    county_code = county_code_of(session, area.id) if area.kind == "county" else None
    if area.kind in ("town", "point") and area.id is None:
        raise ValidationError("没有找到这个地区，请从列表中重新选择。")
    intake = _intake_figures(session, area, county_code, lo, hi)
    appointments = _appointment_counts(session, area, county_code, lo, hi)
    outcomes, jc = _outcome_counts(session, area, county_code, lo, hi)
    handoffs = _handoff_figures(session, area, county_code, lo, hi)
    return Report(
        area=area, start=first, end=last,
        intakes=intake["intakes"], by_type=intake["by_type"], by_source=intake["by_source"],
        by_subarea=intake["by_subarea"], steered=intake["steered"],
        steered_share=share(intake["steered"], intake["intakes"]),
        appointments_booked=sum(n for status, n in appointments.items() if status not in _NOT_BOOKED),
        appointments_held=appointments.get(AppointmentStatus.DONE.value, 0),
        appointments_no_show=appointments.get(AppointmentStatus.NO_SHOW.value, 0),
        appointments_cancelled=appointments.get(AppointmentStatus.CANCELLED.value, 0),
        outcomes=[Figure(r.value, OUTCOME_LABELS[r.value], outcomes.get(r.value, 0)) for r in OutcomeResult],
        jc_requested=jc,
        median_days_to_first_appointment=scaled(intake["first_waits"].median, 86400),
        handoffs=handoffs["total"], handoffs_by_reason=handoffs["by_reason"],
        handoff_wait_median_min=scaled(handoffs["waits"].median, 60),
        handoff_wait_p90_min=scaled(handoffs["waits"].p90, 60),
        handoffs_never_taken=handoffs["never_taken"],
    )


def _subarea_key(area: AreaRef) -> Optional[Any]:
    return {"city": Place.county_code, "county": Case.place_id, "town": Case.service_point_id}.get(area.kind)


def _intake_figures(session: Session, area: AreaRef, county_code: Optional[str],
                    lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    where = [within(Case.created_at, lo, hi), *case_area(area, county_code)]
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
        "by_source": [Figure(s.value, SOURCE_LABELS[s.value], by_source.get(s.value, 0)) for s in CaseSource],
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
                    lo: dt.datetime, hi: dt.datetime) -> tuple[dict[str, int], int]:
    recorded, requested = within(Outcome.recorded_at, lo, hi), within(Outcome.jc_requested_at, lo, hi)
    query = (select(Outcome.result, sum_when(recorded), sum_when(requested)).select_from(Outcome)
             .where(or_(recorded, requested)).group_by(Outcome.result))
    rows = session.execute(_outcomes_in(query, area, county_code)).all()
    return {result: int(n or 0) for result, n, _ in rows}, sum(int(jc or 0) for _, _, jc in rows)


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
    return {
        "total": sum(counts.values()),
        "by_reason": [Figure(r, HANDOFF_REASON_LABELS.get(r, r), counts.get(r, 0)) for r in (*_LISTED_REASONS, *extra)],
        "never_taken": sum(int(never or 0) for _, _, never in rows),
        "waits": waits,
    }


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
        ("调解预约", "预约场次（不含取消、拒绝）", report.appointments_booked),
        ("调解预约", "已调解", report.appointments_held),
        ("调解预约", "当事人未到", report.appointments_no_show),
        ("调解预约", "已取消", report.appointments_cancelled),
    ]
    out += _figure_rows("调解结果", report.outcomes)
    out += [
        ("司法确认", "申请司法确认", report.jc_requested),
        ("12368转人工", "转人工次数", report.handoffs),
        ("12368转人工", "等待接手时间中位数（分钟）", report.handoff_wait_median_min),
        ("12368转人工", "等待接手时间P90（分钟）", report.handoff_wait_p90_min),
        ("12368转人工", "未被接手", report.handoffs_never_taken),
    ]
    out += _figure_rows("转人工原因", report.handoffs_by_reason)
    return out


def _figure_rows(section: str, figures: Iterable[Figure]) -> list[tuple[str, str, object]]:
    return [(section, f.label, f.value) for f in figures]
