"""Every push the booking engine writes has wording, and none leaks the
resident's phone to a mediator who has not accepted."""
import datetime as dt

import pytest
from sqlalchemy import select

from bot.notifications import ACCEPT, DECLINE, REBOOK, RENDERERS, UnknownTemplate, render
from court.booking import engine
from court.mediation import outcomes
from court.store.schema import OutboxMessage, RecipientType
from tests.factories import NOW, local, new_case, shared_slot

TUESDAY = dt.date(2026, 12, 1)


def _rows(session):
    return session.execute(select(OutboxMessage).where(OutboxMessage.recipient_type != RecipientType.COURT.value)
                           .order_by(OutboxMessage.id)).scalars().all()


def test_every_push_of_a_busy_appointment_life_renders(db):
    with db.transaction() as s:
        sp, start = shared_slot(s, TUESDAY)
        case = new_case(s, "labor")
        appt = engine.book(s, case, point_id=sp.id, starts_at=start, actor="test", now=NOW)
        declined = engine.decline(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
        new = declined.reassigned
        engine.accept(s, new.id, mediator_id=new.mediator_id, now=NOW)
        moved = engine.reschedule(s, new.id, starts_at=start + dt.timedelta(days=1), actor="test", now=NOW)
        engine.cancel(s, moved.id, actor="test", now=NOW)
        other = engine.book(s, new_case(s), point_id=sp.id, starts_at=local(TUESDAY, 15, 30), actor="test", now=NOW)
        engine.accept(s, other.id, mediator_id=other.mediator_id, now=NOW)
        outcomes.record_outcome(s, other.mediator_id, other.case.reference, "agreement_needs_confirmation",
                                now=other.starts_at + dt.timedelta(hours=1))
        phone = case.resident.phone
        seen = set()
        for row in _rows(s):
            notice = render(row.recipient_type, row.template, row.payload)
            seen.add((row.recipient_type, row.template))
            assert notice.text and len(notice.text) < 4096
            assert phone not in notice.text
            if (row.recipient_type, row.template) == ("mediator", "appointment_new"):
                assert [p for _, p in notice.buttons] == [f"{ACCEPT}{row.payload['appointment_id']}",
                                                          f"{DECLINE}{row.payload['appointment_id']}"]
                assert row.payload["reference"] in notice.text
                assert ("劳动" if row.payload["reference"] == case.reference else "邻里") in notice.text
            if row.template.startswith("reminder") and row.recipient_type == "resident":
                assert notice.venue is not None
    assert {("mediator", "appointment_new"), ("resident", "appointment_reassigned"),
            ("resident", "appointment_accepted"), ("mediator", "appointment_rescheduled"),
            ("resident", "appointment_cancelled"), ("mediator", "reminder_day_before"),
            ("resident", "reminder_two_hours"), ("resident", "outcome_recorded")} <= seen


def test_a_decline_without_a_colleague_offers_rebooking():
    notice = render("resident", "appointment_declined", {
        "reference": "HH261130-7K3Q", "time": "12月1日（周二）上午09:30",
        "proposals": [{"time": "12月2日（周三）上午09:30", "service_point": "西岗子镇调解工作服务点", "mediator": "李明"}]})
    assert "12月2日" in notice.text and notice.buttons == [("重新预约", REBOOK)]


def test_unknown_templates_are_refused_not_guessed():
    with pytest.raises(UnknownTemplate):
        render("resident", "appointment_new", {})
    assert all(kind in ("resident", "mediator", "chat") for kind, _ in RENDERERS)


def test_hotline_desk_messages_name_the_agent_and_hand_back():
    reply = render("chat", "agent_reply", {"conversation_id": "tg-1", "text": "您好，我是12368的小李。", "agent": "李敏"})
    assert reply.text.startswith("【12368热线 李敏】") and "小李" in reply.text
    back = render("chat", "handoff_returned", {"conversation_id": "tg-1", "dispute_label": "劳动争议"})
    assert "劳动争议" in back.text and "转人工" in back.text
    assert "结束" in render("chat", "handoff_closed", {"conversation_id": "tg-1"}).text


def test_a_desk_booking_reaches_the_chat_with_its_card_and_a_map_pin():
    booked = render("chat", "agent_booked", {
        "conversation_id": "tg-1", "agent": "李敏", "reference": "HH-2026-000123", "time": "12月1日（周二）09:00",
        "service_point": "西岗子镇调解工作服务点", "address": "西岗子镇政府院内", "mediator": "王调解",
        "lat": 50.1, "lng": 127.3})
    assert booked.text.startswith("【12368热线 李敏】已为您预约调解")
    assert all(part in booked.text for part in ("HH-2026-000123", "09:00", "西岗子镇政府院内", "王调解", "查询预约"))
    assert booked.venue is not None and booked.venue.title == "西岗子镇调解工作服务点"
