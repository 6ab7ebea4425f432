"""Court oversight statistics: disputes by area and period, and mediators' scorecards.

Pure queries on the caller's Session. The counting happens in the database
(GROUP BY, COUNT, SUM(CASE ...)) in SQL both SQLite and PostgreSQL run; medians
and p90s too: window functions rank the durations and only the middle and 90th
rows come back. Periods are local (Asia/Shanghai) calendar days, both ends included.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from sqlalchemy import and_, case, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float

from court import guidance
from court.errors import ValidationError
from court.store.schema import (
    Appointment,
    AppointmentStatus,
    Case,
    CaseSource,
    DisputeType,
    Handoff,
    Mediator,
    MediatorStatus,
    Outcome,
    OutcomeResult,
    Place,
    PlaceLevel,
    ServicePoint,
    mediator_points,
)
from court.timeutil import local_datetime

MAX_SPAN_DAYS = 366
CITY_FALLBACK_LABEL = "黑河市"
UNKNOWN = "unknown"

SOURCE_LABELS = {CaseSource.BOT.value: "助手", CaseSource.HOTLINE.value: "12368热线"}
OUTCOME_LABELS = {
    OutcomeResult.SUCCESS.value: "调解成功",
    OutcomeResult.FAILED.value: "调解不成",
    OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value: "达成协议并申请司法确认",
    OutcomeResult.NO_SHOW.value: "当事人未到",
}
MEDIATOR_STATUS_LABELS = {
    MediatorStatus.ACTIVE.value: "在任",
    MediatorStatus.SUSPENDED.value: "暂停",
    MediatorStatus.RETIRED.value: "已退出",
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
_SUCCESSES = (OutcomeResult.SUCCESS.value, OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value)
_BELOW_COUNTY = tuple(level.value for level in PlaceLevel
                      if level not in (PlaceLevel.PREFECTURE, PlaceLevel.COUNTY))


# --- areas --------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaRef:
    kind: str  # "city" | "county" | "town" | "point"
    id: Optional[int]  # places.id for county/town, service_points.id for point, None for the city
    label: str

    @property
    def token(self) -> str:
        return "city" if self.kind == "city" else f"{self.kind}:{self.id}"


_TOKEN = re.compile(r"(county|town|point):([1-9][0-9]{0,8})")  # 9 digits: stays inside a 32-bit id


def _city(session: Session) -> AreaRef:
    name = session.execute(select(Place.name).where(Place.level == PlaceLevel.PREFECTURE.value)
                           .order_by(Place.code).limit(1)).scalar_one_or_none()
    return AreaRef("city", None, name or CITY_FALLBACK_LABEL)


def _point_label(name: str, active: bool) -> str:
    return name if active else f"{name}（已停用）"


def areas(session: Session) -> list[AreaRef]:
    """The city, each county unit followed by its towns, then every service point (for a <select>)."""
    places = session.execute(select(Place.id, Place.name, Place.level, Place.county_code).order_by(Place.code)).all()
    towns: dict[str, list[Any]] = {}
    for p in places:
        if p.level in _BELOW_COUNTY and p.county_code:
            towns.setdefault(p.county_code, []).append(p)
    out = [_city(session)]
    for county in (p for p in places if p.level == PlaceLevel.COUNTY.value):
        out.append(AreaRef("county", county.id, county.name))
        out += [AreaRef("town", t.id, county.name + t.name) for t in towns.get(county.county_code, [])]
    points = session.execute(
        select(ServicePoint.id, ServicePoint.name, ServicePoint.active)
        .join(Place, Place.id == ServicePoint.place_id).order_by(Place.code, ServicePoint.id)
    ).all()
    out += [AreaRef("point", p.id, _point_label(p.name, p.active)) for p in points]
    return out


def parse_area(session: Session, token: str) -> AreaRef:
    """The area a token from ``AreaRef.token`` names; ValidationError for anything else."""
    text = token.strip() if isinstance(token, str) else ""
    if text == "city":
        return _city(session)
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise ValidationError("地区参数不正确，请从列表中选择地区。")
    kind, ident = match.group(1), int(match.group(2))
    found: Optional[AreaRef] = None
    if kind == "point":
        row = session.execute(select(ServicePoint.name, ServicePoint.active).where(ServicePoint.id == ident)).first()
        found = AreaRef("point", ident, _point_label(row.name, row.active)) if row else None
    else:
        row = session.execute(select(Place.name, Place.level, Place.county_code).where(Place.id == ident)).first()
        if row is not None and kind == "county" and row.level == PlaceLevel.COUNTY.value:
            found = AreaRef("county", ident, row.name)
        elif row is not None and kind == "town" and row.level in _BELOW_COUNTY:
            county = session.execute(select(Place.name).where(
                Place.county_code == row.county_code, Place.level == PlaceLevel.COUNTY.value)).scalar_one_or_none()
            found = AreaRef("town", ident, (county or "") + row.name)
    if found is None:
        raise ValidationError("没有找到这个地区，请从列表中重新选择。")
    return found


def _county_code(session: Session, county_id: int) -> str:
    code = session.execute(select(Place.county_code).where(
        Place.id == county_id, Place.level == PlaceLevel.COUNTY.value)).scalar_one_or_none()
    if code is None:
        raise ValidationError("没有找到这个县区，请从列表中重新选择。")
    return code


def _area_test(value: Any, area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions on a case's place (county, town) or service point (point) for the area."""
    if area.kind == "county":
        return [value.in_(select(Place.id).where(Place.county_code == county_code))]
    return [value == area.id] if area.kind in ("town", "point") else []


