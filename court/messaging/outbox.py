"""Delivery of the outbox: claiming due pushes and recording what Telegram answered.

journal.py writes pushes inside the transaction of the change that causes them;
this module is the other end. A worker claims due rows under an in-flight lease
(a worker that dies mid-send releases its rows when the lease runs out), sends
them, then records the outcome: sent, retry later, recipient blocked the bot,
or recipient unreachable, each outcome in its own short transaction.
Delivery is at least once: a worker whose lease ran out before it recorded
the send may see its row sent again by another worker.

Court-recipient rows are alerts for the hotline desk, never Telegram pushes.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import Any, Optional, Union

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from court.core.privacy import mask_text
from court.messaging import conversations
from court.records import journal
from court.store.db import Database
from court.store.schema import Mediator, OutboxMessage, OutboxStatus, RecipientType, Resident

ACTOR = "bot:outbox"
MAX_ATTEMPTS = 10
DEFAULT_LEASE = dt.timedelta(seconds=60)
BACKOFF_BASE = 5.0  # seconds before the second attempt
BACKOFF_CAP = 30 * 60.0
ERROR_LIMIT = 200

NO_CHAT = "no_telegram_chat"
FORGET_WHEN_SENT = frozenset({"transcript_erased"})
BLOCKED = "blocked"

_PENDING = OutboxStatus.PENDING.value
_FAILED = OutboxStatus.FAILED.value
_SENT = OutboxStatus.SENT.value
_TELEGRAM_RECIPIENTS = (RecipientType.RESIDENT.value, RecipientType.MEDIATOR.value)
# Chat rows (desk replies) name no resident or mediator: the chat id is in their conversation id.
_CLAIMED = _TELEGRAM_RECIPIENTS + (RecipientType.CHAT.value,)
_LONG_NUMBER = re.compile(r"\d{7,}")


def chat_id_of(conversation_id: object, channel: str = conversations.TELEGRAM) -> Optional[int]:
    """The chat key behind a conversation id of ``channel`` (court/messaging/conversations.py), if it is one."""
    address = conversations.parse(conversation_id)
    return address.chat_key if address is not None and address.channel == channel else None


@dataclass(frozen=True)
class Delivery:
    outbox_id: int
    key: str
    recipient_type: str
    recipient_id: Optional[int]  # None for a "chat" row, addressed by its conversation id
    chat_id: int  # the resolved chat key (a Telegram chat, or a web conversation's key)
    template: str
    payload: dict[str, Any]
    attempts: int  # including this claim
    due_at: dt.datetime


@dataclass(frozen=True)
class CourtAlert:
    outbox_id: int
    key: str
    template: str
    payload: dict[str, Any]
    created_at: dt.datetime


def clean_error(error: object) -> str:
    """A short error text safe to store: phone/ID numbers and chat ids masked."""
    text = mask_text(" ".join(str(error).split()))
    text = _LONG_NUMBER.sub("#", text)
    return text[:ERROR_LIMIT]


def backoff(attempts: int, *, rng: Optional[random.Random] = None) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: 5 s, 10 s, 20 s … ≤ 30 min, ±20 % jitter."""
    base = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    # Jitter spreads the retries of a burst that failed together (e.g. a Telegram outage).
    jittered = base * (rng or random).uniform(0.8, 1.2)
    return min(jittered, BACKOFF_CAP)


# --- claiming ---------------------------------------------------------------


def claim_due(target: Union[Database, Session], *, now: dt.datetime, limit: int = 50,
              lease: dt.timedelta = DEFAULT_LEASE, channel: str = conversations.TELEGRAM) -> list[Delivery]:
    """Claim up to ``limit`` due pushes, oldest due first, for one worker.

    Given a Database, runs in its own transaction; given a Session, in the
    caller's (which must commit for the claim to hold). Rows whose recipient
    has no Telegram chat or blocked the bot are failed here, not returned.
    """
    if isinstance(target, Database):
        with target.transaction() as session:
            return _claim(session, now=now, limit=limit, lease=lease, channel=channel)
    return _claim(target, now=now, limit=limit, lease=lease, channel=channel)


