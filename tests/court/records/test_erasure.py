import datetime as dt
import json

from sqlalchemy import select

from court.booking import engine
from court.hotline import accounts, handoffs, queue
from court.messaging import buttons as chat_buttons
from court.messaging import inbox, outbox
from court.records import erasure, journal, retention
from court.store.schema import (
    AuditEntry,
    ChatButton,
    Handoff,
    InboundMessage,
    OutboxMessage,
    RecipientType,
    TranscriptErasure,
)
from tests.factories import NOW, local, new_case, single_mediator_point

TUESDAY = dt.date(2026, 12, 1)


def test_erasure_cancels_ahead_withdraws_pushes_and_keeps_an_anonymous_case(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        case = new_case(s, "debt")
        case.resident.telegram_user_id, case.conversation_id = 5150, "tg-5150"
        appt = engine.book(s, case, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        engine.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
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
        assert s.execute(select(InboundMessage).where(InboundMessage.chat_id == 5150)).first() is None
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
        assert s.execute(select(InboundMessage).where(InboundMessage.chat_id == 6160)).first() is None


def _agent(s):  # type: ignore[no-untyped-def]
    return accounts.create_user(s, "agent.wu", "correct horse battery", role="agent", display_name="吴", actor="test")


def test_erasure_leaves_no_copy_in_pushes_handoffs_or_the_audit_log(db):
    phone_in_summary = "邻居吵闹，我的电话13945612378"
    with db.transaction() as s:
        sp = single_mediator_point(s)
        case = new_case(s, "neighbor")
        case.summary = phone_in_summary
        case.resident.telegram_user_id, case.conversation_id = 5252, "tg-5252"
        case.resident.conversation_id = "tg-5252"
        engine.book(s, case, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        handoff, _ = handoffs.request(s, "tg-5252", reason="request_human", dispute_type="neighbor")
        agent = _agent(s)
        queue.take(s, handoff.id, agent, now=NOW)
        queue.reply(s, handoff.id, agent, "王桂芝您好，您的电话13945612378我记下了", now=NOW)
        handoff.note = "dispute_type=neighbor\n王桂芝说邻居姓李"
        handoff_id = handoff.id
    with db.transaction() as s:
        report = erasure.erase(s, telegram_user_id=5252, conversation_id="tg-5252", chat_id=5252, now=NOW)
    assert report.found and report.job_id is not None
    with db.reader() as s:
        payloads = [json.dumps(p, ensure_ascii=False) for p in s.execute(select(OutboxMessage.payload)).scalars()]
        assert not [p for p in payloads if "13945612378" in p or "王桂芝" in p or "tg-5252" in p]
        mediator_rows = s.execute(select(OutboxMessage).where(OutboxMessage.recipient_type == "mediator")).scalars()
        assert {r.payload.get("summary") for r in mediator_rows if r.payload} == {erasure.ERASED_SUMMARY}
        handoff = s.get(Handoff, handoff_id)
        assert handoff.status == "closed" and handoff.conversation_id == erasure.ERASED_CONVERSATION
        assert handoff.note == "dispute_type=neighbor"  # the category stays for the statistics
        actors = s.execute(select(AuditEntry.actor)).scalars().all()
        assert not [a for a in actors if "5252" in a]
        assert journal.chat_actor("tg-5252") in actors  # the assistant's steps, under a keyed pseudonym
        job = s.get(TranscriptErasure, report.job_id)
        assert (job.status, job.conversation_id, job.chat_id, job.reason) == ("pending", "tg-5252", 5252, "resident")


def test_the_transcript_job_is_retried_until_confirmed_and_then_tells_the_resident(db):
    with db.transaction() as s:
        report = erasure.erase(s, telegram_user_id=5353, conversation_id="tg-5353", chat_id=5353, now=NOW)
    with db.transaction() as s:
        # The bot tries it at once, while the resident waits: no other worker takes it meanwhile.
        assert erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=5)) == []
        erasure.transcript_erasure_failed(s, report.job_id, error="ConnectError: rasa down tg-5353",
                                          now=NOW + dt.timedelta(seconds=5))
    with db.transaction() as s:
        assert erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=34)) == []
        [job] = erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=36))
        assert job.attempts == 2 and job.conversation_id == "tg-5353"
        assert erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=36)) == []  # leased
        erasure.transcript_erasure_failed(s, job.id, error="rasa down", now=NOW + dt.timedelta(seconds=36))
    with db.transaction() as s:
        assert erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=95)) == []  # 1 minute now
        [again] = erasure.claim_transcript_erasures(s, now=NOW + dt.timedelta(seconds=97))
        assert again.attempts == 3
        assert erasure.transcript_erased(s, again.id, now=NOW + dt.timedelta(minutes=1))
        assert not erasure.transcript_erased(s, again.id, now=NOW + dt.timedelta(minutes=1))
    with db.reader() as s:
        job = s.get(TranscriptErasure, report.job_id)
        assert job.status == "done" and job.conversation_id is None and job.chat_id is None
        told = s.execute(select(OutboxMessage).where(OutboxMessage.template == "transcript_erased")).scalar_one()
        assert told.recipient_type == "chat" and told.payload == {"conversation_id": "tg-5353"}
    [delivery] = outbox.claim_due(db, now=NOW + dt.timedelta(minutes=2))
    assert delivery.chat_id == 5353
    with db.transaction() as s:
        outbox.mark_sent(s, delivery.outbox_id, now=NOW + dt.timedelta(minutes=2))
    with db.reader() as s:
        assert s.get(OutboxMessage, delivery.outbox_id).payload == {}  # sent: whom it went to is forgotten