def _case_area(area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions putting a case in the area: its place (the town of the dispute), or its point."""
    return _area_test(Case.service_point_id if area.kind == "point" else Case.place_id, area, county_code)


def _owner_in_area(case_id: Any, area: AreaRef, county_code: Optional[str]) -> list[ColumnElement]:
    """Conditions putting the case ``case_id`` points at in the area. A per-row lookup by primary
    key: cheaper than joining every case of a county when a month's rows are few."""
    if area.kind == "city":
        return []
    owner = aliased(Case)
    column = owner.service_point_id if area.kind == "point" else owner.place_id
    return _area_test(select(column).where(owner.id == case_id).scalar_subquery(), area, county_code)


# --- periods ------------------------------------------------------------------------


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raise ValidationError("请填写开始日期和结束日期。")


def _period(start: Any, end: Any) -> tuple[dt.date, dt.date, dt.datetime, dt.datetime]:
    """Checked dates and the instants [start 00:00, end+1 00:00) in Beijing time."""
    first, last = _as_date(start), _as_date(end)
    if last < first:
        raise ValidationError("结束日期不能早于开始日期。")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise ValidationError(f"统计期间最长{MAX_SPAN_DAYS}天，请缩短日期范围。")
    return first, last, local_datetime(first, dt.time.min), local_datetime(last + dt.timedelta(days=1), dt.time.min)


def _within(column: Any, lo: dt.datetime, hi: dt.datetime) -> ColumnElement:
    return and_(column >= lo, column < hi)


# --- durations and summaries ----------------------------------------------------------


class seconds_between(FunctionElement):
    """Seconds from the second timestamp to the first, in either database's dialect."""

    name = "seconds_between"
    type = Float()
    inherit_cache = True


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # float8, not numeric: psycopg2 would hand back a Decimal per row.
    return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@dataclass(frozen=True)
class Spread:
    median: Optional[float]
    p90: Optional[float]  # nearest rank: the smallest value at least 90% of the values do not exceed


def _is_middle(rank: Any, count: Any) -> Any:
    return and_(rank * 2 >= count, rank * 2 <= count + 2)  # rank (n+1)/2, or n/2 and n/2+1


def _is_p90(rank: Any, count: Any) -> Any:
    return and_(rank * 10 >= count * 9, (rank - 1) * 10 < count * 9)  # rank = ceil(0.9 n)


def _spreads(session: Session, durations: Select) -> dict[Any, Spread]:
    """Median and p90 of the seconds in the last column of ``durations``, per value of its
    first column when it has two. The database ranks the values (window functions), so only
    the two or three rows that matter come back, not every duration."""
    inner = durations.subquery()
    group = inner.c[0] if len(inner.c) > 1 else None
    value = inner.c[len(inner.c) - 1]
    window = {"partition_by": group} if group is not None else {}
    ranked = select(group.label("g") if group is not None else literal_column("0").label("g"), value.label("v"),
                    func.row_number().over(order_by=value, **window).label("rn"),
                    func.count().over(**window).label("n")).where(value.isnot(None)).subquery()
    r = ranked.c
    picked: dict[Any, list[tuple[int, int, float]]] = {}
    for key, seconds, rank, count in session.execute(
            select(r.g, r.v, r.rn, r.n).where(or_(_is_middle(r.rn, r.n), _is_p90(r.rn, r.n)))):
        # Millisecond rounding hides julianday's floating-point noise on SQLite.
        picked.setdefault(key, []).append((int(rank), int(count), round(float(seconds), 3)))
    out = {}
    for key, found in picked.items():
        middle = [v for rank, n, v in found if n <= rank * 2 <= n + 2]
        tail = [v for rank, n, v in found if rank * 10 >= n * 9 > (rank - 1) * 10]
        out[key] = Spread(sum(middle) / len(middle), tail[0])
    return out


def _spread(session: Session, durations: Select) -> Spread:
    return next(iter(_spreads(session, durations).values()), Spread(None, None))


def _scaled(value: Optional[float], unit_seconds: float) -> Optional[float]:
    return None if value is None else round(value / unit_seconds, 1)


def _share(part: int, whole: int) -> Optional[float]:
    return part / whole if whole else None


def _sum_when(condition: ColumnElement) -> Any:
    return func.sum(case((condition, 1), else_=0))


# --- the report -----------------------------------------------------------------------


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
    first, last, lo, hi = _period(start, end)
    county_code = _county_code(session, area.id) if area.kind == "county" else None
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
        steered_share=_share(intake["steered"], intake["intakes"]),
        appointments_booked=sum(n for status, n in appointments.items() if status not in _NOT_BOOKED),
        appointments_held=appointments.get(AppointmentStatus.DONE.value, 0),
        appointments_no_show=appointments.get(AppointmentStatus.NO_SHOW.value, 0),
        appointments_cancelled=appointments.get(AppointmentStatus.CANCELLED.value, 0),
        outcomes=[Figure(r.value, OUTCOME_LABELS[r.value], outcomes.get(r.value, 0)) for r in OutcomeResult],
        jc_requested=jc,
        median_days_to_first_appointment=_scaled(intake["first_waits"].median, 86400),
        handoffs=handoffs["total"], handoffs_by_reason=handoffs["by_reason"],
        handoff_wait_median_min=_scaled(handoffs["waits"].median, 60),
        handoff_wait_p90_min=_scaled(handoffs["waits"].p90, 60),
        handoffs_never_taken=handoffs["never_taken"],
    )


