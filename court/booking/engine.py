"""The booking engine: free slots, booking, rescheduling, cancelling, accepting, declining.

Every function takes the caller's session and writes its audit entries and
pushes into that same transaction. The database refuses double bookings by
itself (exclusion constraint / trigger); the checks here only give the
resident a precise reason first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from court.core import clock
from court.records import cases, journal, workcalendar
from court.core.errors import (
    ConsentRequired,
    MediatorUnavailable,
    NotFound,
    OutsideOpeningHours,
    PastTime,
    PermissionDenied,
    SlotTaken,
    ValidationError,
)
from court.reference.places import haversine_km
from court.core.privacy import mask_text
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Case,
    CaseStatus,
    Mediator,
    MediatorStatus,
    RecipientType,
    ServicePoint,
    mediator_points,
)
from court.core.timeutil import format_local, local_datetime, to_local
from court.records.workcalendar import schedule_weekday

LEAD_TIME = dt.timedelta(minutes=30)  # nobody can be booked for a meeting starting sooner
HORIZON_DAYS = 60  # furthest a resident can book ahead
SEARCH_DAYS = 14  # how far ahead offers look for a free time
REMINDERS = (("reminder_day_before", dt.timedelta(hours=24)), ("reminder_two_hours", dt.timedelta(hours=2)))
_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class Slot:
    service_point_id: int
    mediator_id: int
    mediator_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime


@dataclass
class DeclineResult:
    declined: Appointment
    reassigned: Optional[Appointment] = None
    proposals: list[tuple[ServicePoint, float, Slot]] = field(default_factory=list)


# --- reading the calendar ---------------------------------------------------


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


# --- changing the calendar --------------------------------------------------


def _check_time(starts_at: dt.datetime, now: dt.datetime) -> None:
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    if starts_at < now + LEAD_TIME:
        raise PastTime()
    if starts_at > now + dt.timedelta(days=HORIZON_DAYS):
        raise ValidationError(f"只能预约{HORIZON_DAYS}天以内的时间，请选一个近一点的日期。")


def _find_slot(session: Session, point_id: int, starts_at: dt.datetime, mediator_id: Optional[int],
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


def _hold_mediator(session: Session, mediator_id: int, point_id: int) -> None:
    """Share-lock the chosen mediator's and point's rows, then check both are still in service:
    a suspension, reassignment or closure (which lock them for update) waits for this booking or refuses it."""
    open_ = session.execute(
        select(ServicePoint.active).where(ServicePoint.id == point_id).with_for_update(read=True)
    ).scalar_one()
    status = session.execute(
        select(Mediator.status).where(Mediator.id == mediator_id).with_for_update(read=True)
    ).scalar_one()
    serves = session.execute(
        select(mediator_points.c.mediator_id).where(mediator_points.c.mediator_id == mediator_id,
                                                    mediator_points.c.service_point_id == point_id)
    ).first()
    if not open_:
        raise NotFound("这个服务点不存在或已停止服务。")
    if status != MediatorStatus.ACTIVE.value or serves is None:
        raise MediatorUnavailable()


def _push_keys(appt: Appointment) -> str:
    return f"appt:{appt.id}:r{appt.revision}:"


def _card(appt: Appointment) -> dict:
    """What a push about this appointment says; no personal data of the resident."""
    point = appt.service_point
    return {
        "appointment_id": appt.id,
        "reference": appt.case.reference,
        "dispute_type": appt.case.dispute_type,
        # The mediator sees the resident's phone only after accepting (as in the agenda), not typed into the summary.
        "summary": mask_text((appt.case.summary or "")[:80]),
        "time": format_local(appt.starts_at),
        "starts_at": appt.starts_at.isoformat(),
        "service_point": point.name,
        "address": point.address,
        "lat": point.lat,
        "lng": point.lng,
        "mediator": appt.mediator.name,
    }


def _announce(session: Session, appt: Appointment, mediator_template: Optional[str],
              resident_template: Optional[str], now: dt.datetime, extra: Optional[dict] = None) -> None:
    card = _card(appt) | (extra or {})
    prefix = _push_keys(appt)
    if mediator_template:
        journal.enqueue(session, key=prefix + mediator_template + ":mediator", recipient_type=RecipientType.MEDIATOR,
                        recipient_id=appt.mediator_id, template=mediator_template, payload=card, due_at=now)
    resident_id = appt.case.resident_id
    if resident_template and resident_id:
        journal.enqueue(session, key=prefix + resident_template + ":resident", recipient_type=RecipientType.RESIDENT,
                        recipient_id=resident_id, template=resident_template, payload=card, due_at=now)


def _schedule_reminders(session: Session, appt: Appointment, now: dt.datetime) -> None:
    card = _card(appt)
    for template, before in REMINDERS:
        due = appt.starts_at - before
        if due <= now:
            continue
        targets = [(RecipientType.MEDIATOR, appt.mediator_id)]
        if appt.case.resident_id:
            targets.append((RecipientType.RESIDENT, appt.case.resident_id))
        for recipient_type, recipient_id in targets:
            journal.enqueue(session, key=f"{_push_keys(appt)}{template}:{recipient_type.value}",
                            recipient_type=recipient_type, recipient_id=recipient_id, template=template,
                            payload=card, due_at=due)


def _withdraw_pushes(session: Session, appt: Appointment) -> None:
    journal.cancel_pending(session, [f"{_push_keys(appt)}{t}:" for t, _ in REMINDERS])


def _flush_or_taken(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if "appointment_overlap" in str(exc.orig):
            raise SlotTaken() from exc
        raise


def book(session: Session, case: Case, *, point_id: int, starts_at: dt.datetime, actor: str,
         mediator_id: Optional[int] = None, now: Optional[dt.datetime] = None) -> Appointment:
    """Book the slot at ``starts_at`` for a case; refuses with a typed error otherwise."""
    now = now or clock.now()
    case = session.execute(  # lock the case: one booking per case even under concurrency
        select(Case).where(Case.id == case.id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()
    resident = case.resident
    if resident is None or resident.consent_at is None or resident.anonymised_at is not None:
        raise ConsentRequired()
    if CaseStatus(case.status) != CaseStatus.INTAKE:
        raise ValidationError("这个案件已经有预约了。如需改时间，请选择“改约”。")
    _check_time(starts_at, now)
    slot = _find_slot(session, point_id, starts_at, mediator_id, case.dispute_type, now)
    _hold_mediator(session, slot.mediator_id, point_id)
    appt = Appointment(case=case, service_point_id=point_id, mediator_id=slot.mediator_id,
                       starts_at=slot.starts_at, ends_at=slot.ends_at, status=AppointmentStatus.BOOKED.value,
                       created_at=now)  # the caller's clock, as its pushes and audit entry
    session.add(appt)
    _flush_or_taken(session)
    session.refresh(appt)
    case.service_point_id, case.mediator_id = point_id, slot.mediator_id
    if case.place_id is None:  # the resident named no town: the point's stands in for the statistics
        case.place_id = appt.service_point.place_id
    cases.advance(session, case, CaseStatus.BOOKED, actor=actor, now=now)
    journal.audit(session, at=now, actor=actor, action="appointment.book", entity_type="appointment", entity_id=appt.id,
                  after=journal.snapshot("appointment", appt))
    _announce(session, appt, "appointment_new", None, now)
    _schedule_reminders(session, appt, now)
    return appt


def get_appointment(session: Session, appointment_id: int, *, lock: bool = False) -> Appointment:
    """An appointment; ``lock`` holds its row until commit so concurrent changes queue up."""
    query = select(Appointment).where(Appointment.id == appointment_id).execution_options(populate_existing=True)
    appt = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if appt is None:
        raise NotFound()
    return appt


def reschedule(session: Session, appointment_id: int, *, starts_at: dt.datetime, actor: str,
               point_id: Optional[int] = None, now: Optional[dt.datetime] = None,
               tell_resident: bool = True) -> Appointment:
    """Move an appointment; a new point or time may bring another mediator. ``tell_resident=False``
    when the resident made the change in the chat that answers it: one confirmation, not two."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或结束，不能改约。")
    _check_time(starts_at, now)
    target_point = point_id or appt.service_point_id
    # Keep the same mediator if they are free; otherwise anyone at the point.
    try:
        slot = _find_slot(session, target_point, starts_at, appt.mediator_id, appt.case.dispute_type, now, ignore=appt.id)
    except (MediatorUnavailable, NotFound):
        slot = _find_slot(session, target_point, starts_at, None, appt.case.dispute_type, now, ignore=appt.id)
    _hold_mediator(session, slot.mediator_id, target_point)
    before = journal.snapshot("appointment", appt)
    _withdraw_pushes(session, appt)
    old_mediator = appt.mediator_id
    if old_mediator != slot.mediator_id:
        journal.enqueue(session, key=f"{_push_keys(appt)}appointment_moved_away:mediator",
                        recipient_type=RecipientType.MEDIATOR, recipient_id=old_mediator,
                        template="appointment_moved_away", payload=_card(appt), due_at=now)
    appt.service_point_id, appt.mediator_id = target_point, slot.mediator_id
    appt.starts_at, appt.ends_at = slot.starts_at, slot.ends_at
    appt.status = AppointmentStatus.RESCHEDULED.value
    appt.revision += 1
    appt.responded_at = None
    _flush_or_taken(session)
    session.refresh(appt)
    appt.case.service_point_id, appt.case.mediator_id = target_point, slot.mediator_id
    journal.audit(session, at=now, actor=actor, action="appointment.reschedule", entity_type="appointment",
                  entity_id=appt.id, before=before, after=journal.snapshot("appointment", appt))
    _announce(session, appt, "appointment_rescheduled", "appointment_rescheduled" if tell_resident else None, now)
    _schedule_reminders(session, appt, now)
    return appt


