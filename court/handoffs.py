"""Handoffs between the assistant and the 12368 hotline agents."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court import journal, residents
from court.workcalendar import WorkCalendar
from court.settings import LOCAL_TZ
from court.store.schema import Handoff, HandoffStatus
from court.timeutil import to_local

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
