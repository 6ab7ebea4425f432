"""A resident's request to delete their personal data (《个人信息保护法》第47条).

In one transaction: appointments still ahead are cancelled (their mediators are
told), pushes not yet sent to the resident are withdrawn, and every copy the
court keeps goes: name, phone, ID number, free-text summaries (also inside
mediators' pushes), the hotline's replies and booking cards sent to the chat,
the conversation id and notes of its handoffs, the inbound journal, the chat's
buttons. Cases stay, anonymised, for the court's statistics; the audit log
never held the chat id (court.records.journal.chat_actor).

The transcript lives in the assistant's tracker store, another process that may
be down: its erasure is a durable job (``TranscriptErasure``) retried until the
assistant confirms, and the resident is told when that has really happened.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from court.booking import engine
from court.core import clock
from court.mediation import agreements
from court.messaging import conversations, webchat
from court.messaging.outbox import clean_error
from court.records import journal, residents
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    Appointment,
    Case,
    ChatButton,
    ErasureReason,
    ErasureStatus,
    Handoff,
    HandoffStatus,
    InboundMessage,
    IntakeLink,
    OutboxMessage,
    OutboxStatus,
    RecipientType,
    TranscriptErasure,
)

ERASED_SUMMARY = "（当事人已申请删除个人信息）"
ERASED_CONVERSATION = "erased"
RETRY_BASE = 30.0  # seconds before the second attempt
RETRY_CAP = 30 * 60.0
LEASE = dt.timedelta(minutes=2)  # a worker that dies mid-attempt releases the job
DONE_TEMPLATE = "transcript_erased"


@dataclass(frozen=True)
class ErasureReport:
    found: bool  # a resident record (name, phone) was erased
    cancelled: int = 0
    job_id: Optional[int] = None  # the transcript's erasure, pending until the assistant confirms


@dataclass(frozen=True)
class TranscriptJob:
    id: int
    conversation_id: str
    attempts: int


def erase(session: Session, *, telegram_user_id: Optional[int], conversation_id: Optional[str],
          chat_id: Optional[int] = None, now: Optional[dt.datetime] = None) -> ErasureReport:
    now = now or clock.now()
    if chat_id is not None:  # the channel's copies go whether or not we know the person
        session.execute(delete(ChatButton).where(ChatButton.chat_id == chat_id))
        # Pending ones too: what is not relayed yet must not reach the assistant after the erasure.
        session.execute(delete(InboundMessage).where(InboundMessage.chat_id == chat_id))
        if conversations.is_web_key(chat_id):  # the web page's copy of the chat
            webchat.clear(session, webchat.number_of(chat_id))
    resident = residents.find(session, conversation_id=conversation_id, telegram_user_id=telegram_user_id)
    found = resident is not None and resident.anonymised_at is None
    cancelled = 0
    if found:
        cancelled = _erase_resident(session, resident, now=now)
    if conversation_id:
        actor = f"resident:{resident.id}" if resident is not None else journal.chat_actor(conversation_id)
        _erase_handoffs(session, conversation_id, resident.id if resident is not None else None, actor=actor,
                        now=now)
    # Leased to the caller, who tries it while the resident waits; the retries wait for the lease.
    job_id = request_transcript_erasure(session, conversation_id, chat_id=chat_id, reason=ErasureReason.RESIDENT,
                                        now=now, leased=True) if conversation_id else None
    return ErasureReport(found=found, cancelled=cancelled, job_id=job_id)


def _erase_resident(session: Session, resident, *, now: dt.datetime) -> int:
    actor = f"resident:{resident.id}"
    active = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)
    upcoming = session.execute(
        select(Appointment.id).join(Case).where(Case.resident_id == resident.id, Appointment.status.in_(active),
                                                Appointment.starts_at > now)
    ).scalars().all()
    for appointment_id in upcoming:
        engine.cancel(session, appointment_id, actor=actor, reason="当事人申请删除个人信息", now=now)
    theirs = (OutboxMessage.recipient_type == RecipientType.RESIDENT.value, OutboxMessage.recipient_id == resident.id)
    session.execute(update(OutboxMessage).where(*theirs, OutboxMessage.status == OutboxStatus.PENDING.value)
                    .values(status=OutboxStatus.CANCELLED.value).execution_options(synchronize_session=False))
    session.execute(update(OutboxMessage).where(*theirs).values(payload={})
                    .execution_options(synchronize_session=False))
    # Mediators' pushes carry the case summary the resident typed.
    appointment_ids = session.execute(
        select(Appointment.id).join(Case).where(Case.resident_id == resident.id)).scalars().all()
    for appointment_id in appointment_ids:
        for row in session.execute(select(OutboxMessage).where(
                OutboxMessage.idempotency_key.like(f"appt:{appointment_id}:%"),
                OutboxMessage.recipient_type == RecipientType.MEDIATOR.value)).scalars():
            if (row.payload or {}).get("summary"):
                row.payload = dict(row.payload) | {"summary": ERASED_SUMMARY}
    case_ids = select(Case.id).where(Case.resident_id == resident.id).scalar_subquery()
    session.execute(update(IntakeLink).where(IntakeLink.case_id.in_(case_ids)).values(used_chat_id=None)
                    .execution_options(synchronize_session=False))
    session.execute(update(Case).where(Case.resident_id == resident.id)
                    .values(summary=ERASED_SUMMARY, conversation_id=None)
                    .execution_options(synchronize_session=False))
    agreements.erase_for_resident(session, resident.id, text=ERASED_SUMMARY, actor=actor, now=now)
    residents.anonymise(session, resident, actor=actor, now=now)
    return len(upcoming)


def _erase_handoffs(session: Session, conversation_id: str, resident_id: Optional[int], *, actor: str,
                    now: dt.datetime) -> None:
    """The chat's handoffs lose their conversation id and the agents' notes; open ones are closed,
    and the hotline's replies and booking cards sent to the chat are wiped."""
    who = [Handoff.conversation_id == conversation_id]
    if resident_id is not None:
        who.append(Handoff.resident_id == resident_id)
    for handoff in session.execute(select(Handoff).where(or_(*who))).scalars():
        before = journal.snapshot("handoff", handoff)
        if handoff.status in (HandoffStatus.WAITING.value, HandoffStatus.TAKEN.value, HandoffStatus.RETURNING.value):
            handoff.status, handoff.closed_at = HandoffStatus.CLOSED.value, now
        handoff.resume_next_at = None  # no conversation left to give back to the assistant
        handoff.conversation_id = ERASED_CONVERSATION
        handoff.note = _dispute_line(handoff.note)
        keys = OutboxMessage.idempotency_key.like(f"handoff:{handoff.id}:%")
        session.execute(update(OutboxMessage).where(keys, OutboxMessage.status == OutboxStatus.PENDING.value)
                        .values(status=OutboxStatus.CANCELLED.value).execution_options(synchronize_session=False))
        session.execute(update(OutboxMessage).where(keys).values(payload={})
                        .execution_options(synchronize_session=False))
        session.flush()
        journal.audit(session, at=now, actor=actor, action="handoff.erase", entity_type="handoff",
                      entity_id=handoff.id, before=before, after=journal.snapshot("handoff", handoff))


