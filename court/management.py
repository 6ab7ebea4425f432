"""Admins manage the roster from the desk: appointing (选聘), reassigning, suspending,
reinstating and retiring (退出) mediators; opening, moving and closing service points.

Plain functions on the caller's session, like court/booking.py: a change, its audit
entries and its pushes commit together or not at all. Appointments that lose their
mediator or their point go through the booking engine (booking.reassign, reschedule),
so residents and mediators are told exactly as after a decline.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from court import booking, guidance, journal, mediators as mediator_links
from court.desk import DeskUser
from court.errors import InvalidCoordinates, NotFound, OutsideHeihe, PermissionDenied, ValidationError
from court.places import HEIHE_BOUNDS, check_coordinates, haversine_km
from court.privacy import mask_phone, mask_text
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AuditEntry,
    Court,
    DisputeType,
    LinkCode,
    Mediator,
    MediatorAvailability,
    MediatorSpeciality,
    MediatorStatus,
    OutboxMessage,
    OutboxStatus,
    Place,
    PlaceLevel,
    RecipientType,
    ServicePoint,
    ServicePointHours,
)
from court.timeutil import format_local, to_local
from court.validation import clean_text, normalize_phone, validate_name

EARLIEST = dt.time(7, 0)  # weekly hours must lie within 07:00-20:00
LATEST = dt.time(20, 0)
REASON_LIMIT = 200
MOVE_RADIUS_KM = 50.0  # a closed point's appointments move only to a point this near
WEEKDAYS = "一二三四五六日"
STATUS_LABELS = {MediatorStatus.ACTIVE.value: "在任", MediatorStatus.SUSPENDED.value: "已停用",
                 MediatorStatus.RETIRED.value: "已退出"}
_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
_WINDOW = re.compile(r"^([1-7](?:\s*[-~至到,、]\s*[1-7])*)\s+(\d{1,2}:\d{2})\s*[-~至到]\s*(\d{1,2}:\d{2})$")

Window = tuple[int, dt.time, dt.time]  # weekday (Monday = 0), start, end


# --- checks at the boundary -----------------------------------------------------


def _require_admin(user: Optional[DeskUser]) -> str:
    if user is None or not user.is_admin:
        raise PermissionDenied("只有管理员可以管理调解员和服务点。")
    return user.actor


def _now(now: Optional[dt.datetime]) -> dt.datetime:
    if now is None or now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now


def clean_reason(raw: object, field_name: str = "原因") -> str:
    """Staff read it as written, so no width folding; at most REASON_LIMIT characters."""
    return clean_text(raw, limit=REASON_LIMIT, field=field_name, fold_width=False)


def _logged(reason: str) -> str:
    # The audit log can never be erased: no phone or ID number typed into a reason enters it.
    return mask_text(reason)


def parse_hours(text: object) -> list[Window]:
    """Weekly hours typed one window a line, e.g. "1-5 08:30-11:30" (1 = Monday … 7 = Sunday)."""
    raw = unicodedata.normalize("NFKC", str(text or ""))
    windows: list[Window] = []
    for n, line in enumerate((ln.strip() for ln in re.split(r"[\n;；]", raw)), 1):
        if not line:
            continue
        match = _WINDOW.match(line)
        if not match:
            raise ValidationError(f"第{n}行“{line}”看不懂。请按“1-5 08:30-11:30”的格式填写，"
                                  "1到7表示周一到周日，每行一个时间段。")
        days: set[int] = set()
        for part in re.split(r"\s*[,、]\s*", match.group(1)):
            ends = [int(x) for x in re.split(r"\s*[-~至到]\s*", part)]
            if len(ends) == 2 and ends[0] > ends[1]:
                raise ValidationError(f"第{n}行的星期范围颠倒了：{part}。")
            days.update(range(ends[0], ends[-1] + 1))
        try:
            start = dt.time.fromisoformat(match.group(2).zfill(5))
            end = dt.time.fromisoformat(match.group(3).zfill(5))
        except ValueError:
            raise ValidationError(f"第{n}行的时间无效：{line}。") from None
        windows.extend((d - 1, start, end) for d in sorted(days))
    return check_hours(windows)


def check_hours(windows: Iterable[Window]) -> list[Window]:
    """Sane weekly hours: 07:00-20:00, start before end, no overlaps on one weekday."""
    out = sorted(set(windows))
    if not out:
        raise ValidationError("请至少填写一个每周时间段。")
    for weekday, start, end in out:
        if not 0 <= weekday <= 6:
            raise ValidationError("星期只能是1到7（周一到周日）。")
        if start >= end:
            raise ValidationError(f"周{WEEKDAYS[weekday]} {start:%H:%M}-{end:%H:%M}：开始时间要早于结束时间。")
        if start < EARLIEST or end > LATEST:
            raise ValidationError(f"周{WEEKDAYS[weekday]} {start:%H:%M}-{end:%H:%M}：时间段要在07:00到20:00之间。")
    for (d1, s1, e1), (d2, s2, e2) in zip(out, out[1:]):
        if d1 == d2 and s2 < e1:
            raise ValidationError(f"周{WEEKDAYS[d1]}的时间段 {s1:%H:%M}-{e1:%H:%M} 和 {s2:%H:%M}-{e2:%H:%M} 重叠了。")
    return out


def hours_spec(windows: Iterable[Window]) -> str:
    """The typed form of weekly hours, weekdays with equal windows grouped: "1-5 08:30-11:30"."""
    by_window: dict[tuple[dt.time, dt.time], list[int]] = {}
    for weekday, start, end in sorted(windows, key=lambda w: (w[1], w[2], w[0])):
        by_window.setdefault((start, end), []).append(weekday + 1)
    lines = []
    for (start, end), days in by_window.items():
        lines.append(f"{_day_runs(days, sep='-', join=',')} {start:%H:%M}-{end:%H:%M}")
    return "\n".join(lines)


def hours_text(windows: Iterable[Window]) -> list[str]:
    """Weekly hours as people read them: "周一至周五 08:30-11:30"."""
    by_window: dict[tuple[dt.time, dt.time], list[int]] = {}
    for weekday, start, end in sorted(windows, key=lambda w: (w[1], w[2], w[0])):
        by_window.setdefault((start, end), []).append(weekday + 1)
    return [f"{_day_runs(days, sep='至', join='、', prefix='周', names=True)} {s:%H:%M}-{e:%H:%M}"
            for (s, e), days in by_window.items()]


def _day_runs(days: Sequence[int], *, sep: str, join: str, prefix: str = "", names: bool = False) -> str:
    label = (lambda d: WEEKDAYS[d - 1]) if names else str
    runs: list[list[int]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) < 3:  # "1,2" reads better than "1-2"
            parts += [prefix + label(d) for d in run]
        else:
            parts.append(f"{prefix}{label(run[0])}{sep}{prefix}{label(run[-1])}")
    return join.join(parts)


def _dispute_types(values: Iterable[str]) -> list[str]:
    try:
        types = sorted({DisputeType(str(v)).value for v in values})
    except ValueError:
        raise ValidationError("纠纷类型无效，请从列表中选择。") from None
    if not types:
        raise ValidationError("请至少选择一种擅长的纠纷类型。")
    return types


def dispute_label(dispute_type: str) -> str:
    try:
        return guidance.card(dispute_type).label
    except ValueError:
        return dispute_type


def _ids(values: Iterable[object]) -> set[int]:
    try:
        return {int(v) for v in values}  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValidationError("所选的服务点不存在，请刷新页面后重新选择。") from None


def _active_points(session: Session, point_ids: Iterable[int]) -> list[ServicePoint]:
    ids = sorted(_ids(point_ids))
    if not ids:
        raise ValidationError("请至少选择一个服务点。")
    found = {p.id: p for p in session.execute(select(ServicePoint).where(ServicePoint.id.in_(ids))).scalars()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError("所选的服务点不存在，请刷新页面后重新选择。")
    closed = [found[i].name for i in ids if not found[i].active]
    if closed:
        raise ValidationError(f"服务点已撤销，不能分配：{'、'.join(closed)}。")
    return [found[i] for i in ids]


def _mediator_snapshot(mediator: Mediator) -> dict:
    # No name or phone: personal data never enters the append-only log.
    return journal.snapshot("mediator", mediator) | {
        "code": mediator.code,
        "points": sorted(p.id for p in mediator.service_points),
        "dispute_types": sorted(mediator.dispute_types),
    }


def _point_snapshot(point: ServicePoint) -> dict:
    return journal.snapshot("service_point", point) | {
        "code": point.code, "address": point.address, "lat": point.lat, "lng": point.lng,
        "slot_minutes": point.slot_minutes,
    }


def _lock_mediator(session: Session, mediator_id: int) -> Mediator:
    # Two admins acting on one mediator queue up here; the second sees the first's result.
    mediator = session.execute(
        select(Mediator).where(Mediator.id == mediator_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if mediator is None:
        raise NotFound("没有找到这位调解员。")
    return mediator


def _lock_point(session: Session, point_id: int) -> ServicePoint:
    point = session.execute(
        select(ServicePoint).where(ServicePoint.id == point_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if point is None:
        raise NotFound("没有找到这个服务点。")
    return point


# --- what happened to the appointments ---------------------------------------------


@dataclass(frozen=True)
class HandOver:
    """One appointment that left a mediator or a point, as the admin is told."""

    reference: str
    time: str
    outcome: str  # "reassigned", "moved" or "reoffered"
    mediator: Optional[str] = None  # who has it now
    point: Optional[str] = None

    @property
    def text(self) -> str:
        if self.outcome == "reassigned":
            return f"{self.reference}（{self.time}）改派给调解员{self.mediator}"
        if self.outcome == "moved":
            return f"{self.reference}（{self.time}）改到{self.point}，调解员{self.mediator}"
        return f"{self.reference}（{self.time}）无人可接，已通知居民另选时间"


@dataclass
class Change:
    """The result of a management action: the entity and what happened to appointments."""

    entity_id: int
    handed_over: list[HandOver] = field(default_factory=list)
    notified: int = 0  # residents told of a moved point
    stranded: list[str] = field(default_factory=list)  # mediators left without an active point

    def summary(self) -> str:
        moved = [h for h in self.handed_over if h.outcome != "reoffered"]
        reoffered = [h for h in self.handed_over if h.outcome == "reoffered"]
        parts = []
        if moved:
            parts.append(f"{len(moved)}个预约已转给其他调解员或服务点")
        if reoffered:
            parts.append(f"{len(reoffered)}个预约无人可接，已通知居民另选时间")
        return "；".join(parts)


def _future(session: Session, now: dt.datetime, *, mediator_id: Optional[int] = None,
            point_ids: Sequence[int] = ()) -> list[Appointment]:
    query = select(Appointment).where(Appointment.status.in_(_ACTIVE), Appointment.starts_at > now)
    if mediator_id is not None:
        query = query.where(Appointment.mediator_id == mediator_id)
    if point_ids:
        query = query.where(Appointment.service_point_id.in_(list(point_ids)))
    return list(session.execute(query.order_by(Appointment.starts_at, Appointment.id)).scalars())


def _reassign_all(session: Session, appts: Sequence[Appointment], *, actor: str, reason: str,
                  now: dt.datetime) -> list[HandOver]:
    out = []
    for appt in appts:
        appt = booking.get_appointment(session, appt.id, lock=True)
        if appt.status not in _ACTIVE:  # cancelled or declined meanwhile: nothing to hand over
            continue
        reference, time = appt.case.reference, format_local(appt.starts_at)
        result = booking.reassign(session, appt.id, actor=actor, reason=reason, now=now)
        if result.reassigned is not None:
            out.append(HandOver(reference, time, "reassigned", result.reassigned.mediator.name,
                                result.reassigned.service_point.name))
        else:
            out.append(HandOver(reference, time, "reoffered"))
    return out


def _silence(session: Session, mediator_id: int) -> int:
    """Withdraw every push not yet sent to a mediator who stops serving."""
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_type == RecipientType.MEDIATOR.value,
               OutboxMessage.recipient_id == mediator_id,
               OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


# --- mediators ------------------------------------------------------------------


def _next_mediator_code(session: Session, point: ServicePoint) -> str:
    """Like the roster's: M-<the point's code without SP->-<n>, n one more than the highest in use."""
    base = (point.code[3:] if point.code.startswith("SP-") else point.code)[:24]
    prefix = f"M-{base}-"
    taken = session.execute(select(Mediator.code).where(Mediator.code.like(prefix + "%"))).scalars().all()
    numbers = [int(c[len(prefix):]) for c in taken if c[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def appoint_mediator(session: Session, user: DeskUser, *, name: object, phone: object, points: Sequence[int],
                     dispute_types: Sequence[str], hours: Iterable[Window], appointed_on: Optional[dt.date],
                     now: dt.datetime) -> Mediator:
    """A new active mediator (选聘) at one or more active points."""
    actor = _require_admin(user)
    now = _now(now)
    name = validate_name(name)
    phone = normalize_phone(phone)
    chosen = _active_points(session, points)
    types = _dispute_types(dispute_types)
    windows = check_hours(hours)
    if appointed_on is None:
        raise ValidationError("请填写选聘日期。")
    if appointed_on > to_local(now).date() + dt.timedelta(days=366):
        raise ValidationError("选聘日期太远了，请核对。")
    twin = session.execute(
        select(Mediator).where(Mediator.phone == phone, Mediator.status != MediatorStatus.RETIRED.value)
    ).scalars().first()
    if twin is not None:
        raise ValidationError(f"这个手机号已登记给调解员{twin.name}（{twin.code}），请勿重复选聘。")
    _lock_point(session, chosen[0].id)  # concurrent appointments at one point take codes in turn
    mediator = Mediator(code=_next_mediator_code(session, chosen[0]), name=name, phone=phone,
                        status=MediatorStatus.ACTIVE.value, appointed_on=appointed_on, is_demo=False)
    mediator.service_points = chosen
    mediator.specialities = [MediatorSpeciality(dispute_type=t) for t in types]
    mediator.availability = [MediatorAvailability(weekday=d, starts=s, ends=e) for d, s, e in windows]
    session.add(mediator)
    session.flush()
    journal.audit(session, actor=actor, action="mediator.appoint", entity_type="mediator", entity_id=mediator.id,
                  after=_mediator_snapshot(mediator) | {"appointed_on": appointed_on.isoformat(),
                                                        "hours": hours_spec(windows)})
    return mediator


def update_assignment(session: Session, user: DeskUser, mediator_id: int, *, points: Sequence[int],
                      dispute_types: Sequence[str], now: dt.datetime) -> Change:
    """Change a mediator's points and specialities; appointments ahead at a point taken away
    go to a colleague there, or the resident is offered other times."""
    actor = _require_admin(user)
    now = _now(now)
    mediator = _lock_mediator(session, mediator_id)
    if mediator.status == MediatorStatus.RETIRED.value:
        raise ValidationError(f"调解员{mediator.name}已退出，不能再分配服务点。")
    types = _dispute_types(dispute_types)
    current = {p.id for p in mediator.service_points}
    wanted = _ids(points)
    # A point closed since it was assigned may stay on the list; only additions must be active.
    kept = [p for p in mediator.service_points if p.id in wanted]
    added = _active_points(session, wanted - current) if wanted - current else []
    if not wanted:
        raise ValidationError("请至少选择一个服务点。")
    if not [p for p in kept + added if p.active]:
        raise ValidationError("请至少选择一个在用的服务点。")
    removed = sorted(current - wanted)
    before = _mediator_snapshot(mediator)
    if before["points"] == sorted(wanted) and before["dispute_types"] == types:
        raise ValidationError("没有需要保存的修改。")
    mediator.service_points = sorted(kept + added, key=lambda p: p.id)
    mediator.specialities = [MediatorSpeciality(dispute_type=t) for t in types]
    session.flush()
    journal.audit(session, actor=actor, action="mediator.assign", entity_type="mediator", entity_id=mediator.id,
                  before=before, after=_mediator_snapshot(mediator))
    change = Change(mediator.id)
    if removed:
        appts = _future(session, now, mediator_id=mediator.id, point_ids=removed)
        change.handed_over = _reassign_all(session, appts, actor=actor, reason="调解员不再负责这个服务点", now=now)
    return change


def _leave(session: Session, user: DeskUser, mediator_id: int, *, status: MediatorStatus, action: str,
           reason: object, now: dt.datetime, retired_on: Optional[dt.date] = None) -> Change:
    actor = _require_admin(user)
    now = _now(now)
    reason = clean_reason(reason)
    mediator = _lock_mediator(session, mediator_id)
    if mediator.status == MediatorStatus.RETIRED.value:
        raise ValidationError(f"调解员{mediator.name}已经退出了。")
    if status == MediatorStatus.SUSPENDED and mediator.status == MediatorStatus.SUSPENDED.value:
        raise ValidationError(f"调解员{mediator.name}已经停用了。")
    if retired_on is not None:
        if retired_on > to_local(now).date():
            raise ValidationError("退出日期不能晚于今天；请在退出当天或之后办理。")
        if mediator.appointed_on is not None and retired_on < mediator.appointed_on:
            raise ValidationError("退出日期不能早于选聘日期。")
    before = _mediator_snapshot(mediator)
    mediator.status = status.value
    if retired_on is not None:
        mediator.retired_on = retired_on
    session.flush()
    silenced = _silence(session, mediator.id)
    revoked = 0
    if status == MediatorStatus.RETIRED:
        # Unused link codes stop working; the chat id stays so the bot still knows the chat was theirs.
        revoked = session.execute(
            update(LinkCode)
            .where(LinkCode.mediator_id == mediator.id, LinkCode.used_at.is_(None), LinkCode.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount or 0
    after = _mediator_snapshot(mediator) | {"reason": _logged(reason), "pushes_withdrawn": silenced}
    if retired_on is not None:
        after |= {"retired_on": retired_on.isoformat(), "link_codes_revoked": revoked}
    journal.audit(session, actor=actor, action=action, entity_type="mediator", entity_id=mediator.id,
                  before=before, after=after)
    change = Change(mediator.id)
    change.handed_over = _reassign_all(session, _future(session, now, mediator_id=mediator.id), actor=actor,
                                       reason=reason, now=now)
    return change


def suspend_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                     now: dt.datetime) -> Change:
    """停用: the mediator gets no new appointments; those ahead go to colleagues or back to the residents."""
    return _leave(session, user, mediator_id, status=MediatorStatus.SUSPENDED, action="mediator.suspend",
                  reason=reason, now=now)


def retire_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                    retired_on: Optional[dt.date], now: dt.datetime) -> Change:
    """退出: as a suspension, for good; unused link codes are revoked."""
    if retired_on is None:
        raise ValidationError("请填写退出日期。")
    return _leave(session, user, mediator_id, status=MediatorStatus.RETIRED, action="mediator.retire",
                  reason=reason, now=now, retired_on=retired_on)


def reinstate_mediator(session: Session, user: DeskUser, mediator_id: int, *, reason: object,
                       now: dt.datetime) -> Mediator:
    """A suspended mediator takes appointments again."""
    actor = _require_admin(user)
    _now(now)
    reason = clean_reason(reason)
    mediator = _lock_mediator(session, mediator_id)
    if mediator.status != MediatorStatus.SUSPENDED.value:
        raise ValidationError(f"只有已停用的调解员才能恢复；调解员{mediator.name}目前{STATUS_LABELS[mediator.status]}。")
    if not [p for p in mediator.service_points if p.active]:
        raise ValidationError("这位调解员没有在用的服务点，请先分配服务点再恢复。")
    before = _mediator_snapshot(mediator)
    mediator.status = MediatorStatus.ACTIVE.value
    session.flush()
    journal.audit(session, actor=actor, action="mediator.reinstate", entity_type="mediator", entity_id=mediator.id,
                  before=before, after=_mediator_snapshot(mediator) | {"reason": _logged(reason)})
    return mediator


def issue_link_code(session: Session, user: DeskUser, mediator_id: int, now: dt.datetime) -> str:
    """A one-time Telegram link code ("XXXX-XXXX") to show the admin once; only its hash is kept."""
    actor = _require_admin(user)
    mediator = session.get(Mediator, mediator_id)
    if mediator is None:
        raise NotFound("没有找到这位调解员。")
    return mediator_links.issue_link_code(session, mediator.code, actor=actor, now=_now(now))


def unlink_telegram(session: Session, user: DeskUser, mediator_id: int, now: dt.datetime) -> bool:
    """Detach the mediator's Telegram chat (e.g. a lost phone, or a retired mediator's account reused)."""
    actor = _require_admin(user)
    _now(now)
    return mediator_links.unlink(session, mediator_id, actor=actor)


# --- service points ---------------------------------------------------------------


def _coordinates(lat: object, lng: object) -> tuple[float, float]:
    # The places module words its errors for residents; admins need the bounds.
    try:
        return check_coordinates(lat, lng)
    except (InvalidCoordinates, OutsideHeihe):
        lat_min, lat_max, lng_min, lng_max = HEIHE_BOUNDS
        raise ValidationError(f"坐标不在黑河市范围内（纬度{lat_min}到{lat_max}，经度{lng_min}到{lng_max}），"
                              "请核对纬度和经度是否填反或写错。") from None


def _place(session: Session, place_id: object) -> Place:
    try:
        place = session.get(Place, int(place_id)) if place_id else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        place = None
    if place is None or place.level == PlaceLevel.PREFECTURE.value:
        raise ValidationError("请选择服务点所在的县区、乡镇或街道。")
    return place


def _court_for(session: Session, court_id: Optional[int], place: Place) -> Court:
    if court_id:
        court = session.get(Court, int(court_id))
        if court is None:
            raise ValidationError("所选法院不存在，请重新选择。")
        return court
    court = session.execute(
        select(Court).where(Court.level == "basic", Court.county_code == place.county_code)
    ).scalars().first()
    if court is None:
        raise ValidationError("找不到该地点所属的基层法院，请选择指导法院。")
    return court


def _next_point_code(session: Session, place: Place) -> str:
    base = f"SP-{place.code[:9]}"
    taken = set(session.execute(select(ServicePoint.code).where(ServicePoint.code.like(base + "%"))).scalars())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def open_point(session: Session, user: DeskUser, *, name: object, place_id: int, address: object, lat: object,
               lng: object, court_id: Optional[int], hours: Iterable[Window], slot_minutes: int,
               now: dt.datetime) -> ServicePoint:
    """A new service point (设立) in a community or township."""
    actor = _require_admin(user)
    _now(now)
    point_name = clean_text(name, limit=80, field="服务点名称")
    point_address = clean_text(address, limit=200, field="地址")
    la, ln = _coordinates(lat, lng)
    place = _place(session, place_id)
    court = _court_for(session, court_id, place)
    windows = check_hours(hours)
    try:
        minutes = int(slot_minutes)
    except (TypeError, ValueError):
        raise ValidationError("每个时段的分钟数要是15到240之间的整数。") from None
    if not 15 <= minutes <= 240:
        raise ValidationError("每个时段的分钟数要在15到240之间。")
    if session.execute(select(ServicePoint.id).where(ServicePoint.name == point_name,
                                                     ServicePoint.active.is_(True))).first() is not None:
        raise ValidationError(f"已经有名为“{point_name}”的在用服务点了。")
    point = ServicePoint(code=_next_point_code(session, place), name=point_name, place_id=place.id,
                         address=point_address, lat=la, lng=ln, court_id=court.id, slot_minutes=minutes,
                         active=True, is_demo=False)
    point.hours = [ServicePointHours(weekday=d, opens=s, closes=e) for d, s, e in windows]
    session.add(point)
    session.flush()
    journal.audit(session, actor=actor, action="service_point.open", entity_type="service_point",
                  entity_id=point.id, after=_point_snapshot(point) | {"hours": hours_spec(windows)})
    return point


def _point_moved_payload(appt: Appointment, point: ServicePoint, old_address: str) -> dict:
    return {
        "appointment_id": appt.id,
        "reference": appt.case.reference,
        "time": format_local(appt.starts_at),
        "starts_at": appt.starts_at.isoformat(),
        "service_point": point.name,
        "address": point.address,
        "old_address": old_address,
        "lat": point.lat,
        "lng": point.lng,
        "mediator": appt.mediator.name,
    }


def move_point(session: Session, user: DeskUser, point_id: int, *, address: object, lat: object, lng: object,
               place_id: Optional[int], now: dt.datetime) -> Change:
    """迁址: the point's appointments stay; residents with one ahead are told the new address,
    and reminders not sent yet carry it."""
    actor = _require_admin(user)
    now = _now(now)
    point = _lock_point(session, point_id)
    if not point.active:
        raise ValidationError("这个服务点已撤销，不能迁址。")
    new_address = clean_text(address, limit=200, field="地址")
    la, ln = _coordinates(lat, lng)
    place = _place(session, place_id) if place_id else point.place
    if (new_address, la, ln, place.id) == (point.address, point.lat, point.lng, point.place_id):
        raise ValidationError("新地址和原地址相同，没有需要保存的修改。")
    before = _point_snapshot(point)
    old_address = point.address
    point.address, point.lat, point.lng, point.place_id = new_address, la, ln, place.id
    session.flush()
    entry = journal.audit(session, actor=actor, action="service_point.move", entity_type="service_point",
                          entity_id=point.id, before=before, after=_point_snapshot(point))
    session.flush()  # the entry's id keys the pushes: one per resident per move
    change = Change(point.id)
    for appt in _future(session, now, point_ids=[point.id]):
        appt = booking.renew_reminders(session, appt.id, actor=actor, now=now)
        resident_id = appt.case.resident_id
        if resident_id is None or appt.case.resident.anonymised_at is not None:
            continue
        journal.enqueue(session, key=f"point:{point.id}:moved:{entry.id}:appt:{appt.id}:resident",
                        recipient_type=RecipientType.RESIDENT, recipient_id=resident_id, template="point_moved",
                        payload=_point_moved_payload(appt, point, old_address), due_at=now)
        change.notified += 1
    return change


def _free_at(session: Session, point: ServicePoint, appt: Appointment, now: dt.datetime) -> bool:
    day = to_local(appt.starts_at).date()
    return any(s.starts_at == appt.starts_at for s in booking.free_slots(
        session, point.id, day, day, dispute_type=appt.case.dispute_type, now=now, ignore_appointment=appt.id))


def close_point(session: Session, user: DeskUser, point_id: int, *, reason: object, now: dt.datetime) -> Change:
    """撤销: the point takes no more appointments. Those ahead move to the nearest active point
    (within MOVE_RADIUS_KM) with a free slot at the same time, else the resident is offered other
    times. Its mediators keep their other points."""
    actor = _require_admin(user)
    now = _now(now)
    reason = clean_reason(reason)
    point = _lock_point(session, point_id)
    if not point.active:
        raise ValidationError("这个服务点已经撤销了。")
    before = _point_snapshot(point)
    point.active = False
    session.flush()
    members = sorted(point.mediators, key=lambda m: m.id)
    journal.audit(session, actor=actor, action="service_point.close", entity_type="service_point",
                  entity_id=point.id, before=before,
                  after=_point_snapshot(point) | {"reason": _logged(reason), "mediators": [m.id for m in members]})
    change = Change(point.id)
    others = session.execute(
        select(ServicePoint).where(ServicePoint.active.is_(True), ServicePoint.id != point.id)
        .options(selectinload(ServicePoint.hours))
    ).scalars().all()
    nearby = sorted((haversine_km(point.lat, point.lng, p.lat, p.lng), p.id, p) for p in others)
    nearby = [(d, p) for d, _, p in nearby if d <= MOVE_RADIUS_KM]
    for appt in _future(session, now, point_ids=[point.id]):
        reference, time = appt.case.reference, format_local(appt.starts_at)
        target = None
        if appt.starts_at >= now + booking.LEAD_TIME:
            target = next((p for _, p in nearby if _free_at(session, p, appt, now)), None)
        if target is not None:
            moved = booking.reschedule(session, appt.id, starts_at=appt.starts_at, point_id=target.id, actor=actor,
                                       now=now)
            change.handed_over.append(HandOver(reference, time, "moved", moved.mediator.name, target.name))
        else:
            change.handed_over += _reassign_all(session, [appt], actor=actor, reason=reason, now=now)
    for mediator in members:
        if mediator.status != MediatorStatus.RETIRED.value and not [p for p in mediator.service_points if p.active]:
            change.stranded.append(mediator.name)
    return change


# --- reads for the desk -------------------------------------------------------------


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


def _upcoming_counts(session: Session, now: dt.datetime, column) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return dict(session.execute(
        select(column, func.count()).where(Appointment.status.in_(_ACTIVE), Appointment.starts_at > now)
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
    upcoming = _upcoming_counts(session, now, Appointment.mediator_id)
    rows = []
    for m in session.execute(query).scalars():
        rows.append(MediatorRow(
            id=m.id, code=m.code, name=m.name, phone_masked=mask_phone(m.phone),
            points=[_point_label(p) for p in sorted(m.service_points, key=lambda p: p.id)],
            specialities=[dispute_label(t) for t in sorted(m.dispute_types)],
            status=m.status, status_label=STATUS_LABELS.get(m.status, m.status), telegram=telegram_label(m),
            upcoming=upcoming.get(m.id, 0)))
    return rows


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
    "service_point.load": "名册导入",
}

_APPT_STATUS = {"booked": "待调解员确认", "accepted": "已确认", "rescheduled": "已改期，待确认"}


def _appointment_rows(session: Session, now: dt.datetime, **where: int) -> list[AppointmentRow]:
    query = (select(Appointment).where(Appointment.status.in_(_ACTIVE), Appointment.starts_at > now)
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
        dispute_types=sorted(m.dispute_types), specialities=[dispute_label(t) for t in sorted(m.dispute_types)],
        hours=hours_text((a.weekday, a.starts, a.ends) for a in m.availability),
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
