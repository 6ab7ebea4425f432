"""The acceptance deadline: an appointment its mediator has not answered in time.

A new or moved appointment asks its mediator to accept (the push with 接受 / 拒绝, or
/week). If no answer comes within the court's set time (``COURT_ACCEPT_HOURS`` after
the push, default 24 h) or before the meeting draws near (``COURT_ACCEPT_BEFORE_START_MINUTES``
before it, default 60), whichever is first (``COURT_ACCEPT_HOURS=0``: no deadline), the hotline desk gets an alert (a court
outbox row, shown under 送达提醒) and the booking engine offers the appointment to a
colleague: free at the same point and time first, else the resident is offered the
nearest other times (court/booking/engine.py's hand-over). The housekeeping loop runs it.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from court.booking import engine
from court.records import journal
from court.store.schema import Appointment, AppointmentStatus, OutboxMessage, RecipientType

ACCEPT_HOURS = float(os.environ.get("COURT_ACCEPT_HOURS", "24"))
BEFORE_START = dt.timedelta(minutes=float(os.environ.get("COURT_ACCEPT_BEFORE_START_MINUTES", "60")))
# A booking made shortly before the meeting still gives the mediator this long to answer.
MIN_ANSWER = dt.timedelta(minutes=15)
LAPSED_NOTE = "调解员超时未确认"
ALERT_TEMPLATE = "acceptance_overdue"
ACTOR = "court:acceptance"
_ASKING = ("appointment_new", "appointment_rescheduled")
_WAITING = (AppointmentStatus.BOOKED.value, AppointmentStatus.RESCHEDULED.value)


@dataclass(frozen=True)
class Lapsed:
    appointment_id: int
    reference: str
    mediator_id: int
    reassigned_to: Optional[int]  # the colleague's mediator id, or None (the resident was offered other times)


def pushed_at(session: Session, appt: Appointment) -> dt.datetime:
    """When the mediator was last asked to accept this appointment (the push was due; a push
    replayed at their /link counts from the link)."""
    found = session.execute(
        select(OutboxMessage.due_at).where(
            OutboxMessage.recipient_type == RecipientType.MEDIATOR.value,
            OutboxMessage.recipient_id == appt.mediator_id,
            OutboxMessage.template.in_(_ASKING),
            OutboxMessage.idempotency_key.like(f"appt:{appt.id}:r%"))
        .order_by(OutboxMessage.id.desc()).limit(1)).scalar_one_or_none()
    return found or appt.created_at


def deadline(pushed: dt.datetime, starts_at: dt.datetime, *, hours: float = ACCEPT_HOURS,
             before_start: dt.timedelta = BEFORE_START) -> dt.datetime:
    """The earlier of ``hours`` after the push and ``before_start`` ahead of the meeting,
    but never less than a quarter hour after the push."""
    due = min(pushed + dt.timedelta(hours=hours), starts_at - before_start)
    return max(due, min(pushed + MIN_ANSWER, starts_at))


def _lapsed_before(session: Session, appt: Appointment) -> set[int]:
    """Mediators who already let this case's appointment lapse: it is not offered to them again."""
    return set(session.execute(select(Appointment.mediator_id).where(
        Appointment.case_id == appt.case_id, Appointment.status == AppointmentStatus.CANCELLED.value,
        Appointment.note == LAPSED_NOTE)).scalars())


def _alert(session: Session, appt: Appointment, now: dt.datetime) -> None:
    """One desk alert per lapsed appointment revision, shaped like the outbox's delivery alerts."""
    journal.enqueue(session, key=f"alert:unaccepted:appt:{appt.id}:r{appt.revision}",
                    recipient_type=RecipientType.COURT, recipient_id=None, template=ALERT_TEMPLATE,
                    payload={"recipient_type": RecipientType.MEDIATOR.value, "recipient_id": appt.mediator_id,
                             "reference": appt.case.reference, "template": "appointment_new",
                             "appointment_id": appt.id, "starts_at": appt.starts_at.isoformat()},
                    due_at=now)


def overdue(session: Session, *, now: dt.datetime) -> list[int]:
    """Ids of appointments waiting for their mediator's answer past the deadline, earliest first
    (none when the court set no deadline: ``COURT_ACCEPT_HOURS=0``)."""
    if ACCEPT_HOURS <= 0:
        return []
    # Only these can be late: a push is never older than its appointment, so one created within the
    # last ACCEPT_HOURS and not yet near its start has a deadline still ahead (checked every pass).
    rows = session.execute(select(Appointment).where(
        Appointment.status.in_(_WAITING), Appointment.responded_at.is_(None), Appointment.starts_at > now,
        or_(Appointment.created_at <= now - dt.timedelta(hours=ACCEPT_HOURS),
            Appointment.starts_at <= now + BEFORE_START))
        .order_by(Appointment.starts_at, Appointment.id)).scalars().all()
    return [a.id for a in rows if deadline(pushed_at(session, a), a.starts_at) <= now]


def expire(session: Session, appointment_id: int, *, now: dt.datetime) -> Optional[Lapsed]:
    """Alert the desk and hand one unanswered appointment over; None if it was answered meanwhile."""
    appt = engine.get_appointment(session, appointment_id, lock=True)
    if appt.status not in _WAITING or appt.responded_at is not None or appt.starts_at <= now \
            or deadline(pushed_at(session, appt), appt.starts_at) > now:
        return None
    mediator_id, reference = appt.mediator_id, appt.case.reference
    _alert(session, appt, now)
    result = engine.lapse(session, appt.id, actor=ACTOR, reason=LAPSED_NOTE, now=now,
                          exclude=_lapsed_before(session, appt))
    return Lapsed(appointment_id=appointment_id, reference=reference, mediator_id=mediator_id,
                  reassigned_to=result.reassigned.mediator_id if result.reassigned is not None else None)
