"""Booking, moving and cancelling a resident's appointment from the 12368 desk.

Only the agent who took the handoff may change anything. The booking engine
tells the mediator; the resident hears of a new booking in the chat, and of a
move or a cancellation through the engine's own pushes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, TypeGuard

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.booking import engine
from court.booking import offers as slot_offers
from court.booking.cards import AppointmentCard, card
from court.booking.offers import SlotOffer, decode_slot
from court.core.errors import ConsentRequired, PermissionDenied, ValidationError
from court.core.settings import LOCAL_TZ
from court.core.validation import clean_text
from court.hotline import accounts, queue
from court.messaging import outbox
from court.records import cases, journal, residents
from court.reference import guidance
from court.reference.places import PlaceDirectory, PlaceRef
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Case,
    CaseSource,
    DisputeType,
    Handoff,
    Resident,
)

SUMMARY_LIMIT = 2000
CANCEL_REASON_LIMIT = 200
# The desk shows more than the chat: an agent can read a longer list to a caller.
DESK_POINTS, DESK_FIRST, DESK_OTHERS = 3, 6, 2
_ACTIVE = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class BookingContext:
    """What the booking panel of a handoff starts from."""

    consented: bool
    name: Optional[str]
    phone: Optional[str]
    dispute_type: str  # "" when the assistant had not classified it
    summary: str
    appointments: list[AppointmentCard]  # the resident's active ones, soonest first


def _appointments(session: Session, resident: Optional[Resident]) -> list[Appointment]:
    if resident is None:
        return []
    return list(session.execute(
        select(Appointment).join(Case, Appointment.case_id == Case.id)
        .where(Case.resident_id == resident.id, Appointment.status.in_(_ACTIVE))
        .order_by(Appointment.starts_at)
    ).scalars())


def _has_consent(resident: Optional[Resident]) -> TypeGuard[Resident]:
    return resident is not None and resident.consent_at is not None and resident.anonymised_at is None


def booking_context(session: Session, handoff_id: int, user: accounts.DeskUser) -> BookingContext:
    """Readable by whoever may view the handoff (its agent, or an admin)."""
    queue.view(session, handoff_id, user)  # the permission check
    handoff = session.get(Handoff, handoff_id)
    case, resident, dispute = queue.context(session, handoff)
    consenting = resident if _has_consent(resident) else None
    return BookingContext(
        consented=consenting is not None,
        name=consenting.name if consenting is not None else None,
        phone=consenting.phone if consenting is not None else None,
        dispute_type=dispute,
        summary=(case.summary or "") if case is not None else "",
        appointments=[card(a) for a in _appointments(session, resident)],
    )


def _local_midnight(day: Optional[dt.date]) -> Optional[dt.datetime]:
    return dt.datetime.combine(day, dt.time(0), LOCAL_TZ) if day else None


def _dispute(dispute_type: Optional[str]) -> str:
    try:
        return DisputeType(dispute_type or "").value
    except ValueError:
        raise ValidationError("请选择纠纷类型。") from None


def find_times(session: Session, handoff_id: int, user: accounts.DeskUser, *, place: str, dispute_type: Optional[str],
               after: Optional[dt.date] = None, now: dt.datetime) -> tuple[PlaceRef, list[SlotOffer]]:
    """Free times near the place the resident named, nearest service point first."""
    queue.taken_by(session, handoff_id, user)
    ref = PlaceDirectory.load(session).resolve(clean_text(place, limit=60, field="地点"))
    if ref.lat is None or ref.lng is None:
        raise ValidationError(f"{ref.display_name}还没有坐标，请换一个附近的乡镇或县区名称。")
    dispute = _dispute(dispute_type) if dispute_type else None
    offers = slot_offers.offer(session, lat=ref.lat, lng=ref.lng, dispute_type=dispute, after=_local_midnight(after),
                               now=now, points=DESK_POINTS, first=DESK_FIRST, others=DESK_OTHERS)
    return ref, offers


def _resident_for_booking(session: Session, handoff: Handoff, resident: Optional[Resident], consent: bool,
                          now: dt.datetime) -> Resident:
    if _has_consent(resident):
        return resident
    if not consent:
        raise ConsentRequired("居民尚未同意提供个人信息。请先在对话中征得同意，再勾选“居民已同意”。")
    # The private chat's id is the Telegram user's id: pushes can reach them later.
    return residents.record_consent(session, resident, conversation_id=handoff.conversation_id,
                                    telegram_user_id=outbox.chat_id_of(handoff.conversation_id), now=now)


def _case_for_booking(session: Session, handoff: Handoff, resident: Resident, dispute: str, summary: str,
                      user: accounts.DeskUser) -> Case:
    for appt in _appointments(session, resident):
        if appt.case.dispute_type == dispute:  # one dispute, one appointment: moving is the way
            raise ValidationError(f"这位居民的这类纠纷已有预约（案件编号{appt.case.reference}），如需换时间请用“改约”。")
    # A case still at intake for this dispute is booked, not duplicated.
    for case in cases.open_intakes(session, handoff.conversation_id):
        if case.dispute_type == dispute and case.resident_id == resident.id:
            return case
    return cases.open_case(session, dispute_type=dispute, summary=summary, actor=user.actor, source=CaseSource.HOTLINE,
                           resident=resident, conversation_id=handoff.conversation_id,
                           recommended_channel=guidance.card(dispute).first_channel[:200])


def book(session: Session, handoff_id: int, user: accounts.DeskUser, *, token: str, dispute_type: str, summary: str,
         phone: str, name: Optional[str], consent: bool, now: dt.datetime) -> AppointmentCard:
    """Book the chosen time for the resident: consent, contact, case and appointment, all or nothing."""
    handoff = queue.taken_by(session, handoff_id, user)
    point_id, mediator_id, starts_at = decode_slot(token)
    dispute = _dispute(dispute_type)
    text = clean_text(summary, limit=SUMMARY_LIMIT, field="情况简述", fold_width=False)
    _, resident, _ = queue.context(session, handoff)
    resident = _resident_for_booking(session, handoff, resident, consent, now)
    residents.set_contact(session, resident, name=name or None, phone=phone)
    case = _case_for_booking(session, handoff, resident, dispute, text, user)
    appt = engine.book(session, case, point_id=point_id, starts_at=starts_at, mediator_id=mediator_id,
                       actor=user.actor, now=now)
    result = card(appt)
    queue.push_chat(session, handoff, "agent_booked", f"handoff:{handoff.id}:booked:{appt.id}", now,
                    agent=user.display_name, **_payload(result))
    journal.audit(session, at=now, actor=user.actor, action="handoff.book", entity_type="handoff", entity_id=handoff.id,
                  after={"appointment_id": appt.id, "case_id": case.id})
    return result


def _payload(c: AppointmentCard) -> dict[str, object]:
    return {"reference": c.reference, "time": c.time, "service_point": c.point_name, "address": c.address,
            "mediator": c.mediator, "lat": c.lat, "lng": c.lng}


def _own_appointment(session: Session, handoff: Handoff, appointment_id: int) -> Appointment:
    _, resident, _ = queue.context(session, handoff)
    appt = engine.get_appointment(session, appointment_id, lock=True)
    if resident is None or appt.case.resident_id != resident.id:
        raise PermissionDenied("这个预约不属于当前对话的居民。")
    return appt


def move(session: Session, handoff_id: int, user: accounts.DeskUser, appointment_id: int, *, token: str,
         now: dt.datetime) -> AppointmentCard:
    """Move the resident's appointment to the chosen time (and perhaps another point)."""
    handoff = queue.taken_by(session, handoff_id, user)
    point_id, _, starts_at = decode_slot(token)
    _own_appointment(session, handoff, appointment_id)
    moved = engine.reschedule(session, appointment_id, starts_at=starts_at, point_id=point_id, actor=user.actor,
                              now=now)
    journal.audit(session, at=now, actor=user.actor, action="handoff.move", entity_type="handoff", entity_id=handoff.id,
                  after={"appointment_id": moved.id})
    return card(moved)


def cancel(session: Session, handoff_id: int, user: accounts.DeskUser, appointment_id: int, *, reason: str,
           now: dt.datetime) -> AppointmentCard:
    """Cancel at the resident's request; the reason is kept for the mediator and the statistics."""
    handoff = queue.taken_by(session, handoff_id, user)
    why = clean_text(reason, limit=CANCEL_REASON_LIMIT, field="取消原因", fold_width=False)
    _own_appointment(session, handoff, appointment_id)
    cancelled = engine.cancel(session, appointment_id, actor=user.actor, reason=f"12368坐席代为取消：{why}", now=now)
    journal.audit(session, at=now, actor=user.actor, action="handoff.cancel", entity_type="handoff", entity_id=handoff.id,
                  after={"appointment_id": cancelled.id})
    return card(cancelled)