def _claim(session: Session, *, now: dt.datetime, limit: int, lease: dt.timedelta,
           channel: str = conversations.TELEGRAM) -> list[Delivery]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rows = session.execute(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == _PENDING,
            OutboxMessage.channel == channel,
            OutboxMessage.recipient_type.in_(_CLAIMED),
            OutboxMessage.due_at <= now,
            OutboxMessage.next_attempt_at <= now,
        )
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
        # PostgreSQL: concurrent workers skip each other's rows. SQLite renders
        # no FOR UPDATE; BEGIN IMMEDIATE already serialises writers there.
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).scalars().all()
    if not rows:
        return []
    chats = _recipients(session, rows)
    claimed: list[Delivery] = []
    for row in rows:
        if row.recipient_type == RecipientType.CHAT.value:
            target = conversations.channel_of((row.payload or {}).get("conversation_id")) or channel
            chat_id, blocked = chat_id_of((row.payload or {}).get("conversation_id"), target), False
        else:
            target, chat_id, blocked = chats.get((row.recipient_type, row.recipient_id), (channel, None, False))
        if target != channel:
            # The recipient is reached through the other channel's worker: hand it over, untouched.
            row.channel = target
            continue
        if chat_id is None:
            row.status, row.last_error = _FAILED, NO_CHAT
            continue
        if blocked:
            row.status, row.last_error = _FAILED, BLOCKED
            continue
        row.attempts += 1
        row.next_attempt_at = now + lease
        claimed.append(Delivery(
            outbox_id=row.id, key=row.idempotency_key, recipient_type=row.recipient_type,
            recipient_id=row.recipient_id, chat_id=int(chat_id), template=row.template,
            payload=dict(row.payload or {}), attempts=row.attempts, due_at=row.due_at,
        ))
    session.flush()
    return claimed


def _recipients(session: Session,
                rows: list[OutboxMessage]) -> dict[tuple[str, int], tuple[str, Optional[int], bool]]:
    """(recipient_type, id) -> (channel, chat key or None, blocked?). A resident
    whose conversation is a web chat is reached there; everyone else on Telegram."""
    wanted: dict[str, set[int]] = {t: set() for t in _TELEGRAM_RECIPIENTS}
    for row in rows:
        if row.recipient_id is not None and row.recipient_type in wanted:
            wanted[row.recipient_type].add(row.recipient_id)
    out: dict[tuple[str, int], tuple[str, Optional[int], bool]] = {}
    if wanted[RecipientType.RESIDENT.value]:
        for rid, chat, blocked_at, conversation in session.execute(
            select(Resident.id, Resident.telegram_user_id, Resident.telegram_blocked_at, Resident.conversation_id)
            .where(Resident.id.in_(wanted[RecipientType.RESIDENT.value]))
        ):
            address = conversations.parse(conversation)
            if chat is None and address is not None and address.channel == conversations.WEB:
                out[(RecipientType.RESIDENT.value, rid)] = (conversations.WEB, address.chat_key, False)
            else:
                out[(RecipientType.RESIDENT.value, rid)] = (conversations.TELEGRAM, chat, blocked_at is not None)
    if wanted[RecipientType.MEDIATOR.value]:
        for mid, chat, blocked_at in session.execute(
            select(Mediator.id, Mediator.telegram_chat_id, Mediator.telegram_blocked_at)
            .where(Mediator.id.in_(wanted[RecipientType.MEDIATOR.value]))
        ):
            out[(RecipientType.MEDIATOR.value, mid)] = (conversations.TELEGRAM, chat, blocked_at is not None)
    return out


# --- recording outcomes -----------------------------------------------------


