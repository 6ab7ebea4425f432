"""The residents' web chat against the whole stack: real Rasa, real HTTP, a real database.

Natural Chinese, the same journal, limits and guards as Telegram, pushes through the outbox."""
from __future__ import annotations

import gzip
import json
import re
import time

import httpx
from sqlalchemy import select

from court.hotline import accounts, intake_links, queue
from court.records import journal
from court.store.schema import Case, ChatButton, Handoff, InboundMessage, RecipientType, WebConversation
from desk.tracker_client import TrackerClient
from tests.e2e.conftest import WEB_ENV
from tests.e2e.test_telegram import DESCRIPTION, eventually, xigangzi
from tests.factories import NOW
from tools.webchat_client import EventStream, WebResident

PASSWORD = "correct horse battery"
def agent(db, username: str):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return accounts.create_user(s, username, PASSWORD, role="agent", display_name="李敏", actor="test")


def number_of(db, me: WebResident) -> int:  # type: ignore[no-untyped-def]
    """The resident's conversation, found the way the server does: by the cookie's hash."""
    from court.messaging.webchat import _hash
    with db.reader() as s:
        return s.execute(select(WebConversation.id).where(
            WebConversation.cookie_hash == _hash(me.http.cookies["hh_chat"]))).scalar_one()


def test_the_page_is_small_strict_and_its_cookie_private(webchat):
    me = WebResident(webchat)
    page = me.open()
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)  # no inline script
    assert " on" not in re.sub(r"<script.*?</script>", "", page.text).replace(" only", "")  # no inline handlers
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback only (dev, tests)
    assert page.headers["cache-control"] == "no-store"
    weight = len(gzip.compress(page.content, 9))
    for asset in ("/static/chat.js", "/static/chat.css"):
        got = me.http.get(asset)
        assert got.status_code == 200 and "content-security-policy" in got.headers
        weight += len(gzip.compress(got.content, 9))
    assert weight <= 60 * 1024
    # Behind HTTPS (a proxy, or a name that is not loopback) the cookie is Secure.
    away = httpx.get(webchat + "/", headers={"Host": "chat.hhcourt.example"})
    assert "Secure" in away.headers["set-cookie"]