def test_retention_wipes_old_copies_and_expires_quiet_transcripts(db):
    old = NOW - dt.timedelta(days=100)
    with db.transaction() as s:
        sp = single_mediator_point(s)
        busy = new_case(s, "debt")
        busy.conversation_id = "tg-busy"
        engine.book(s, busy, point_id=sp.id, starts_at=local(TUESDAY, 9, 30), actor="test", now=NOW)
        sent = journal.enqueue(s, key="old:1", recipient_type=RecipientType.CHAT, recipient_id=None,
                               template="agent_reply", payload={"conversation_id": "tg-1", "text": "13945612378"},
                               due_at=old)
        sent.status, sent.created_at = "sent", old
        fresh = journal.enqueue(s, key="new:1", recipient_type=RecipientType.CHAT, recipient_id=None,
                                template="agent_reply", payload={"conversation_id": "tg-2", "text": "新"}, due_at=NOW)
        fresh.status = "sent"
        closed, _ = handoffs.request(s, "tg-quiet", reason="request_human", dispute_type="debt")
        closed.status, closed.closed_at = "closed", old
        closed.note = "dispute_type=debt\n居民说了很多私事"
        kept_id, _ = inbox.receive(s, update_id=91, chat_id=91, conversation_id="tg-91", text="我的事", meta={},
                                   now=old)
        s.get(InboundMessage, kept_id).status = "kept"
        gone_id, _ = inbox.receive(s, update_id=92, chat_id=92, conversation_id="tg-92", text="", meta={}, now=old)
        s.get(InboundMessage, gone_id).status = "delivered"
        chat_buttons.issue(s, chat_id=93, buttons=[("好", "/affirm")], now=old)
        agent = _agent(s)
        accounts.start_session(s, agent, now=old)
        accounts.start_session(s, agent, now=NOW)
        sent_id, fresh_id, closed_id = sent.id, fresh.id, closed.id
    with db.transaction() as s:
        report = retention.enforce(s, now=NOW)
        requested = retention.expire_transcripts(s, ["tg-quiet", "tg-busy"], now=NOW)
        assert retention.expire_transcripts(s, ["tg-quiet"], now=NOW) == 0  # one job per conversation
    assert report.pushes_wiped >= 1 and report.notes_cut == 1 and report.kept_texts_erased == 1
    assert report.inbound_deleted == 1 and report.buttons_deleted == 1 and requested == 1
    assert report.sessions_deleted == 1
    with db.reader() as s:
        assert s.get(OutboxMessage, sent_id).payload == {} and s.get(OutboxMessage, fresh_id).payload
        assert s.get(Handoff, closed_id).note == "dispute_type=debt"
        assert s.get(InboundMessage, kept_id).text == "" and s.get(InboundMessage, gone_id) is None
        jobs = s.execute(select(TranscriptErasure.conversation_id, TranscriptErasure.reason)).all()
        assert jobs == [("tg-quiet", "retention")]  # the booked case's conversation is still in hand
