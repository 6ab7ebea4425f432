"""The inbound journal: what a resident sends is written before it is relayed.

If the assistant is down the message is retried with backoff; once it has
waited too long it is kept for a hotline agent and a handoff is requested.
Once the assistant has a message, its text is erased here: the court does
not keep a second copy of what residents typed.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from court.core import clock
from court.hotline import handoffs
from court.messaging.outbox import clean_error
from court.store.schema import InboundMessage, InboundStatus

RETRY_BASE = 10.0  # seconds before the second attempt
RETRY_CAP = 5 * 60.0
DEFAULT_KEEP_AFTER = dt.timedelta(minutes=30)

_PENDING = InboundStatus.PENDING.value


@dataclass(frozen=True)
class InboundRow:
    id: int
    update_id: Optional[int]
    chat_id: int
    conversation_id: str
    text: str
    meta: dict[str, Any]
    attempts: int
    received_at: dt.datetime


def _row(m: InboundMessage) -> InboundRow:
    return InboundRow(id=m.id, update_id=m.update_id, chat_id=m.chat_id, conversation_id=m.conversation_id,
                      text=m.text, meta=dict(m.meta or {}), attempts=m.attempts, received_at=m.received_at)


def _by_update(session: Session, update_id: int) -> Optional[int]:
    return session.execute(
        select(InboundMessage.id).where(InboundMessage.update_id == update_id)
    ).scalar_one_or_none()


def receive(session: Session, *, update_id: Optional[int], chat_id: int, conversation_id: str, text: str,
            meta: dict[str, Any], now: Optional[dt.datetime] = None) -> tuple[int, bool]:
    """Record a message; (its id, True) or, for an update seen before, (the first row's id, False)."""
    if update_id is not None:
        existing = _by_update(session, update_id)
        if existing is not None:
            return existing, False
    now = now or clock.now()
    message = InboundMessage(update_id=update_id, chat_id=chat_id, conversation_id=conversation_id[:64],
                             text=text, meta=dict(meta or {}), status=_PENDING, attempts=0,
                             received_at=now, next_attempt_at=now)
    if update_id is None:  # nothing to race on (the web chat): no savepoint, two round trips fewer
        session.add(message)
        session.flush()
        return message.id, True
    try:
        # A savepoint: a concurrent redelivery of the same update loses the
        # unique race without spoiling the caller's transaction.
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        if update_id is None:
            raise
        existing = _by_update(session, update_id)
        if existing is None:
            raise
        return existing, False
    return message.id, True


def delivered(session: Session, inbound_id: int, *, now: dt.datetime) -> bool:
    """The assistant has the message: mark it and erase its text and metadata.

    False when it was not pending (delivered already, or kept for an agent).
    """
    result = session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == inbound_id, InboundMessage.status == _PENDING)
        .values(status=InboundStatus.DELIVERED.value, delivered_at=now, text="", meta={}, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


def retry_delay(attempts: int) -> float:
    """Seconds after the ``attempts``-th failure: 10 s, 20 s, 40 s … at most 5 min."""
    return min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)


def failed(session: Session, inbound_id: int, *, error: object, now: dt.datetime,
           keep_after: dt.timedelta = DEFAULT_KEEP_AFTER) -> str:
    """Relaying failed: "retry" (later, with backoff) or "kept" (too old: a handoff is requested).

    A message that is not pending any more returns its status unchanged.
    """
    message = session.execute(
        select(InboundMessage).where(InboundMessage.id == inbound_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if message is None:
        raise LookupError(f"inbound message {inbound_id} not found")
    if message.status != _PENDING:
        return message.status
    message.attempts += 1
    message.last_error = clean_error(error)
    if now - message.received_at >= keep_after:
        message.status = InboundStatus.KEPT.value
        session.flush()
        handoffs.request(session, message.conversation_id, reason="assistant_down")
        return InboundStatus.KEPT.value
    message.next_attempt_at = now + dt.timedelta(seconds=retry_delay(message.attempts))
    session.flush()
    return "retry"


def due(session: Session, *, now: dt.datetime, limit: int = 100) -> list[InboundRow]:
    """Pending messages to relay now, by chat then arrival.

    A chat whose earlier message is still waiting for its retry yields nothing
    after that message, so a chat's messages reach the assistant in order.
    """
    earlier = aliased(InboundMessage)
    waiting_before = select(earlier.id).where(
        earlier.chat_id == InboundMessage.chat_id,
        earlier.status == _PENDING,
        earlier.id < InboundMessage.id,
        earlier.next_attempt_at > now,
    ).exists()
    rows = session.execute(
        select(InboundMessage)
        .where(and_(InboundMessage.status == _PENDING, InboundMessage.next_attempt_at <= now), ~waiting_before)
        .order_by(InboundMessage.chat_id, InboundMessage.id)
        .limit(limit)
    ).scalars()
    return [_row(m) for m in rows]


def pending_for_chat(session: Session, chat_id: int) -> int:
    return session.execute(
        select(func.count()).select_from(InboundMessage).where(
            InboundMessage.chat_id == chat_id, InboundMessage.status == _PENDING)
    ).scalar_one()


def pending(session: Session, *, chat_id: int) -> list[InboundRow]:
    """A chat's messages not yet answered, oldest first, whether or not their
    retry is due: a new message from the resident is a good moment to try again."""
    rows = session.execute(
        select(InboundMessage)
        .where(InboundMessage.chat_id == chat_id, InboundMessage.status == InboundStatus.PENDING.value)
        .order_by(InboundMessage.id)
    ).scalars().all()
    return [_row(m) for m in rows]