def cancel(session: Session, appointment_id: int, *, actor: str, reason: str = "",
           now: Optional[dt.datetime] = None, tell_resident: bool = True) -> Appointment:
    """``tell_resident=False`` when the resident cancelled in the chat that answers it."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或结束了。")
    before = journal.snapshot("appointment", appt)
    _withdraw_pushes(session, appt)
    appt.status = AppointmentStatus.CANCELLED.value
    appt.revision += 1
    appt.note = reason[:200] or None
    session.flush()
    if appt.case.status == CaseStatus.BOOKED.value:
        cases.advance(session, appt.case, CaseStatus.INTAKE, actor=actor, now=now)
    journal.audit(session, at=now, actor=actor, action="appointment.cancel", entity_type="appointment", entity_id=appt.id,
                  before=before, after=journal.snapshot("appointment", appt))
    _announce(session, appt, "appointment_cancelled", "appointment_cancelled" if tell_resident else None, now)
    return appt


def _own(appt: Appointment, mediator_id: int) -> None:
    if appt.mediator_id != mediator_id:
        raise PermissionDenied("这不是您负责的预约。")


def accept(session: Session, appointment_id: int, *, mediator_id: int, now: Optional[dt.datetime] = None) -> bool:
    """Accept an appointment; False when it was accepted already (a second press)."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    _own(appt, mediator_id)
    if appt.status == AppointmentStatus.ACCEPTED.value:
        return False
    if appt.status not in (AppointmentStatus.BOOKED.value, AppointmentStatus.RESCHEDULED.value):
        raise ValidationError("这个预约已经取消或改派，无需再处理。")
    before = journal.snapshot("appointment", appt)
    appt.status = AppointmentStatus.ACCEPTED.value
    appt.responded_at = now
    session.flush()
    journal.audit(session, at=now, actor=f"mediator:{mediator_id}", action="appointment.accept", entity_type="appointment",
                  entity_id=appt.id, before=before, after=journal.snapshot("appointment", appt))
    _announce(session, appt, None, "appointment_accepted", now)
    return True


