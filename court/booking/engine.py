"""The booking engine: booking, rescheduling, cancelling, accepting, declining, reassigning.

Every function takes the caller's session and writes its audit entries and
pushes (``pushes``) into that same transaction. Which times are free is ``slots``'s
answer; the database refuses double bookings by itself (exclusion constraint / trigger);
the checks here only give the resident a precise reason first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from court.booking import pushes, slots
from court.booking.slots import HORIZON_DAYS, LEAD_TIME, Slot
from court.core import clock
from court.core.errors import (
    ConsentRequired,
    MediatorUnavailable,
    NotFound,
    PastTime,
    PermissionDenied,
    SlotTaken,
    ValidationError,
)
from court.core.timeutil import to_local
from court.records import cases, journal
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Case,
    CaseStatus,
    Mediator,
    MediatorStatus,
    ServicePoint,
    mediator_points,
)

_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass
class DeclineResult:
    declined: Appointment
    reassigned: Optional[Appointment] = None
    proposals: list[tuple[ServicePoint, float, Slot]] = field(default_factory=list)


def _check_time(starts_at: dt.datetime, now: dt.datetime) -> None:
    if starts_at.tzinfo is None:
        raise ValueError("starts_at must be timezone-aware")
    if starts_at < now + LEAD_TIME:
        raise PastTime()
    if starts_at > now + dt.timedelta(days=HORIZON_DAYS):
        raise ValidationError(f"只能预约{HORIZON_DAYS}天以内的时间，请选一个近一点的日期。")

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
    slot = slots.find_slot(session, point_id, starts_at, mediator_id, case.dispute_type, now)
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
    pushes.announce(session, appt, "appointment_new", None, now)
    pushes.schedule_reminders(session, appt, now)
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
        slot = slots.find_slot(session, target_point, starts_at, appt.mediator_id, appt.case.dispute_type, now,
                               ignore=appt.id)
    except (MediatorUnavailable, NotFound):
        slot = slots.find_slot(session, target_point, starts_at, None, appt.case.dispute_type, now, ignore=appt.id)
    _hold_mediator(session, slot.mediator_id, target_point)
    before = journal.snapshot("appointment", appt)
    pushes.withdraw_reminders(session, appt)
    old_mediator = appt.mediator_id
    if old_mediator != slot.mediator_id:
        pushes.tell_moved_away(session, appt, now)
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
    pushes.announce(session, appt, "appointment_rescheduled", "appointment_rescheduled" if tell_resident else None, now)
    pushes.schedule_reminders(session, appt, now)
    return appt


def cancel(session: Session, appointment_id: int, *, actor: str, reason: str = "",
           now: Optional[dt.datetime] = None, tell_resident: bool = True) -> Appointment:
    """``tell_resident=False`` when the resident cancelled in the chat that answers it."""
    now = now or clock.now()
    appt = get_appointment(session, appointment_id, lock=True)
    if appt.status not in _ACTIVE:
        raise ValidationError("这个预约已经取消或结束了。")
    before = journal.snapshot("appointment", appt)
    pushes.withdraw_reminders(session, appt)
    appt.status = AppointmentStatus.CANCELLED.value
    appt.revision += 1
    appt.note = reason[:200] or None
    session.flush()
    if appt.case.status == CaseStatus.BOOKED.value:
        cases.advance(session, appt.case, CaseStatus.INTAKE, actor=actor, now=now)
    journal.audit(session, at=now, actor=actor, action="appointment.cancel", entity_type="appointment", entity_id=appt.id,
                  before=before, after=journal.snapshot("appointment", appt))
    pushes.announce(session, appt, "appointment_cancelled", "appointment_cancelled" if tell_resident else None, now)
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
    pushes.announce(session, appt, None, "appointment_accepted", now)
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
    pushes.tell_moved_away(session, appt, now)
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
    pushes.tell_moved_away(session, appt, now)
    return _release(session, appt, status=AppointmentStatus.CANCELLED, action="appointment.lapse",
                    actor=actor, reason=reason, now=now, exclude=exclude)


def _release(session: Session, appt: Appointment, *, status: AppointmentStatus, action: str, actor: str,
             reason: str, now: dt.datetime, responded: bool = False, exclude: Iterable[int] = ()) -> DeclineResult:
    """Take an appointment off its mediator (declined by them, or withdrawn), then hand it over."""
    leaving = appt.mediator_id
    before = journal.snapshot("appointment", appt)
    pushes.withdraw_reminders(session, appt)
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
    pushes.withdraw_reminders(session, appt)
    appt.revision += 1  # new push keys: the withdrawn rows keep the old ones
    session.flush()
    session.refresh(appt)
    journal.audit(session, at=now, actor=actor, action="appointment.renew_card", entity_type="appointment",
                  entity_id=appt.id, before=before, after=journal.snapshot("appointment", appt))
    pushes.schedule_reminders(session, appt, now)
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
        s for s in slots.free_slots(session, point.id, day, day, dispute_type=case.dispute_type, now=now)
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
        pushes.announce(session, new, "appointment_new", "appointment_reassigned", now)
        pushes.schedule_reminders(session, new, now)
        result.reassigned = new
        return result

    if point.active:  # a closed point has no times to offer
        same_point = slots.earliest_slots(session, point.id, dispute_type=case.dispute_type, count=1, now=now,
                                          after=appt.starts_at)
        if same_point:
            result.proposals.append((point, 0.0, same_point[0]))
    result.proposals += slots.nearest_points(session, point.lat, point.lng, limit=2,
                                             dispute_type=case.dispute_type, now=now, exclude=[point.id])
    if case.status == CaseStatus.BOOKED.value:
        cases.advance(session, case, CaseStatus.INTAKE, actor=actor, now=now)
    pushes.announce_declined(session, appt, result.proposals, now)
    return result
