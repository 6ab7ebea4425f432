import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import select, text

from court.booking import engine as booking
from court.core.errors import (
    ConsentRequired,
    OutsideOpeningHours,
    PastTime,
    PermissionDenied,
    SlotTaken,
    ValidationError,
)
from court.store.db import IntegrityConflict
from court.store.schema import Appointment, AuditEntry, Case, MediatorException, OutboxMessage
from court.core.timeutil import to_local
from tests.factories import NOW, counts, local, mediators_of, new_case, point, shared_slot, single_mediator_point

TUESDAY = dt.date(2026, 12, 1)


def _outbox(session, **filters):
    query = select(OutboxMessage)
    for key, value in filters.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return session.execute(query.order_by(OutboxMessage.id)).scalars().all()


def test_free_slots_follow_opening_hours_and_mediator_hours(db):
    with db.reader() as s:
        sp = point(s, "SP-231102101")  # 西岗子镇
        slots = booking.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW)
        starts = sorted({to_local(x.starts_at).strftime("%H:%M") for x in slots})
        assert starts == ["08:30", "09:30", "10:30", "13:30", "14:30", "15:30"]
        assert all(x.ends_at - x.starts_at == dt.timedelta(hours=1) for x in slots)
        # Weekend: nothing; today only after the 30-minute lead time.
        assert booking.free_slots(s, sp.id, dt.date(2026, 12, 5), dt.date(2026, 12, 6), now=NOW) == []
        today = booking.free_slots(s, sp.id, NOW.date(), NOW.date(), now=local(NOW.date(), 9, 10))
        assert min(to_local(x.starts_at).hour for x in today) == 10