def _dispute_line(note: Optional[str]) -> Optional[str]:
    """Only the "dispute_type=…" line handoffs.request wrote (a category, for the statistics) stays."""
    for line in (note or "").splitlines():
        if line.startswith("dispute_type="):
            return line
    return None


# --- the transcript, in the assistant's tracker store ---------------------------


def request_transcript_erasure(session: Session, conversation_id: str, *, chat_id: Optional[int],
                               reason: ErasureReason, now: Optional[dt.datetime] = None, leased: bool = False) -> int:
    """A durable job to erase the conversation's transcript; one pending job per conversation.

    ``leased``: the caller makes the first attempt itself (then reports it with
    transcript_erased or transcript_erasure_failed); other workers wait for the lease."""
    now = now or clock.now()
    due = now + LEASE if leased else now
    existing = session.execute(select(TranscriptErasure).where(
        TranscriptErasure.conversation_id == conversation_id,
        TranscriptErasure.status == ErasureStatus.PENDING.value)).scalars().first()
    if existing is not None:
        if reason == ErasureReason.RESIDENT:  # the resident asked: they are told when it is done
            existing.reason, existing.chat_id = reason.value, chat_id
        existing.next_attempt_at = min(existing.next_attempt_at, now) if not leased else due
        existing.attempts += int(leased)
        session.flush()
        return existing.id
    job = TranscriptErasure(conversation_id=conversation_id, chat_id=chat_id, reason=reason.value,
                            status=ErasureStatus.PENDING.value, attempts=int(leased), requested_at=now,
                            next_attempt_at=due)
    session.add(job)
    session.flush()
    return job.id


def claim_transcript_erasures(session: Session, *, now: dt.datetime, limit: int = 20) -> list[TranscriptJob]:
    """Due jobs, leased to this worker for a while."""
    query = select(TranscriptErasure).where(TranscriptErasure.status == ErasureStatus.PENDING.value,
                                            TranscriptErasure.next_attempt_at <= now)
    rows = session.execute(query.order_by(TranscriptErasure.next_attempt_at, TranscriptErasure.id).limit(limit)
                           .with_for_update(skip_locked=True).execution_options(populate_existing=True)
                           ).scalars().all()
    for row in rows:
        row.attempts += 1
        row.next_attempt_at = now + LEASE
    session.flush()
    return [TranscriptJob(id=r.id, conversation_id=r.conversation_id, attempts=r.attempts) for r in rows]


def transcript_erased(session: Session, job_id: int, *, now: dt.datetime, tell: bool = True) -> bool:
    """The assistant confirmed: the job is done and its ids are dropped. A resident who
    asked and was told it is pending hears it now (a chat push, unless ``tell`` is off
    because they are being told in the chat already). False when it was done already."""
    job = session.execute(select(TranscriptErasure).where(TranscriptErasure.id == job_id)
                          .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
    if job is None or job.status != ErasureStatus.PENDING.value:
        return False
    if tell and job.reason == ErasureReason.RESIDENT.value and job.conversation_id:
        journal.enqueue(session, key=f"erasure:{job.id}:done", recipient_type=RecipientType.CHAT, recipient_id=None,
                        template=DONE_TEMPLATE, payload={"conversation_id": job.conversation_id}, due_at=now)
    job.status, job.done_at, job.last_error = ErasureStatus.DONE.value, now, None
    job.conversation_id = job.chat_id = None
    session.flush()
    return True


def retry_delay(attempts: int) -> float:
    """Seconds after the ``attempts``-th failure: 30 s, 1 min, 2 min … at most 30 min."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def transcript_erasure_failed(session: Session, job_id: int, *, error: object, now: dt.datetime) -> None:
    """Not confirmed: tried again later, with backoff, until it is."""
    job = session.get(TranscriptErasure, job_id, populate_existing=True, with_for_update=True)
    if job is None or job.status != ErasureStatus.PENDING.value:
        return
    job.last_error = clean_error(error)
    job.next_attempt_at = now + dt.timedelta(seconds=retry_delay(job.attempts))
    session.flush()


def pending_transcript_erasure(session: Session, conversation_id: str) -> bool:
    return session.execute(select(TranscriptErasure.id).where(
        TranscriptErasure.conversation_id == conversation_id,
        TranscriptErasure.status == ErasureStatus.PENDING.value)).first() is not None
