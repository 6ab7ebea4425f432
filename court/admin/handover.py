"""What happens to appointments when their mediator or point goes: the appointments
ahead, handing them over through the booking engine (engine.reassign), withdrawing
pushes a mediator should no longer get, and the account given to the admin."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from court.admin.checks import ACTIVE_STATUSES
from court.booking import engine
from court.core.timeutil import format_local
from court.store.schema import Appointment, OutboxMessage, OutboxStatus, RecipientType


@dataclass(frozen=True)
class HandOver:
    """One appointment that left a mediator or a point, as the admin is told."""

    reference: str
    time: str
    outcome: str  # "reassigned", "moved" or "reoffered"
    mediator: Optional[str] = None  # who has it now
    point: Optional[str] = None

    @property
    def text(self) -> str:
        if self.outcome == "reassigned":
            return f"{self.reference}（{self.time}）改派给调解员{self.mediator}"
        if self.outcome == "moved":
            return f"{self.reference}（{self.time}）改到{self.point}，调解员{self.mediator}"
        return f"{self.reference}（{self.time}）无人可接，已通知居民另选时间"


@dataclass
class Change:
    """The result of a management action: the entity and what happened to appointments."""

    entity_id: int
    handed_over: list[HandOver] = field(default_factory=list)
    notified: int = 0  # residents told of a moved point
    stranded: list[str] = field(default_factory=list)  # mediators left without an active point

    def summary(self) -> str:
        moved = [h for h in self.handed_over if h.outcome != "reoffered"]
        reoffered = [h for h in self.handed_over if h.outcome == "reoffered"]
        parts = []
        if moved:
            parts.append(f"{len(moved)}个预约已转给其他调解员或服务点")
        if reoffered:
            parts.append(f"{len(reoffered)}个预约无人可接，已通知居民另选时间")
        return "；".join(parts)


def future_appointments(session: Session, now: dt.datetime, *, mediator_id: Optional[int] = None,
                        point_ids: Sequence[int] = ()) -> list[Appointment]:
    """Active appointments still ahead, of a mediator and/or at some points, soonest first."""
    query = select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES), Appointment.starts_at > now)
    if mediator_id is not None:
        query = query.where(Appointment.mediator_id == mediator_id)
    if point_ids:
        query = query.where(Appointment.service_point_id.in_(list(point_ids)))
    return list(session.execute(query.order_by(Appointment.starts_at, Appointment.id)).scalars())


def reassign_all(session: Session, appts: Sequence[Appointment], *, actor: str, reason: str,
                 now: dt.datetime) -> list[HandOver]:
    """Each appointment to a colleague (engine.reassign), else back to the resident to rebook."""
    out = []
    for appt in appts:
        appt = engine.get_appointment(session, appt.id, lock=True)
        if appt.status not in ACTIVE_STATUSES:  # cancelled or declined meanwhile: nothing to hand over
            continue
        reference, time = appt.case.reference, format_local(appt.starts_at)
        result = engine.reassign(session, appt.id, actor=actor, reason=reason, now=now)
        if result.reassigned is not None:
            out.append(HandOver(reference, time, "reassigned", result.reassigned.mediator.name,
                                result.reassigned.service_point.name))
        else:
            out.append(HandOver(reference, time, "reoffered"))
    return out


def silence(session: Session, mediator_id: int) -> int:
    """Withdraw every push not yet sent to a mediator who stops serving."""
    return session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.recipient_type == RecipientType.MEDIATOR.value,
               OutboxMessage.recipient_id == mediator_id,
               OutboxMessage.status == OutboxStatus.PENDING.value)
        .values(status=OutboxStatus.CANCELLED.value)
        .execution_options(synchronize_session=False)
    ).rowcount or 0
