"""A conversation handed to the 12368 desk is never a dead end: through the fake Bot API,
the bot as its own process, Rasa, the action server, the housekeeping process and the database.

While paused (waiting for, or held by, an agent; in and out of desk hours) danger words bring
the emergency advice, one acknowledgement says the messages are kept, and the resident can
always leave the queue, start again, or erase their data."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from court.hotline import accounts, queue
from court.records import residents
from court.store.schema import DeskRole, Handoff
from tests.e2e.test_telegram import eventually, press, resident, say
from tests.factories import NOW, local

KNIFE = "他拿着刀说要砍我"
ACK = "您的留言已记下"


class _Seen:
    def __init__(self, row: Handoff) -> None:
        self.id, self.status, self.note = row.id, row.status, row.note or ""


def _handoff(db, user) -> _Seen:  # type: ignore[no-untyped-def]
    """The conversation's latest handoff, read now."""
    with db.reader() as s:
        return _Seen(s.execute(select(Handoff).where(Handoff.conversation_id == f"tg-{user.id}")
                               .order_by(Handoff.id.desc())).scalars().first())


def _waiting(user) -> None:  # type: ignore[no-untyped-def]
    mark = user.mark()
    user.command("start")
    user.wait_for("诉前调解助手", after=mark)
    asked = say(user, "转人工", "取消转人工")
    assert "110" in asked["text"]


def _after(user, mark: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.get("text") or "" for m in user.history() if m["message_id"] > mark and m.get("from", {}).get("is_bot")]


def test_while_waiting_out_of_hours_danger_is_answered_and_one_acknowledgement_keeps_the_rest(telegram, stack,
                                                                                               stack_db):
    me = resident(telegram)
    _waiting(me)  # 8:00 on a Monday: the desk opens at 8:30
    assert "今天上午8:30" in me.texts()[-1]
    assert _handoff(stack_db, me).status == "waiting"
    # Danger words while paused: the emergency advice at once, then the one acknowledgement.
    advice = say(me, KNIFE, "110")
    assert "先确保人身安全" in advice["text"]
    ack = me.wait_for(ACK, after=advice["message_id"])
    assert "今天上午8:30" in ack["text"]
    # Further messages are kept for the agent, without one answer each.
    mark = me.mark()
    me.send("我想问问工资的事，拖了三个月了")
    assert eventually(lambda: any(e.get("text") == "我想问问工资的事，拖了三个月了"
                                  for e in stack.tracker(f"tg-{me.id}")["events"]))
    me.send("老板电话也不接")
    assert eventually(lambda: any(e.get("text") == "老板电话也不接" for e in stack.tracker(f"tg-{me.id}")["events"]))
    assert _after(me, mark) == []
    # Danger again: answered again, every time.
    assert "110" in say(me, "他又来了，在砸我家门，要打死我", "110")["text"]
    # /help answers while paused.
    mark = me.mark()
    me.command("help")
    me.wait_for("命令：", after=mark)
    # /start leaves the queue and starts again.
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    assert _handoff(stack_db, me).status == "closed" and "居民取消转人工" in _handoff(stack_db, me).note
    assert stack.tracker(f"tg-{me.id}")["paused"] is False
    assert "人民调解" in say(me, "俺家楼上天天往下漏水，找他好几回了也不管", "人民调解")["text"]


