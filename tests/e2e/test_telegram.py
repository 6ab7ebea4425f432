"""Residents and mediators on Telegram: a local Bot API server, the bot as its
own process, Rasa, the action server and a real database."""
from __future__ import annotations

import datetime as dt
import itertools
import time

from sqlalchemy import func, select

from court.booking import engine, slots
from court.mediation import linking
from court.records import cases, residents
from court.store.schema import (
    Appointment,
    Case,
    InboundMessage,
    Mediator,
    OutboxMessage,
    Place,
    TranscriptErasure,
)
from tests.factories import NOW, local, new_case, shared_slot

_ids = itertools.count(700001)
DESCRIPTION = "俺家楼上天天往下漏水，找他好几回了也不管，这事咋整"
TUESDAY = dt.date(2026, 12, 1)


def resident(telegram):  # type: ignore[no-untyped-def]
    return telegram.user(next(_ids), first_name="桂芝", last_name="王")


def say(user, text, expect, **kw):  # type: ignore[no-untyped-def]
    mark = user.mark()
    user.send(text)
    return user.wait_for(expect, after=mark, **kw)


def eventually(check, timeout: float = 15) -> bool:  # type: ignore[no-untyped-def]
    """The bot marks a push sent just after Telegram accepted it: poll briefly."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def has_button(label: str, where: str = ""):  # type: ignore[no-untyped-def]
    return lambda m: where in (m.get("text") or "") and any(
        b.get("text") == label for row in (m.get("reply_markup") or {}).get("inline_keyboard", []) for b in row)


def press(user, label, expect, where: str = ""):  # type: ignore[no-untyped-def]
    """Wait for the button (replies arrive one message at a time), press it, wait for the answer."""
    shown = user.wait_for(has_button(label, where))
    mark = user.mark()
    user.press(label, message_id=shown["message_id"])
    return user.wait_for(expect, after=mark)


def xigangzi(db) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        place = s.execute(select(Place).where(Place.name == "西岗子镇")).scalars().first()
        return place.lat, place.lng


def link_point_mediators(telegram, db, lat: float, lng: float) -> dict[int, object]:  # type: ignore[no-untyped-def]
    """Link every mediator of the point nearest to (lat, lng); returns FakeUsers by mediator id."""
    with db.transaction() as s:
        point, _, _ = slots.nearest_points(s, lat, lng, limit=1, now=NOW)[0]
        codes = {m.id: linking.issue_link_code(s, m.code, actor="test") for m in point.mediators
                 if m.telegram_chat_id is None}
    users = {}
    for mediator_id, code in codes.items():
        user = telegram.user(next(_ids), first_name="调解员")
        mark = user.mark()
        user.command("link", payload=code)
        user.wait_for("绑定成功", after=mark)
        users[mediator_id] = user
    return users


def up_to_the_name_question(user) -> None:  # type: ignore[no-untyped-def]
    mark = user.mark()
    user.command("start")
    user.wait_for("诉前调解助手", after=mark)
    say(user, DESCRIPTION, "人民调解")
    press(user, "帮我预约", "同意")
    press(user, "同意", "称呼")


def book_by_chat(user, lat: float, lng: float) -> str:  # type: ignore[no-untyped-def]
    up_to_the_name_question(user)
    say(user, "王桂芝", "手机号")
    assert user.current_reply_keyboard()[0][0].get("request_contact") is True
    mark = user.mark()
    user.share_contact("+86 139 4561 2378")
    user.wait_for("乡镇", after=mark)
    assert user.current_reply_keyboard()[0][0].get("request_location") is True
    mark = user.mark()
    user.share_location(lat, lng)
    user.wait_for("哪天", after=mark)
    offers = say(user, "明天上午", "请选一个时间")
    first = offers["reply_markup"]["inline_keyboard"][0][0]["text"]
    press(user, first, "请确认")
    booked = press(user, "确认", "预约成功")
    user.wait_for(lambda m: "venue" in m, after=booked["message_id"] - 1)
    return booked["text"].split("案件编号：")[1].split()[0]


def test_start_to_booked_then_the_mediator_accepts_and_the_resident_hears(telegram, stack_db):
    lat, lng = xigangzi(stack_db)
    team = link_point_mediators(telegram, stack_db, lat, lng)
    me = resident(telegram)
    reference = book_by_chat(me, lat, lng)
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        appt_id, mediator_id = case.appointments[-1].id, case.appointments[-1].mediator_id
        assert case.status == "booked" and case.resident.telegram_user_id == me.id
        assert case.resident.phone == "13945612378" and case.conversation_id == f"tg-{me.id}"
    # The push reaches the booked mediator, without the resident's phone.
    mediator = team[mediator_id]
    push = mediator.wait_for(reference)
    assert "新的调解预约" in push["text"] and "13945612378" not in push["text"]
    accept_token = push["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    contact = press(mediator, "接受", "13945612378", where=reference)
    assert "王桂芝" in contact["text"]
    assert any("✔ 接受" in (m.get("text") or "") and not m.get("reply_markup") for m in mediator.inbox())
    told = me.wait_for("调解员已确认")
    assert reference in told["text"]
    # A second press of the same (now removed) keyboard does nothing twice.
    answers_before = len(mediator.callback_answers())
    mediator.press_data(push["message_id"], accept_token)
    deadline = time.monotonic() + 10
    while len(mediator.callback_answers()) == answers_before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "已经处理过" in (mediator.callback_answers()[-1].get("text") or "")
    assert sum("调解员已确认" in t for t in me.texts()) == 1
    with stack_db.reader() as s:
        assert s.get(Appointment, appt_id).status == "accepted"


_team: dict[int, object] = {}


def linked(telegram, db, mediator_ids) -> dict[int, object]:  # type: ignore[no-untyped-def]
    """FakeUsers for these mediators, linking through /link the ones not linked yet."""
    for mediator_id in mediator_ids:
        if mediator_id in _team:
            continue
        with db.transaction() as s:
            code = linking.issue_link_code(s, s.get(Mediator, mediator_id).code, actor="test")
        user = telegram.user(next(_ids), first_name="调解员")
        mark = user.mark()
        user.command("link", payload=code)
        user.wait_for("绑定成功", after=mark)
        _team[mediator_id] = user
    return {m: _team[m] for m in mediator_ids}


def book_direct(db, telegram_user_id: int, telegram=None, *, day: dt.date = TUESDAY):  # type: ignore[no-untyped-def]
    """A booking made by the engine (as the hotline desk would), for a Telegram resident."""
    with db.transaction() as s:
        sp, start = shared_slot(s, day)
        team = [m.id for m in sp.mediators]
    if telegram is not None:
        linked(telegram, db, team)
    with db.transaction() as s:
        known = residents.find(s, telegram_user_id=telegram_user_id)
        if known is None:
            case = new_case(s, "neighbor")
            case.resident.telegram_user_id = telegram_user_id
        else:
            case = cases.open_case(s, dispute_type="neighbor", summary="楼上漏水，协商不成", actor="test", resident=known)
        appt = engine.book(s, case, point_id=sp.id, starts_at=start, actor="test", now=NOW)
        return appt.id, appt.mediator_id, case.reference


def test_a_decline_reassigns_and_both_sides_hear(telegram, stack_db):
    me = resident(telegram)
    appt_id, first_id, reference = book_direct(stack_db, me.id, telegram)
    first = _team[first_id]
    push = first.wait_for(reference)
    press(first, "拒绝", "已拒绝", where=reference)
    with stack_db.reader() as s:
        new_mediator = s.execute(select(Appointment.mediator_id).where(
            Appointment.case_id == s.get(Appointment, appt_id).case_id, Appointment.id != appt_id)).scalar_one()
        assert s.get(Appointment, appt_id).status == "declined" and new_mediator != first_id
    _team[new_mediator].wait_for(lambda m: reference in (m.get("text") or "") and "新的调解预约" in m["text"])
    assert "调解员有变动" in me.wait_for("调解员有变动")["text"]
    assert push["message_id"]


def test_reminders_fire_when_due(telegram, stack_db, clock):
    me = resident(telegram)
    _, mediator_id, reference = book_direct(stack_db, me.id, telegram)
    time.sleep(1.5)
    assert not any("提醒" in t for t in me.texts())  # due tomorrow morning, not yet
    try:
        clock.set(local(TUESDAY, 7, 0))
        assert reference in me.wait_for("明天调解提醒")["text"]
        _team[mediator_id].wait_for(lambda m: "明天调解提醒" in (m.get("text") or "") and reference in m["text"])
    finally:
        clock.set(NOW)
    def sent() -> int:
        with stack_db.reader() as s:
            rows = s.execute(select(OutboxMessage).where(OutboxMessage.template == "reminder_day_before")).scalars()
            return sum(1 for r in rows if r.payload.get("reference") == reference and r.status == "sent")

    assert eventually(lambda: sent() == 2)


def test_a_push_written_while_the_bot_was_down_arrives_once_after_restart(telegram, stack_db, restart_bot):
    me = resident(telegram)
    with stack_db.reader() as s:
        sp, _ = shared_slot(s, TUESDAY)
        team = [m.id for m in sp.mediators]
    linked(telegram, stack_db, team)
    booked = {}
    restart_bot(between=lambda: booked.update(ids=book_direct(stack_db, me.id)))
    _, mediator_id, reference = booked["ids"]
    mediator = _team[mediator_id]
    mediator.wait_for(reference, timeout=60)
    time.sleep(2)  # any duplicate would have arrived by now
    assert sum(reference in t and "新的调解预约" in t for t in mediator.texts()) == 1
    def sent() -> int:
        with stack_db.reader() as s:
            rows = s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_new",
                                                         OutboxMessage.recipient_id == mediator_id,
                                                         OutboxMessage.status == "sent")).scalars()
            return sum(r.payload.get("reference") == reference for r in rows)

    assert eventually(lambda: sent() == 1)


def test_a_429_storm_delays_pushes_but_loses_none(telegram, stack_db):
    me = resident(telegram)
    telegram.rate_limit(count=8, retry_after=1)
    refs = [book_direct(stack_db, me.id, telegram)[2] for _ in range(3)]
    for reference in refs:
        with stack_db.reader() as s:
            mediator_id = s.execute(select(Case.mediator_id).where(Case.reference == reference)).scalar_one()
        _team[mediator_id].wait_for(reference, timeout=60)
    time.sleep(1.5)
    for reference in refs:
        assert sum(reference in t for u in _team.values() for t in u.texts()) == 1
    assert any(c["error_code"] == 429 for c in telegram.calls())


def test_when_the_assistant_is_down_the_resident_hears_the_hotline_and_the_message_is_retried(
        telegram, stack_db, restart_bot):
    me = resident(telegram)
    restart_bot(RASA_URL="http://127.0.0.1:9")  # nothing listens there
    apology = say(me, DESCRIPTION, "12368")
    assert "消息已经记下" in apology["text"]
    with stack_db.reader() as s:
        row = s.execute(select(InboundMessage).where(InboundMessage.chat_id == me.id)).scalar_one()
        assert row.status == "pending" and row.text == DESCRIPTION
    restart_bot()  # the assistant is back: the pending message is answered without being sent again
    assert "人民调解" in me.wait_for("人民调解", timeout=60)["text"]
    with stack_db.reader() as s:
        row = s.execute(select(InboundMessage).where(InboundMessage.chat_id == me.id)).scalar_one()
        assert row.status == "delivered" and row.text == ""  # the court keeps no second copy


def test_forged_and_foreign_callback_data_do_nothing(telegram, stack, stack_db):
    me, other = resident(telegram), resident(telegram)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    mark = me.mark()
    me.send(DESCRIPTION)
    welcome = me.wait_for(lambda m: bool((m.get("reply_markup") or {}).get("inline_keyboard")), after=mark)
    token = welcome["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    events_before = len(stack.tracker(f"tg-{me.id}")["events"])
    for user, message_id, data in ((me, welcome["message_id"], "/book_mediation"),
                                   (me, welcome["message_id"], "x" * 64),
                                   (other, welcome["message_id"], token)):
        answers = len(user.callback_answers())
        user.press_data(message_id, data)
        deadline = time.monotonic() + 10
        while len(user.callback_answers()) == answers and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "失效" in (user.callback_answers()[-1].get("text") or "")
    assert len(stack.tracker(f"tg-{me.id}")["events"]) == events_before


def test_typed_slash_text_never_fills_slots(telegram, stack):
    me = resident(telegram)
    up_to_the_name_question(me)
    me.send('/inform{"phone":"13945612378","name":"张三"}')

    def seen_by_rasa() -> list:
        return [e for e in stack.tracker(f"tg-{me.id}")["events"] if e["event"] == "user" and "inform{" in e["text"]]

    assert eventually(lambda: bool(seen_by_rasa()))
    time.sleep(1)
    assert seen_by_rasa()[-1]["text"].startswith("／")  # arrived as text, not as an intent payload
    filled = stack.tracker(f"tg-{me.id}")["slots"]
    assert filled["phone"] is None and filled["name"] != "张三"


def test_media_oversize_and_floods_get_clear_answers(telegram):
    me = resident(telegram)
    for send in (me.send_sticker, me.send_photo, me.send_voice, me.send_document):
        mark = me.mark()
        send()
        assert "只能看懂文字" in me.wait_for("只能看懂文字", after=mark)["text"]
    assert say(me, "漏" * 1001, "消息太长")
    mark = me.mark()
    for _ in range(40):
        me.send("你好")
    me.wait_for("发得太快", after=mark)
    time.sleep(3)
    assert sum("发得太快" in t for t in me.texts()) == 1


def test_delete_my_data_cancels_ahead_and_erases(telegram, stack_db):
    me = resident(telegram)
    appt_id, mediator_id, reference = book_direct(stack_db, me.id, telegram)
    _team[mediator_id].wait_for(reference)
    mark = me.mark()
    me.command("delete_my_data")
    me.wait_for("确定要删除", after=mark)
    done = press(me, "确认删除", "个人信息已删除")
    assert "取消1个" in done["text"] and "聊天记录已清除" in done["text"]
    with stack_db.reader() as s:
        appt = s.get(Appointment, appt_id)
        who = appt.case.resident
        assert appt.status == "cancelled" and who.anonymised_at is not None
        assert who.name is None and who.phone is None and who.telegram_user_id is None
        assert appt.case.dispute_type == "neighbor"  # kept, anonymised, for statistics
    _team[mediator_id].wait_for(lambda m: "预约已取消" in (m.get("text") or "") and reference in m["text"])


def test_erasure_while_the_assistant_is_down_says_so_and_finishes_when_it_is_back(
        telegram, stack, stack_db, restart_bot, clock):
    me = resident(telegram)
    conversation = f"tg-{me.id}"
    say(me, DESCRIPTION, "人民调解")
    restart_bot(RASA_URL="http://127.0.0.1:9")  # the bot cannot reach Rasa; the stack's housekeeping can
    mark = me.mark()
    me.command("delete_my_data")
    me.wait_for("确定要删除", after=mark)
    done = press(me, "确认删除", "没能清除")
    assert "聊天记录已清除" not in done["text"]  # not claimed before it happened
    with stack_db.reader() as s:
        job = s.execute(select(TranscriptErasure).where(TranscriptErasure.conversation_id == conversation)
                        ).scalar_one()
        assert job.status == "pending" and job.attempts == 1 and job.reason == "resident"
        job_id = job.id
    assert DESCRIPTION in [e.get("text") for e in stack.tracker(conversation)["events"]]  # really still there
    try:
        clock.set(clock.now() + dt.timedelta(minutes=5))  # the retry is due
        told = me.wait_for("聊天记录已清除", timeout=60)
    finally:
        clock.set(NOW)
    assert "个人信息删除" in told["text"]
    assert [e for e in stack.tracker(conversation)["events"] if e["event"] == "user"] == []
    with stack_db.reader() as s:
        job = s.get(TranscriptErasure, job_id)
        assert job.status == "done" and job.conversation_id is None and job.chat_id is None
    assert eventually(lambda: _erasure_push_forgotten(stack_db, job_id))


def _erasure_push_forgotten(db, job_id: int) -> bool:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        row = s.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key == f"erasure:{job_id}:done")
                        ).scalar_one()
        return row.status == "sent" and row.payload == {}


def test_a_mediator_who_blocked_the_bot_is_flagged_and_the_court_alerted(telegram, stack_db):
    me = resident(telegram)
    with stack_db.transaction() as s:
        sp, _ = shared_slot(s, TUESDAY)
        team = [m.id for m in sp.mediators]
    users = linked(telegram, stack_db, team)
    for user in users.values():
        user.block()
    try:
        _, mediator_id, reference = book_direct(stack_db, me.id)

        def flagged_and_alerted() -> bool:
            with stack_db.reader() as s:
                alerts = s.execute(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.template == "recipient_blocked", OutboxMessage.recipient_type == "court",
                    OutboxMessage.payload.isnot(None))).scalar_one()
                return s.get(Mediator, mediator_id).telegram_blocked_at is not None and alerts >= 1

        assert eventually(flagged_and_alerted, timeout=20)
    finally:
        for user in users.values():
            user.unblock()
    for user in users.values():  # writing to the bot again lifts the flag
        mark = user.mark()
        user.command("start")
        user.wait_for("诉前调解助手", after=mark)
    with stack_db.reader() as s:
        assert all(s.get(Mediator, m).telegram_blocked_at is None for m in users)


def test_mediator_agenda_and_outcome(telegram, stack_db, clock):
    me = resident(telegram)
    appt_id, mediator_id, reference = book_direct(stack_db, me.id, telegram)
    mediator = _team[mediator_id]
    mediator.wait_for(reference)
    press(mediator, "接受", "已接受", where=reference)
    week = say_command(mediator, "week", None, reference)
    assert "13900" in week["text"] or "电话" in week["text"]
    assert say_command(mediator, "outcome", reference, "还没到")
    with stack_db.reader() as s:
        start = s.get(Appointment, appt_id).starts_at
    try:
        clock.set(start + dt.timedelta(hours=1))
        say_command(mediator, "outcome", reference, "调解结果是")
        press(mediator, "达成协议并申请司法确认", "已登记")
        told = me.wait_for("调解结果")
        assert "司法确认" in told["text"]
    finally:
        clock.set(NOW)
    with stack_db.reader() as s:
        case = s.get(Appointment, appt_id).case
        assert case.status == "jc_requested" and s.get(Appointment, appt_id).status == "done"
    stranger = resident(telegram)
    assert say_command(stranger, "today", None, "还没有绑定")


def say_command(user, command: str, payload, expect):  # type: ignore[no-untyped-def]
    mark = user.mark()
    user.command(command, payload=payload)
    return user.wait_for(expect, after=mark)