def _subarea_key(area: AreaRef) -> Optional[Any]:
    return {"city": Place.county_code, "county": Case.place_id, "town": Case.service_point_id}.get(area.kind)


def _intake_figures(session: Session, area: AreaRef, county_code: Optional[str],
                    lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    where = [_within(Case.created_at, lo, hi), *_case_area(area, county_code)]
    has_appointment = select(Appointment.id).where(Appointment.case_id == Case.id).exists()
    key = _subarea_key(area)
    groups = [Case.dispute_type, Case.source] + ([key] if key is not None else [])
    query = select(*groups, func.count(), _sum_when(has_appointment)).select_from(Case)
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
    waits = _spread(session, select(seconds_between(first_start, Case.created_at)).select_from(Case)
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
            Place.county_code == county_code, Place.level.in_(_BELOW_COUNTY)).order_by(Place.code)).all()
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
             .where(_within(Appointment.starts_at, lo, hi)).group_by(Appointment.status))
    if area.kind == "point":
        query = query.where(Appointment.service_point_id == area.id)
    else:
        query = query.where(*_owner_in_area(Appointment.case_id, area, county_code))
    return {status: int(n) for status, n in session.execute(query)}


def _outcomes_in(query: Select, area: AreaRef, county_code: Optional[str]) -> Select:
    """Outcomes of cases in the area; for a point, those of appointments held there."""
    if area.kind == "point":
        held_at = select(Appointment.service_point_id).where(Appointment.id == Outcome.appointment_id)
        return query.where(held_at.scalar_subquery() == area.id)
    return query.where(*_owner_in_area(Outcome.case_id, area, county_code))


