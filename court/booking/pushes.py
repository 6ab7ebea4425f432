"""The pushes the booking engine's changes write: the mediator's and the resident's notice of a
booking, move, cancellation, acceptance or decline, the reminders before the meeting, and
withdrawing reminders that no longer hold.

Rows go into the outbox (court/records/journal.py) in the caller's transaction; the bot and the
web chat word and deliver them. Each push is keyed by appointment and revision, so a change
writes its pushes once and the reminders of an earlier revision can be withdrawn by prefix.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy.orm import Session

from court.booking.slots import Slot
from court.core.privacy import mask_text
from court.core.timeutil import format_local
from court.records import journal
from court.store.schema import Appointment, RecipientType, ServicePoint

REMINDERS = (("reminder_day_before", dt.timedelta(hours=24)), ("reminder_two_hours", dt.timedelta(hours=2)))


def key_prefix(appt: Appointment) -> str:
    """What every push about this revision of the appointment is keyed by."""
    return f"appt:{appt.id}:r{appt.revision}:"


def payload(appt: Appointment) -> dict:
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


def announce(session: Session, appt: Appointment, mediator_template: Optional[str],
             resident_template: Optional[str], now: dt.datetime, extra: Optional[dict] = None) -> None:
    """Tell the mediator and/or the resident (a template each, None for nobody) about the change."""
    card = payload(appt) | (extra or {})
    prefix = key_prefix(appt)
    if mediator_template:
        journal.enqueue(session, key=prefix + mediator_template + ":mediator", recipient_type=RecipientType.MEDIATOR,
                        recipient_id=appt.mediator_id, template=mediator_template, payload=card, due_at=now)
    resident_id = appt.case.resident_id
    if resident_template and resident_id:
        journal.enqueue(session, key=prefix + resident_template + ":resident", recipient_type=RecipientType.RESIDENT,
                        recipient_id=resident_id, template=resident_template, payload=card, due_at=now)


def tell_moved_away(session: Session, appt: Appointment, now: dt.datetime) -> None:
    """The mediator the appointment is leaving (moved to a colleague, withdrawn, lapsed) is told."""
    journal.enqueue(session, key=f"{key_prefix(appt)}appointment_moved_away:mediator",
                    recipient_type=RecipientType.MEDIATOR, recipient_id=appt.mediator_id,
                    template="appointment_moved_away", payload=payload(appt), due_at=now)


def announce_declined(session: Session, appt: Appointment, proposals: list[tuple[ServicePoint, float, Slot]],
                      now: dt.datetime) -> None:
    """The resident's appointment found no colleague: they are offered other times and points."""
    offered = [
        {"service_point_id": p.id, "service_point": p.name, "address": p.address, "distance_km": d,
         "starts_at": s.starts_at.isoformat(), "time": format_local(s.starts_at), "mediator": s.mediator_name}
        for p, d, s in proposals
    ]
    announce(session, appt, None, "appointment_declined", now, extra={"proposals": offered})


def schedule_reminders(session: Session, appt: Appointment, now: dt.datetime) -> None:
    """Reminders a day and two hours before, to the mediator and the resident; none already due."""
    card = payload(appt)
    for template, before in REMINDERS:
        due = appt.starts_at - before
        if due <= now:
            continue
        targets = [(RecipientType.MEDIATOR, appt.mediator_id)]
        if appt.case.resident_id:
            targets.append((RecipientType.RESIDENT, appt.case.resident_id))
        for recipient_type, recipient_id in targets:
            journal.enqueue(session, key=f"{key_prefix(appt)}{template}:{recipient_type.value}",
                            recipient_type=recipient_type, recipient_id=recipient_id, template=template,
                            payload=card, due_at=due)


def withdraw_reminders(session: Session, appt: Appointment) -> None:
    """Reminders of this revision not sent yet are cancelled: the time, place or status changed."""
    journal.cancel_pending(session, [f"{key_prefix(appt)}{t}:" for t, _ in REMINDERS])
