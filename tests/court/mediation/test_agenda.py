"""What a mediator sees: the agenda, the resident's contact after acceptance, the answers
asked for, and the whole round through the front desk (link, agenda, accept, outcome)."""
import datetime as dt

import pytest
from sqlalchemy import update

from court.booking import engine
from court.core.errors import NotFound, PermissionDenied, ValidationError
from court.core.timeutil import format_local
from court.facades.messenger import NOT_ACTIVE, NOT_LINKED, MessengerFacade
from court.mediation import agenda
from court.reference import guidance
from court.store.schema import Mediator
from tests.court.mediation.mediator_side import AFTER, CHAT, OTHER_CHAT, START, book_appointment, issue_code
from tests.factories import NOW, TUESDAY, local, single_mediator_point


def test_agenda_lists_the_days_and_hides_phones_until_accepted(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        accepted = book_appointment(s, START, sp, accept=True, dispute_type="labor")
        waiting = book_appointment(s, local(TUESDAY, 13, 30), sp)
        waiting.case.summary = "对方电话13912345678，一直不接"
        cancelled = book_appointment(s, local(TUESDAY, 14, 30), sp)
        engine.cancel(s, cancelled.id, actor="resident", now=NOW)
        book_appointment(s, local(TUESDAY + dt.timedelta(days=1), 9, 30), sp)  # Wednesday: outside a one-day agenda
        mediator_id, point_name = accepted.mediator_id, sp.name
        resident = accepted.case.resident
        name, phone, waiting_phone = resident.name, resident.phone, waiting.case.resident.phone
        accepted_id, waiting_id, summary = accepted.id, waiting.id, accepted.case.summary
    with db.reader() as s:
        items = agenda.agenda(s, mediator_id, start=TUESDAY, days=1, now=NOW)
        assert [i.appointment_id for i in items] == [accepted_id, waiting_id]
        first, second = items
        assert first.status == "accepted" and first.status_label == "已接受"
        assert (first.resident_name, first.resident_phone) == (name, phone)
        assert first.time == format_local(START) and first.starts_at == START
        assert first.starts_at.utcoffset() == dt.timedelta(0)
        assert first.dispute_label == guidance.card("labor").label and first.service_point == point_name
        assert first.summary == summary and first.outcome is None and not first.needs_outcome
        assert second.status == "booked" and second.status_label == "待您确认"
        assert second.resident_name is None and second.resident_phone is None
        assert "13912345678" not in second.summary and "139****5678" in second.summary
        text = agenda.render_agenda(items, "今日预约")
        assert text.startswith("【今日预约】共2个") and phone in text and waiting_phone not in text
        assert "13912345678" not in text and "接受" in text
        week = agenda.agenda(s, mediator_id, start=TUESDAY, days=7, now=AFTER)
        assert len(week) == 3 and week[0].needs_outcome and "/outcome" in agenda.render_agenda(week, "本周")
        assert agenda.agenda(s, mediator_id, start=TUESDAY + dt.timedelta(days=2), days=1, now=NOW) == []
        assert agenda.render_agenda([], "今日预约") == "【今日预约】\n没有预约。"
        with pytest.raises(ValidationError):
            agenda.agenda(s, mediator_id, start=TUESDAY, days=0, now=NOW)


def test_contact_only_for_the_owner_of_an_accepted_appointment(db):
    with db.transaction() as s:
        appt = book_appointment(s)
        appt_id, owner = appt.id, appt.mediator_id
        resident = appt.case.resident
        name, phone = resident.name, resident.phone
    with db.reader() as s:
        with pytest.raises(ValidationError) as err:
            agenda.contact_for(s, appt_id, owner)
        assert "接受" in err.value.message
        with pytest.raises(NotFound):
            agenda.contact_for(s, appt_id + 1000, owner)
    with db.transaction() as s:
        engine.accept(s, appt_id, mediator_id=owner, now=NOW)
    with db.reader() as s:
        assert agenda.contact_for(s, appt_id, owner) == (name, phone)
        with pytest.raises(PermissionDenied) as err:
            agenda.contact_for(s, appt_id, owner + 1)
        assert "不是您负责" in err.value.message


# --- through the front desk -----------------------------------------------


def test_front_desk_link_agenda_accept_and_outcome(db):
    with db.transaction() as s:
        appt = book_appointment(s)
        appt_id, reference, mediator_code = appt.id, appt.case.reference, appt.mediator.code
        phone = appt.case.resident.phone
    clock = {"now": NOW}
    desk = MessengerFacade(db, now=lambda: clock["now"])
    code = issue_code(db, mediator_code)
    assert desk.link_mediator(code.lower(), CHAT) and desk.is_mediator(CHAT)
    assert desk.agenda(OTHER_CHAT, days=1, title="今日预约") == NOT_LINKED
    clock["now"] = local(TUESDAY, 8, 0)
    today = desk.agenda(CHAT, days=1, title="今日预约")
    assert reference in today and phone not in today
    accepted = desk.accept(CHAT, appt_id)
    assert phone in accepted and "已接受" in accepted
    assert phone in desk.agenda(CHAT, days=1, title="今日预约")
    clock["now"] = AFTER
    assert "调解成功" in desk.record_outcome(CHAT, reference.lower(), "成功")
    # Suspended: the chat stays linked, and every command says why nothing works.
    with db.transaction() as s:
        s.execute(update(Mediator).where(Mediator.code == mediator_code).values(status="suspended"))
    assert not desk.is_mediator(CHAT)
    assert desk.agenda(CHAT, days=1, title="今日预约") == NOT_ACTIVE == desk.not_a_mediator(CHAT)
    assert desk.not_a_mediator(OTHER_CHAT) == NOT_LINKED
    with pytest.raises(NotFound) as err:
        desk.accept(CHAT, appt_id)
    assert err.value.message == NOT_ACTIVE


def test_the_week_offers_an_answer_for_each_appointment_still_waiting_for_one(db):
    with db.transaction() as s:
        appt = book_appointment(s)
        appt_id, reference, mediator_code = appt.id, appt.case.reference, appt.mediator.code
    clock = {"now": NOW}
    desk = MessengerFacade(db, now=lambda: clock["now"])
    desk.link_mediator(issue_code(db, mediator_code), CHAT)
    text, waiting = desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")
    assert reference in text and "点下面" in text
    assert [a for a, _ in waiting] == [appt_id] and reference in waiting[0][1]
    desk.accept(CHAT, appt_id)
    assert desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")[1] == []
    assert desk.agenda_with_answers(OTHER_CHAT, days=7, title="未来七天的预约") == (NOT_LINKED, [])


def test_the_week_offers_at_most_so_many_answers_and_says_how_many_wait(db, monkeypatch):
    with db.transaction() as s:
        first = book_appointment(s)
        second = book_appointment(s, start=START + dt.timedelta(hours=1), sp=first.service_point)
        mediator_code, ids = first.mediator.code, [first.id, second.id]
    desk = MessengerFacade(db, now=lambda: NOW)
    desk.link_mediator(issue_code(db, mediator_code), CHAT)
    monkeypatch.setattr(agenda, "MAX_ANSWER_PROMPTS", 1)
    text, waiting = desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")
    assert [a for a, _ in waiting] == ids[:1] and "其余1个" in text
