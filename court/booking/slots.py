"""Free slots: which mediator is free at which service point and time, and the nearest
points with a free time. Reads only; the booking engine (``engine``) changes the calendar.

A slot is a point's weekly opening hours intersected with a mediator's weekly hours, on the
days the court's calendar confirms as working, minus leave and existing appointments.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from court.core import clock
from court.core.errors import MediatorUnavailable, NotFound, OutsideOpeningHours, SlotTaken, ValidationError
from court.core.timeutil import local_datetime, to_local
from court.records import workcalendar
from court.records.workcalendar import schedule_weekday
from court.reference.places import haversine_km
from court.store.schema import ACTIVE_APPOINTMENT_STATUSES, Appointment, Mediator, MediatorStatus, ServicePoint

LEAD_TIME = dt.timedelta(minutes=30)  # nobody can be booked for a meeting starting sooner
HORIZON_DAYS = 60  # furthest a resident can book ahead
SEARCH_DAYS = 14  # how far ahead offers look for a free time
_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class Slot:
    service_point_id: int
    mediator_id: int
    mediator_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def _point(session: Session, point_id: int) -> ServicePoint:
    point = session.execute(
        select(ServicePoint).where(ServicePoint.id == point_id).options(selectinload(ServicePoint.hours))
    ).scalar_one_or_none()
    if point is None or not point.active:
        raise NotFound("这个服务点不存在或已停止服务。")
    return point


def _mediators(session: Session, point: ServicePoint, mediator_id: Optional[int],
               dispute_type: Optional[str]) -> list[Mediator]:
    query = (
        select(Mediator)
        .where(Mediator.status == MediatorStatus.ACTIVE.value, Mediator.service_points.any(ServicePoint.id == point.id))
        .options(selectinload(Mediator.availability), selectinload(Mediator.exceptions),
                 selectinload(Mediator.specialities))
        .order_by(Mediator.id)
    )
    if mediator_id is not None:
        query = query.where(Mediator.id == mediator_id)
    found = list(session.execute(query).scalars())
    # Those who handle this kind of dispute come first; the others still count.
    return sorted(found, key=lambda m: dispute_type not in m.dispute_types) if dispute_type else found


def _busy(session: Session, mediator_ids: Sequence[int], start: dt.datetime, end: dt.datetime,
          ignore: Optional[int]) -> dict[int, list[tuple[dt.datetime, dt.datetime]]]:
    if not mediator_ids:
        return {}
    rows = session.execute(
        select(Appointment.mediator_id, Appointment.starts_at, Appointment.ends_at, Appointment.id).where(
            Appointment.mediator_id.in_(mediator_ids),
            Appointment.status.in_(_ACTIVE),
            Appointment.starts_at < end,
            Appointment.ends_at > start,
        )
    ).all()
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for mediator_id, s, e, appt_id in rows:
        if appt_id != ignore:
            busy.setdefault(mediator_id, []).append((s, e))
    return busy


def free_slots(
    session: Session,
    point_id: int,
    start_day: dt.date,
    end_day: dt.date,
    *,
    mediator_id: Optional[int] = None,
    dispute_type: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    limit: Optional[int] = None,
    ignore_appointment: Optional[int] = None,
) -> list[Slot]:
    """Free slots at a point between two local dates (inclusive), earliest first.

    Weekly opening hours intersected with each mediator's weekly hours, on the days the
    court's calendar confirms as working, minus leave and existing appointments.
    """
    now = now or clock.now()
    point = _point(session, point_id)
    mediators = _mediators(session, point, mediator_id, dispute_type)
    if not mediators or end_day < start_day:
        return []
    range_start = local_datetime(start_day, dt.time.min)
    range_end = local_datetime(end_day + dt.timedelta(days=1), dt.time.min)
    busy = _busy(session, [m.id for m in mediators], range_start, range_end, ignore_appointment)
    step = dt.timedelta(minutes=point.slot_minutes)
    earliest = now + LEAD_TIME
    calendar = workcalendar.of(session)
    slots: list[Slot] = []
    day = start_day
    while day <= end_day:
        if calendar.is_bookable(day):
            weekday = schedule_weekday(day)
            for window in (w for w in point.hours if w.weekday == weekday):
                slots.extend(_window_slots(point, mediators, busy, day, weekday, window.opens, window.closes,
                                           step, earliest))
        day += dt.timedelta(days=1)
        if limit is not None and len(slots) >= limit:
            break
    rank = {m.id: i for i, m in enumerate(mediators)}
    slots.sort(key=lambda s: (s.starts_at, rank[s.mediator_id]))
    return slots[:limit] if limit is not None else slots


def _window_slots(point: ServicePoint, mediators: Iterable[Mediator], busy: dict, day: dt.date, weekday: int,
                  opens: dt.time, closes: dt.time, step: dt.timedelta, earliest: dt.datetime) -> list[Slot]:
    out: list[Slot] = []
    window_start, window_end = local_datetime(day, opens), local_datetime(day, closes)
    for mediator in mediators:
        if any(ex.starts_on <= day <= ex.ends_on for ex in mediator.exceptions):
            continue
        taken = busy.get(mediator.id, [])
        for avail in (a for a in mediator.availability if a.weekday == weekday):
            lo = max(window_start, local_datetime(day, avail.starts))
            hi = min(window_end, local_datetime(day, avail.ends))
            start = window_start
            while start + step <= hi:
                end = start + step
                if start >= lo and start >= earliest and not any(s < end and start < e for s, e in taken):
                    out.append(Slot(point.id, mediator.id, mediator.name, start, end))
                start = end
    return out


def earliest_slots(session: Session, point_id: int, *, dispute_type: Optional[str] = None, days: int = SEARCH_DAYS,
                   count: int = 3, now: Optional[dt.datetime] = None, after: Optional[dt.datetime] = None) -> list[Slot]:
    """The first ``count`` distinct start times at a point (one mediator each)."""
    now = now or clock.now()
    start_from = max(now, after) if after else now
    first_day = to_local(start_from).date()
    picked: list[Slot] = []
    seen: set[dt.datetime] = set()
    for slot in free_slots(session, point_id, first_day, first_day + dt.timedelta(days=days),
                           dispute_type=dispute_type, now=start_from):
        if slot.starts_at not in seen:
            seen.add(slot.starts_at)
            picked.append(slot)
            if len(picked) == count:
                break
    return picked


def nearest_points(session: Session, lat: float, lng: float, *, limit: int = 3, within_days: int = SEARCH_DAYS,
                   dispute_type: Optional[str] = None, now: Optional[dt.datetime] = None,
                   exclude: Sequence[int] = ()) -> list[tuple[ServicePoint, float, Slot]]:
    """Active points nearest to (lat, lng) that have a free slot within ``within_days``.

    Returns (point, distance in km, its first free slot), nearest first.
    """
    now = now or clock.now()
    points = session.execute(select(ServicePoint).where(ServicePoint.active.is_(True))).scalars().all()
    ranked = sorted((haversine_km(lat, lng, p.lat, p.lng), p.id, p) for p in points if p.id not in exclude)
    found: list[tuple[ServicePoint, float, Slot]] = []
    for distance, _, point in ranked:
        first = earliest_slots(session, point.id, dispute_type=dispute_type, days=within_days, count=1, now=now)
        if first:
            found.append((point, round(distance, 1), first[0]))
            if len(found) == limit:
                break
    return found


def find_slot(session: Session, point_id: int, starts_at: dt.datetime, mediator_id: Optional[int],
              dispute_type: Optional[str], now: dt.datetime, ignore: Optional[int] = None) -> Slot:
    """The free slot starting at ``starts_at``, or the most precise reason there is none."""
    day = to_local(starts_at).date()
    candidates = [
        s for s in free_slots(session, point_id, day, day, mediator_id=mediator_id, dispute_type=dispute_type,
                              now=now, ignore_appointment=ignore)
        if s.starts_at == starts_at
    ]
    if candidates:
        return candidates[0]
    point = _point(session, point_id)
    calendar = workcalendar.of(session)
    if not calendar.is_confirmed(day):
        raise ValidationError(workcalendar.unconfirmed_notice(calendar, day, to_local(now).date()))
    local = to_local(starts_at)
    weekday = schedule_weekday(day)
    open_now = calendar.is_working_day(day) and any(
        w.weekday == weekday and w.opens <= local.time() and (local + dt.timedelta(minutes=point.slot_minutes)).time() <= w.closes
        for w in point.hours
    )
    if not open_now:
        raise OutsideOpeningHours()
    if mediator_id is not None:
        raise MediatorUnavailable()
    raise SlotTaken()
