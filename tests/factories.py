"""Test data built through the same functions the bot uses."""
from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select

from court.booking import engine
from court.core.settings import LOCAL_TZ
from court.messaging import outbox
from court.records import cases, residents
from court.store.schema import Appointment, AuditEntry, Case, Mediator, MediatorStatus, OutboxMessage, ServicePoint

# Monday 30 November 2026, 08:00 in Heihe: the clock of every booking test.
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
TUESDAY = dt.date(2026, 12, 1)  # the day after NOW: most bookings in the tests fall on it
_phones = itertools.count(13900000001)


def local(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=LOCAL_TZ)


def new_case(session, dispute_type: str = "neighbor", *, consent: bool = True) -> Case:
    resident = residents.record_consent(session) if consent else None
    if resident is not None:
        residents.set_contact(session, resident, name="测试居民", phone=str(next(_phones)))
    return cases.open_case(session, dispute_type=dispute_type, summary="楼上漏水，协商不成", actor="test",
                           resident=resident)


def point(session, code: str) -> ServicePoint:
    return session.execute(select(ServicePoint).where(ServicePoint.code == code)).scalar_one()


def single_mediator_point(session) -> ServicePoint:
    """A point served by exactly one active mediator (the demo roster has several)."""
    for sp in session.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars():
        active = [m for m in sp.mediators if m.status == MediatorStatus.ACTIVE.value]
        if len(active) == 1 and len(active[0].availability) == 10:
            return sp
    raise AssertionError("demo roster has no single-mediator point")


def counts(session) -> dict[str, int]:
    return {model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Case, Appointment, AuditEntry, OutboxMessage)}


def outbox_rows(session, **filters) -> list[OutboxMessage]:
    """Outbox rows whose columns equal ``filters``, oldest first."""
    query = select(OutboxMessage)
    for key, value in filters.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return session.execute(query.order_by(OutboxMessage.id)).scalars().all()


def mediators_of(sp: ServicePoint) -> list[Mediator]:
    return sorted(sp.mediators, key=lambda m: m.id)


def shared_slot(session, day: dt.date) -> tuple[ServicePoint, dt.datetime]:
    """A point and a start time at which at least two of its mediators are free."""
    from court.booking.slots import free_slots

    for sp in session.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars():
        by_start: dict[dt.datetime, set[int]] = {}
        for slot in free_slots(session, sp.id, day, day, now=NOW):
            by_start.setdefault(slot.starts_at, set()).add(slot.mediator_id)
        for start, who in sorted(by_start.items()):
            if len(who) >= 2:
                return sp, start
    raise AssertionError("no point has two mediators free at once")


def blocked_mediator_alert(db) -> tuple[int, str, str]:
    """A booking whose mediator has blocked the bot; returns (alert id, mediator name, phone)."""
    with db.transaction() as s:
        sp, start = shared_slot(s, dt.date(2026, 12, 1))
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="test", now=NOW)
        appt.mediator.telegram_chat_id = 70001
        name, phone, reference = appt.mediator.name, appt.mediator.phone, appt.case.reference
    [delivery] = [d for d in outbox.claim_due(db, now=NOW) if d.template == "appointment_new"]
    with db.transaction() as s:
        assert outbox.mark_blocked(s, delivery.outbox_id, error="Forbidden: bot was blocked by the user", now=NOW)
        [alert] = outbox.court_alerts(s)
    assert alert.payload["reference"] == reference
    return alert.outbox_id, name, phone