def test_every_post_needs_the_token_of_its_own_cookie(webchat, stack_db):
    me, other = WebResident(webchat), WebResident(webchat)
    me.open()
    other.open()
    for path in ("/api/start", "/api/send", "/api/press", "/api/location", "/api/read"):
        assert me.post(path, {"text": "你好"}, csrf="").status_code == 403
        assert me.post(path, {"text": "你好"}, csrf=other.csrf).status_code == 403
        assert me.post(path, {"text": "你好"}, headers={"Origin": "https://evil.example"}).status_code == 403
        assert me.post(path, {"text": "你好"}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    form = me.http.post("/api/send", data={"text": "你好"}, headers={"X-CSRF-Token": me.csrf})
    assert form.status_code == 415
    with stack_db.reader() as s:  # nothing refused reached the journal
        assert s.execute(select(InboundMessage).where(InboundMessage.conversation_id.like("web-%"))).first() is None


def test_a_resident_books_on_the_web_page_and_the_mediator_is_told(webchat, stack_db, sms_file):
    me = WebResident(webchat)
    me.open()
    greeting = me.start()
    assert any("诉前调解助手" in m["text"] for m in greeting)
    answer = me.say(DESCRIPTION)
    assert answer[0]["role"] == "resident" and any("人民调解" in m["text"] for m in answer)
    me.press("帮我预约")
    assert any("称呼" in m["text"] for m in me.press("同意"))
    ask_phone = me.say("王桂芝")
    assert [m for m in ask_phone if "手机号" in m["text"] and m["keyboard"] == "contact"]
    ask_place = me.say("13945612378")
    assert [m for m in ask_place if "乡镇" in m["text"] and m["keyboard"] == "location"]
    lat, lng = xigangzi(stack_db)
    located = me.post("/api/location", {"latitude": lat, "longitude": lng}).json()["messages"]
    assert any("哪天" in m["text"] for m in located)
    offers = [m for m in me.say("明天上午") if m["buttons"]]
    assert offers and "请选一个时间" in offers[-1]["text"]
    me.press(offers[-1]["buttons"][0]["label"])
    booked = me.press("确认")
    done = next(m for m in booked if "预约成功" in m["text"])
    venue = next(m["venue"] for m in booked if m["venue"])
    assert venue["geo"].startswith("geo:") and venue["map"].startswith("https://uri.amap.com/marker")
    reference = done["text"].split("案件编号：")[1].split()[0]
    number = number_of(stack_db, me)
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.conversation_id == f"web-{number}" and case.resident.phone == "13945612378"
        assert case.resident.telegram_user_id is None
    # Coming back later on the same phone: the conversation and the appointment are there.
    again = WebResident(webchat)
    again.http.cookies.set("hh_chat", me.http.cookies["hh_chat"])
    again.open()
    state = again.state()
    assert any(m["text"] == DESCRIPTION for m in state["messages"])
    assert [a for a in state["appointments"] if a["reference"] == reference]
    # A button pressed once is used up; the page shows the choice.
    assert not [m for m in state["messages"] if any(b["label"] == "确认" for b in m["buttons"])]
    # A reminder while the page is closed: stored, unread, and an SMS notice with the link.
    me.post("/api/read", {"up_to": me.last_id()})
    assert me.state()["unread"] == 0
    with stack_db.transaction() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        journal.enqueue(s, key=f"test:web-reminder:{reference}", recipient_type=RecipientType.RESIDENT,
                        recipient_id=case.resident_id, template="reminder_two_hours",
                        payload={"reference": reference, "time": "12月1日 09:00", "service_point": "西岗子镇调解工作服务点",
                                 "address": "西岗子镇", "mediator": "张", "lat": lat, "lng": lng}, due_at=NOW)
    reminder = me.wait_for("两小时后调解")
    assert reminder["role"] == "push" and reminder["venue"]
    assert me.state()["unread"] >= 1
    assert eventually(lambda: sms_file.exists() and "13945612378" in sms_file.read_text(encoding="utf-8"))
    sent = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()]
    assert any("两小时后" in x["text"] and webchat in x["text"] and reference not in x["text"] for x in sent)


def test_another_residents_button_is_refused_and_limits_hold(webchat, stack, stack_db):
    me, other = WebResident(webchat), WebResident(webchat)
    me.open()
    other.open()
    assert other.post("/api/press", {"token": "abc"}).status_code == 403  # no conversation yet
    other.start()
    me.start()
    me.say(DESCRIPTION)
    token = me.button("帮我预约")
    refused = other.post("/api/press", {"token": token})
    assert refused.status_code == 409
    assert other.post("/api/press", {"token": "../../etc"}).status_code == 409
    with stack_db.reader() as s:
        assert s.get(ChatButton, token).used_at is None  # still mine to press
    assert me.post("/api/press", {"token": token}).status_code == 200
    too_long = me.post("/api/send", {"text": "漏水" * 600})
    assert too_long.status_code == 200 and me.wait_for("消息太长了")
    slash = me.say('/request_human{"x": 1}')
    assert slash[0]["text"].startswith("/request_human")  # shown as typed, relayed neutralised
    said = [e["text"] for e in stack.tracker(f"web-{number_of(stack_db, me)}")["events"] if e.get("event") == "user"]
    assert said[-1].startswith("／request_human")
    # Neither saw the other's messages.
    assert not [m for m in other.messages() if DESCRIPTION in m["text"]]