def decline(session: Session, appointment_id: int, *, mediator_id: int, reason: str = "",
            now: Optional[dt.datetime] = None) -> DeclineResult:
    """Decline: reassign to a colleague at the same point and time, else propose alternatives."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    _own(appt, mediator_id)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或改派，无需再处理。")
    return _release(session, appt, status=AppointmentStatus.DECLINED, action="appointment.decline",
                    actor=f"mediator:{mediator_id}", reason=reason, now=now, responded=True)


def reassign(session: Session, appointment_id: int, *, actor: str, reason: str = "",
             now: Optional[dt.datetime] = None) -> DeclineResult:
    """Take an active appointment off its mediator (suspended, retired, moved off the point, or the
    point closed): a colleague free at the same point and time takes it, as after a decline;
    else the resident is offered other times. The leaving mediator is told too."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或结束了。")
    journal.enqueue(session, key=f"{_push_keys(appt)}appointment_moved_away:mediator",
                    recipient_type=RecipientType.MEDIATOR, recipient_id=appt.mediator_id,
                    template="appointment_moved_away", payload=_card(appt), due_at=now)
    # Cancelled, not declined: the mediator did not refuse it, so their scorecard must not count it.
    return _release(session, appt, status=AppointmentStatus.CANCELLED, action="appointment.withdraw",
                    actor=actor, reason=reason, now=now)


