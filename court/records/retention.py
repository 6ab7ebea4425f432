"""How long the court keeps copies of what residents said, enforced by a scheduled
job (bot/housekeeping.py runs ``enforce`` every hour). SECURITY.md states the rules.

- Transcripts (the assistant's trackers): erased 90 days after the conversation's
  last message, unless a case of it is still in mediation or a hotline agent has it.
- Pushes: once sent, withdrawn or given up, their payload (texts, summaries, agent
  replies, booking cards) is wiped after 90 days; court alerts keep ids only anyway.
- Handoffs: an agent's closing note goes 90 days after the handoff ended (the
  dispute-type line stays, for the statistics).
- The inbound journal: a message kept for an agent loses its text after 30 days;
  delivered rows (their text is gone already) are deleted after 30 days.
- Inline buttons: deleted 30 days after they were used or expired.
- Desk sessions: deleted 30 days after their last use.
- The web chat's copy of a conversation (``web_messages``, the page's history):
  deleted with its conversation ``COURT_WEB_MESSAGE_DAYS`` days (default 90) after
  the resident's last visit.

Residents' names and phones stay with their cases (court records) until the
resident asks for erasure; the audit log keeps no personal data by design.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Iterable, Mapping

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from court.messaging import buttons as chat_buttons
from court.messaging import webchat
from court.records import erasure
from court.store.schema import (
    Case,
    CaseStatus,
    DeskSession,
    ErasureReason,
    Handoff,
    HandoffStatus,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
    RecipientType,
)

TRANSCRIPT_DAYS = 90
PUSH_DAYS = 90
HANDOFF_NOTE_DAYS = 90
INBOUND_DAYS = 30
BUTTON_DAYS = 30
SESSION_DAYS = 30
WEB_MESSAGE_DAYS = 90  # the default of COURT_WEB_MESSAGE_DAYS
WEB_MESSAGE_DAYS_MAX = 3650


def web_message_days(env: Mapping[str, str] = os.environ) -> int:
    """Days the web chat keeps a conversation's messages after the last visit (COURT_WEB_MESSAGE_DAYS)."""
    raw = (env.get("COURT_WEB_MESSAGE_DAYS") or "").strip()
    if not raw:
        return WEB_MESSAGE_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"COURT_WEB_MESSAGE_DAYS 必须是天数（整数），现在是 {raw!r}") from None
    if not 1 <= days <= WEB_MESSAGE_DAYS_MAX:
        raise ValueError(f"COURT_WEB_MESSAGE_DAYS 必须在 1 到 {WEB_MESSAGE_DAYS_MAX} 天之间，现在是 {days}")
    return days

# A conversation whose case is at one of these stages is still in the court's hands.
_CASE_IN_PROGRESS = (CaseStatus.BOOKED.value, CaseStatus.MEDIATING.value, CaseStatus.AGREEMENT.value,
                     CaseStatus.JC_REQUESTED.value)
_HANDOFF_OPEN = (HandoffStatus.WAITING.value, HandoffStatus.TAKEN.value, HandoffStatus.RETURNING.value)


@dataclass(frozen=True)
class RetentionReport:
    pushes_wiped: int = 0
    notes_cut: int = 0
    kept_texts_erased: int = 0
    inbound_deleted: int = 0
    buttons_deleted: int = 0
    sessions_deleted: int = 0
    transcripts_requested: int = 0
    web_chats_deleted: int = 0


def enforce(session: Session, *, now: dt.datetime, env: Mapping[str, str] = os.environ) -> RetentionReport:
    """One pass of the rules over the court database (the caller's transaction)."""
    web_idle = dt.timedelta(days=web_message_days(env))  # a bad setting stops the pass before any change
    push_cutoff = now - dt.timedelta(days=PUSH_DAYS)
    pushes = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status != OutboxStatus.PENDING.value,
               OutboxMessage.recipient_type != RecipientType.COURT.value,
               OutboxMessage.created_at < push_cutoff, _not_empty(OutboxMessage.payload))
        .values(payload={}).execution_options(synchronize_session=False)
    ).rowcount or 0
    note_cutoff = now - dt.timedelta(days=HANDOFF_NOTE_DAYS)
    notes = 0
    for handoff in session.execute(select(Handoff).where(
            Handoff.status.notin_(_HANDOFF_OPEN), Handoff.note.isnot(None),
            or_(Handoff.closed_at < note_cutoff, Handoff.returned_at < note_cutoff))).scalars():
        kept = erasure._dispute_line(handoff.note)
        if kept != handoff.note:
            handoff.note, notes = kept, notes + 1
    inbound_cutoff = now - dt.timedelta(days=INBOUND_DAYS)
    kept_texts = session.execute(
        update(InboundMessage)
        .where(InboundMessage.status == InboundStatus.KEPT.value, InboundMessage.received_at < inbound_cutoff,
               or_(InboundMessage.text != "", _not_empty(InboundMessage.meta)))
        .values(text="", meta={}).execution_options(synchronize_session=False)
    ).rowcount or 0
    delivered = session.execute(
        delete(InboundMessage)
        .where(InboundMessage.status == InboundStatus.DELIVERED.value, InboundMessage.received_at < inbound_cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    buttons = chat_buttons.purge(session, now=now, older_than=dt.timedelta(days=BUTTON_DAYS))
    sessions = session.execute(
        delete(DeskSession).where(DeskSession.last_seen_at < now - dt.timedelta(days=SESSION_DAYS))
        .execution_options(synchronize_session=False)
    ).rowcount or 0
    web_chats = webchat.purge(session, now=now, idle=web_idle)  # the page's copy of what was said
    session.flush()
    return RetentionReport(pushes_wiped=pushes, notes_cut=notes, kept_texts_erased=kept_texts,
                           inbound_deleted=delivered, buttons_deleted=buttons, sessions_deleted=sessions,
                           web_chats_deleted=web_chats)


def _not_empty(column):
    # PostgreSQL's json has no equality operator: compare its text, which both backends store as "{}".
    return cast(column, Text) != "{}"


def expire_transcripts(session: Session, stale: Iterable[str], *, now: dt.datetime) -> int:
    """Erasure jobs for conversations quiet for TRANSCRIPT_DAYS (``stale``, from the tracker
    store), except those the court still works on; returns how many were requested."""
    candidates = sorted(set(stale))
    if not candidates:
        return 0
    busy: set[str] = set()
    for chunk in _chunks(candidates, 500):
        busy |= set(session.execute(select(Case.conversation_id).where(
            Case.conversation_id.in_(chunk), Case.status.in_(_CASE_IN_PROGRESS))).scalars())
        busy |= set(session.execute(select(Handoff.conversation_id).where(
            Handoff.conversation_id.in_(chunk), Handoff.status.in_(_HANDOFF_OPEN))).scalars())
    requested = 0
    for conversation_id in candidates:
        if conversation_id in busy or erasure.pending_transcript_erasure(session, conversation_id):
            continue
        erasure.request_transcript_erasure(session, conversation_id, chat_id=None, reason=ErasureReason.RETENTION,
                                           now=now)
        requested += 1
    return requested


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
