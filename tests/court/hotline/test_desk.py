"""The hotline desk's rules: accounts, the queue, taking over a chat, phone intakes."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from court.hotline import accounts, intake_links, queue, handoffs
from court.messaging import outbox
from court.records import residents, workcalendar
from court.core.errors import (ConsentRequired, HandoffUnavailable, IntakeLinkInvalid, NotFound, PermissionDenied,
                          ResidentLeft, TextTooLong, ValidationError)
from court.core.privacy import mask_phone
from court.core.settings import LOCAL_TZ
from court.store.schema import AuditEntry, Case, DeskUser, Handoff, IntakeLink, OutboxMessage, Resident
from tests.factories import NOW, new_case
from tests.races import race

PASSWORD = "correct horse 12368"
PHONE = "13945612378"
RACERS = 20


def _user(db, username: str, role: str = "agent", name: str = "李敏") -> accounts.DeskUser:
    with db.transaction() as s:
        return accounts.create_user(s, username, PASSWORD, role=role, display_name=name, actor="test", now=NOW)


def _handoff(db, conversation_id: str = "tg-501", *, dispute_type: str | None = "neighbor",
             phone: str | None = PHONE) -> int:
    with db.transaction() as s:
        if phone is not None:
            resident = residents.record_consent(s, conversation_id=conversation_id)
            residents.set_contact(s, resident, name="张三", phone=phone)
        handoff, _ = handoffs.request(s, conversation_id, reason="request_human", dispute_type=dispute_type)
        return handoff.id


def _audits(s, action: str) -> list[AuditEntry]:
    return s.execute(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)).scalars().all()


def _pushes(s, template: str) -> list[OutboxMessage]:
    return s.execute(select(OutboxMessage).where(OutboxMessage.template == template)
                     .order_by(OutboxMessage.id)).scalars().all()


# --- accounts -------------------------------------------------------------------


def test_create_user_hashes_the_password_and_validates(db):
    li = _user(db, "li.min")
    assert (li.username, li.display_name, li.role, li.is_admin) == ("li.min", "李敏", "agent", False)
    with db.reader() as s:
        row = s.get(DeskUser, li.id)
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        [entry] = _audits(s, "desk_user.create")
        assert entry.actor == "test" and entry.after == {"username": "li.min", "role": "agent"}
    for username, password, role, message in [
        ("li.min", PASSWORD, "agent", "已经存在"),
        ("Li Min!", PASSWORD, "agent", "用户名"),
        ("wang", "short", "agent", "至少需要10个字符"),
        ("wang", PASSWORD, "boss", "角色"),
    ]:
        with pytest.raises(ValidationError) as err, db.transaction() as s:
            accounts.create_user(s, username, password, role=role, display_name="王芳", actor="test")
        assert message in err.value.message


def test_authenticate_locks_after_five_failures_and_records_logins(db):
    li = _user(db, "li.min")
    with db.transaction() as s:
        assert accounts.authenticate(s, "nobody", PASSWORD, now=NOW) is None  # still spends a hash
        assert accounts.authenticate(s, "li.min", "wrong password", now=NOW) is None
        assert accounts.authenticate(s, " LI.MIN ", PASSWORD, now=NOW) == li
        assert s.get(DeskUser, li.id).last_login_at == NOW
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with db.transaction() as s:  # each failure commits on its own, as a web request would
            assert accounts.authenticate(s, "li.min", "wrong password", now=NOW) is None
    with db.transaction() as s:
        assert s.get(DeskUser, li.id).locked_until == NOW + accounts.LOCKOUT
        # Locked: the right password does not help until the lock runs out.
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW + dt.timedelta(minutes=14)) is None
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW + dt.timedelta(minutes=15)) == li
        row = s.get(DeskUser, li.id)
        assert row.failed_logins == 0 and row.locked_until is None
        assert [e.actor for e in _audits(s, "desk_user.locked")] == ["desk:li.min"]
        assert len(_audits(s, "desk_user.login")) == 2


def test_get_user_only_returns_active_accounts(db):
    li = _user(db, "li.min")
    with db.transaction() as s:
        assert accounts.get_user(s, li.id) == li
        assert accounts.get_user(s, 999_999) is None
        s.get(DeskUser, li.id).active = False
    with db.transaction() as s:
        assert accounts.get_user(s, li.id) is None
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW) is None


# --- the queue ------------------------------------------------------------------


def test_queue_lists_waiting_oldest_first_then_taken_with_masked_phones(db):
    li = _user(db, "li.min")
    first = _handoff(db, "tg-501", dispute_type="labor")
    second = _handoff(db, "tg-502", dispute_type=None, phone=None)  # no consent yet: nothing personal
    third = _handoff(db, "tg-503", phone="13945612379")
    with db.transaction() as s:
        # The third resident has a case: its summary shows, cut to 120 characters.
        resident = residents.find(s, conversation_id="tg-503")
        case = new_case(s, "debt")
        case.resident, case.summary = resident, "借钱不还" * 40
        s.get(Handoff, first).created_at = NOW - dt.timedelta(minutes=30)
        s.get(Handoff, second).created_at = NOW - dt.timedelta(minutes=20)
        s.get(Handoff, third).created_at = NOW - dt.timedelta(minutes=10)
    returned = _handoff(db, "tg-504")
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
    agents = [_user(db, f"agent{i:02d}") for i in range(RACERS)]
    handoff_id = _handoff(db)

    def attempt(i: int) -> str:
        with db.transaction() as s:
            queue.take(s, handoff_id, agents[i], now=NOW)
        return "ok"

    outcomes = Counter(race(RACERS, attempt))
    assert outcomes == Counter({"ok": 1, HandoffUnavailable.__name__: RACERS - 1})
    with db.reader() as s:
        handoff = s.get(Handoff, handoff_id)
        assert handoff.status == "taken" and handoff.taken_at == NOW
        [entry] = _audits(s, "handoff.take")
        assert entry.actor == f"desk:{handoff.agent}"
    with pytest.raises(HandoffUnavailable) as err, db.transaction() as s:
        queue.take(s, handoff_id, agents[0], now=NOW)
    assert err.value.message == "这个对话已被其他工作人员接手，或已结束。"


def test_view_is_for_the_agent_who_took_it_or_an_admin(db):
    li, wang, boss = _user(db, "li"), _user(db, "wang"), _user(db, "boss", role="admin", name="赵主任")
    handoff_id = _handoff(db)
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
    li, wang = _user(db, "li"), _user(db, "wang", name="王芳")
    handoff_id = _handoff(db)
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
        rows = _pushes(s, "agent_reply")
        assert len(rows) == 2 and rows[0].idempotency_key != rows[1].idempotency_key
        row = rows[0]
        assert (row.recipient_type, row.recipient_id, row.due_at) == ("chat", None, NOW)
        assert row.payload == {"conversation_id": "tg-501", "text": text, "agent": "李敏"}  # full-width kept
        assert row.idempotency_key.startswith(f"handoff:{handoff_id}:reply:")
        entries = _audits(s, "handoff.reply")
        assert [e.actor for e in entries] == ["desk:li", "desk:li"]
        for entry in s.execute(select(AuditEntry)).scalars():
            assert "12368的小李" not in repr((entry.before, entry.after)) and PHONE not in repr((entry.before,
                                                                                            entry.after))


def test_give_back_returns_the_chat_and_tells_the_resident(db):
    li, wang = _user(db, "li"), _user(db, "wang")
    handoff_id = _handoff(db)
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
        [row] = _pushes(s, "handoff_returned")
        assert row.recipient_type == "chat" and row.payload == {"conversation_id": "tg-501", "agent": "李敏",
                                                                "dispute_label": "邻里纠纷、相邻关系"}
        [entry] = _audits(s, "handoff.return")
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
    li = _user(db, "li")
    handoff_id = _handoff(db, "tg-511")
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
        assert queue.queue(s, now=NOW) == [] and [e.action for e in _audits(s, "handoff.leave")] == ["handoff.leave"]


def test_close_needs_a_note_and_admins_may_close_a_waiting_one(db):
    li, boss = _user(db, "li"), _user(db, "boss", role="admin", name="赵主任")
    taken, waiting = _handoff(db, "tg-601"), _handoff(db, "tg-602")
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
        assert [(r.payload["conversation_id"], r.recipient_type) for r in _pushes(s, "handoff_closed")] == [
            ("tg-601", "chat"), ("tg-602", "chat")]
        assert [e.actor for e in _audits(s, "handoff.close")] == ["desk:li", "desk:boss"]
        assert all("协商" not in repr(e.after) for e in _audits(s, "handoff.close"))
    with pytest.raises(HandoffUnavailable), db.transaction() as s:
        queue.close(s, taken, boss, note="再关一次", now=NOW)


def test_chat_pushes_are_claimed_by_their_conversation_id(db):
    li = _user(db, "li")
    handoff_id = _handoff(db, "tg-8000000001")
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


# --- a phone intake continued in chat -------------------------------------------


def _intake(db, user, **overrides) -> tuple[str, str]:
    fields = dict(dispute_type="labor", summary="饭店拖欠三个月工资八千元", phone="139 4567 0001", consent=True,
                  name="赵建国", now=NOW)
    with db.transaction() as s:
        return intake_links.create_intake(s, user, **(fields | overrides))


def test_create_intake_needs_consent_and_stores_only_a_hash(db):
    li = _user(db, "li")
    with pytest.raises(ConsentRequired):
        _intake(db, li, consent=False)
    with pytest.raises(ValidationError):
        _intake(db, li, phone="12345")
    reference, token = _intake(db, li)
    _, nameless = _intake(db, li, name=None, phone="13945670002")
    assert len(token) <= 64 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.source == "hotline" and case.status == "intake" and case.dispute_type == "labor"
        assert (case.resident.name, case.resident.phone) == ("赵建国", "13945670001")
        assert case.resident.consent_at == NOW
        link = s.execute(select(IntakeLink).where(IntakeLink.case_id == case.id)).scalar_one()
        assert link.token_hash != token and len(link.token_hash) == 64
        assert link.expires_at == NOW + dt.timedelta(hours=24) and link.created_by == "desk:li"
        assert [e.actor for e in _audits(s, "case.open")][-2:] == ["desk:li", "desk:li"]
        for entry in s.execute(select(AuditEntry)).scalars():
            assert token not in repr((entry.before, entry.after)) and "13945670001" not in repr(entry.after)
        assert s.execute(select(func.count()).select_from(Resident).where(
            Resident.phone == "13945670002", Resident.name.is_(None))).scalar_one() == 1
    assert nameless


def test_redeem_intake_binds_the_chat_once(db):
    li = _user(db, "li")
    reference, token = _intake(db, li)
    with db.transaction() as s:
        start = intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001, now=NOW)
    assert start == intake_links.IntakeStart(reference=reference, dispute_type="labor", summary="饭店拖欠三个月工资八千元",
                                             phone="13945670001", name="赵建国")
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.conversation_id == "tg-9001"
        assert (case.resident.telegram_user_id, case.resident.conversation_id) == (9001, "tg-9001")
        link = s.execute(select(IntakeLink).where(IntakeLink.case_id == case.id)).scalar_one()
        assert (link.used_at, link.used_chat_id) == (NOW, 9001)
    for conversation, chat in (("tg-9001", 9001), ("tg-9002", 9002)):  # a second use, even by the same chat
        with pytest.raises(IntakeLinkInvalid) as err, db.transaction() as s:
            intake_links.redeem_intake(s, token, conversation_id=conversation, telegram_user_id=chat, now=NOW)
        assert err.value.message == "这个链接已失效，请重新联系12368热线。"
    for bad in ("", "short", "x" * 65, "有中文的链接令牌有中文的链接令牌", "A" * 24):
        with pytest.raises(IntakeLinkInvalid), db.transaction() as s:
            intake_links.redeem_intake(s, bad, conversation_id="tg-9003", telegram_user_id=9003, now=NOW)


def test_an_expired_intake_link_is_refused(db):
    li = _user(db, "li")
    _, token = _intake(db, li, ttl=dt.timedelta(hours=1))
    with pytest.raises(IntakeLinkInvalid), db.transaction() as s:
        intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001,
                                   now=NOW + dt.timedelta(hours=1))


def test_a_caller_who_already_chats_gets_the_hotline_case_on_their_own_record(db):
    li = _user(db, "li")
    reference, token = _intake(db, li)
    with db.transaction() as s:
        chat = residents.record_consent(s, telegram_user_id=9001, conversation_id="tg-9001")
        residents.set_contact(s, chat, name="赵国", phone="13945670009")
        old_case = new_case(s)
        old_case.resident, chat_id = chat, chat.id
    with db.transaction() as s:
        start = intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001, now=NOW)
    assert (start.reference, start.phone, start.name) == (reference, "13945670001", "赵建国")  # the phone call's details
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.resident_id == chat_id and case.conversation_id == "tg-9001"
        mine = s.execute(select(Case.id).where(Case.resident_id == chat_id)).scalars().all()
        assert len(mine) == 2  # the earlier chat case and the hotline case, one resident
        husk = s.execute(select(Resident).where(Resident.phone.is_(None), Resident.anonymised_at.is_not(None))
                         ).scalars().all()
        assert len(husk) == 1 and husk[0].id != chat_id
        [merge] = _audits(s, "resident.merge")
        assert merge.entity_id == chat_id and merge.after["merged"] == husk[0].id


def test_a_chat_and_an_account_of_two_residents_are_refused_and_the_link_kept(db):
    li = _user(db, "li")
    _, token = _intake(db, li)
    with db.transaction() as s:
        residents.record_consent(s, telegram_user_id=9001, conversation_id="tg-9001")
        residents.record_consent(s, telegram_user_id=9005, conversation_id="tg-9005")
    with pytest.raises(ValidationError) as err, db.transaction() as s:
        intake_links.redeem_intake(s, token, conversation_id="tg-9005", telegram_user_id=9001, now=NOW)
    assert not isinstance(err.value, IntakeLinkInvalid) and "12368" in err.value.message
    with db.transaction() as s:  # the refusal rolled back: the caller can still open it from another chat
        assert intake_links.redeem_intake(s, token, conversation_id="tg-9002", telegram_user_id=9002, now=NOW)


def test_twenty_chats_opening_one_link_at_once(db):
    li = _user(db, "li")
    reference, token = _intake(db, li)

    def attempt(i: int) -> str:
        with db.transaction() as s:
            return intake_links.redeem_intake(s, token, conversation_id=f"tg-{7000 + i}", telegram_user_id=7000 + i,
                                              now=NOW).reference

    outcomes = Counter(race(RACERS, attempt))
    assert outcomes == Counter({reference: 1, IntakeLinkInvalid.__name__: RACERS - 1})
    with db.reader() as s:
        assert len(_audits(s, "intake.redeem")) == 1


# --- the command line -----------------------------------------------------------


def test_cli_adds_a_desk_user_with_the_password_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = os.environ | {"DATABASE_URL": url}

    def cli(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "court.admin.cli", *args], env=env | {"DESK_PASSWORD": password}, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)

    assert cli("migrate").returncode == 0
    made = cli("add-desk-user", "li.min", "--role", "admin", "--name", "李敏")
    assert made.returncode == 0 and "li.min" in made.stdout and PASSWORD not in made.stdout
    short = cli("add-desk-user", "wang", "--role", "agent", "--name", "王芳", password="short")
    assert short.returncode == 1 and "至少需要10个字符" in short.stderr
    assert cli("add-desk-user", "li.min", "--name", "李敏").returncode == 1  # exists already
    from court.store.db import Database
    db = Database(url)
    try:
        with db.transaction() as s:
            user = accounts.authenticate(s, "li.min", PASSWORD, now=NOW)
            assert user is not None and user.role == "admin" and user.display_name == "李敏"
    finally:
        db.dispose()


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
            assert item.dispute_label == queue._label(dispute)
            assert item.summary == ((case.summary or "")[:queue.SUMMARY_PREVIEW] if case else "")
            assert item.phone_masked == (mask_phone(resident.phone) if resident else "")
    assert items["tg-601"].dispute_label == queue._label("debt")  # the resident's newer case counts
    assert items["tg-603"].dispute_label == queue.UNCLASSIFIED and items["tg-603"].phone_masked == ""


def test_a_close_the_assistant_missed_is_retried_like_a_give_back(db):
    li = _user(db, "li")
    handoff_id = _handoff(db, "tg-611")
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
    other = _handoff(db, "tg-612")
    with db.transaction() as s:
        queue.take(s, other, li, now=NOW)
        queue.close(s, other, li, note="好的。", now=NOW)
        queue.resume_done(s, other, now=NOW)
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(hours=1)) == []


def test_a_retry_the_conversation_moved_past_is_settled_not_resumed(db):
    li = _user(db, "li")
    first = _handoff(db, "tg-613")
    with db.transaction() as s:
        queue.take(s, first, li, now=NOW)
        queue.close(s, first, li, note="已处理。", now=NOW)
        queue.resume_failed(s, first, now=NOW)
    second = _handoff(db, "tg-613")  # the resident asked again: the assistant must stay paused
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(minutes=1)) == []
    with db.reader() as s:
        assert s.get(Handoff, first).resume_next_at is None and s.get(Handoff, second).status == "waiting"


def test_a_resident_who_leaves_while_an_agent_holds_the_chat_is_shown_to_the_agent(db):
    li = _user(db, "li")
    handoff_id = _handoff(db, "tg-621")
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
        assert _pushes(s, "agent_reply") == []


def test_an_erased_conversation_is_not_given_back_to_the_assistant(db):
    from court.records import erasure

    li = _user(db, "li")
    handoff_id = _handoff(db, "tg-631")
    with db.transaction() as s:
        queue.take(s, handoff_id, li, now=NOW)
        queue.close(s, handoff_id, li, note="已处理。", now=NOW)
        queue.resume_failed(s, handoff_id, now=NOW)
    with db.transaction() as s:
        erasure.erase(s, telegram_user_id=631, conversation_id="tg-631", chat_id=631, now=NOW)
    with db.transaction() as s:
        assert handoffs.resumes_due(s, now=NOW + dt.timedelta(hours=1)) == []
        assert queue.queue(s, now=NOW) == []
