"""The 12368 hotline and the chat meet: a phone intake continued in Telegram,
and a conversation taken over by an agent and handed back."""
from __future__ import annotations

from sqlalchemy import func, select

from court.hotline import accounts, intake_links, queue
from court.store.schema import Case, Handoff
from desk.tracker_client import TrackerClient
from tests.e2e.test_telegram import eventually, press, resident, say, xigangzi
from tests.factories import NOW

PASSWORD = "correct horse battery"


def agent(db, username: str):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return accounts.create_user(s, username, PASSWORD, role="agent", display_name="李敏", actor="test")


def test_a_phone_intake_continues_in_chat_at_the_booking_step(telegram, stack_db):
    clerk = agent(stack_db, "li.min")
    with stack_db.transaction() as s:
        reference, token = intake_links.create_intake(s, clerk, dispute_type="labor", summary="饭店拖欠三个月工资八千元",
                                                      phone="13945670001", consent=True, name="赵建国", now=NOW)
    me = resident(telegram)
    mark = me.mark()
    me.command("start", payload=token)
    greeting = me.wait_for(reference, after=mark)
    assert "12368热线已为您登记" in greeting["text"] and "拖欠" in greeting["text"]
    # Consent, summary, name and phone are known: the form goes straight to the place.
    ask = me.wait_for("乡镇", after=mark)
    assert "称呼" not in " ".join(me.texts()) and "您同意吗" not in " ".join(me.texts())
    mark = me.mark()
    me.share_location(*xigangzi(stack_db))
    me.wait_for("哪天", after=mark)
    offers = say(me, "明天上午", "请选一个时间")
    press(me, offers["reply_markup"]["inline_keyboard"][0][0]["text"], "请确认")
    booked = press(me, "确认", "预约成功")
    assert reference in booked["text"] and ask
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.status == "booked" and case.source == "hotline" and case.resident.name == "赵建国"
        assert case.resident.telegram_user_id == me.id
        assert s.execute(select(func.count()).select_from(Case).where(
            Case.conversation_id == f"tg-{me.id}")).scalar_one() == 1
    # The link works once.
    other = resident(telegram)
    mark = other.mark()
    other.command("start", payload=token)
    assert "已失效" in other.wait_for("已失效", after=mark)["text"]


def test_an_agent_takes_over_replies_and_hands_back(telegram, stack, stack_db):
    me = resident(telegram)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    say(me, "转人工", "工作人员")
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"tg-{me.id}")).scalar_one()
    # While paused, the resident's words reach the court's transcript and the bot stays silent.
    mark = me.mark()
    me.send("我想问问工资的事")
    assert eventually(lambda: any(e.get("text") == "我想问问工资的事" for e in stack.tracker(f"tg-{me.id}")["events"]))
    clerk = agent(stack_db, "wang.li")
    with stack_db.transaction() as s:
        queue.take(s, handoff_id, clerk, now=NOW)
        queue.reply(s, handoff_id, clerk, "您好，我是12368的李敏，请问拖欠了多久？", now=NOW)
    assert "李敏" in me.wait_for("【12368热线", after=mark)["text"]
    assert not [t for t in me.texts()[-3:] if "我没太明白" in t or "没能处理" in t]  # paused: no fallback either
    with stack_db.transaction() as s:
        conversation = queue.give_back(s, handoff_id, clerk, now=NOW)
    TrackerClient(stack.rasa_url).resume(conversation)
    me.wait_for("助手继续为您服务", after=mark)
    assert "人民调解" in say(me, "俺家楼上天天往下漏水，找他好几回了也不管", "人民调解")["text"]