def _locked(session: Session, outbox_id: int) -> Optional[OutboxMessage]:
    return session.execute(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def mark_sent(session: Session, outbox_id: int, *, now: dt.datetime) -> bool:
    """Record a push as sent; False when it was recorded sent already (or does not exist).

    A row failed or cancelled while in flight still becomes sent: it was.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status != _SENT)
        .values(status=_SENT, sent_at=now, last_error=None)
        .execution_options(synchronize_session=False)
    )
    # Some pushes exist only to be delivered: once sent, who they went to is forgotten too.
    session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id,
                                                OutboxMessage.template.in_(FORGET_WHEN_SENT))
                    .values(payload={}).execution_options(synchronize_session=False))
    return (result.rowcount or 0) == 1


def mark_retry(session: Session, outbox_id: int, *, error: object, now: dt.datetime,
               retry_after: Optional[float] = None) -> bool:
    """Schedule another attempt; True if one is scheduled, False if the row is given up or not pending.

    ``retry_after`` (Telegram's 429 flood wait) is honoured exactly and does not
    count towards MAX_ATTEMPTS: the push is fine, the bot was just too fast.
    After MAX_ATTEMPTS real failures the row fails and the court is alerted.
    """
    row = _locked(session, outbox_id)
    if row is None or row.status != _PENDING:
        return False
    row.last_error = clean_error(error)
    if retry_after is not None:
        row.attempts = max(row.attempts - 1, 0)
        row.next_attempt_at = now + dt.timedelta(seconds=max(float(retry_after), 0.0))
        session.flush()
        return True
    if row.attempts >= MAX_ATTEMPTS:
        row.status = _FAILED
        session.flush()
        _alert(session, row, "delivery_failed", f"alert:failed:{row.id}", attempts=row.attempts)
        return False
    row.next_attempt_at = now + dt.timedelta(seconds=backoff(row.attempts))
    session.flush()
    return True


def mark_blocked(session: Session, outbox_id: int, *, error: object, now: dt.datetime) -> bool:
    """Telegram answered 403: the recipient blocked the bot.

    Flags the recipient, fails this row and their other pending rows, and
    alerts the court once per blocking (True); False when the recipient was
    flagged already (only the row is failed then) or the row does not exist.
    """
    found = session.execute(
        select(OutboxMessage.recipient_type, OutboxMessage.recipient_id, OutboxMessage.payload)
        .where(OutboxMessage.id == outbox_id)
    ).first()
    if found is None:
        return False
    recipient_type, recipient_id = found.recipient_type, found.recipient_id
    if recipient_type == RecipientType.CHAT.value:  # a desk reply: the resident behind the conversation, if known
        recipient_type, recipient_id = _chat_resident(session, (found.payload or {}).get("conversation_id"))
    # Recipient first, then rows: two workers blocking the same recipient queue
    # up on the recipient instead of deadlocking on each other's rows.
    recipient = _recipient_locked(session, recipient_type, recipient_id)
    row = _locked(session, outbox_id)
    if row is None:  # gone since the read above
        return False
    failed_here = row.status == _PENDING
    if failed_here:
        row.status, row.last_error = _FAILED, clean_error(f"{BLOCKED}: {error}")
    if recipient is None:
        session.flush()
        if failed_here and row.recipient_type == RecipientType.CHAT.value:
            # Nobody on record to flag: the desk still hears that its words did not arrive.
            _alert(session, row, "recipient_blocked", f"alert:blocked:chat:{row.id}")
            return True
        return False
    newly_blocked = recipient.telegram_blocked_at is None
    if newly_blocked:
        recipient.telegram_blocked_at = now
    others = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_type == recipient_type, OutboxMessage.recipient_id == recipient_id,
               OutboxMessage.status == _PENDING, OutboxMessage.id != row.id)
        .values(status=_FAILED, last_error=BLOCKED)
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    session.flush()
    if not newly_blocked:
        return False
    key = f"alert:blocked:{recipient_type}:{recipient_id}:{row.id}"
    _alert(session, row, "recipient_blocked", key, recipient_type=recipient_type, recipient_id=recipient_id)
    journal.audit(session, at=now, actor=ACTOR, action="recipient.blocked", entity_type=recipient_type,
                  entity_id=recipient_id, before={"telegram_blocked_at": None},
                  after={"telegram_blocked_at": now.isoformat(), "outbox_id": row.id,
                         "failed_pushes": others + int(failed_here)})
    return True


def _chat_resident(session: Session, conversation_id: object) -> tuple[str, Optional[int]]:
    """(recipient type, id) of the resident chatting in a conversation, or the chat itself if none is on record."""
    chat = chat_id_of(conversation_id)
    if chat is not None:
        resident_id = session.execute(select(Resident.id).where(or_(
            Resident.telegram_user_id == chat, Resident.conversation_id == str(conversation_id)))
            .order_by(Resident.id).limit(1)).scalar_one_or_none()
        if resident_id is not None:
            return RecipientType.RESIDENT.value, resident_id
    return RecipientType.CHAT.value, None


def mark_undeliverable(session: Session, outbox_id: int, *, error: object, now: dt.datetime) -> bool:
    """Telegram refused the chat for good (400 chat not found, …): fail and alert the court.

    False when the row was not pending (nothing changed, no second alert).
    """
    row = _locked(session, outbox_id)
    if row is None or row.status != _PENDING:
        return False
    row.status, row.last_error = _FAILED, clean_error(error)
    session.flush()
    _alert(session, row, "recipient_unreachable",
           f"alert:unreachable:{row.recipient_type}:{row.recipient_id}:{row.id}", error=row.last_error)
    return True


def unblock(session: Session, *, chat_id: int) -> bool:
    """A blocked user wrote to the bot again: pushes may reach them once more.

    Pushes failed while they were blocked stay failed (they may be stale).
    """
    cleared = False
    for model, column, entity_type in ((Resident, Resident.telegram_user_id, RecipientType.RESIDENT.value),
                                       (Mediator, Mediator.telegram_chat_id, RecipientType.MEDIATOR.value)):
        who = session.execute(
            select(model).where(column == chat_id, model.telegram_blocked_at.isnot(None))
            .with_for_update().execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if who is None:
            continue
        before = {"telegram_blocked_at": who.telegram_blocked_at.isoformat()}
        who.telegram_blocked_at = None
        session.flush()
        journal.audit(session, actor=ACTOR, action="recipient.unblocked", entity_type=entity_type,
                      entity_id=who.id, before=before, after={"telegram_blocked_at": None})
        cleared = True
    return cleared


def _recipient_locked(session: Session, recipient_type: str,
                      recipient_id: Optional[int]) -> Union[Resident, Mediator, None]:
    models: dict[str, Union[type[Resident], type[Mediator]]] = {
        RecipientType.RESIDENT.value: Resident, RecipientType.MEDIATOR.value: Mediator}
    model = models.get(recipient_type)
    if model is None or recipient_id is None:
        return None
    return session.execute(
        select(model).where(model.id == recipient_id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _alert(session: Session, row: OutboxMessage, template: str, key: str, **extra: Any) -> OutboxMessage:
    """A court-recipient row for the hotline desk; ids and the case reference only."""
    payload = {
        "recipient_type": row.recipient_type,
        "recipient_id": row.recipient_id,
        "reference": (row.payload or {}).get("reference"),
        "template": row.template,
        "outbox_id": row.id,
    } | extra
    return journal.enqueue(session, key=key, recipient_type=RecipientType.COURT, recipient_id=None,
                           template=template, payload=payload)


# --- monitoring ---------------------------------------------------------------


def pending_count(session: Session, now: dt.datetime) -> int:
    """Pushes (Telegram and web) due by ``now`` and not sent yet (in flight and backing off included)."""
    return session.execute(
        select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == _PENDING,
            OutboxMessage.recipient_type.in_(_CLAIMED),
            OutboxMessage.due_at <= now,
        )
    ).scalar_one()


def status_counts(session: Session) -> dict[str, int]:
    """Rows per status, every status present (court alerts included)."""
    counts = {s.value: 0 for s in OutboxStatus}
    for status, n in session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ):
        counts[status] = n
    return counts


def court_alerts(session: Session, *, limit: int = 50) -> list[CourtAlert]:
    """Pending alerts for the hotline desk, oldest first."""
    rows = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.recipient_type == RecipientType.COURT.value, OutboxMessage.status == _PENDING)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    ).scalars()
    return [CourtAlert(outbox_id=r.id, key=r.idempotency_key, template=r.template, payload=dict(r.payload or {}),
                       created_at=r.created_at) for r in rows]
