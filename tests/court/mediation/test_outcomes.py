"""Recording outcomes: what each moves on, who may record one and when, and the words accepted."""
import datetime as dt

import pytest
from sqlalchemy import select

from court.booking import engine
from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.mediation import outcomes
from court.records import workcalendar
from court.store.schema import Appointment, Case, Mediator, OutboxMessage, Outcome, OutcomeResult
from tests.court.mediation.mediator_side import AFTER, START, audits, book_appointment
from tests.factories import TUESDAY, local, single_mediator_point


@pytest.mark.parametrize("result,case_status,appt_status,case_actions", [
    ("success", "agreement", "done", ["case.mediating", "case.agreement"]),
    ("agreement_needs_confirmation", "jc_requested", "done",
     ["case.mediating", "case.agreement", "case.jc_requested"]),
    ("failed", "failed", "done", ["case.mediating", "case.failed"]),
    ("no_show", "intake", "no_show", ["case.intake"]),
])
def test_each_outcome_moves_the_appointment_and_the_case(db, result, case_status, appt_status, case_actions):
    with db.transaction() as s:
        appt = book_appointment(s, accept=True)
        appt_id, case_id, owner, reference = appt.id, appt.case_id, appt.mediator_id, appt.case.reference
        resident_id = appt.case.resident_id
    with db.transaction() as s:
        outcome = outcomes.record_outcome(s, owner, f"  {reference.lower()} ", result,
                                          note="  双方同意\t\t分期处理  ", now=AFTER)
        outcome_id = outcome.id
    with db.reader() as s:
        outcome = s.get(Outcome, outcome_id)
        assert outcome.result == result and outcome.case_id == case_id and outcome.appointment_id == appt_id
        assert outcome.recorded_by == f"mediator:{owner}" and outcome.agreement_summary == "双方同意 分期处理"
        assert outcome.recorded_at == AFTER
        assert outcome.jc_requested_at == (AFTER if result == "agreement_needs_confirmation" else None)
        case = s.get(Case, case_id)
        assert case.status == case_status and s.get(Appointment, appt_id).status == appt_status
        for action in case_actions:
            assert audits(s, action, case_id)[-1].actor == f"mediator:{owner}"
        if result != "no_show":
            assert case.mediating_at is not None
        assert [e.after["status"] for e in audits(s, f"appointment.{appt_status}", appt_id)] == [appt_status]
        recorded = audits(s, "outcome.record", outcome_id)
        assert len(recorded) == 1 and recorded[0].after["result"] == result
        push = s.execute(select(OutboxMessage).where(OutboxMessage.template == "outcome_recorded")).scalar_one()
        assert push.idempotency_key == f"case:{case_id}:outcome:{outcome_id}:resident"
        assert push.recipient_type == "resident" and push.recipient_id == resident_id
        assert push.payload["reference"] == reference and push.payload["result"] == result
        assert push.payload["result_label"] == outcomes.OUTCOME_LABELS[result]
        if result == "agreement_needs_confirmation":
            # Optional ("可以", 人民调解法第33条); only the 30 days bind.
            assert "可以自调解协议生效之日起30日内共同向法院申请司法确认" in push.payload["hint"]
            assert "应" not in push.payload["hint"].split("最晚")[0]
            assert "民事诉讼法第205条" in push.payload["hint"] and "最晚在12月31日" in push.payload["hint"]
            assert push.payload["jc_deadline"] == "2026-12-31"  # 30 days on, a Thursday
        else:
            assert "jc_deadline" not in push.payload
        # Reminders of a meeting that has happened are withdrawn.
        reminders = s.execute(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"appt:{appt_id}:%reminder%"))).scalars().all()
        assert reminders and all(m.status == "cancelled" for m in reminders)
    if result == "no_show":  # the case can be booked again
        with db.transaction() as s:
            again = engine.book(s, s.get(Case, case_id), point_id=single_mediator_point(s).id,
                                starts_at=local(TUESDAY + dt.timedelta(days=1), 9, 30), actor="bot", now=AFTER)
            assert again.case.status == "booked"