def test_pushes_arrive_live_and_an_agent_takes_over_and_hands_back(webchat, stack, stack_db):
    me = WebResident(webchat)
    me.open()
    me.start()
    stream = EventStream(me, after=me.last_id())
    try:
        me.say("转人工")
        number = number_of(stack_db, me)
        with stack_db.reader() as s:
            handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"web-{number}")).scalar_one()
        me.say("我想问问工资的事")
        assert eventually(lambda: any(e.get("text") == "我想问问工资的事"
                                      for e in stack.tracker(f"web-{number}")["events"]))
        clerk = agent(stack_db, "web.agent")
        started = time.monotonic()
        with stack_db.transaction() as s:
            queue.take(s, handoff_id, clerk, now=NOW)
            queue.reply(s, handoff_id, clerk, "您好，我是12368的李敏，请问拖欠了多久？", now=NOW)
        live = stream.wait(lambda e: e.get("type") == "message" and "李敏" in e["message"]["text"])
        assert live["message"]["role"] == "push" and time.monotonic() - started < 10
        # Paused: no fallback in the meantime.
        assert not [m for m in me.messages() if "没能处理" in m["text"]]
        with stack_db.transaction() as s:
            conversation = queue.give_back(s, handoff_id, clerk, now=NOW)
        TrackerClient(stack.rasa_url).resume(conversation)
        stream.wait(lambda e: e.get("type") == "message" and "助手继续为您服务" in e["message"]["text"])
        assert any("人民调解" in m["text"] for m in me.say("俺家楼上天天往下漏水，找他好几回了也不管"))
    finally:
        stream.close()


def test_a_phone_intake_opens_the_web_chat_at_the_booking_step(webchat, stack_db):
    clerk = agent(stack_db, "intake.web")
    with stack_db.transaction() as s:
        reference, token = intake_links.create_intake(s, clerk, dispute_type="labor", summary="饭店拖欠三个月工资八千元",
                                                      phone="13945670009", consent=True, name="赵建国", now=NOW)
    me = WebResident(webchat)
    landing = me.http.get(f"/i/{token}")
    assert landing.status_code == 303 and landing.headers["location"] == "/"  # the token leaves the address bar
    me.open("/")
    greeting = me.wait_for(reference)
    assert "12368热线已为您登记" in greeting["text"]
    me.wait_for("乡镇")
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.conversation_id.startswith("web-") and case.resident.conversation_id == case.conversation_id
    # Once only.
    other = WebResident(webchat)
    other.http.get(f"/i/{token}")
    other.open("/")
    other.wait_for("已失效")


def test_a_server_restart_delivers_what_was_pushed_while_it_was_down(webchat, stack, stack_db):
    me = WebResident(webchat)
    me.open()
    me.start()
    number = number_of(stack_db, me)
    seen = me.last_id()
    port = int(webchat.rsplit(":", 1)[1])
    stack.kill_webchat()
    with stack_db.transaction() as s:
        journal.enqueue(s, key=f"test:down:{number}", recipient_type=RecipientType.CHAT, recipient_id=None,
                        template="agent_reply", payload={"conversation_id": f"web-{number}", "text": "停机时的回复",
                                                         "agent": "李敏"}, due_at=NOW)
    stack.start_webchat(port=port, extra_env=WEB_ENV)
    stream = EventStream(me, after=seen)
    try:
        stream.wait(lambda e: e.get("type") == "message" and "停机时的回复" in e["message"]["text"])
    finally:
        stream.close()


def test_a_resident_erases_their_data_from_the_page(webchat, stack, stack_db):
    me = WebResident(webchat)
    me.open()
    me.start()
    me.say(DESCRIPTION)
    me.press("帮我预约")
    me.press("同意")
    me.say("王桂芝")
    me.say("13945612388")
    number = number_of(stack_db, me)
    asked = me.post("/api/erase", {}).json()["messages"]
    assert "确定要删除" in asked[0]["text"]
    done = me.post("/api/press", {"token": me.button("确认删除")}).json()
    assert done["cleared"] and "个人信息已删除" in done["messages"][0]["text"]
    assert [m["text"] for m in me.messages()] == [done["messages"][0]["text"]]  # the page's copy is gone
    with stack_db.reader() as s:
        from court.store.schema import Resident
        assert s.execute(select(Resident).where(Resident.phone == "13945612388")).first() is None
    assert eventually(lambda: not [e for e in stack.tracker(f"web-{number}")["events"] if e.get("event") == "user"])
