"""A resident's request to delete their personal data (《个人信息保护法》第47条).

Appointments still ahead are cancelled (their mediators are told), pushes not
yet sent to the resident are withdrawn, and names, phones, free-text summaries
and chat copies are erased. Cases stay, anonymised, for the court's statistics.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from court import booking, clock, residents
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Case,
    ChatButton,
    InboundMessage,
    OutboxMessage,
    OutboxStatus,
    RecipientType,
)

ERASED_SUMMARY = "（当事人已申请删除个人信息）"


@dataclass(frozen=True)
class ErasureReport:
    found: bool
    cancelled: int = 0


def erase(session: Session, *, telegram_user_id: Optional[int], conversation_id: Optional[str],
          chat_id: Optional[int] = None, now: Optional[dt.datetime] = None) -> ErasureReport:
    now = now or clock.now()
    if chat_id is not None:  # the channel's copies go whether or not we know the person
        session.execute(delete(ChatButton).where(ChatButton.chat_id == chat_id))
        session.execute(update(InboundMessage).where(InboundMessage.chat_id == chat_id)
                        .values(text="", meta={}).execution_options(synchronize_session=False))
    resident = residents.find(session, conversation_id=conversation_id, telegram_user_id=telegram_user_id)
    if resident is None or resident.anonymised_at is not None:
        return ErasureReport(found=False)
    actor = f"resident:{resident.id}"
    active = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
    upcoming = session.execute(
        select(Appointment.id).join(Case).where(Case.resident_id == resident.id, Appointment.status.in_(active),
                                                Appointment.starts_at > now)
    ).scalars().all()
    for appointment_id in upcoming:
        booking.cancel(session, appointment_id, actor=actor, reason="当事人申请删除个人信息", now=now)
    theirs = (OutboxMessage.recipient_type == RecipientType.RESIDENT.value, OutboxMessage.recipient_id == resident.id)
    session.execute(update(OutboxMessage).where(*theirs, OutboxMessage.status == OutboxStatus.PENDING.value)
                    .values(status=OutboxStatus.CANCELLED.value).execution_options(synchronize_session=False))
    session.execute(update(OutboxMessage).where(*theirs).values(payload={})
                    .execution_options(synchronize_session=False))
    session.execute(update(Case).where(Case.resident_id == resident.id)
                    .values(summary=ERASED_SUMMARY, conversation_id=None)
                    .execution_options(synchronize_session=False))
    residents.anonymise(session, resident, actor=actor, now=now)
    return ErasureReport(found=True, cancelled=len(upcoming))
