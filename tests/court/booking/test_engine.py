"""The booking engine: booking, moving, cancelling, accepting and declining, all or nothing."""
import datetime as dt

import pytest
from sqlalchemy import select, text

from court.booking import engine, slots
from court.core.errors import (
    ConsentRequired,
    OutsideOpeningHours,
    PastTime,
    PermissionDenied,
    SlotTaken,
    ValidationError,
)
from court.store.db import IntegrityConflict
from court.store.schema import Appointment, AuditEntry, Case
from tests.factories import (
    NOW,
    TUESDAY,
    counts,
    local,
    new_case,
    outbox_rows,
    point,
    shared_slot,
    single_mediator_point,
)


def test_booking_writes_case_appointment_audit_and_pushes_together(db):
    start = local(TUESDAY, 9, 30)
    with db.transaction() as s:
        sp = point(s, "SP-231102101")
        case = new_case(s, "family")
        appt = engine.book(s, case, point_id=sp.id, starts_at=start, actor="bot", now=NOW)
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
        templates = sorted((m.template, m.recipient_type) for m in outbox_rows(s))
        assert templates == sorted([
            ("appointment_new", "mediator"),
            ("reminder_day_before", "mediator"), ("reminder_day_before", "resident"),
            ("reminder_two_hours", "mediator"), ("reminder_two_hours", "resident"),
        ])
        reminder = outbox_rows(s, template="reminder_two_hours", recipient_type="resident")[0]
        assert reminder.due_at == start - dt.timedelta(hours=2)
        new = outbox_rows(s, template="appointment_new")[0]
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
            engine.book(s, case, point_id=point(s, "SP-231102101").id, starts_at=when.replace(tzinfo=NOW.tzinfo),
                        actor="bot", now=NOW)
    assert err.value.message  # a Chinese sentence for the resident
    with db.reader() as s:
        assert counts(s) == before


def test_consent_is_required(db):
    with pytest.raises(ConsentRequired):
        with db.transaction() as s:
            engine.book(s, new_case(s, consent=False), point_id=point(s, "SP-231102101").id,
                        starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)


def test_a_taken_slot_is_refused(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        sp_id = sp.id
        engine.book(s, new_case(s), point_id=sp_id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
    with pytest.raises(SlotTaken) as err:
        with db.transaction() as s:
            engine.book(s, new_case(s), point_id=sp_id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
    assert "约走" in err.value.message


def test_the_database_itself_refuses_overlaps(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
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
        first = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        second = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 13, 30), actor="bot", now=NOW)
        first_id, second_id = first.id, second.id
    with db.transaction() as s:
        moved = engine.reschedule(s, first_id, starts_at=local(TUESDAY, 14, 30), actor="resident", now=NOW)
        assert moved.status == "rescheduled" and moved.revision == 2
    with db.reader() as s:
        old = [m for m in outbox_rows(s) if m.idempotency_key.startswith(f"appt:{first_id}:r1:reminder")]
        assert old and all(m.status == "cancelled" for m in old)
        new = [m for m in outbox_rows(s) if m.idempotency_key.startswith(f"appt:{first_id}:r2:")]
        assert {m.template for m in new} >= {"appointment_rescheduled", "reminder_two_hours"}
        before = counts(s)
    with pytest.raises(SlotTaken):
        with db.transaction() as s:
            engine.reschedule(s, second_id, starts_at=local(TUESDAY, 14, 30), actor="resident", now=NOW)
    with db.reader() as s:
        assert counts(s) == before
        assert s.get(Appointment, second_id).starts_at == local(TUESDAY, 13, 30)


def test_cancel_frees_the_slot_and_reopens_the_case(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, sp_id = appt.id, sp.id
    with db.transaction() as s:
        engine.cancel(s, appt_id, actor="resident", reason="已和解", now=NOW)
    with db.reader() as s:
        appt = s.get(Appointment, appt_id)
        assert appt.status == "cancelled" and appt.case.status == "intake"
        assert {m.template for m in outbox_rows(s, status="pending")} == {"appointment_new", "appointment_cancelled"}
        assert any(x.starts_at == local(TUESDAY, 9, 30) for x in slots.free_slots(s, sp_id, TUESDAY, TUESDAY, now=NOW))
    with pytest.raises(ValidationError):
        with db.transaction() as s:
            engine.cancel(s, appt_id, actor="resident", now=NOW)


def test_accept_is_idempotent_and_owner_only(db):
    with db.transaction() as s:
        sp = point(s, "SP-231102101")
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner = appt.id, appt.mediator_id
    with pytest.raises(PermissionDenied):
        with db.transaction() as s:
            engine.accept(s, appt_id, mediator_id=owner + 1, now=NOW)
    with db.transaction() as s:
        assert engine.accept(s, appt_id, mediator_id=owner, now=NOW) is True
    with db.transaction() as s:
        assert engine.accept(s, appt_id, mediator_id=owner, now=NOW) is False
    with db.reader() as s:
        assert len(outbox_rows(s, template="appointment_accepted")) == 1
        assert s.get(Appointment, appt_id).status == "accepted"


def test_decline_reassigns_to_a_colleague_at_the_same_time(db):
    with db.transaction() as s:
        sp, start = shared_slot(s, TUESDAY)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
        appt_id, owner = appt.id, appt.mediator_id
    with db.transaction() as s:
        result = engine.decline(s, appt_id, mediator_id=owner, reason="回避：当事人是亲属", now=NOW)
        new_id, new_mediator = result.reassigned.id, result.reassigned.mediator_id
    with db.reader() as s:
        assert s.get(Appointment, appt_id).status == "declined"
        new = s.get(Appointment, new_id)
        assert new.status == "booked" and new.mediator_id == new_mediator != owner
        assert new.starts_at == start and new.case.status == "booked"
        assert outbox_rows(s, template="appointment_reassigned", recipient_type="resident")
        assert [m.recipient_id for m in outbox_rows(s, template="appointment_new")][-1] == new_mediator
        old_reminders = [m for m in outbox_rows(s) if m.idempotency_key.startswith(f"appt:{appt_id}:r1:reminder")]
        assert all(m.status == "cancelled" for m in old_reminders)


def test_decline_without_colleague_proposes_other_times_and_points(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        appt = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="bot", now=NOW)
        appt_id, owner, sp_id = appt.id, appt.mediator_id, sp.id
    with db.transaction() as s:
        result = engine.decline(s, appt_id, mediator_id=owner, now=NOW)
        assert result.reassigned is None
        assert result.proposals[0][0].id == sp_id and result.proposals[0][2].starts_at > local(TUESDAY, 9, 30)
        others = [p for p, _, _ in result.proposals[1:]]
        assert others and all(p.id != sp_id for p in others)
    with db.reader() as s:
        assert s.get(Appointment, appt_id).case.status == "intake"
        told = outbox_rows(s, template="appointment_declined", recipient_type="resident")
        assert len(told) == 1 and len(told[0].payload["proposals"]) == len(result.proposals)
