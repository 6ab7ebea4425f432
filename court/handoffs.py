"""Handoffs between the assistant and the 12368 hotline agents."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court import journal, residents
from court.store.schema import Handoff, HandoffStatus

_OPEN = (HandoffStatus.WAITING.value, HandoffStatus.TAKEN.value)


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
        journal.audit(session, actor=f"bot:{conversation_id}", action="handoff.request", entity_type="handoff",
                      entity_id=handoff.id, after=journal.snapshot("handoff", handoff))
    ahead = session.execute(select(func.count()).select_from(Handoff).where(
        Handoff.status == HandoffStatus.WAITING.value, Handoff.id < handoff.id)).scalar_one()
    return handoff, ahead