def lapse(session: Session, appointment_id: int, *, actor: str, reason: str, now: Optional[dt.datetime] = None,
          exclude: Iterable[int] = ()) -> DeclineResult:
    """The mediator never answered in time (court/booking/acceptance.py): taken off them as by ``reassign``,
    and offered to a colleague other than those in ``exclude`` (who let it lapse before)."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或结束了。")
    journal.enqueue(session, key=f"{_push_keys(appt)}appointment_moved_away:mediator",
                    recipient_type=RecipientType.MEDIATOR, recipient_id=appt.mediator_id,
                    template="appointment_moved_away", payload=_card(appt), due_at=now)
    return _release(session, appt, status=AppointmentStatus.CANCELLED, action="appointment.lapse",
                    actor=actor, reason=reason, now=now, exclude=exclude)


def _release(session: Session, appt: Appointment, *, status: AppointmentStatus, action: str, actor: str,
             reason: str, now: dt.datetime, responded: bool = False, exclude: Iterable[int] = ()) -> DeclineResult:
    """Take an appointment off its mediator (declined by them, or withdrawn), then hand it over."""
    leaving = appt.mediator_id
    before = journal.snapshot("appointment", appt)
    _withdraw_pushes(session, appt)
    appt.status = status.value
    if responded:  # the mediator's own answer counts towards their response time
        appt.responded_at = now
    appt.revision += 1
    appt.note = reason[:200] or None
    session.flush()
    journal.audit(session, at=now, actor=actor, action=action, entity_type="appointment", entity_id=appt.id,
                  before=before, after=journal.snapshot("appointment", appt))
    return _hand_over(session, appt, actor=actor, leaving=leaving, now=now, exclude=exclude)


def renew_reminders(session: Session, appointment_id: int, *, actor: str,
                    now: Optional[dt.datetime] = None) -> Appointment:
    """The card changed (e.g. the point moved): reminders not sent yet are written again with it."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    before = journal.snapshot("appointment", appt)
    _withdraw_pushes(session, appt)
    appt.revision += 1  # new push keys: the withdrawn rows keep the old ones
    session.flush()
    session.refresh(appt)
    journal.audit(session, at=now, actor=actor, action="appointment.renew_card", entity_type="appointment",
                  entity_id=appt.id, before=before, after=journal.snapshot("appointment", appt))
    _schedule_reminders(session, appt, now)
    return appt


def _hand_over(session: Session, appt: Appointment, *, actor: str, leaving: int, now: dt.datetime,
               exclude: Iterable[int] = ()) -> DeclineResult:
    """After ``appt`` left its mediator: a colleague at the same point and time, else proposals."""
    result = DeclineResult(declined=appt)
    case = appt.case
    point = appt.service_point

    day = to_local(appt.starts_at).date()
    skip = set(exclude)
    colleagues = [
        s for s in free_slots(session, point.id, day, day, dispute_type=case.dispute_type, now=now)
        if s.starts_at == appt.starts_at and s.mediator_id != leaving and s.mediator_id not in skip
    ] if point.active else []
    if colleagues and appt.starts_at >= now + LEAD_TIME:
        slot = colleagues[0]
        _hold_mediator(session, slot.mediator_id, point.id)
        new = Appointment(case=case, service_point_id=appt.service_point_id, mediator_id=slot.mediator_id,
                          starts_at=slot.starts_at, ends_at=slot.ends_at, status=AppointmentStatus.BOOKED.value,
                          created_at=now)
        session.add(new)
        _flush_or_taken(session)
        session.refresh(new)
        case.mediator_id = slot.mediator_id
        journal.audit(session, at=now, actor=actor, action="appointment.reassign", entity_type="appointment",
                      entity_id=new.id, after=journal.snapshot("appointment", new) | {"replaces": appt.id})
        _announce(session, new, "appointment_new", "appointment_reassigned", now)
        _schedule_reminders(session, new, now)
        result.reassigned = new
        return result

    if point.active:  # a closed point has no times to offer
        same_point = earliest_slots(session, point.id, dispute_type=case.dispute_type, count=1, now=now,
                                    after=appt.starts_at)
        if same_point:
            result.proposals.append((point, 0.0, same_point[0]))
    result.proposals += nearest_points(session, point.lat, point.lng, limit=2, dispute_type=case.dispute_type,
                                       now=now, exclude=[point.id])
    if case.status == CaseStatus.BOOKED.value:
        cases.advance(session, case, CaseStatus.INTAKE, actor=actor, now=now)
    proposals = [
        {"service_point_id": p.id, "service_point": p.name, "address": p.address, "distance_km": d,
         "starts_at": s.starts_at.isoformat(), "time": format_local(s.starts_at), "mediator": s.mediator_name}
        for p, d, s in result.proposals
    ]
    _announce(session, appt, None, "appointment_declined", now, extra={"proposals": proposals})
    return result
