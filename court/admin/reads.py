"""What the desk's roster pages read: lists and details of mediators and service
points, their upcoming appointments and history, and the choices for the forms."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from court.admin.checks import ACTIVE_STATUSES, LEAVE_KINDS, STATUS_LABELS, hours_spec, hours_text
from court.core.errors import NotFound, ValidationError
from court.core.privacy import mask_phone
from court.core.timeutil import format_local, to_local
from court.reference import labels
from court.store.schema import (
    Appointment,
    AuditEntry,
    Court,
    Mediator,
    MediatorStatus,
    Place,
    PlaceLevel,
    ServicePoint,
)


@dataclass(frozen=True)
class County:
    code: str
    name: str


def counties(session: Session) -> list[County]:
    rows = session.execute(select(Place).where(Place.level == PlaceLevel.COUNTY.value).order_by(Place.code)).scalars()
    return [County(p.county_code or p.code[:6], p.name) for p in rows]


@dataclass(frozen=True)
class MediatorRow:
    id: int
    code: str
    name: str
    phone_masked: str
    points: list[str]
    specialities: list[str]
    status: str
    status_label: str
    telegram: str  # 已绑定 / 未绑定 / 已解除（不再推送）
    upcoming: int


def _upcoming_counts(session: Session, now: dt.datetime, column) -> dict[int, int]:
    return dict(session.execute(
        select(column, func.count()).where(Appointment.status.in_(ACTIVE_STATUSES), Appointment.starts_at > now)
        .group_by(column)
    ).all())


def telegram_label(mediator: Mediator) -> str:
    if mediator.telegram_chat_id is None:
        return "未绑定"
    if mediator.status != MediatorStatus.ACTIVE.value:
        return "已绑定（停用期间不推送新预约）" if mediator.status == MediatorStatus.SUSPENDED.value \
            else "已失效（已退出）"
    return "已绑定（Telegram 拒收）" if mediator.telegram_blocked_at is not None else "已绑定"


def _point_label(point: ServicePoint) -> str:
    return point.name if point.active else f"{point.name}（已撤销）"


def list_mediators(session: Session, *, now: dt.datetime, county_code: str = "", status: str = "") -> list[MediatorRow]:
    query = (select(Mediator).options(selectinload(Mediator.service_points).selectinload(ServicePoint.place),
                                      selectinload(Mediator.specialities))
             .order_by(Mediator.code))
    if status:
        if status not in STATUS_LABELS:
            raise ValidationError("请从列表中选择状态。")
        query = query.where(Mediator.status == status)
    if county_code:
        query = query.where(Mediator.service_points.any(ServicePoint.place.has(Place.county_code == county_code)))
    return mediator_rows(session, session.execute(query).scalars().all(), now=now)


def mediator_rows(session: Session, found: Sequence[Mediator], *, now: dt.datetime) -> list[MediatorRow]:
    """Mediators as the roster pages list them: phones masked."""
    upcoming = _upcoming_counts(session, now, Appointment.mediator_id) if found else {}
    return [MediatorRow(
        id=m.id, code=m.code, name=m.name, phone_masked=mask_phone(m.phone),
        points=[_point_label(p) for p in sorted(m.service_points, key=lambda p: p.id)],
        specialities=[labels.dispute(t) for t in sorted(m.dispute_types)],
        status=m.status, status_label=STATUS_LABELS.get(m.status, m.status), telegram=telegram_label(m),
        upcoming=upcoming.get(m.id, 0)) for m in found]


@dataclass(frozen=True)
class AppointmentRow:
    id: int
    reference: str
    time: str
    point: str
    mediator: str
    status: str


@dataclass(frozen=True)
class HistoryRow:
    at: str
    actor: str
    action: str
    reason: str


ACTION_LABELS = {
    "mediator.appoint": "选聘", "mediator.assign": "调整服务点和专长", "mediator.suspend": "停用",
    "mediator.reinstate": "恢复", "mediator.retire": "退出", "mediator.link_code_issued": "发放绑定码",
    "mediator.link": "绑定 Telegram", "mediator.unlink": "解除 Telegram 绑定", "mediator.load": "名册导入",
    "service_point.open": "设立", "service_point.move": "迁址", "service_point.close": "撤销",
    "service_point.load": "名册导入", "mediator.hours": "修改接待时间", "mediator.leave": "登记请假、培训",
}

_APPT_STATUS = {"booked": "待调解员确认", "accepted": "已确认", "rescheduled": "已改期，待确认"}


def _appointment_rows(session: Session, now: dt.datetime, **where: int) -> list[AppointmentRow]:
    query = (select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES), Appointment.starts_at > now)
             .order_by(Appointment.starts_at, Appointment.id))
    for column, value in where.items():
        query = query.where(getattr(Appointment, column) == value)
    return [AppointmentRow(a.id, a.case.reference, format_local(a.starts_at), a.service_point.name, a.mediator.name,
                           _APPT_STATUS.get(a.status, a.status))
            for a in session.execute(query).scalars()]


def history(session: Session, entity_type: str, entity_id: int, *, limit: int = 20) -> list[HistoryRow]:
    entries = session.execute(
        select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id.desc()).limit(limit)
    ).scalars().all()
    return [HistoryRow(to_local(e.at).strftime("%Y-%m-%d %H:%M"), e.actor, ACTION_LABELS.get(e.action, e.action),
                       str((e.after or {}).get("reason") or "")) for e in entries]


@dataclass(frozen=True)
class MediatorDetail:
    id: int
    code: str
    name: str
    phone_masked: str
    status: str
    status_label: str
    telegram: str
    linked: bool
    appointed_on: Optional[dt.date]
    retired_on: Optional[dt.date]
    point_ids: list[int]
    points: list[str]
    dispute_types: list[str]
    specialities: list[str]
    hours: list[str]
    hours_spec: str  # the typed form of the hours, to edit them
    leave: list[str]  # days off not yet over
    upcoming: list[AppointmentRow]
    history: list[HistoryRow]


def mediator_detail(session: Session, mediator_id: int, *, now: dt.datetime) -> MediatorDetail:
    m = session.get(Mediator, mediator_id)
    if m is None:
        raise NotFound("没有找到这位调解员。")
    points = sorted(m.service_points, key=lambda p: p.id)
    return MediatorDetail(
        id=m.id, code=m.code, name=m.name, phone_masked=mask_phone(m.phone), status=m.status,
        status_label=STATUS_LABELS.get(m.status, m.status), telegram=telegram_label(m),
        linked=m.telegram_chat_id is not None, appointed_on=m.appointed_on, retired_on=m.retired_on,
        point_ids=[p.id for p in points], points=[_point_label(p) for p in points],
        dispute_types=sorted(m.dispute_types), specialities=[labels.dispute(t) for t in sorted(m.dispute_types)],
        hours=hours_text((a.weekday, a.starts, a.ends) for a in m.availability),
        hours_spec=hours_spec((a.weekday, a.starts, a.ends) for a in m.availability),
        leave=[f"{x.starts_on:%Y-%m-%d} 至 {x.ends_on:%Y-%m-%d} {LEAVE_KINDS.get(x.kind, x.kind)}"
               for x in sorted(m.exceptions, key=lambda x: x.starts_on) if x.ends_on >= to_local(now).date()],
        upcoming=_appointment_rows(session, now, mediator_id=m.id), history=history(session, "mediator", m.id))


@dataclass(frozen=True)
class PointRow:
    id: int
    code: str
    name: str
    place: str
    address: str
    court: str
    active: bool
    mediators: int
    upcoming: int


def _place_label(place: Place, county_names: dict[str, str]) -> str:
    county = county_names.get(place.county_code or "")
    return f"{county}{place.name}" if county and county != place.name else place.name


def _county_names(session: Session) -> dict[str, str]:
    return {c.code: c.name for c in counties(session)}


def list_points(session: Session, *, now: dt.datetime, county_code: str = "",
                include_closed: bool = True) -> list[PointRow]:
    query = (select(ServicePoint).join(ServicePoint.place)
             .options(selectinload(ServicePoint.place), selectinload(ServicePoint.court),
                      selectinload(ServicePoint.mediators))
             .order_by(ServicePoint.active.desc(), ServicePoint.code))
    if county_code:
        query = query.where(Place.county_code == county_code)
    if not include_closed:
        query = query.where(ServicePoint.active.is_(True))
    upcoming = _upcoming_counts(session, now, Appointment.service_point_id)
    names = _county_names(session)
    return [PointRow(p.id, p.code, p.name, _place_label(p.place, names), p.address, p.court.name, p.active,
                     sum(1 for m in p.mediators if m.status == MediatorStatus.ACTIVE.value), upcoming.get(p.id, 0))
            for p in session.execute(query).scalars()]


@dataclass(frozen=True)
class PointDetail:
    id: int
    code: str
    name: str
    place_id: int
    place: str
    address: str
    lat: float
    lng: float
    court: str
    active: bool
    slot_minutes: int
    hours: list[str]
    mediators: list[tuple[int, str, str]]  # id, name, status label
    upcoming: list[AppointmentRow]
    history: list[HistoryRow]


def point_detail(session: Session, point_id: int, *, now: dt.datetime) -> PointDetail:
    p = session.get(ServicePoint, point_id)
    if p is None:
        raise NotFound("没有找到这个服务点。")
    return PointDetail(
        id=p.id, code=p.code, name=p.name, place_id=p.place_id, place=_place_label(p.place, _county_names(session)),
        address=p.address, lat=p.lat, lng=p.lng, court=p.court.name, active=p.active, slot_minutes=p.slot_minutes,
        hours=hours_text((h.weekday, h.opens, h.closes) for h in p.hours),
        mediators=[(m.id, m.name, STATUS_LABELS.get(m.status, m.status)) for m in sorted(p.mediators, key=lambda m: m.id)],
        upcoming=_appointment_rows(session, now, service_point_id=p.id), history=history(session, "service_point", p.id))


def place_choices(session: Session) -> list[tuple[int, str]]:
    """Places a point can be in: counties and everything below, by county."""
    names = _county_names(session)
    rows = session.execute(
        select(Place).where(Place.level != PlaceLevel.PREFECTURE.value).order_by(Place.code)
    ).scalars().all()
    return [(p.id, _place_label(p, names)) for p in rows]


def court_choices(session: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in session.execute(select(Court).order_by(Court.id)).scalars()]


def point_choices(session: Session, *, keep: Sequence[int] = ()) -> list[tuple[int, str]]:
    """Active points, plus closed ones a mediator still has (so an edit does not drop them silently)."""
    names = _county_names(session)
    rows = session.execute(
        select(ServicePoint).options(selectinload(ServicePoint.place))
        .where((ServicePoint.active.is_(True)) | (ServicePoint.id.in_(list(keep) or [-1])))
        .order_by(ServicePoint.code)
    ).scalars().all()
    return [(p.id, f"{names.get(p.place.county_code or '', '')} {_point_label(p)}".strip()) for p in rows]
