"""The acceptance deadline: unanswered appointments raise a desk alert and go to a colleague."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from court.booking import acceptance, engine, slots
from court.facades.messenger import MessengerFacade
from court.hotline import delivery_alerts
from court.oversight.stats import mediator_scores
from court.store.schema import Appointment, OutboxMessage
from tests.factories import NOW, local, new_case, shared_slot, single_mediator_point

FRIDAY = dt.date(2026, 12, 4)


class _Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def _rows(session, **where):  # type: ignore[no-untyped-def]
    query = select(OutboxMessage)
    for key, value in where.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return session.execute(query.order_by(OutboxMessage.id)).scalars().all()


def test_the_deadline_is_the_earlier_of_the_set_hours_and_the_meeting_but_never_at_once():
    pushed = NOW
    far = NOW + dt.timedelta(days=4)
    assert acceptance.deadline(pushed, far) == NOW + dt.timedelta(hours=24)
    soon = NOW + dt.timedelta(hours=5)
    assert acceptance.deadline(pushed, soon) == soon - dt.timedelta(minutes=60)
    assert acceptance.deadline(pushed, far, hours=2) == NOW + dt.timedelta(hours=2)
    # Booked 40 minutes ahead: the mediator still gets a quarter of an hour.
    assert acceptance.deadline(pushed, NOW + dt.timedelta(minutes=40)) == NOW + dt.timedelta(minutes=15)


def test_an_unanswered_appointment_alerts_the_desk_and_goes_to_a_colleague_once(db):
    clock = _Clock(NOW)
    with db.transaction() as s:
        sp, start = shared_slot(s, FRIDAY)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
        appt_id, owner, resident_id = appt.id, appt.mediator_id, appt.case.resident_id
    desk = MessengerFacade(db, now=clock)
    clock.at = NOW + dt.timedelta(hours=23, minutes=59)
    assert desk.expire_unaccepted() == 0
    clock.at = NOW + dt.timedelta(hours=24)
    assert desk.expire_unaccepted() == 1
    with db.reader() as s:
        old = s.get(Appointment, appt_id)
        assert old.status == "cancelled" and old.note == acceptance.LAPSED_NOTE
        new = s.execute(select(Appointment).where(Appointment.case_id == old.case_id, Appointment.id != appt_id)
                        ).scalar_one()
        assert new.status == "booked" and new.mediator_id != owner and new.starts_at == start
        assert [r.recipient_id for r in _rows(s, template="appointment_moved_away")] == [owner]
        told = _rows(s, template="appointment_reassigned", recipient_type="resident")
        assert [r.recipient_id for r in told] == [resident_id]
        alerts = delivery_alerts.pending(s)
        assert len(alerts) == 1 and alerts[0].kind.startswith("调解员超时未确认")
        assert alerts[0].who == "调解员" and alerts[0].reference == old.case.reference
        # Ignored until the deadline counts against the mediator's acceptance, not as withdrawn.
        [card] = [c for c in mediator_scores.scorecards(s, county_id=None, start=NOW.date(), end=FRIDAY,
                                                        now=clock.at) if c.mediator_id == owner]
        assert (card.offered, card.unanswered, card.withdrawn) == (1, 1, 0)
    # The next pass changes nothing: one alert, one notice to the resident.
    clock.at += dt.timedelta(minutes=1)
    assert desk.expire_unaccepted() == 0
    with db.reader() as s:
        assert len(_rows(s, template="appointment_reassigned")) == 1
        assert len(_rows(s, template=acceptance.ALERT_TEMPLATE)) == 1


def test_an_accepted_appointment_never_lapses_and_a_late_one_lapses_before_its_start(db):
    clock = _Clock(NOW)
    with db.transaction() as s:
        sp = single_mediator_point(s)
        accepted = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(FRIDAY, 9, 30), actor="bot", now=NOW)
        engine.accept(s, accepted.id, mediator_id=accepted.mediator_id, now=NOW)
        later = [slot for slot in slots.free_slots(s, sp.id, NOW.date(), NOW.date(), now=NOW)
                 if slot.starts_at >= NOW + dt.timedelta(hours=3)][0]
        today = engine.book(s, new_case(s), point_id=sp.id, starts_at=later.starts_at, actor="bot", now=NOW)
        accepted_id, today_id, start = accepted.id, today.id, today.starts_at
    desk = MessengerFacade(db, now=clock)
    clock.at = start - dt.timedelta(minutes=61)
    assert desk.expire_unaccepted() == 0
    clock.at = start - dt.timedelta(minutes=60)  # an hour before the meeting, well within 24 h of the push
    assert desk.expire_unaccepted() == 1
    with db.reader() as s:
        assert s.get(Appointment, today_id).status == "cancelled"
        # Nobody else at this point: the resident is offered other times instead.
        assert _rows(s, template="appointment_declined", recipient_type="resident")
    clock.at = local(FRIDAY, 9, 0)
    assert desk.expire_unaccepted() == 0
    with db.reader() as s:
        assert s.get(Appointment, accepted_id).status == "accepted"
