"""Many residents, one slot: the database lets exactly one through.

Each attempt runs in its own thread, connection and transaction, released
together by a barrier, as fifty phones pressing the same button would.
"""
from collections import Counter

from sqlalchemy import func, select

from court.booking import engine, slots
from court.core.errors import SlotTaken, ValidationError
from court.store.schema import Appointment, AuditEntry, Case
from tests.factories import NOW, TUESDAY, local, new_case, single_mediator_point
from tests.races import race

ATTEMPTS = 50


def _race(db, attempt):
    def one(i: int) -> str:
        with db.transaction() as s:
            attempt(s, i)
        return "ok"

    return Counter(race(ATTEMPTS, one))


def _active_at(s, mediator_id, start):
    return s.execute(select(func.count()).select_from(Appointment).where(
        Appointment.mediator_id == mediator_id, Appointment.starts_at == start,
        Appointment.status.in_(("booked", "accepted", "rescheduled")))).scalar_one()


def test_fifty_concurrent_bookings_of_one_slot(db):
    start = local(TUESDAY, 9, 30)
    with db.reader() as s:
        sp_id = single_mediator_point(s).id
        cases_before = s.execute(select(func.count()).select_from(Case)).scalar_one()

    def attempt(s, i):
        engine.book(s, new_case(s), point_id=sp_id, starts_at=start, actor=f"resident:{i}", now=NOW)

    outcomes = _race(db, attempt)
    assert outcomes == Counter({"ok": 1, SlotTaken.__name__: ATTEMPTS - 1})
    with db.reader() as s:
        appt = s.execute(select(Appointment)).scalars().one()
        assert _active_at(s, appt.mediator_id, start) == 1
        # The 49 refused attempts left no case behind: each rolled back whole.
        assert s.execute(select(func.count()).select_from(Case)).scalar_one() == cases_before + 1


def test_fifty_concurrent_reschedules_into_one_slot(db):
    target = local(TUESDAY, 15, 30)
    with db.transaction() as s:
        sp = single_mediator_point(s)
        free = slots.free_slots(s, sp.id, TUESDAY, TUESDAY.replace(day=TUESDAY.day + 20), now=NOW)
        free = [x for x in free if x.starts_at != target][:ATTEMPTS]
        assert len(free) == ATTEMPTS
        ids = [engine.book(s, new_case(s), point_id=sp.id, starts_at=x.starts_at, actor="bot", now=NOW).id
               for x in free]
        mediator_id = free[0].mediator_id

    def attempt(s, i):
        engine.reschedule(s, ids[i], starts_at=target, actor="resident", now=NOW)

    outcomes = _race(db, attempt)
    assert outcomes == Counter({"ok": 1, SlotTaken.__name__: ATTEMPTS - 1})
    with db.reader() as s:
        assert _active_at(s, mediator_id, target) == 1
        moved = s.execute(select(func.count()).select_from(Appointment).where(Appointment.revision == 2)).scalar_one()
        assert moved == 1


def test_fifty_concurrent_cancellations_cancel_once(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt_id = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot",
                              now=NOW).id

    def attempt(s, i):
        engine.cancel(s, appt_id, actor=f"resident:{i}", now=NOW)

    outcomes = _race(db, attempt)
    assert outcomes == Counter({"ok": 1, ValidationError.__name__: ATTEMPTS - 1})
    with db.reader() as s:
        cancels = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "appointment.cancel", AuditEntry.entity_id == appt_id)).scalar_one()
        assert cancels == 1