def test_public_holidays_and_adjusted_working_days(db):
    with db.reader() as s:
        sp = point(s, "SP-231102101")
        before = dt.datetime(2026, 1, 1, tzinfo=NOW.tzinfo)
        assert booking.free_slots(s, sp.id, dt.date(2026, 10, 1), dt.date(2026, 10, 7), now=before) == []
        weekend_workdays = [d for d in chinese_calendar.get_workdays(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
                            if d.weekday() >= 5]
        assert weekend_workdays, "the 2026 schedule has adjusted working weekend days"
        day = weekend_workdays[0]
        assert booking.free_slots(s, sp.id, day, day, now=before)


def test_leave_removes_a_mediator(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        only = mediators_of(sp)[0]
        only.exceptions.append(MediatorException(starts_on=TUESDAY, ends_on=TUESDAY, kind="leave"))
    with db.reader() as s:
        assert booking.free_slots(s, sp.id, TUESDAY, TUESDAY, now=NOW) == []
        assert booking.free_slots(s, sp.id, TUESDAY + dt.timedelta(days=1), TUESDAY + dt.timedelta(days=1), now=NOW)


def test_booking_writes_case_appointment_audit_and_pushes_together(db):
    start = local(TUESDAY, 9, 30)
    with db.transaction() as s:
        sp = point(s, "SP-231102101")
        case = new_case(s, "family")
        appt = booking.book(s, case, point_id=sp.id, starts_at=start, actor="bot", now=NOW)
        appt_id, case_id = appt.id, case.id
    with db.reader() as s:
        appt = s.get(Appointment, appt_id)
        assert appt.status == "booked" and appt.starts_at == start
        assert "family" in appt.mediator.dispute_types  # a specialist was preferred
        case = s.get(Case, case_id)
        assert case.status == "booked" and case.booked_at is not None and case.mediator_id == appt.mediator_id
        actions = [e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
                   if e.entity_type in ("case", "appointment") and e.entity_id in (appt_id, case_id)]
        assert actions[-3:] == ["case.open", "case.booked", "appointment.book"]
        templates = sorted((m.template, m.recipient_type) for m in _outbox(s))
        assert templates == sorted([
            ("appointment_new", "mediator"),
            ("reminder_day_before", "mediator"), ("reminder_day_before", "resident"),
            ("reminder_two_hours", "mediator"), ("reminder_two_hours", "resident"),
        ])
        reminder = _outbox(s, template="reminder_two_hours", recipient_type="resident")[0]
        assert reminder.due_at == start - dt.timedelta(hours=2)
        new = _outbox(s, template="appointment_new")[0]
        assert new.payload["reference"] == case.reference and "phone" not in new.payload


@pytest.mark.parametrize("when,error", [
    (dt.datetime(2026, 11, 29, 9, 30), PastTime),
    (dt.datetime(2026, 11, 30, 8, 20), PastTime),           # inside the lead time
    (dt.datetime(2026, 12, 5, 9, 30), OutsideOpeningHours),  # Saturday
    (dt.datetime(2026, 12, 1, 12, 0), OutsideOpeningHours),  # lunch break
    (dt.datetime(2026, 12, 1, 18, 0), OutsideOpeningHours),
    (dt.datetime(2027, 6, 1, 9, 30), ValidationError),       # beyond the booking horizon
])
def test_bad_times_are_refused_and_nothing_is_written(db, when, error):
    with db.reader() as s:
        before = counts(s)
    with pytest.raises(error) as err:
        with db.transaction() as s:
            case = new_case(s)
            booking.book(s, case, point_id=point(s, "SP-231102101").id, starts_at=when.replace(tzinfo=NOW.tzinfo),
                         actor="bot", now=NOW)
    assert err.value.message  # a Chinese sentence for the resident
    with db.reader() as s:
        assert counts(s) == before


def test_consent_is_required(db):
    with pytest.raises(ConsentRequired):
        with db.transaction() as s:
            booking.book(s, new_case(s, consent=False), point_id=point(s, "SP-231102101").id,
                         starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)


def test_a_taken_slot_is_refused(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        sp_id = sp.id
        booking.book(s, new_case(s), point_id=sp_id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
    with pytest.raises(SlotTaken) as err:
        with db.transaction() as s:
            booking.book(s, new_case(s), point_id=sp_id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
    assert "约走" in err.value.message


def test_the_database_itself_refuses_overlaps(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        sp_id, mediator_id, case_id = sp.id, appt.mediator_id, appt.case_id
    with pytest.raises(IntegrityConflict) as err:
        with db.transaction() as s:  # bypass the engine's checks: a raw overlapping row
            s.add(Appointment(case_id=case_id, service_point_id=sp_id, mediator_id=mediator_id,
                              starts_at=local(TUESDAY, 10, 0), ends_at=local(TUESDAY, 10, 30), status="accepted"))
    assert err.value.constraint == "appointment_overlap"
    with db.transaction() as s:  # a cancelled row may overlap
        s.add(Appointment(case_id=case_id, service_point_id=sp_id, mediator_id=mediator_id,
                          starts_at=local(TUESDAY, 10, 0), ends_at=local(TUESDAY, 10, 30), status="cancelled"))


def test_audit_log_is_append_only(db):
    with db.transaction() as s:
        new_case(s)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(IntegrityConflict if db.dialect == "sqlite" else Exception) as err:
            with db.transaction() as s:
                s.execute(text(statement))
        assert "audit_log_append_only" in str(err.value) or "audit_log_append_only" in str(err.value.__cause__)


def test_reschedule_moves_reminders_and_refuses_conflicts(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        first = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        second = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 13, 30), actor="bot", now=NOW)
        first_id, second_id = first.id, second.id
    with db.transaction() as s:
        moved = booking.reschedule(s, first_id, starts_at=local(TUESDAY, 14, 30), actor="resident", now=NOW)
        assert moved.status == "rescheduled" and moved.revision == 2
    with db.reader() as s:
        old = [m for m in _outbox(s) if m.idempotency_key.startswith(f"appt:{first_id}:r1:reminder")]
        assert old and all(m.status == "cancelled" for m in old)
        new = [m for m in _outbox(s) if m.idempotency_key.startswith(f"appt:{first_id}:r2:")]
        assert {m.template for m in new} >= {"appointment_rescheduled", "reminder_two_hours"}
        before = counts(s)
    with pytest.raises(SlotTaken):
        with db.transaction() as s:
            booking.reschedule(s, second_id, starts_at=local(TUESDAY, 14, 30), actor="resident", now=NOW)
    with db.reader() as s:
        assert counts(s) == before
        assert s.get(Appointment, second_id).starts_at == local(TUESDAY, 13, 30)


def test_cancel_frees_the_slot_and_reopens_the_case(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, sp_id = appt.id, sp.id
    with db.transaction() as s:
        booking.cancel(s, appt_id, actor="resident", reason="已和解", now=NOW)
    with db.reader() as s:
        appt = s.get(Appointment, appt_id)
        assert appt.status == "cancelled" and appt.case.status == "intake"
        assert {m.template for m in _outbox(s, status="pending")} == {"appointment_new", "appointment_cancelled"}
        assert any(x.starts_at == local(TUESDAY, 9, 30) for x in booking.free_slots(s, sp_id, TUESDAY, TUESDAY, now=NOW))
    with pytest.raises(ValidationError):
        with db.transaction() as s:
            booking.cancel(s, appt_id, actor="resident", now=NOW)


def test_accept_is_idempotent_and_owner_only(db):
    with db.transaction() as s:
        sp = point(s, "SP-231102101")
        appt = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner = appt.id, appt.mediator_id
    with pytest.raises(PermissionDenied):
        with db.transaction() as s:
            booking.accept(s, appt_id, mediator_id=owner + 1, now=NOW)
    with db.transaction() as s:
        assert booking.accept(s, appt_id, mediator_id=owner, now=NOW) is True
    with db.transaction() as s:
        assert booking.accept(s, appt_id, mediator_id=owner, now=NOW) is False
    with db.reader() as s:
        assert len(_outbox(s, template="appointment_accepted")) == 1
        assert s.get(Appointment, appt_id).status == "accepted"


def test_decline_reassigns_to_a_colleague_at_the_same_time(db):
    with db.transaction() as s:
        sp, start = shared_slot(s, TUESDAY)
        appt = booking.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
        appt_id, owner = appt.id, appt.mediator_id
    with db.transaction() as s:
        result = booking.decline(s, appt_id, mediator_id=owner, reason="回避：当事人是亲属", now=NOW)
        new_id, new_mediator = result.reassigned.id, result.reassigned.mediator_id
    with db.reader() as s:
        assert s.get(Appointment, appt_id).status == "declined"
        new = s.get(Appointment, new_id)
        assert new.status == "booked" and new.mediator_id == new_mediator != owner
        assert new.starts_at == start and new.case.status == "booked"
        assert _outbox(s, template="appointment_reassigned", recipient_type="resident")
        assert [m.recipient_id for m in _outbox(s, template="appointment_new")][-1] == new_mediator
        old_reminders = [m for m in _outbox(s) if m.idempotency_key.startswith(f"appt:{appt_id}:r1:reminder")]
        assert all(m.status == "cancelled" for m in old_reminders)


def test_decline_without_colleague_proposes_other_times_and_points(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = booking.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner, sp_id = appt.id, appt.mediator_id, sp.id
    with db.transaction() as s:
        result = booking.decline(s, appt_id, mediator_id=owner, now=NOW)
        assert result.reassigned is None
        assert result.proposals[0][0].id == sp_id and result.proposals[0][2].starts_at > local(TUESDAY, 9, 30)
        others = [p for p, _, _ in result.proposals[1:]]
        assert others and all(p.id != sp_id for p in others)
    with db.reader() as s:
        assert s.get(Appointment, appt_id).case.status == "intake"
        told = _outbox(s, template="appointment_declined", recipient_type="resident")
        assert len(told) == 1 and len(told[0].payload["proposals"]) == len(result.proposals)


def test_the_mediators_push_masks_a_phone_typed_into_the_summary(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        case = new_case(s)
        case.summary = "邻居漏水不管，打我电话13945612378"
        booking.book(s, case, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        [push] = _outbox(s, template="appointment_new", recipient_type="mediator")
        assert push.payload["summary"] == "邻居漏水不管，打我电话139****2378"
        assert all("13945612378" not in str(row.payload) for row in _outbox(s, recipient_type="mediator"))
