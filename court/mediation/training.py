"""Mediators' training and study sessions (培训、进修): recorded by admins, counted in hours per year.

Each mediator's hours in a calendar year are the sum of the sessions they attended held that
year (Beijing dates); the statistics page lists mediators below the court's yearly minimum
(``COURT_TRAINING_MIN_HOURS``, default 24: three 8-hour days).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court.core import settings
from court.core.errors import EmptyText, ValidationError
from court.core.validation import clean_text
from court.records import journal
from court.store.schema import Mediator, MediatorStatus, TrainingSession, training_attendance

TOPIC_LIMIT = 120
MAX_HOURS = 24.0


def record(session: Session, *, held_on: object, topic: str, hours: object, attendees: Iterable[object],
           actor: str, now: dt.datetime, today: dt.date) -> TrainingSession:
    """A session with its attendees, in the caller's transaction; audited."""
    if not isinstance(held_on, dt.date):
        raise ValidationError("请填写培训日期。")
    if held_on > today:
        raise ValidationError("培训日期不能晚于今天：请在培训结束后登记。")
    try:
        clean = clean_text(topic, limit=TOPIC_LIMIT, field="培训主题")
    except EmptyText:
        raise ValidationError("请填写培训主题。") from None
    try:
        length = round(float(str(hours)), 1)
    except ValueError:
        length = 0.0
    if not 0 < length <= MAX_HOURS:
        raise ValidationError(f"学时要大于0、不超过{MAX_HOURS:g}小时（一次培训）。")
    try:
        ids = sorted({int(str(a)) for a in attendees})
    except ValueError:
        raise ValidationError("参加人员有误，请重新勾选。") from None
    if not ids:
        raise ValidationError("请勾选参加培训的调解员。")
    people = session.execute(select(Mediator).where(Mediator.id.in_(ids))).scalars().all()
    if len(people) != len(ids):
        raise ValidationError("参加人员有误，请重新勾选。")
    row = TrainingSession(held_on=held_on, topic=clean, hours=length, recorded_by=actor, recorded_at=now)
    row.attendees = list(people)
    session.add(row)
    session.flush()
    journal.audit(session, at=now, actor=actor, action="training.record", entity_type="training_session",
                  entity_id=row.id, after={"held_on": held_on.isoformat(), "hours": length, "attendees": ids})
    return row


@dataclass(frozen=True)
class SessionView:
    session_id: int
    held_on: dt.date
    topic: str
    hours: float
    attendees: list[str]


def recent(session: Session, *, limit: int = 100) -> list[SessionView]:
    rows = session.execute(select(TrainingSession).order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
                           .limit(limit)).scalars().all()
    return [SessionView(r.id, r.held_on, r.topic, r.hours, [m.name for m in r.attendees]) for r in rows]


def hours_in_year(session: Session, year: int) -> dict[int, float]:
    """Mediator id -> training hours of sessions held in ``year`` (mediators with none are absent)."""
    rows = session.execute(
        select(training_attendance.c.mediator_id, func.sum(TrainingSession.hours))
        .join(TrainingSession, TrainingSession.id == training_attendance.c.session_id)
        .where(TrainingSession.held_on >= dt.date(year, 1, 1), TrainingSession.held_on <= dt.date(year, 12, 31))
        .group_by(training_attendance.c.mediator_id))
    return {m: round(float(h or 0), 1) for m, h in rows}


@dataclass(frozen=True)
class Shortfall:
    mediator_id: int
    name: str
    hours: float
    missing: float


def below_minimum(session: Session, year: int, *, minimum: Optional[float] = None) -> list[Shortfall]:
    """Active mediators whose hours in ``year`` are under the court's minimum, fewest hours first."""
    minimum = settings.TRAINING_MIN_HOURS if minimum is None else minimum
    hours = hours_in_year(session, year)
    people = session.execute(select(Mediator.id, Mediator.name).where(
        Mediator.status == MediatorStatus.ACTIVE.value).order_by(Mediator.id)).all()
    short = [Shortfall(m, name, hours.get(m, 0.0), round(minimum - hours.get(m, 0.0), 1))
             for m, name in people if hours.get(m, 0.0) < minimum]
    return sorted(short, key=lambda s: (s.hours, s.mediator_id))
