"""The audit log and the notification outbox.

Both are written inside the caller's transaction, so a change, its audit
entry and its pushes commit together or not at all.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from court.core import clock, internal_auth
from court.messaging import conversations
from court.store import notify
from court.store.schema import AuditEntry, OutboxMessage, OutboxStatus, RecipientType, Resident

# Fields copied into audit snapshots. Free text and personal data stay out:
# the log is append-only, so whatever enters it can never be erased.
AUDITED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "case": ("status", "dispute_type", "source", "service_point_id", "mediator_id", "resident_id"),
    "appointment": ("status", "case_id", "service_point_id", "mediator_id", "starts_at", "ends_at", "revision"),
    "outcome": ("result", "case_id", "appointment_id", "jc_requested_at", "jc_filed_at"),
    "mediator": ("status", "telegram_chat_id", "is_demo"),
    "service_point": ("active", "place_id", "court_id"),
    "handoff": ("status", "agent", "case_id", "reason"),
    "resident": ("consent_version", "deletion_requested_at", "anonymised_at"),
    "delegation": ("status", "case_id", "court_id", "channel", "deadline", "original_deadline", "offers",
                   "alert_level"),
    "agreement": ("case_id", "revision", "content_hash", "effective_on", "court_id", "intermediate"),
    "confirmation": ("case_id", "agreement_id", "court_id", "filed_on", "deadline", "result", "decided_on"),
}


def chat_actor(conversation_id: str) -> str:
    """The audit actor for something the assistant did in a conversation.

    A keyed pseudonym, never the conversation id: that is the resident's Telegram
    chat id, and the append-only log could never give it up on erasure."""
    return "bot:c-" + internal_auth.keyed_hash(str(conversation_id), purpose="audit-actor")


def snapshot(entity_type: str, obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in AUDITED_FIELDS[entity_type]:
        value = getattr(obj, field, None)
        out[field] = value.isoformat() if isinstance(value, (dt.datetime, dt.date)) else value
    return out


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: int,
    before: Optional[dict[str, Any]] = None,
    after: Optional[dict[str, Any]] = None,
    at: Optional[dt.datetime] = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, before=before, after=after,
        at=at or clock.now(),
    )
    session.add(entry)
    return entry


def enqueue(
    session: Session,
    *,
    key: str,
    recipient_type: RecipientType,
    recipient_id: Optional[int],
    template: str,
    payload: dict[str, Any],
    due_at: Optional[dt.datetime] = None,
) -> OutboxMessage:
    """Add a push unless one with the same idempotency key exists already."""
    existing = session.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).scalar_one_or_none()
    if existing is not None:
        return existing
    due = due_at or clock.now()
    # A push goes to the channel its recipient chats on now; a worker hands over a row whose recipient moved.
    channel = None
    if recipient_type == RecipientType.CHAT:
        channel = conversations.channel_of(payload.get("conversation_id"))
    elif recipient_type == RecipientType.RESIDENT and recipient_id is not None:
        found = session.execute(select(Resident.conversation_id, Resident.telegram_user_id)
                                .where(Resident.id == recipient_id)).first()
        if found is not None and found[1] is None and conversations.channel_of(found[0]) == conversations.WEB:
            channel = conversations.WEB
    message = OutboxMessage(
        idempotency_key=key,
        channel=channel or conversations.TELEGRAM,
        recipient_type=recipient_type.value,
        recipient_id=recipient_id,
        template=template,
        payload=payload,
        due_at=due,
        next_attempt_at=due,
    )
    session.add(message)
    if due <= clock.now():  # due now: wake the worker at commit (PostgreSQL); later ones wait for its poll
        notify.signal(session, notify.OUTBOX, message.channel)
    return message


def cancel_pending(session: Session, key_prefixes: Iterable[str]) -> int:
    """Withdraw pushes not sent yet (e.g. reminders of a moved appointment)."""
    total = 0
    for prefix in key_prefixes:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.idempotency_key.like(prefix + "%"), OutboxMessage.status == OutboxStatus.PENDING.value)
            .values(status=OutboxStatus.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        total += result.rowcount or 0
    return total