def test_the_jc_deadline_moves_past_holidays(db):
    # Recorded on 1 September 2026: thirty days on is National Day, the first working day after is 8 October.
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert outcomes._jc_deadline(calendar, local(dt.date(2026, 9, 1), 10)) == dt.date(2026, 10, 8)
        assert outcomes._jc_deadline(calendar, local(dt.date(2026, 9, 2), 10)) == dt.date(2026, 10, 8)


def test_an_outcome_before_the_meeting_is_refused(db):
    with db.transaction() as s:
        appt = book_appointment(s, accept=True)
        owner, reference = appt.mediator_id, appt.case.reference
    with pytest.raises(ValidationError) as err:
        with db.transaction() as s:
            outcomes.record_outcome(s, owner, reference, "success", now=START - dt.timedelta(minutes=1))
    assert "还没到" in err.value.message
    with db.transaction() as s:  # the moment it starts is fine (e.g. a no-show noticed at once)
        outcomes.record_outcome(s, owner, reference, OutcomeResult.NO_SHOW, now=START)


def test_only_the_cases_mediator_records_its_outcome(db):
    with db.transaction() as s:
        appt = book_appointment(s, accept=True)
        owner, reference, case_id = appt.mediator_id, appt.case.reference, appt.case_id
        other = s.execute(select(Mediator.id).where(Mediator.id != owner).limit(1)).scalar_one()
    with pytest.raises(PermissionDenied) as err:
        with db.transaction() as s:
            outcomes.record_outcome(s, other, reference, "success", now=AFTER)
    assert "这不是您负责的案件" in err.value.message
    with pytest.raises(NotFound):
        with db.transaction() as s:
            outcomes.record_outcome(s, owner, "HH000000-XXXX", "success", now=AFTER)
    with db.reader() as s:
        assert s.get(Case, case_id).status == "booked"
        assert s.execute(select(Outcome)).first() is None


def test_a_second_outcome_is_refused(db):
    with db.transaction() as s:
        appt = book_appointment(s)  # booked, not yet accepted: the meeting may still have happened
        owner, reference = appt.mediator_id, appt.case.reference
    with db.transaction() as s:
        outcomes.record_outcome(s, owner, reference, "failed", now=AFTER)
    for result in ("failed", "success"):
        with pytest.raises(ValidationError) as err:
            with db.transaction() as s:
                outcomes.record_outcome(s, owner, reference, result, now=AFTER)
        assert err.value.message == "这个案件的调解结果已经登记过了。"
    with db.reader() as s:
        assert len(s.execute(select(Outcome)).all()) == 1


@pytest.mark.parametrize("text,expected", [
    ("调解成功", "success"), ("成功", "success"), ("success", "success"), (" SUCCESS ", "success"),
    ("调解失败", "failed"), ("失败", "failed"), ("failed", "failed"),
    ("达成协议，需司法确认", "agreement_needs_confirmation"), ("达成协议,需司法确认", "agreement_needs_confirmation"),
    ("司法确认", "agreement_needs_confirmation"), ("agreement_needs_confirmation", "agreement_needs_confirmation"),
    ("当事人未到", "no_show"), ("未到", "no_show"), ("no_show", "no_show"), ("no-show", "no_show"),
    ("ｓｕｃｃｅｓｓ", "success"), (OutcomeResult.FAILED, "failed"),
])
def test_parse_outcome(text, expected):
    assert outcomes.parse_outcome(text) == OutcomeResult(expected)


@pytest.mark.parametrize("text", ["", "还行", "done", None])
def test_parse_outcome_refuses_other_words_and_lists_the_options(text):
    with pytest.raises(ValidationError) as err:
        outcomes.parse_outcome(text)
    assert all(label in err.value.message for label in outcomes.OUTCOME_LABELS.values())