def test_in_desk_hours_the_resident_leaves_by_button_by_words_and_by_cancel(telegram, stack, stack_db, clock):
    clock.set(local(NOW.date(), 10, 0))
    try:
        me = resident(telegram)
        _waiting(me)
        assert "前面还有" in me.texts()[-1] or "请稍候" in me.texts()[-1]
        ack = say(me, "我等一下", ACK)
        assert "接手后会先看到" in ack["text"]
        left = press(me, "取消转人工", "已为您取消转人工")
        assert left and _handoff(stack_db, me).status == "closed"
        assert stack.tracker(f"tg-{me.id}")["paused"] is False
        # In words, while an agent holds it.
        say(me, "转人工", "取消转人工")
        clerk = _agent(stack_db)
        with stack_db.transaction() as s:
            queue.take(s, _handoff(stack_db, me).id, clerk, now=clock.now())
        ack = say(me, "你好", "不想等了可以点")
        assert "正在处理" in ack["text"]
        say(me, "算了，取消转人工吧", "已为您取消转人工")
        assert _handoff(stack_db, me).status == "closed"
        # /cancel too.
        say(me, "转人工", "取消转人工")
        mark = me.mark()
        me.command("cancel")
        assert eventually(lambda: _handoff(stack_db, me).status == "closed")
        assert eventually(lambda: _after(me, mark) != [])
        assert stack.tracker(f"tg-{me.id}")["paused"] is False
    finally:
        clock.set(NOW)


def test_erasure_while_paused_and_a_chat_the_court_closed_answers_again(telegram, stack, stack_db):
    me = resident(telegram)
    _waiting(me)
    with stack_db.transaction() as s:
        residents.set_contact(s, residents.record_consent(s, conversation_id=f"tg-{me.id}"),
                              name="王桂芝", phone="13945612378")
    waiting_id = _handoff(stack_db, me).id
    mark = me.mark()
    me.command("delete_my_data")
    me.wait_for("确定要删除", after=mark)
    done = press(me, "确认删除", "已删除")
    assert "个人信息已删除" in done["text"]
    with stack_db.reader() as s:
        assert s.get(Handoff, waiting_id).status == "closed"  # and no longer names the chat
    # Another resident: the court closed the handoff (an admin, say) but Rasa still has the chat paused.
    other = resident(telegram)
    _waiting(other)
    with stack_db.transaction() as s:
        _handoff_row = s.execute(select(Handoff).where(Handoff.conversation_id == f"tg-{other.id}")).scalar_one()
        _handoff_row.status, _handoff_row.closed_at = "closed", NOW
    assert "人民调解" in say(other, "俺家楼上天天往下漏水，找他好几回了也不管", "人民调解")["text"]
    assert stack.tracker(f"tg-{other.id}")["paused"] is False


def test_a_wait_past_the_limit_is_told_once_and_the_resident_chooses(telegram, stack, stack_db, clock):
    me = resident(telegram)
    _waiting(me)  # 8:00 Monday; the limit is 120 staffed minutes: overdue from 10:30
    try:
        clock.set(local(NOW.date(), 10, 31))
        told = me.wait_for("让您久等了", timeout=30)
        assert "2个工作小时" in told["text"]
        with stack_db.reader() as s:
            [item] = [i for i in queue.queue(s, now=clock.now()) if i.conversation_id == f"tg-{me.id}"]
            assert item.overdue
        press(me, "继续用助手", "已为您取消转人工")
        assert _handoff(stack_db, me).status == "closed"
        assert sum("让您久等了" in t for t in me.texts()) == 1
    finally:
        clock.set(NOW)


def test_gibberish_never_reaches_the_queue_and_never_silences_the_sender(stack, stack_db):
    """Through the REST channel, as the fuzz run: emoji, noise and repeated junk get answers, never a handoff."""
    sender = f"rest-fuzz-{uuid.uuid4().hex[:8]}"
    for junk in ("😡😡😡", "？？？？", "asdfghjkl", "😡😡😡", "啊啊啊啊啊", "。。。。", "qwertyuiop", "😡😡😡", "1111"):
        assert stack.say(sender, junk), junk  # always an answer
    assert stack.tracker(sender)["paused"] is False
    with stack_db.reader() as s:
        assert s.execute(select(Handoff).where(Handoff.conversation_id == sender)).first() is None
    # Danger is answered on this channel too, paused or not.
    assert any("110" in (m.get("text") or "") for m in stack.say(sender, KNIFE))


def _agent(db):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return accounts.create_user(s, f"paused.{uuid.uuid4().hex[:8]}", "correct horse 12368",
                                    role=DeskRole.AGENT.value, display_name="刘芳", actor="test", now=NOW)
