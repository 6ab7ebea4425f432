"""Links into the web chat against the whole stack: a service point's QR poster (the point
remembered as the starting place, a tampered token refused) and the link texted to a phone
caller an agent booked for (the chat shows the booking, not a second form)."""
from __future__ import annotations

from sqlalchemy import select

from court.hotline import caller_booking, intake_links
from court.messaging import poster_links
from court.store.schema import ServicePoint, WebConversation
from tests.e2e.test_telegram import DESCRIPTION
from tests.e2e.test_webchat import agent, number_of
from tests.factories import NOW
from tools.webchat_client import WebResident


def _xigangzi_point(db) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with db.reader() as s:
        point = s.execute(select(ServicePoint).where(ServicePoint.name.like("西岗子%"),
                                                     ServicePoint.active.is_(True))).scalars().first()
        return point.id, point.name


def test_a_poster_opens_the_chat_with_its_point_as_the_starting_place(webchat, stack_db):
    point_id, point_name = _xigangzi_point(stack_db)
    me = WebResident(webchat)
    landing = me.http.get(poster_links.path(point_id))
    assert landing.status_code == 303 and landing.headers["location"] == "/"
    me.open("/")
    assert me.wait_for(point_name)["role"] == "assistant"
    assert any("诉前调解助手" in m["text"] for m in me.messages())  # greeted once, before the note
    with stack_db.reader() as s:
        assert s.get(WebConversation, number_of(stack_db, me)).start_point_id == point_id
    me.say(DESCRIPTION)
    me.press("帮我预约")
    me.press("同意")
    me.say("王桂芝")
    ask_place = [m for m in me.say("13945617702") if m["keyboard"] == "location"]
    short = point_name.replace("调解工作服务点", "")
    assert ask_place and ask_place[-1]["buttons"][0]["label"] == f"就在{short}附近"
    when = me.press(f"就在{short}附近")
    assert any("哪天" in m["text"] for m in when)
    offers = [m for m in me.say("明天上午") if m["buttons"]]
    assert offers and point_name in offers[-1]["text"]  # the poster's point comes first


def test_a_tampered_poster_token_is_a_plain_start(webchat, stack_db):
    point_id, _ = _xigangzi_point(stack_db)
    token = poster_links.token(point_id)
    me = WebResident(webchat)
    for bad in (f"/p/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}", f"/p/{point_id}", "/p/p" + "A" * 22):
        landing = me.http.get(bad)
        assert landing.status_code == 303 and landing.headers["location"] == "/"
    me.open("/")
    assert me.state()["new"]  # no conversation was made, so no point remembered
    from court.messaging.webchat import _hash
    with stack_db.reader() as s:
        assert s.execute(select(WebConversation.id).where(
            WebConversation.cookie_hash == _hash(me.http.cookies["hh_chat"]))).first() is None


def test_a_caller_booked_on_the_phone_sees_the_booking_from_the_texted_link(webchat, stack_db):
    clerk = agent(stack_db, "caller.web")
    with stack_db.transaction() as s:
        reference, _ = intake_links.create_intake(s, clerk, dispute_type="labor", summary="饭店拖欠三个月工资八千元",
                                                  phone="13945617703", consent=True, name="赵建国", now=NOW)
    with stack_db.reader() as s:
        _, offers = caller_booking.find_times(s, reference, clerk, place="爱辉区西岗子", now=NOW)
    with stack_db.transaction() as s:
        done = caller_booking.book(s, reference, clerk, token=offers[0].token, consent=True, now=NOW)
    me = WebResident(webchat)
    me.http.get(f"/i/{done.link_token}")
    me.open("/")
    greeting = me.wait_for(reference)
    assert "已为您预约" in greeting["text"] and offers[0].time in greeting["text"]
    assert not [m for m in me.messages() if "乡镇" in m["text"]]  # no second booking form
    assert [a["reference"] for a in me.state()["appointments"]] == [reference]
