"""Handoffs between the assistant and the 12368 hotline agents."""
from __future__ import annotations

import datetime as dt
import os
from typing import Optional

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from court.core.settings import LOCAL_TZ
from court.core.timeutil import to_local
from court.records import journal, residents
from court.records.workcalendar import WorkCalendar
from court.store.schema import Handoff, HandoffStatus

_OPEN = (HandoffStatus.WAITING.value, HandoffStatus.TAKEN.value)
# Staffed hours of the 12368 desk, on working days (holidays and adjusted weekends included).
DESK_OPENS, DESK_CLOSES = dt.time(8, 30), dt.time(17, 0)


def desk_open(calendar: WorkCalendar, moment: dt.datetime) -> bool:
    local = to_local(moment)
    return calendar.is_working_day(local.date()) and DESK_OPENS <= local.time() < DESK_CLOSES


def next_opening(calendar: WorkCalendar, moment: dt.datetime) -> dt.datetime:
    """When agents are next at their desks (``moment`` itself if they are now)."""
    if desk_open(calendar, moment):
        return moment
    day = to_local(moment).date()
    if to_local(moment).time() >= DESK_OPENS:
        day += dt.timedelta(days=1)
    for _ in range(40):  # the Spring Festival break is the longest run of days off
        if calendar.is_working_day(day):
            return dt.datetime.combine(day, DESK_OPENS, LOCAL_TZ)
        day += dt.timedelta(days=1)
    raise RuntimeError("no working day within 40 days")


def request(session: Session, conversation_id: str, *, reason: str,
            dispute_type: Optional[str] = None) -> tuple[Handoff, int]:
    """Queue a conversation for an agent (once); returns it and how many wait ahead of it."""
    handoff = session.execute(select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status.in_(_OPEN))).scalars().first()
    if handoff is None:
        resident = residents.find(session, conversation_id=conversation_id)
        handoff = Handoff(conversation_id=conversation_id, reason=reason[:32],
                          resident_id=resident.id if resident else None,
                          note=f"dispute_type={dispute_type}" if dispute_type else None)
        session.add(handoff)
        session.flush()
        journal.audit(session, actor=journal.chat_actor(conversation_id), action="handoff.request",
                      entity_type="handoff", entity_id=handoff.id, after=journal.snapshot("handoff", handoff))
    ahead = session.execute(select(func.count()).select_from(Handoff).where(
        Handoff.status == HandoffStatus.WAITING.value, Handoff.id < handoff.id)).scalar_one()
    return handoff, ahead


# --- while a conversation waits for an agent ------------------------------------

# How long a handoff may wait for an agent, in the desk's staffed minutes (the court's setting).
WAIT_LIMIT_MINUTES = int(os.environ.get("COURT_HANDOFF_WAIT_LIMIT_MINUTES", "120"))
# An automatic handoff ("misunderstood") at most once per conversation in this long.
AUTO_HANDOFF_EVERY = dt.timedelta(hours=24)
AUTO_REASONS = ("misunderstood",)
RESIDENT_LEFT = "居民取消转人工"
# Giving back while the assistant is down: retried with this backoff, capped.
RESUME_BACKOFF = dt.timedelta(seconds=10)
RESUME_BACKOFF_MAX = dt.timedelta(minutes=10)


def open_handoff(session: Session, conversation_id: str, *, lock: bool = False) -> Optional[Handoff]:
    """The conversation's handoff still in the court's hands (waiting, taken, or being given back)."""
    query = select(Handoff).where(
        Handoff.conversation_id == conversation_id,
        Handoff.status.in_(_OPEN + (HandoffStatus.RETURNING.value,))).order_by(Handoff.id.desc()).limit(1)
    return session.execute(query.with_for_update() if lock else query).scalars().first()


def holds_chat(session: Session, conversation_id: str) -> bool:
    """Whether the court says the assistant must stay quiet: an agent has, or will take, the chat."""
    handoff = open_handoff(session, conversation_id)
    return handoff is not None and handoff.status in _OPEN


def leave(session: Session, conversation_id: str, *, now: dt.datetime) -> bool:
    """The resident leaves the queue (or the agent's hands): closed with a note. False if nothing was open."""
    handoff = open_handoff(session, conversation_id, lock=True)
    if handoff is None or handoff.status not in _OPEN:
        return False
    before = journal.snapshot("handoff", handoff)
    handoff.status, handoff.closed_at = HandoffStatus.CLOSED.value, now
    handoff.note = f"{handoff.note}\n{RESIDENT_LEFT}" if handoff.note else RESIDENT_LEFT
    session.flush()
    journal.audit(session, at=now, actor=journal.chat_actor(conversation_id), action="handoff.leave",
                  entity_type="handoff", entity_id=handoff.id, before=before,
                  after=journal.snapshot("handoff", handoff))
    return True


