"""What mediation cannot take is never booked, and a failure after a booking never reads as one:
through the fake Bot API (failing on demand), the bot as a process, Rasa, the action server, the database."""
from __future__ import annotations

from sqlalchemy import func, select

from court.store.schema import Case
from tests.e2e.test_telegram import (
    DESCRIPTION,
    eventually,
    press,
    resident,
    say,
    up_to_the_name_question,
    xigangzi,
)


def _cases(db, user) -> int:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        return s.execute(select(func.count()).select_from(Case).where(
            Case.conversation_id == f"tg-{user.id}")).scalar_one()


def test_an_administrative_matter_then_book_anyway_gets_the_reason_again(telegram, stack_db):
    me = resident(telegram)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    routed = say(me, "城管把我的摊子没收了", "本服务无法为您预约")
    assert "复议" in routed["text"]
    again = say(me, "那你帮我预约个调解员吧", "另一件民事纠纷")
    assert "12368" in again["text"] and "本服务无法为您预约" in again["text"]
    assert _cases(stack_db, me) == 0
    # A civil matter described next is booked as usual.
    say(me, DESCRIPTION, "人民调解")
    press(me, "帮我预约", "同意")


def test_a_failing_map_pin_after_a_booking_is_not_an_invitation_to_book_again(telegram, stack_db):
    lat, lng = xigangzi(stack_db)
    me = resident(telegram)
    up_to_the_name_question(me)
    say(me, "王桂芝", "手机号")
    say(me, "13945612378", "乡镇")
    mark = me.mark()
    me.share_location(lat, lng)
    me.wait_for("哪天", after=mark)
    offers = say(me, "明天上午", "请选一个时间")
    first = offers["reply_markup"]["inline_keyboard"][0][0]["text"]
    press(me, first, "请确认")
    telegram.fail_next("sendVenue", 400, "Bad Request: wrong latitude")
    booked = press(me, "确认", "预约成功")
    where = me.wait_for("地点：", after=booked["message_id"])
    assert "调解工作服务点" in where["text"]
    assert not any("请再发一次" in t for t in me.texts())
    assert _cases(stack_db, me) == 1


def test_a_dropped_connection_and_a_flood_limit_on_a_reply_lose_nothing(telegram):
    me = resident(telegram)
    mark = me.mark()
    telegram.drop_next("sendMessage")
    me.command("start")
    # The dropped reply is not retried blindly (it may have arrived); the next one goes through.
    assert eventually(lambda: any(c.get("description") == "connection dropped" for c in telegram.calls("sendMessage")))
    telegram.rate_limit(count=1, retry_after=1)
    reply = say(me, DESCRIPTION, "人民调解")
    assert reply["message_id"] > mark
    assert not any("请再发一次" in t for t in me.texts())


def test_a_booking_before_the_mediator_links_reaches_them_at_the_link_and_can_be_accepted(telegram, stack_db):
    from court.mediation import linking
    from court.store.schema import Place
    from tests.e2e.test_telegram import book_by_chat

    with stack_db.reader() as s:
        town = s.execute(select(Place).where(Place.name.like("%上马厂%"))).scalars().first()
        lat, lng = town.lat, town.lng
    me = resident(telegram)
    reference = book_by_chat(me, lat, lng)
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        mediator = case.appointments[-1].mediator
        assert mediator.telegram_chat_id is None  # nobody to push to yet
        code_of = mediator.code
    with stack_db.transaction() as s:
        code = linking.issue_link_code(s, code_of, actor="test")
    person = telegram.user(880001, first_name="调解员")
    mark = person.mark()
    person.command("link", payload=code)
    person.wait_for("绑定成功", after=mark)
    push = person.wait_for(reference)
    assert "新的调解预约" in push["text"]
    press(person, "接受", "13945612378", where=reference)
    assert reference in me.wait_for("调解员已确认")["text"]
