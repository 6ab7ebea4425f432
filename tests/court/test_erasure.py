import datetime as dt

from sqlalchemy import select

from court import booking, chat_buttons, erasure, inbox
from court.store.schema import AuditEntry, ChatButton, InboundMessage, OutboxMessage
from tests.factories import NOW, local, new_case, single_mediator_point

TUESDAY = dt.date(2026, 12, 1)


def test_erasure_cancels_ahead_withdraws_pushes_and_keeps_an_anonymous_case(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        case = new_case(s, "debt")
        case.resident.telegram_user_id, case.conversation_id = 5150, "tg-5150"
        appt = booking.book(s, case, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        booking.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
        chat_buttons.issue(s, chat_id=5150, buttons=[("同意", "/affirm")], now=NOW)
        inbox.receive(s, update_id=1, chat_id=5150, conversation_id="tg-5150", text="我叫王桂芝 13945612378",
                      meta={"telegram_user_id": 5150}, now=NOW)
        appt_id, resident_id = appt.id, case.resident_id
    with db.transaction() as s:
        report = erasure.erase(s, telegram_user_id=5150, conversation_id="tg-5150", chat_id=5150, now=NOW)
    assert report.found and report.cancelled == 1
    with db.reader() as s:
        appt = s.get(type(appt), appt_id)
        case, who = appt.case, appt.case.resident
        assert appt.status == "cancelled" and case.status == "intake" and case.dispute_type == "debt"
        assert (who.name, who.phone, who.telegram_user_id, who.conversation_id) == (None, None, None, None)
        assert case.summary == erasure.ERASED_SUMMARY and case.conversation_id is None
        theirs = s.execute(select(OutboxMessage).where(OutboxMessage.recipient_type == "resident",
                                                       OutboxMessage.recipient_id == resident_id)).scalars().all()
        assert theirs and all(r.status != "pending" and r.payload == {} for r in theirs)
        told = s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_cancelled",
                                                     OutboxMessage.recipient_type == "mediator")).scalars().all()
        assert [r.payload["reference"] for r in told] == [case.reference]
        assert s.execute(select(ChatButton).where(ChatButton.chat_id == 5150)).first() is None
        assert s.execute(select(InboundMessage.text).where(InboundMessage.chat_id == 5150)).scalar_one() == ""
        actions = s.execute(select(AuditEntry.action).where(AuditEntry.entity_type == "resident",
                                                            AuditEntry.entity_id == resident_id)).scalars().all()
        assert "resident.anonymise" in actions
    with db.transaction() as s:  # a second request finds nothing left to erase
        assert erasure.erase(s, telegram_user_id=5150, conversation_id="tg-5150", chat_id=5150, now=NOW).found is False



def test_erasure_for_someone_never_booked_still_clears_the_chat(db):
    with db.transaction() as s:
        inbox.receive(s, update_id=2, chat_id=6160, conversation_id="tg-6160", text="你好", meta={}, now=NOW)
        report = erasure.erase(s, telegram_user_id=6160, conversation_id="tg-6160", chat_id=6160, now=NOW)
    assert report.found is False
    with db.reader() as s:
        assert s.execute(select(InboundMessage.text).where(InboundMessage.chat_id == 6160)).scalar_one() == ""