def acknowledge(session: Session, conversation_id: str, *, now: dt.datetime) -> bool:
    """True the first time a message arrives while this handoff waits: one acknowledgement, not one per message.
    A conditional UPDATE, so two messages at once cannot both be first."""
    handoff = open_handoff(session, conversation_id)
    if handoff is None or handoff.status not in _OPEN:
        return False
    return bool(session.execute(
        update(Handoff).where(Handoff.id == handoff.id, Handoff.acknowledged_at.is_(None))
        .values(acknowledged_at=now).execution_options(synchronize_session=False)).rowcount)


def auto_allowed(session: Session, conversation_id: str, *, now: dt.datetime) -> bool:
    """An automatic handoff at most once per conversation per day: gibberish must not fill the queue."""
    recent = session.execute(select(func.count()).select_from(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.reason.in_(AUTO_REASONS),
        Handoff.created_at > now - AUTO_HANDOFF_EVERY)).scalar_one()
    return recent == 0


def staffed_minutes(calendar: WorkCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """Minutes between two moments during which the desk was staffed (working days, 8:30–17:00)."""
    if end <= start:
        return 0
    total = dt.timedelta()
    day = to_local(start).date()
    last = to_local(end).date()
    while day <= last:
        if calendar.is_working_day(day):
            opens = dt.datetime.combine(day, DESK_OPENS, LOCAL_TZ)
            closes = dt.datetime.combine(day, DESK_CLOSES, LOCAL_TZ)
            lo, hi = max(opens, start), min(closes, end)
            if hi > lo:
                total += hi - lo
        day += dt.timedelta(days=1)
    return int(total.total_seconds() // 60)


def mark_overdue(session: Session, calendar: WorkCalendar, *, now: dt.datetime,
                 limit_minutes: int = WAIT_LIMIT_MINUTES) -> list[Handoff]:
    """Waiting handoffs no agent took within the limit: marked once (the queue shows them) and returned,
    for the caller to tell the resident in the same transaction."""
    # Only handoffs old enough in wall time can be over the limit in staffed time.
    rows = session.execute(select(Handoff).where(
        Handoff.status == HandoffStatus.WAITING.value, Handoff.overdue_at.is_(None),
        Handoff.created_at <= now - dt.timedelta(minutes=limit_minutes)).with_for_update()).scalars().all()
    late = [h for h in rows if staffed_minutes(calendar, h.created_at, now) >= limit_minutes]
    for handoff in late:
        handoff.overdue_at = now
        journal.audit(session, at=now, actor="court:handoffs", action="handoff.overdue", entity_type="handoff",
                      entity_id=handoff.id, after={"status": handoff.status, "overdue": True})
    session.flush()
    return late


def awaits_resume(handoff: Handoff) -> bool:
    """Given back, or closed by the desk, and the assistant has not confirmed it has the chat again."""
    return handoff.status == HandoffStatus.RETURNING.value or (
        handoff.status == HandoffStatus.CLOSED.value and handoff.resume_next_at is not None)


def resume_failed(session: Session, handoff: Handoff, *, now: dt.datetime) -> None:
    """The assistant did not resume the chat: a give-back stays in the queue as 'returning', a closed
    handoff stays closed; both are retried with backoff."""
    if handoff.status != HandoffStatus.CLOSED.value:
        handoff.status = HandoffStatus.RETURNING.value
    handoff.resume_attempts = (handoff.resume_attempts or 0) + 1
    wait = min(RESUME_BACKOFF * (2 ** min(handoff.resume_attempts - 1, 10)), RESUME_BACKOFF_MAX)
    handoff.resume_next_at = now + wait
    session.flush()


def resumed(session: Session, handoff: Handoff, *, now: dt.datetime) -> None:
    """The assistant confirmed it has the chat again."""
    if awaits_resume(handoff):
        if handoff.status == HandoffStatus.RETURNING.value:
            handoff.status = HandoffStatus.RETURNED.value
            handoff.returned_at = handoff.returned_at or now
        handoff.resume_next_at = None
        journal.audit(session, at=now, actor="court:handoffs", action="handoff.resumed", entity_type="handoff",
                      entity_id=handoff.id, after={"status": handoff.status, "attempts": handoff.resume_attempts})
        session.flush()


def resumes_due(session: Session, *, now: dt.datetime) -> list[tuple[int, str]]:
    """(handoff id, conversation id) of give-backs and desk closes to retry now. One the conversation
    has moved past (a newer handoff) is settled instead: resuming it would unpause a newer wait."""
    due = session.execute(select(Handoff).where(or_(
        (Handoff.status == HandoffStatus.RETURNING.value)
        & ((Handoff.resume_next_at.is_(None)) | (Handoff.resume_next_at <= now)),
        (Handoff.status == HandoffStatus.CLOSED.value) & (Handoff.resume_next_at <= now)))
        .order_by(Handoff.id)).scalars().all()
    out: list[tuple[int, str]] = []
    for handoff in due:
        newer = session.execute(select(Handoff.id).where(
            Handoff.conversation_id == handoff.conversation_id, Handoff.id > handoff.id).limit(1)).first()
        if newer is not None:
            resumed(session, handoff, now=now)
        else:
            out.append((handoff.id, handoff.conversation_id))
    return out