def _outcome_counts(session: Session, area: AreaRef, county_code: Optional[str],
                    lo: dt.datetime, hi: dt.datetime) -> tuple[dict[str, int], int]:
    recorded, requested = _within(Outcome.recorded_at, lo, hi), _within(Outcome.jc_requested_at, lo, hi)
    query = (select(Outcome.result, _sum_when(recorded), _sum_when(requested)).select_from(Outcome)
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
    return query.where(*_owner_in_area(_handoff_case_id(), area, county_code))


def _handoff_figures(session: Session, area: AreaRef, county_code: Optional[str],
                     lo: dt.datetime, hi: dt.datetime) -> dict[str, Any]:
    in_period = _within(Handoff.created_at, lo, hi)
    query = (select(Handoff.reason, func.count(), _sum_when(Handoff.taken_at.is_(None))).select_from(Handoff)
             .where(in_period).group_by(Handoff.reason))
    rows = session.execute(_handoffs_in(query, area, county_code)).all()
    counts = {reason: int(n) for reason, n, _ in rows}
    extra = sorted((r for r in counts if r not in _LISTED_REASONS), key=lambda r: (-counts[r], r))
    waits = _spread(session, _handoffs_in(
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


# --- mediators' scorecards --------------------------------------------------------------


@dataclass(frozen=True)
class Scorecard:
    mediator_id: int
    name: str
    county: str
    points: str
    status: str
    offered: int
    accepted: int
    declined: int
    acceptance_rate: Optional[float]
    response_median_hours: Optional[float]
    held: int
    no_shows: int
    successes: int
    failures: int
    success_rate: Optional[float]
    jc_requested: int


def scorecards(session: Session, *, county_id: Optional[int], start: dt.date, end: dt.date) -> list[Scorecard]:
    """Each mediator of a county unit (all when ``county_id`` is None), most meetings held first.

    - offered: appointments given to them that were created in the period (any status);
    - accepted / declined: of those, the ones they answered with accept (answered, not
      declined) or decline. Declines are read from the appointments: booking.decline leaves
      the declined row with the decliner and its own status, and books any reassignment as
      a new row for the colleague, so each decline stays with the one who made it;
    - acceptance_rate = accepted / (accepted + declined), over answered offers;
    - response_median_hours: responded_at - created_at over answered offers;
    - held / no_shows: their appointments starting in the period that were done / no-show;
    - successes (success, agreement needing confirmation) / failures: outcomes recorded in
      the period for appointments of theirs; jc_requested: confirmation requested in the period.
    """
    _, _, lo, hi = _period(start, end)
    county_code = _county_code(session, county_id) if county_id is not None else None
    roster = _roster(session, county_code)
    if not roster:
        return []
    ids = list(roster)

    def mine(query: Select) -> Select:
        return query.where(Appointment.mediator_id.in_(ids)) if county_code is not None else query

    answered = Appointment.responded_at.isnot(None)
    declined = Appointment.status == AppointmentStatus.DECLINED.value
    offers = {m: (int(n), int(a or 0), int(d or 0)) for m, n, a, d in session.execute(mine(
        select(Appointment.mediator_id, func.count(), _sum_when(and_(answered, ~declined)), _sum_when(declined))
        .where(_within(Appointment.created_at, lo, hi)).group_by(Appointment.mediator_id)))}
    responses = _spreads(session, mine(
        select(Appointment.mediator_id, seconds_between(Appointment.responded_at, Appointment.created_at))
        .where(_within(Appointment.created_at, lo, hi), answered)))
    meetings = {m: (int(done or 0), int(absent or 0)) for m, done, absent in session.execute(mine(
        select(Appointment.mediator_id, _sum_when(Appointment.status == AppointmentStatus.DONE.value),
               _sum_when(Appointment.status == AppointmentStatus.NO_SHOW.value))
        .where(_within(Appointment.starts_at, lo, hi),
               Appointment.status.in_((AppointmentStatus.DONE.value, AppointmentStatus.NO_SHOW.value)))
        .group_by(Appointment.mediator_id)))}
    by_outcome = select(Appointment.mediator_id).select_from(Outcome).join(
        Appointment, Appointment.id == Outcome.appointment_id)
    results = {m: (int(ok or 0), int(bad or 0)) for m, ok, bad in session.execute(mine(
        by_outcome.add_columns(_sum_when(Outcome.result.in_(_SUCCESSES)),
                               _sum_when(Outcome.result == OutcomeResult.FAILED.value))
        .where(_within(Outcome.recorded_at, lo, hi)).group_by(Appointment.mediator_id)))}
    confirmations = {m: int(n) for m, n in session.execute(mine(
        by_outcome.add_columns(func.count()).where(_within(Outcome.jc_requested_at, lo, hi))
        .group_by(Appointment.mediator_id)))}

    cards = []
    for mediator_id, (name, status, county, points) in roster.items():
        offered, accepted, declines = offers.get(mediator_id, (0, 0, 0))
        held, no_shows = meetings.get(mediator_id, (0, 0))
        successes, failures = results.get(mediator_id, (0, 0))
        cards.append(Scorecard(
            mediator_id=mediator_id, name=name, county=county, points=points,
            status=MEDIATOR_STATUS_LABELS.get(status, status),
            offered=offered, accepted=accepted, declined=declines,
            acceptance_rate=_share(accepted, accepted + declines),
            response_median_hours=_scaled(responses.get(mediator_id, Spread(None, None)).median, 3600),
            held=held, no_shows=no_shows, successes=successes, failures=failures,
            success_rate=_share(successes, successes + failures),
            jc_requested=confirmations.get(mediator_id, 0),
        ))
    return sorted(cards, key=lambda c: (-c.held, c.name, c.mediator_id))


def _roster(session: Session, county_code: Optional[str]) -> dict[int, tuple[str, str, str, str]]:
    """Mediator id -> (name, status, county labels, point names) for the county's mediators."""
    links = session.execute(
        select(mediator_points.c.mediator_id, ServicePoint.name, Place.county_code)
        .join(ServicePoint, ServicePoint.id == mediator_points.c.service_point_id)
        .join(Place, Place.id == ServicePoint.place_id)
        .order_by(mediator_points.c.mediator_id, ServicePoint.id)
    ).all()
    county_names = dict(session.execute(select(Place.county_code, Place.name)
                                        .where(Place.level == PlaceLevel.COUNTY.value)).all())
    points: dict[int, list[str]] = {}
    codes: dict[int, list[str]] = {}
    for mediator_id, point_name, code in links:
        points.setdefault(mediator_id, []).append(point_name)
        if code and code not in codes.setdefault(mediator_id, []):
            codes[mediator_id].append(code)
    query = select(Mediator.id, Mediator.name, Mediator.status).order_by(Mediator.id)
    out: dict[int, tuple[str, str, str, str]] = {}
    for mediator_id, name, status in session.execute(query):
        theirs = codes.get(mediator_id, [])
        if county_code is not None and county_code not in theirs:
            continue
        county = "、".join(county_names.get(c, c) for c in sorted(theirs))
        out[mediator_id] = (name, status, county, "、".join(points.get(mediator_id, [])))
    return out
