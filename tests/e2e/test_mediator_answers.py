"""Answers that reach the right person once: the mediator's /week with 接受 / 拒绝, the acceptance
deadline handing an unanswered appointment to a colleague, one confirmation per change in the
resident's own chat, and a resident who blocked the bot. Through the fake Bot API, the bot and the
housekeeping process as their own processes, Rasa, the action server and the database."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from court.booking import acceptance
from court.hotline import queue
from court.store.schema import Appointment, Case, Handoff, OutboxMessage, Resident
from tests.e2e.test_paused import _agent, _waiting
from tests.e2e.test_telegram import (
    _team,
    book_by_chat,
    book_direct,
    eventually,
    has_button,
    press,
    resident,
    say,
    xigangzi,
)
from tests.factories import NOW

WEDNESDAY = dt.date(2026, 12, 2)
FORBIDDEN = "Forbidden: bot was blocked by the user"


def _bot_texts_after(user, mark: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.get("text") or "" for m in user.history()
            if m["message_id"] > mark and m.get("from", {}).get("is_bot")]


def _venues_after(user, mark: int) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for m in user.history() if m["message_id"] > mark and "venue" in m)


def test_week_offers_accept_and_decline_for_each_waiting_appointment_and_a_second_press_does_nothing(
        telegram, stack_db):
    me = resident(telegram)
    appt_id, mediator_id, reference = book_direct(stack_db, me.id, telegram, day=WEDNESDAY)
    mediator = _team[mediator_id]
    mediator.wait_for(reference)  # the push, left unanswered
    mark = mediator.mark()
    mediator.command("week")
    agenda = mediator.wait_for(lambda m: reference in (m.get("text") or "") and "未来七天" in m["text"], after=mark)
    assert "点下面" in agenda["text"]
    offer = mediator.wait_for(lambda m: has_button("接受", reference)(m) and m["text"].startswith("待确认"),
                              after=mark)
    assert has_button("拒绝", reference)(offer)
    token = offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    press(mediator, "接受", "已接受", where=f"案件 {reference}")
    assert reference in me.wait_for("调解员已确认")["text"]
    # The same button again: answered as used, nothing else happens.
    answers = len(mediator.callback_answers())
    mediator.press_data(offer["message_id"], token)
    assert eventually(lambda: len(mediator.callback_answers()) > answers)
    assert "已经处理过" in (mediator.callback_answers()[-1].get("text") or "")
    # The push's own 接受, pressed afterwards, changes nothing either.
    press(mediator, "接受", "已经接受过", where=f"案件编号：{reference}")
    time.sleep(1.5)
    assert sum("调解员已确认" in t for t in me.texts()) == 1
    with stack_db.reader() as s:
        assert s.get(Appointment, appt_id).status == "accepted"
    # Declining from /week hands the appointment on, as from the push.
    other = resident(telegram)
    second_id, second_mediator, second_ref = book_direct(stack_db, other.id, telegram, day=WEDNESDAY)
    declining = _team[second_mediator]
    declining.wait_for(second_ref)
    mark = declining.mark()
    declining.command("week")
    declining.wait_for(lambda m: has_button("拒绝", second_ref)(m) and m["text"].startswith("待确认"), after=mark)
    press(declining, "拒绝", "已拒绝", where=f"案件 {second_ref}")
    with stack_db.reader() as s:
        assert s.get(Appointment, second_id).status == "declined"


def test_an_appointment_not_accepted_in_time_alerts_the_desk_and_goes_to_a_colleague(telegram, stack, stack_db,
                                                                                      clock):
    me = resident(telegram)
    appt_id, owner, reference = book_direct(stack_db, me.id, telegram, day=WEDNESDAY)
    _team[owner].wait_for(reference)
    with stack_db.reader() as s:
        appt = s.get(Appointment, appt_id)
        due = acceptance.deadline(acceptance.pushed_at(s, appt), appt.starts_at)
    assert due == NOW + dt.timedelta(hours=24)
    stack.restart_housekeeping({"COURT_ACCEPT_HOURS": "24"})
    try:
        clock.set(due - dt.timedelta(minutes=5))
        time.sleep(2)  # a few housekeeping passes: not yet
        with stack_db.reader() as s:
            assert s.get(Appointment, appt_id).status == "booked"
        clock.set(due + dt.timedelta(seconds=30))
        told = me.wait_for("调解员有变动", timeout=30)
        assert reference in told["text"]
        _team[owner].wait_for(lambda m: reference in (m.get("text") or "") and "新的调解预约" not in m["text"])
        with stack_db.reader() as s:
            case_id = s.get(Appointment, appt_id).case_id
            assert s.get(Appointment, appt_id).status == "cancelled"
            new = s.execute(select(Appointment).where(Appointment.case_id == case_id, Appointment.id != appt_id)
                            ).scalar_one()
            assert new.mediator_id != owner and new.status == "booked"
            alerts = s.execute(select(OutboxMessage).where(
                OutboxMessage.template == acceptance.ALERT_TEMPLATE, OutboxMessage.recipient_type == "court")
            ).scalars().all()
            assert [a.payload["reference"] for a in alerts].count(reference) == 1
            new_mediator = new.mediator_id
        if new_mediator in _team:
            _team[new_mediator].wait_for(lambda m: reference in (m.get("text") or "") and "新的调解预约" in m["text"])
        time.sleep(2)  # later passes: no second notice
        assert sum("调解员有变动" in t for t in me.texts()) == 1
    finally:
        stack.restart_housekeeping({"COURT_ACCEPT_HOURS": "0"})
        clock.set(NOW)


def _identify(user, reference: str, then: str) -> None:  # type: ignore[no-untyped-def]
    """The reference, then the phone if the conversation does not know it yet."""
    got = say(user, reference, lambda m: then in (m.get("text") or "") or "手机号" in (m.get("text") or ""))
    if then not in got["text"]:
        say(user, "13945612378", then)


def test_reschedule_and_cancel_in_the_chat_are_confirmed_once(telegram, stack_db):
    lat, lng = xigangzi(stack_db)
    me = resident(telegram)
    reference = book_by_chat(me, lat, lng)
    with stack_db.reader() as s:
        case_id = s.execute(select(Case.id).where(Case.reference == reference)).scalar_one()
    # Move it.
    say(me, "预约能改时间吗", "案件编号")
    _identify(me, reference, "哪天")
    offers = say(me, "后天上午", "请选一个时间")
    first = offers["reply_markup"]["inline_keyboard"][0][0]["text"]
    press(me, first, "请确认")
    mark = me.mark()
    moved = press(me, "确认", "改约成功")
    assert reference in moved["text"]
    time.sleep(3)  # the outbox is polled every 0.2 s: a push would have arrived
    after = _bot_texts_after(me, mark)
    assert sum("改约成功" in t for t in after) == 1
    assert not any("预约已改到新时间" in t for t in after), after
    assert _venues_after(me, mark) == 1
    # Cancel it.
    say(me, "取消预约", "案件编号")
    _identify(me, reference, "确定要取消")
    mark = me.mark()
    press(me, "确定取消", "已取消案件")
    time.sleep(3)
    after = _bot_texts_after(me, mark)
    assert sum("已取消" in t for t in after) == 1, after
    assert not any("【预约已取消】" in t for t in after)
    with stack_db.reader() as s:
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.recipient_type == "resident",
                                                     OutboxMessage.template.in_(("appointment_rescheduled",
                                                                                 "appointment_cancelled")))
                         ).scalars().all()
        assert not [r for r in rows if r.payload.get("reference") == reference]
        appts = s.execute(select(Appointment).where(Appointment.case_id == case_id)).scalars().all()
        assert [a.status for a in appts] == ["cancelled"]


def test_a_desk_reply_to_a_resident_who_blocked_the_bot_is_failed_once_and_the_court_alerted(
        telegram, stack, stack_db, clock):
    me = resident(telegram)
    _waiting(me)
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"tg-{me.id}")
                               .order_by(Handoff.id.desc())).scalars().first()
    clerk = _agent(stack_db)
    with stack_db.transaction() as s:
        queue.take(s, handoff_id, clerk, now=clock.now())
    me.block()
    try:
        with stack_db.transaction() as s:
            queue.reply(s, handoff_id, clerk, "您好，我是12368的刘芳，请问还需要帮忙吗？", now=clock.now())

        def failed_and_alerted() -> bool:
            with stack_db.reader() as s:
                row = s.execute(select(OutboxMessage).where(
                    OutboxMessage.template == "agent_reply",
                    OutboxMessage.idempotency_key.like(f"handoff:{handoff_id}:reply:%"))).scalar_one()
                alerts = [a for a in s.execute(select(OutboxMessage).where(
                    OutboxMessage.template == "recipient_blocked", OutboxMessage.recipient_type == "court")
                ).scalars() if a.payload.get("outbox_id") == row.id]
                return row.status == "failed" and (row.last_error or "").startswith("blocked") and len(alerts) == 1

        assert eventually(failed_and_alerted, timeout=20)
        time.sleep(2)  # no retry loop: one refused send to this chat
        refused = [c for c in telegram.calls("sendMessage")
                   if c.get("error_code") == 403 and str(c["params"].get("chat_id")) == str(me.id)]
        assert len(refused) == 1
    finally:
        me.unblock()
    # The bot is alive for everyone, and the resident who came back is heard again.
    other = resident(telegram)
    mark = other.mark()
    other.command("help")
    other.wait_for("命令：", after=mark)
    mark = me.mark()
    me.command("help")
    me.wait_for("命令：", after=mark)
    with stack_db.reader() as s:
        person = s.execute(select(Resident).where(Resident.telegram_user_id == me.id)).scalar_one_or_none()
        assert person is None or person.telegram_blocked_at is None


def test_a_reply_refused_with_403_mid_turn_ends_the_turn_without_a_retry_loop(telegram, stack_db):
    from tests.e2e.test_telegram import DESCRIPTION

    me = resident(telegram)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    before = len(telegram.calls("sendMessage"))
    telegram.fail_next("sendMessage", 403, FORBIDDEN)
    me.send(DESCRIPTION)
    assert eventually(lambda: any(c.get("error_code") == 403 for c in telegram.calls("sendMessage")[before:]))
    time.sleep(2)  # the rest of that turn is not sent, and nothing is retried
    refused = [c for c in telegram.calls("sendMessage")[before:] if c.get("error_code") == 403]
    assert len(refused) == 1
    # The bot carries on: the next message is answered.
    assert "人民调解" in say(me, DESCRIPTION, "人民调解")["text"]
