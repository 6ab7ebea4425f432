"""Service points: opening (设立), moving (迁址) and closing (撤销) them."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from court.admin.checks import (
    Window,
    check_hours,
    check_now,
    clean_reason,
    hours_spec,
    lock_point,
    logged_reason,
    require_admin,
)
from court.admin.handover import Change, HandOver, future_appointments, reassign_all
from court.booking import engine, slots
from court.core.errors import InvalidCoordinates, OutsideHeihe, ValidationError
from court.core.timeutil import format_local, to_local
from court.core.validation import clean_text
from court.hotline.accounts import DeskUser
from court.records import journal
from court.reference.places import HEIHE_BOUNDS, check_coordinates, haversine_km
from court.store.schema import (
    Appointment,
    Court,
    MediatorStatus,
    Place,
    PlaceLevel,
    RecipientType,
    ServicePoint,
    ServicePointHours,
)

MOVE_RADIUS_KM = 50.0  # a closed point's appointments move only to a point this near


def _point_snapshot(point: ServicePoint) -> dict:
    return journal.snapshot("service_point", point) | {
        "code": point.code, "address": point.address, "lat": point.lat, "lng": point.lng,
        "slot_minutes": point.slot_minutes,
    }


def _coordinates(lat: object, lng: object) -> tuple[float, float]:
    # The places module words its errors for residents; admins need the bounds.
    try:
        return check_coordinates(lat, lng)
    except (InvalidCoordinates, OutsideHeihe):
        lat_min, lat_max, lng_min, lng_max = HEIHE_BOUNDS
        raise ValidationError(f"坐标不在黑河市范围内（纬度{lat_min}到{lat_max}，经度{lng_min}到{lng_max}），"
                              "请核对纬度和经度是否填反或写错。") from None


def _place(session: Session, place_id: Optional[int]) -> Place:
    try:
        place = session.get(Place, int(place_id)) if place_id else None
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
    actor = require_admin(user)
    check_now(now)
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
    journal.audit(session, at=now, actor=actor, action="service_point.open", entity_type="service_point",
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
    actor = require_admin(user)
    now = check_now(now)
    point = lock_point(session, point_id)
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
    entry = journal.audit(session, at=now, actor=actor, action="service_point.move", entity_type="service_point",
                          entity_id=point.id, before=before, after=_point_snapshot(point))
    session.flush()  # the entry's id keys the pushes: one per resident per move
    change = Change(point.id)
    ahead: dict[int, list[str]] = {}  # mediator -> times of their appointments here
    for appt in future_appointments(session, now, point_ids=[point.id]):
        appt = engine.renew_reminders(session, appt.id, actor=actor, now=now)
        ahead.setdefault(appt.mediator_id, []).append(format_local(appt.starts_at))
        resident_id = appt.case.resident_id
        if resident_id is None or appt.case.resident.anonymised_at is not None:
            continue
        journal.enqueue(session, key=f"point:{point.id}:moved:{entry.id}:appt:{appt.id}:resident",
                        recipient_type=RecipientType.RESIDENT, recipient_id=resident_id, template="point_moved",
                        payload=_point_moved_payload(appt, point, old_address), due_at=now)
        change.notified += 1
    for mediator_id, times in ahead.items():  # one notice per mediator, not one per appointment
        journal.enqueue(session, key=f"point:{point.id}:moved:{entry.id}:mediator:{mediator_id}",
                        recipient_type=RecipientType.MEDIATOR, recipient_id=mediator_id, template="point_moved",
                        payload={"service_point": point.name, "address": point.address, "old_address": old_address,
                                 "lat": point.lat, "lng": point.lng, "times": times[:10], "count": len(times)},
                        due_at=now)
    return change


def _free_at(session: Session, point: ServicePoint, appt: Appointment, now: dt.datetime) -> bool:
    day = to_local(appt.starts_at).date()
    return any(s.starts_at == appt.starts_at for s in slots.free_slots(
        session, point.id, day, day, dispute_type=appt.case.dispute_type, now=now, ignore_appointment=appt.id))


def close_point(session: Session, user: DeskUser, point_id: int, *, reason: object, now: dt.datetime) -> Change:
    """撤销: the point takes no more appointments. Those ahead move to the nearest active point
    (within MOVE_RADIUS_KM) with a free slot at the same time, else the resident is offered other
    times. Its mediators keep their other points."""
    actor = require_admin(user)
    now = check_now(now)
    reason = clean_reason(reason)
    point = lock_point(session, point_id)
    if not point.active:
        raise ValidationError("这个服务点已经撤销了。")
    before = _point_snapshot(point)
    point.active = False
    session.flush()
    members = sorted(point.mediators, key=lambda m: m.id)
    journal.audit(session, at=now, actor=actor, action="service_point.close", entity_type="service_point",
                  entity_id=point.id, before=before,
                  after=_point_snapshot(point) | {"reason": logged_reason(reason),
                                                  "mediators": [m.id for m in members]})
    change = Change(point.id)
    others = session.execute(
        select(ServicePoint).where(ServicePoint.active.is_(True), ServicePoint.id != point.id)
        .options(selectinload(ServicePoint.hours))
    ).scalars().all()
    by_distance = sorted((haversine_km(point.lat, point.lng, p.lat, p.lng), p.id, p) for p in others)
    nearby = [(d, p) for d, _, p in by_distance if d <= MOVE_RADIUS_KM]
    for appt in future_appointments(session, now, point_ids=[point.id]):
        reference, time = appt.case.reference, format_local(appt.starts_at)
        target = None
        if appt.starts_at >= now + slots.LEAD_TIME:
            target = next((p for _, p in nearby if _free_at(session, p, appt, now)), None)
        if target is not None:
            moved = engine.reschedule(session, appt.id, starts_at=appt.starts_at, point_id=target.id, actor=actor,
                                      now=now)
            change.handed_over.append(HandOver(reference, time, "moved", moved.mediator.name, target.name))
        else:
            change.handed_over += reassign_all(session, [appt], actor=actor, reason=reason, now=now)
    for mediator in members:
        if mediator.status != MediatorStatus.RETIRED.value and not [p for p in mediator.service_points if p.active]:
            change.stranded.append(mediator.name)
    return change
