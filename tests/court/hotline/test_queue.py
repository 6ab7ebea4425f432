"""The hotline desk's queue: what agents see, taking over a chat, replying, giving it back, closing it."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import select

from court.core.errors import HandoffUnavailable, NotFound, PermissionDenied, ResidentLeft, TextTooLong, ValidationError
from court.core.privacy import mask_phone
from court.core.settings import LOCAL_TZ
from court.hotline import handoffs, queue
from court.messaging import outbox
from court.records import residents, workcalendar
from court.reference import labels
from court.store.schema import AuditEntry, Handoff, OutboxMessage
from tests.court.hotline.helpers import PHONE, RACERS, audits, new_handoff, new_user, pushes
from tests.factories import NOW, new_case
from tests.races import race


def test_queue_lists_waiting_oldest_first_then_taken_with_masked_phones(db):
    li = new_user(db, "li.min")
    first = new_handoff(db, "tg-501", dispute_type="labor")
    second = new_handoff(db, "tg-502", dispute_type=None, phone=None)  # no consent yet: nothing personal
    third = new_handoff(db, "tg-503", phone="13945612379")
    with db.transaction() as s:
        # The third resident has a case: its summary shows, cut to 120 characters.
        resident = residents.find(s, conversation_id="tg-503")
        case = new_case(s, "debt")
        case.resident, case.summary = resident, "借钱不还" * 40
        s.get(Handoff, first).created_at = NOW - dt.timedelta(minutes=30)
        s.get(Handoff, second).created_at = NOW - dt.timedelta(minutes=20)
        s.get(Handoff, third).created_at = NOW - dt.timedelta(minutes=10)
    returned = new_handoff(db, "tg-504")
    with db.transaction() as s:
        queue.take(s, first, li, now=NOW)
        queue.take(s, returned, li, now=NOW)
        queue.give_back(s, returned, li, now=NOW)
    with db.reader() as s:
        items = queue.queue(s, now=NOW)
    assert [(i.handoff_id, i.status) for i in items] == [(second, "waiting"), (third, "waiting"), (first, "taken")]
    by_id = {i.handoff_id: i for i in items}
    assert by_id[first].phone_masked == "139****2378" and by_id[first].agent == "li.min"
    assert by_id[first].dispute_label == "劳动争议、欠薪、工伤" and by_id[first].wait_minutes == 30
    assert by_id[first].waiting_since == NOW - dt.timedelta(minutes=30)
    assert (by_id[second].phone_masked, by_id[second].dispute_label, by_id[second].summary) == ("", "未分类", "")
    # The note names the dispute the resident asked about; the summary comes from their case.
    assert by_id[third].dispute_label == "邻里纠纷、相邻关系" and by_id[third].summary == ("借钱不还" * 40)[:120]
    assert all(PHONE not in repr(i) for i in items)


# --- taking over ----------------------------------------------------------------


def test_only_one_of_twenty_agents_takes_a_handoff(db):
    agents = [new_user(db, f"agent{i:02d}") for i in range(RACERS)]
    handoff_id = new_handoff(db)

    def attempt(i: int) -> str:
        with db.transaction() as s:
            queue.take(s, handoff_id, agents[i], now=NOW)
        return "ok"

    outcomes = Counter(race(RACERS, attempt))
    assert outcomes == Counter({"ok": 1, HandoffUnavailable.__name__: RACERS - 1})
    with db.reader() as s:
        handoff = s.get(Handoff, handoff_id)
        assert handoff.status == "taken" and handoff.taken_at == NOW
        [entry] = audits(s, "handoff.take")
        assert entry.actor == f"desk:{handoff.agent}"
    with pytest.raises(HandoffUnavailable) as err, db.transaction() as s:
        queue.take(s, handoff_id, agents[0], now=NOW)
    assert err.value.message == "这个对话已被其他工作人员接手，或已结束。"


def test_view_is_for_the_agent_who_took_it_or_an_admin(db):
    li, wang, boss = new_user(db, "li"), new_user(db, "wang"), new_user(db, "boss", role="admin", name="赵主任")
    handoff_id = new_handoff(db)
    with db.transaction() as s:
        case = new_case(s, "labor")
        s.get(Handoff, handoff_id).case_id = case.id
        reference = case.reference
    with pytest.raises(PermissionDenied) as err, db.reader() as s:
        queue.view(s, handoff_id, li)  # not taken yet
    assert err.value.message == "请先接手这个对话。"
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
    with db.reader() as s:
        seen = queue.view(s, handoff_id, li)
        assert (seen.conversation_id, seen.status, seen.agent, seen.reason) == ("tg-501", "taken", "li",
                                                                              "request_human")
        assert seen.reference == reference and seen.summary.startswith("楼上漏水")
        assert seen.dispute_label == "邻里纠纷、相邻关系"  # what the resident asked about, from the note
        assert (seen.resident_name, seen.resident_phone) == ("张三", PHONE)
        assert queue.view(s, handoff_id, boss).resident_phone == PHONE
        with pytest.raises(PermissionDenied):
            queue.view(s, handoff_id, wang)
        with pytest.raises(NotFound):
            queue.view(s, 999_999, li)


def test_reply_enqueues_a_chat_push_and_audits_without_the_text(db):
    li, wang = new_user(db, "li"), new_user(db, "wang", name="王芳")
    handoff_id = new_handoff(db)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        queue.reply(s, handoff_id, li, "您好", now=NOW)  # not taken yet
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
    text = "您好，我是12368的小李。请问您的电话是13945612378吗？"
    with db.transaction() as s:
        queue.reply(s, handoff_id, li, f"  {text}  ", now=NOW)
        queue.reply(s, handoff_id, li, text, now=NOW)  # the same words twice are two messages
    with pytest.raises(PermissionDenied), db.transaction() as s:
        queue.reply(s, handoff_id, wang, "插一句", now=NOW)
    with pytest.raises(TextTooLong), db.transaction() as s:
        queue.reply(s, handoff_id, li, "字" * 2001, now=NOW)
    with db.reader() as s:
        rows = pushes(s, "agent_reply")
        assert len(rows) == 2 and rows[0].idempotency_key != rows[1].idempotency_key
        row = rows[0]
        assert (row.recipient_type, row.recipient_id, row.due_at) == ("chat", None, NOW)
        assert row.payload == {"conversation_id": "tg-501", "text": text, "agent": "李敏"}  # full-width kept
        assert row.idempotency_key.startswith(f"handoff:{handoff_id}:reply:")
        entries = audits(s, "handoff.reply")
        assert [e.actor for e in entries] == ["desk:li", "desk:li"]
        for entry in s.execute(select(AuditEntry)).scalars():
            assert "12368的小李" not in repr((entry.before, entry.after)) and PHONE not in repr((entry.before,
                                                                                            entry.after))


def test_give_back_returns_the_chat_and_tells_the_resident(db):
    li, wang = new_user(db, "li"), new_user(db, "wang")
    handoff_id = new_handoff(db)
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        queue.give_back(s, handoff_id, wang, now=NOW)
    with db.transaction() as s:
        assert queue.give_back(s, handoff_id, li, now=NOW) == "tg-501"
    with db.reader() as s:
        handoff = s.get(Handoff, handoff_id)
        # 'returning' until the assistant confirms; only then 'returned'.
        assert handoff.status == "returning" and handoff.returned_at == NOW
        [row] = pushes(s, "handoff_returned")
        assert row.recipient_type == "chat" and row.payload == {"conversation_id": "tg-501", "agent": "李敏",
                                                                "dispute_label": "邻里纠纷、相邻关系"}
        [entry] = audits(s, "handoff.return")
        assert entry.before["status"] == "taken" and entry.after["status"] == "returning"
        assert queue.queue(s, now=NOW) == []
    with db.transaction() as s:
        queue.resume_done(s, handoff_id, now=NOW)
    with db.reader() as s:
        assert s.get(Handoff, handoff_id).status == "returned"
    for action in (lambda s: queue.give_back(s, handoff_id, li, now=NOW),
                   lambda s: queue.reply(s, handoff_id, li, "还在吗", now=NOW)):
        with pytest.raises(HandoffUnavailable), db.transaction() as s:
            action(s)


def test_a_give_back_the_assistant_missed_stays_queued_and_is_retried_with_backoff(db):
    li = new_user(db, "li")
    handoff_id = new_handoff(db, "tg-511")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
        queue.give_back(s, handoff_id, li, now=NOW)
    with db.transaction() as s:
        queue.resume_failed(s, handoff_id, now=NOW)
    with db.reader() as s:
        [item] = queue.queue(s, now=NOW)
        assert item.status == "returning" and item.resume_failed
        assert handoffs.resumes_due(s, now=NOW) == []  # backoff
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(seconds=11)) == [(handoff_id, "tg-511")]
        assert not handoffs.holds_chat(s, "tg-511")  # given back: the assistant may answer
    with db.transaction() as s:
        queue.resume_failed(s, handoff_id, now=NOW + dt.timedelta(seconds=11))
    with db.reader() as s:
        assert s.get(Handoff, handoff_id).resume_next_at == NOW + dt.timedelta(seconds=31)
    with db.transaction() as s:
        queue.resume_done(s, handoff_id, now=NOW + dt.timedelta(seconds=40))
    with db.reader() as s:
        assert s.get(Handoff, handoff_id).status == "returned" and queue.queue(s, now=NOW) == []


def test_waiting_is_acknowledged_once_left_by_the_resident_and_overdue_in_staffed_time(db):
    conv = "tg-521"
    with db.transaction() as s:
        handoff, _ = handoffs.request(s, conv, reason="request_human")
        handoff.created_at = NOW
    with db.transaction() as s:
        assert handoffs.acknowledge(s, conv, now=NOW) is True
    with db.transaction() as s:
        assert handoffs.acknowledge(s, conv, now=NOW) is False
    with db.transaction() as s:
        cal = workcalendar.of(s)
        # Staffed minutes only: a Friday 16:00 wait is 60 minutes by Monday 8:30, 120 by 9:30.
        friday4 = dt.datetime(2026, 11, 27, 16, 0, tzinfo=LOCAL_TZ)
        assert handoffs.staffed_minutes(cal, friday4, dt.datetime(2026, 11, 30, 8, 30, tzinfo=LOCAL_TZ)) == 60
        assert handoffs.staffed_minutes(cal, friday4, dt.datetime(2026, 11, 30, 9, 30, tzinfo=LOCAL_TZ)) == 120
        s.get(Handoff, handoff.id).created_at = friday4
    with db.transaction() as s:
        assert handoffs.mark_overdue(s, workcalendar.of(s), now=dt.datetime(2026, 11, 30, 9, 0, tzinfo=LOCAL_TZ)) == []
    with db.transaction() as s:
        late = handoffs.mark_overdue(s, workcalendar.of(s), now=dt.datetime(2026, 11, 30, 9, 31, tzinfo=LOCAL_TZ))
        assert [h.id for h in late] == [handoff.id]
    with db.transaction() as s:
        assert handoffs.mark_overdue(s, workcalendar.of(s), now=dt.datetime(2026, 11, 30, 12, 0, tzinfo=LOCAL_TZ)) == []
        [item] = queue.queue(s, now=NOW)
        assert item.overdue and not item.automatic
    with db.transaction() as s:
        assert handoffs.leave(s, conv, now=NOW) is True
    with db.reader() as s:
        assert s.get(Handoff, handoff.id).status == "closed" and "居民取消转人工" in s.get(Handoff, handoff.id).note
        assert queue.queue(s, now=NOW) == [] and [e.action for e in audits(s, "handoff.leave")] == ["handoff.leave"]


def test_close_needs_a_note_and_admins_may_close_a_waiting_one(db):
    li, boss = new_user(db, "li"), new_user(db, "boss", role="admin", name="赵主任")
    taken, waiting = new_handoff(db, "tg-601"), new_handoff(db, "tg-602")
    with db.transaction() as s:
        queue.take(s, taken, li, now=NOW)
    with pytest.raises(ValidationError), db.transaction() as s:
        queue.close(s, taken, li, note="  ", now=NOW)
    with pytest.raises(TextTooLong), db.transaction() as s:
        queue.close(s, taken, li, note="字" * 501, now=NOW)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        queue.close(s, waiting, li, note="无人接听", now=NOW)  # agents take first
    with db.transaction() as s:
        assert queue.close(s, taken, li, note="已电话联系，居民表示先自行协商。", now=NOW) == "tg-601"
        assert queue.close(s, waiting, boss, note="重复请求", now=NOW) == "tg-602"
    with db.reader() as s:
        first = s.get(Handoff, taken)
        assert first.status == "closed" and first.closed_at == NOW
        assert first.note.endswith("已电话联系，居民表示先自行协商。") and "dispute_type=neighbor" in first.note
        assert [(r.payload["conversation_id"], r.recipient_type) for r in pushes(s, "handoff_closed")] == [
            ("tg-601", "chat"), ("tg-602", "chat")]
        assert [e.actor for e in audits(s, "handoff.close")] == ["desk:li", "desk:boss"]
        assert all("协商" not in repr(e.after) for e in audits(s, "handoff.close"))
    with pytest.raises(HandoffUnavailable), db.transaction() as s:
        queue.close(s, taken, boss, note="再关一次", now=NOW)


def test_chat_pushes_are_claimed_by_their_conversation_id(db):
    li = new_user(db, "li")
    handoff_id = new_handoff(db, "tg-8000000001")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
        queue.reply(s, handoff_id, li, "您好", now=NOW)
        # A malformed conversation id cannot be delivered: failed, not retried forever.
        bad = OutboxMessage(idempotency_key="chat:bad", recipient_type="chat", recipient_id=None,
                            template="agent_reply", payload={"conversation_id": "wx-7", "text": "x"},
                            due_at=NOW, next_attempt_at=NOW)
        s.add(bad)
        # A web conversation's push is the web chat's to deliver: handed over, untouched.
        s.add(OutboxMessage(idempotency_key="chat:web", recipient_type="chat", recipient_id=None,
                            template="agent_reply", payload={"conversation_id": "web-7", "text": "x"},
                            due_at=NOW, next_attempt_at=NOW))
    [delivery] = outbox.claim_due(db, now=NOW)
    assert (delivery.recipient_type, delivery.recipient_id, delivery.chat_id) == ("chat", None, 8_000_000_001)
    assert delivery.template == "agent_reply" and delivery.payload["text"] == "您好" and delivery.attempts == 1
    with db.transaction() as s:
        assert s.execute(select(OutboxMessage.status, OutboxMessage.last_error).where(
            OutboxMessage.idempotency_key == "chat:bad")).one() == ("failed", "no_telegram_chat")
        assert s.execute(select(OutboxMessage.status, OutboxMessage.channel, OutboxMessage.attempts).where(
            OutboxMessage.idempotency_key == "chat:web")).one() == ("pending", "web", 0)
        assert outbox.mark_sent(s, delivery.outbox_id, now=NOW)


def test_the_queue_reads_in_bulk_what_one_handoff_reads_alone(db):
    """The queue loads cases and residents for all handoffs at once; it must agree with context()."""
    with db.transaction() as s:
        consented = residents.record_consent(s, conversation_id="tg-601")
        residents.set_contact(s, consented, name="张三", phone=PHONE)
        older = new_case(s, "labor")
        older.resident = consented
        newer = new_case(s, "debt")
        newer.resident = consented
        anonymous_case = new_case(s, "family")
        anonymous_case.conversation_id = "tg-602"  # a case by conversation, no resident on the handoff
        handoffs.request(s, "tg-601", reason="request_human")
        handoffs.request(s, "tg-602", reason="frustration", dispute_type="neighbor")
        handoffs.request(s, "tg-603", reason="misunderstood")  # nothing known at all
    with db.reader() as s:
        items = {i.conversation_id: i for i in queue.queue(s, now=NOW)}
        for h in s.execute(select(Handoff)).scalars():
            case, resident, dispute = queue.context(s, h)
            item = items[h.conversation_id]
            assert item.dispute_label == labels.dispute(dispute)
            assert item.summary == ((case.summary or "")[:queue.SUMMARY_PREVIEW] if case else "")
            assert item.phone_masked == (mask_phone(resident.phone) if resident else "")
    assert items["tg-601"].dispute_label == labels.dispute("debt")  # the resident's newer case counts
    assert items["tg-603"].dispute_label == labels.UNCLASSIFIED and items["tg-603"].phone_masked == ""


def test_a_close_the_assistant_missed_is_retried_like_a_give_back(db):
    li = new_user(db, "li")
    handoff_id = new_handoff(db, "tg-611")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
        queue.close(s, handoff_id, li, note="已电话联系。", now=NOW)
    with db.transaction() as s:
        queue.resume_failed(s, handoff_id, now=NOW)
    with db.transaction() as s:
        handoff = s.get(Handoff, handoff_id)
        assert handoff.status == "closed" and handoff.resume_attempts == 1  # stays closed: the desk is done with it
        [item] = queue.queue(s, now=NOW)
        assert item.status == "closed" and item.resume_failed and not item.resident_left
        assert handoffs.resumes_due(s, now=NOW) == []  # backoff
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(seconds=11)) == [(handoff_id, "tg-611")]
        assert not handoffs.holds_chat(s, "tg-611")
    with db.transaction() as s:
        queue.resume_done(s, handoff_id, now=NOW + dt.timedelta(seconds=12))
    with db.transaction() as s:
        assert s.get(Handoff, handoff_id).status == "closed" and s.get(Handoff, handoff_id).resume_next_at is None
        assert queue.queue(s, now=NOW) == [] and handoffs.resumes_due(s, now=NOW + dt.timedelta(hours=1)) == []
    # Closed while the assistant was up: confirmed at once, never retried.
    other = new_handoff(db, "tg-612")
    with db.transaction() as s:
        queue.take(s, other, li, now=NOW)
        queue.close(s, other, li, note="好的。", now=NOW)
        queue.resume_done(s, other, now=NOW)
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(hours=1)) == []


def test_a_retry_the_conversation_moved_past_is_settled_not_resumed(db):
    li = new_user(db, "li")
    first = new_handoff(db, "tg-613")
    with db.transaction() as s:
        queue.take(s, first, li, now=NOW)
        queue.close(s, first, li, note="已处理。", now=NOW)
        queue.resume_failed(s, first, now=NOW)
    second = new_handoff(db, "tg-613")  # the resident asked again: the assistant must stay paused
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(minutes=1)) == []
    with db.reader() as s:
        assert s.get(Handoff, first).resume_next_at is None and s.get(Handoff, second).status == "waiting"


def test_a_resident_who_leaves_while_an_agent_holds_the_chat_is_shown_to_the_agent(db):
    li = new_user(db, "li")
    handoff_id = new_handoff(db, "tg-621")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
    with db.transaction() as s:
        assert handoffs.leave(s, "tg-621", now=NOW + dt.timedelta(minutes=2))
    with db.reader() as s:
        [item] = queue.queue(s, now=NOW + dt.timedelta(minutes=3))
        assert item.resident_left and item.status == "closed" and item.agent == "li" and not item.resume_failed
        assert queue.queue(s, now=NOW + dt.timedelta(minutes=33)) == []  # for a while only
        with pytest.raises(ResidentLeft) as err:
            queue.view(s, handoff_id, li)
        assert "居民已取消转人工" in err.value.message
    with pytest.raises(HandoffUnavailable) as err, db.transaction() as s:
        queue.reply(s, handoff_id, li, "您好？", now=NOW + dt.timedelta(minutes=3))
    assert "居民已取消转人工" in err.value.message
    with db.reader() as s:
        assert pushes(s, "agent_reply") == []


def test_an_erased_conversation_is_not_given_back_to_the_assistant(db):
    from court.records import erasure

    li = new_user(db, "li")
    handoff_id = new_handoff(db, "tg-631")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
        queue.close(s, handoff_id, li, note="已处理。", now=NOW)
        queue.resume_failed(s, handoff_id, now=NOW)
    with db.transaction() as s:
        erasure.erase(s, telegram_user_id=631, conversation_id="tg-631", chat_id=631, now=NOW)
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(hours=1)) == []
        assert queue.queue(s, now=NOW) == []
