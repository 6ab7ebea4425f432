"""The hotline desk web app through Flask's test client, on a migrated, seeded database.

Rasa is "down" in every test (rasa_url points at a closed port): the court writes
must still happen and the agent must be told the transcript is unavailable.
"""
from __future__ import annotations

import datetime as dt
import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import select

from court.core import clock
from court.hotline import accounts, handoffs
from court.messaging import inbox
from court.records import cases, residents
from court.store.schema import AuditEntry, Case, DeskUser, Handoff, OutboxMessage
from desk.app import create_app
from desk.extensions import DB_KEY
from tests.factories import NOW, blocked_mediator_alert

PASSWORD = "correct horse 12368"
PHONE = "13945612378"


def _closed_port() -> int:
    with socket.socket() as sock:  # bound then released: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def app(db):  # type: ignore[no-untyped-def]
    app = create_app(db, rasa_url=f"http://127.0.0.1:{_closed_port()}", testing=True)
    with db.transaction() as s:
        accounts.create_user(s, "li", PASSWORD, display_name="李敏", role="agent", now=clock.now())
        accounts.create_user(s, "wang", PASSWORD, display_name="王芳", role="agent", now=clock.now())
    return app


def _handoff(db, conversation_id: str = "tg-501") -> int:
    with db.transaction() as s:
        resident = residents.record_consent(s, conversation_id=conversation_id)
        residents.set_contact(s, resident, name="张三", phone=PHONE)
        handoff, _ahead = handoffs.request(s, conversation_id, reason="resident_asked", dispute_type="neighbor")
        return handoff.id


def _csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _login(app, username: str = "li"):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    return client


def _post(client, path: str, data: dict | None = None, *, token_from: str = "/"):  # type: ignore[no-untyped-def]
    return client.post(path, data={**(data or {}), "csrf_token": _csrf(client, token_from)})


def _status(db, handoff_id: int) -> str:
    with db.reader() as s:
        return s.get(Handoff, handoff_id).status


def test_pages_need_a_session(app) -> None:
    client = app.test_client()
    for path in ("/", "/queue.json", "/intake", "/handoffs/1"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/healthz").get_data(as_text=True) == "ok"


def test_posts_without_or_with_a_wrong_csrf_token_are_refused(app) -> None:
    client = app.test_client()
    _csrf(client)  # a session with a real token exists
    assert client.post("/login", data={"username": "li", "password": PASSWORD}).status_code == 400
    bad = client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": "forged"})
    assert bad.status_code == 400 and "请刷新页面" in bad.get_data(as_text=True)
    signed_in = _login(app)
    assert signed_in.post("/logout").status_code == 400
    assert signed_in.post("/logout", data={"csrf_token": "forged"}).status_code == 400


def test_login_failure_and_success(app) -> None:
    client = app.test_client()
    wrong = client.post("/login", data={"username": "li", "password": "nope", "csrf_token": _csrf(client)})
    assert wrong.status_code == 200 and "用户名或密码不正确" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302
    client = _login(app)
    page = client.get("/")
    assert page.status_code == 200 and "李敏" in page.get_data(as_text=True)
    assert _post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_strict_and_secure_over_https(app, monkeypatch) -> None:
    plain = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Strict" in plain and "Secure" not in plain  # http://127.0.0.1 (make run)
    secure = app.test_client().get("/login", base_url="https://desk.example").headers["Set-Cookie"]
    assert "Secure" in secure and "SameSite=Strict" in secure
    # Behind a reverse proxy that terminates HTTPS, trusted only when configured.
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Secure" not in app.test_client().get("/login", headers=forwarded).headers["Set-Cookie"]
    monkeypatch.setenv("DESK_TRUST_PROXY", "1")
    proxied = create_app(app.extensions[DB_KEY], rasa_url="http://127.0.0.1:9", testing=True)
    assert "Secure" in proxied.test_client().get("/login", headers=forwarded).headers["Set-Cookie"]


def test_a_cookie_copied_before_signing_out_is_void_after_it(app) -> None:
    client = _login(app)
    stolen = client.get_cookie("session").value
    assert _post(client, "/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_half_an_hour_without_a_click_ends_the_session_polling_does_not_count(app, monkeypatch) -> None:
    def at(minutes: int) -> None:
        monkeypatch.setenv("COURT_FAKE_NOW", (NOW + dt.timedelta(minutes=minutes)).isoformat())

    at(0)
    idle, busy = _login(app), _login(app, "wang")
    at(20)
    assert idle.get("/queue.json").status_code == 200  # the page polling by itself
    assert busy.get("/").status_code == 200  # a click
    at(45)
    assert idle.get("/").status_code == 302  # 45 minutes since the last click
    assert busy.get("/").status_code == 200  # 25 minutes
    at(80)
    assert busy.get("/").status_code == 302


def test_failed_sign_ins_are_throttled_per_client_before_any_password_is_hashed(app, db) -> None:
    client = app.test_client()
    for attempt in range(10):
        username = "li" if attempt < 4 else f"nobody{attempt}"
        wrong = client.post("/login", data={"username": username, "password": "wrong password",
                                            "csrf_token": _csrf(client)})
        assert wrong.status_code == 200
    refused = client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": _csrf(client)})
    assert refused.status_code == 429 and "15分钟" in refused.get_data(as_text=True)
    with db.reader() as s:  # the refused attempt never reached the account
        assert s.execute(select(DeskUser.failed_logins).where(DeskUser.username == "li")).scalar_one() == 4
    other = app.test_client()
    ok = other.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": _csrf(other)},
                    environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert ok.status_code == 302


def test_queue_lists_a_waiting_handoff_with_the_masked_phone(app, db) -> None:
    handoff_id = _handoff(db)
    client = _login(app)
    page = client.get("/").get_data(as_text=True)
    assert "139****2378" in page and PHONE not in page
    assert f'action="/handoffs/{handoff_id}/take"' in page
    rows = client.get("/queue.json").get_json()
    [row] = [r for r in rows if r["id"] == handoff_id]
    assert row["status"] == "waiting" and row["phone"] == "139****2378" and row["take_url"].endswith("/take")


def test_only_one_of_two_agents_takes_a_handoff(app, db) -> None:
    handoff_id = _handoff(db)
    li, wang = _login(app, "li"), _login(app, "wang")
    li_token, wang_token = _csrf(li, "/"), _csrf(wang, "/")
    first = li.post(f"/handoffs/{handoff_id}/take", data={"csrf_token": li_token})
    assert first.status_code == 302 and first.headers["Location"] == f"/handoffs/{handoff_id}"
    second = wang.post(f"/handoffs/{handoff_id}/take", data={"csrf_token": wang_token}, follow_redirects=True)
    assert second.request.path == "/"
    assert 'class="flash error"' in second.get_data(as_text=True)
    with db.reader() as s:
        assert s.get(Handoff, handoff_id).agent == "li"
    # Whoever lost cannot read the conversation either.
    assert wang.get(f"/handoffs/{handoff_id}").status_code == 403
    assert wang.get(f"/handoffs/{handoff_id}/transcript.json").status_code == 403


def test_handoff_page_and_reply_work_while_rasa_is_down(app, db) -> None:
    handoff_id = _handoff(db)
    client = _login(app)
    _post(client, f"/handoffs/{handoff_id}/take")
    page = client.get(f"/handoffs/{handoff_id}").get_data(as_text=True)
    assert "暂时无法读取对话记录" in page and "交还助手" in page and "结束并备注" in page
    assert client.get(f"/handoffs/{handoff_id}/transcript.json").get_json()["ok"] is False

    reply = _post(client, f"/handoffs/{handoff_id}/reply", {"text": "您好，我是12368的小李。<b>"},
                  token_from=f"/handoffs/{handoff_id}")
    assert reply.status_code == 302
    with db.reader() as s:
        [row] = s.execute(select(OutboxMessage).where(OutboxMessage.template == "agent_reply")).scalars().all()
        assert row.payload["text"] == "您好，我是12368的小李。<b>"
    # Rasa is down: the resident's kept messages stand in for the transcript, punctuation as typed.
    with db.transaction() as s:
        conversation = s.get(Handoff, handoff_id).conversation_id
        inbox.receive(s, update_id=None, chat_id=int(conversation.split("-")[1]), conversation_id=conversation,
                      text="工资拖了三个月，老板说下个月给。", meta={}, now=NOW)
    page = client.get(f"/handoffs/{handoff_id}").get_data(as_text=True)
    assert "暂时无法读取对话记录" in page and "工资拖了三个月，老板说下个月给。" in page and "照常送达" in page

    too_long = _post(client, f"/handoffs/{handoff_id}/reply", {"text": "字" * 2001}, token_from=f"/handoffs/{handoff_id}")
    assert too_long.status_code == 302
    with db.reader() as s:
        assert len(s.execute(select(OutboxMessage).where(OutboxMessage.template == "agent_reply")).all()) == 1


def test_give_back_and_close_change_the_status(app, db) -> None:
    returned, closed = _handoff(db, "tg-601"), _handoff(db, "tg-602")
    client = _login(app)
    for handoff_id in (returned, closed):
        _post(client, f"/handoffs/{handoff_id}/take")
        assert _status(db, handoff_id) == "taken"

    assert _post(client, f"/handoffs/{returned}/return", token_from=f"/handoffs/{returned}").status_code == 302
    # No assistant in this test: the give-back stays in the queue, to be retried, not lost.
    assert _status(db, returned) == "returning"
    [row] = [r for r in client.get("/queue.json").get_json() if r["id"] == returned]
    assert row["status_label"] == "交还失败，待重试"

    no_note = _post(client, f"/handoffs/{closed}/close", {"note": " "}, token_from=f"/handoffs/{closed}")
    assert no_note.status_code == 302 and _status(db, closed) == "taken"
    done = _post(client, f"/handoffs/{closed}/close", {"note": "已电话联系，居民表示先自行协商。"},
                 token_from=f"/handoffs/{closed}")
    assert done.status_code == 302 and _status(db, closed) == "closed"
    with db.reader() as s:
        assert s.get(Handoff, closed).note is not None


def test_intake_creates_a_hotline_case_with_a_link_and_qr(app, db) -> None:
    client = _login(app)
    form = {"dispute_type": "neighbor", "summary": "楼上漏水，物业不管。", "phone": PHONE, "name": "张三"}
    refused = _post(client, "/intake", form, token_from="/intake")
    assert refused.status_code == 200 and "需要来电人同意" in refused.get_data(as_text=True)

    response = _post(client, "/intake", {**form, "consent": "y"}, token_from="/intake")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert re.search(r"https://t\.me/heihe_court_bot\?start=[A-Za-z0-9_-]+", page)
    assert "<svg" in page and "24小时" in page
    with db.reader() as s:
        case = s.execute(select(Case).order_by(Case.id.desc())).scalars().first()
        assert case.source == "hotline" and case.reference in page


# --- booking for the resident ------------------------------------------------------


def _slots(page: str) -> list[str]:
    return re.findall(r'name="slot" value="(S\.[0-9.]+)"', page)


def test_an_agent_books_moves_and_cancels_for_the_resident(app, db) -> None:
    hid = _handoff(db)
    li = _login(app)
    _post(li, f"/handoffs/{hid}/take")
    page = li.get(f"/handoffs/{hid}").get_data(as_text=True)
    assert "没有待进行的预约" in page and f"/handoffs/{hid}/booking" in page

    found = li.get(f"/handoffs/{hid}/booking", query_string={"place": "西岗子", "dispute_type": "neighbor"})
    page = found.get_data(as_text=True)
    slots = _slots(page)
    assert found.status_code == 200 and len(slots) >= 6 and "西岗子" in page
    assert 'name="consent"' not in page  # consent was given in the chat already
    assert PHONE in page  # the agent who took it sees the number to confirm it

    # No time chosen: refused, the list and what was typed stay on the page.
    refused = _post(li, f"/handoffs/{hid}/book", {"dispute_type": "neighbor", "summary": "楼上漏水很久了",
                                                  "phone": PHONE, "place": "西岗子"}, token_from=f"/handoffs/{hid}")
    assert refused.status_code == 422 and "请选择一个时间" in refused.get_data(as_text=True)
    assert "楼上漏水很久了" in refused.get_data(as_text=True) and _slots(refused.get_data(as_text=True))

    booked = _post(li, f"/handoffs/{hid}/book", {"slot": slots[0], "dispute_type": "neighbor",
                                                 "summary": "楼上漏水很久了", "phone": PHONE, "name": "张三"},
                   token_from=f"/handoffs/{hid}")
    assert booked.status_code == 302 and booked.headers["Location"] == f"/handoffs/{hid}"
    page = li.get(f"/handoffs/{hid}").get_data(as_text=True)
    assert "已预约" in page and "居民和调解员都会收到通知" in page and "取消预约" in page
    with db.reader() as s:
        [case] = s.execute(select(Case).where(Case.conversation_id == "tg-501")).scalars().all()
        assert case.status == "booked" and case.summary == "楼上漏水很久了"
        appointment_id = case.appointments[0].id
        [push] = s.execute(select(OutboxMessage).where(OutboxMessage.template == "agent_booked")).scalars().all()
        assert push.payload["reference"] == case.reference

    moving = li.get(f"/handoffs/{hid}/booking", query_string={"place": "西岗子", "dispute_type": "neighbor",
                                                              "appointment": appointment_id})
    assert "确认改约" in moving.get_data(as_text=True)
    new_slot = _slots(moving.get_data(as_text=True))[2]
    moved = _post(li, f"/handoffs/{hid}/appointments/{appointment_id}/move", {"slot": new_slot},
                  token_from=f"/handoffs/{hid}")
    assert moved.status_code == 302
    assert "已改约到" in li.get(f"/handoffs/{hid}").get_data(as_text=True)

    # Another agent may not touch it; the taker may cancel with a reason.
    wang = _login(app, "wang")
    assert _post(wang, f"/handoffs/{hid}/appointments/{appointment_id}/cancel", {"reason": "x"}).status_code == 403
    assert wang.get(f"/handoffs/{hid}/booking", query_string={"place": "西岗子"}).status_code == 403
    assert _post(li, f"/handoffs/{hid}/appointments/{appointment_id}/cancel", {"reason": "居民已和解"},
                 token_from=f"/handoffs/{hid}").status_code == 302
    page = li.get(f"/handoffs/{hid}").get_data(as_text=True)
    assert "已取消" in page and "没有待进行的预约" in page


def test_booking_pages_refuse_bad_input_in_chinese(app, db) -> None:
    hid = _handoff(db, "tg-777")
    with db.transaction() as s:  # a chat that never consented: only the handoff exists
        handoff, _ = handoffs.request(s, "tg-778", reason="resident_asked", dispute_type="labor")
        bare = handoff.id
    li = _login(app)
    _post(li, f"/handoffs/{hid}/take")
    _post(li, f"/handoffs/{bare}/take")
    for place, message in (("火星基地", "没有找到"), ("兴安", "有几个地方"), ("北京市朝阳区", "不在黑河")):
        page = li.get(f"/handoffs/{hid}/booking", query_string={"place": place, "dispute_type": "neighbor"})
        assert page.status_code == 200 and message in page.get_data(as_text=True), place
    page = li.get(f"/handoffs/{bare}/booking", query_string={"place": "西岗子", "dispute_type": "labor"})
    text = page.get_data(as_text=True)
    assert 'name="consent"' in text and "征得同意" in text
    slot = _slots(text)[0]
    form = {"slot": slot, "dispute_type": "labor", "summary": "工资拖欠三个月", "phone": PHONE, "place": "西岗子"}
    assert "尚未同意" in _post(li, f"/handoffs/{bare}/book", form).get_data(as_text=True)
    bad_phone = _post(li, f"/handoffs/{bare}/book", form | {"consent": "y", "phone": "12345"})
    assert bad_phone.status_code == 422 and "手机号" in bad_phone.get_data(as_text=True)
    forged = _post(li, f"/handoffs/{bare}/book", form | {"consent": "y", "slot": "S.1.1.99"})
    assert forged.status_code == 422 and "已失效" in forged.get_data(as_text=True)
    with db.reader() as s:
        assert s.execute(select(Case).where(Case.conversation_id == "tg-778")).scalars().all() == []
    assert _post(li, f"/handoffs/{bare}/book", form | {"consent": "y"}).status_code == 302
    with db.reader() as s:
        [case] = s.execute(select(Case).where(Case.conversation_id == "tg-778")).scalars().all()
        assert case.resident.telegram_user_id == 778 and case.source == "hotline"


# --- delivery alerts ------------------------------------------------------------------


def test_alerts_list_masks_the_detail_shows_and_handling_closes_them(app, db) -> None:
    alert_id, name, phone = blocked_mediator_alert(db)
    assert app.test_client().get("/alerts/").status_code == 302  # no session, no alerts
    li = _login(app)
    listing = li.get("/alerts/").get_data(as_text=True)
    assert "1 条待处理" in listing and "已屏蔽助手" in listing and phone not in listing and phone[-4:] in listing
    detail = li.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert phone in detail and name in detail and "审计日志" in detail
    assert li.get("/alerts/99999").status_code == 404
    assert "请填写处理备注" in li.post(f"/alerts/{alert_id}/resolve", data={
        "note": "", "csrf_token": _csrf(li, "/alerts/")}, follow_redirects=True).get_data(as_text=True)
    done = _post(li, f"/alerts/{alert_id}/resolve", {"note": "已电话告知调解员"}, token_from="/alerts/")
    assert done.status_code == 302
    assert "没有待处理的送达提醒" in li.get("/alerts/").get_data(as_text=True)
    again = li.post(f"/alerts/{alert_id}/resolve", data={"note": "再来一次", "csrf_token": _csrf(li, "/alerts/")},
                    follow_redirects=True)
    assert "已经有人处理" in again.get_data(as_text=True)


def test_after_handing_back_or_closing_the_agent_no_longer_sees_the_conversation(app, db) -> None:
    returned, closed = _handoff(db, "tg-611"), _handoff(db, "tg-612")
    li = _login(app)
    for handoff_id in (returned, closed):
        _post(li, f"/handoffs/{handoff_id}/take")
        assert PHONE in li.get(f"/handoffs/{handoff_id}").get_data(as_text=True)  # while holding it
    _post(li, f"/handoffs/{returned}/return", token_from=f"/handoffs/{returned}")
    _post(li, f"/handoffs/{closed}/close", {"note": "已处理"}, token_from=f"/handoffs/{closed}")
    for handoff_id in (returned, closed):
        page = li.get(f"/handoffs/{handoff_id}")
        assert page.status_code == 403 and PHONE not in page.get_data(as_text=True)
        assert li.get(f"/handoffs/{handoff_id}/transcript.json").status_code == 403
        assert li.get(f"/handoffs/{handoff_id}/booking", query_string={"place": "西岗子"}).status_code == 403
    # An admin still may, and that look is in the audit log.
    with db.transaction() as s:
        accounts.create_user(s, "boss", PASSWORD, display_name="管理员", role="admin", now=clock.now())
    boss = _login(app, "boss")
    assert PHONE in boss.get(f"/handoffs/{returned}").get_data(as_text=True)
    with db.reader() as s:
        reads = s.execute(select(AuditEntry).where(AuditEntry.action == "handoff.read")).scalars().all()
        assert [(r.actor, r.entity_id) for r in reads] == [("desk:boss", returned)]


def test_no_desk_page_may_be_cached(app, db) -> None:
    handoff_id = _handoff(db, "tg-621")
    li = _login(app)
    _post(li, f"/handoffs/{handoff_id}/take")
    for path in ("/", "/queue.json", f"/handoffs/{handoff_id}", f"/handoffs/{handoff_id}/transcript.json",
                 "/alerts/", "/intake", "/login"):
        assert li.get(path).headers.get("Cache-Control") == "no-store", path
    assert app.test_client().get("/login").headers.get("Cache-Control") == "no-store"


def _serve_status(status: int, body: bytes):  # type: ignore[no-untyped-def]
    """A one-route HTTP server standing where Rasa's court channel answers its health."""
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("status, body, expected", [
    (200, b'{"status": "ok", "actions": "ok"}', None),
    (503, b'{"status": "degraded", "actions": "down"}', "业务动作服务无响应"),
])
def test_agents_see_when_residents_are_getting_apologies(db, status, body, expected) -> None:
    server = _serve_status(status, body)
    try:
        app = create_app(db, rasa_url=f"http://127.0.0.1:{server.server_port}", testing=True)
        with db.transaction() as s:
            accounts.create_user(s, "li", PASSWORD, display_name="李敏", role="agent", now=clock.now())
        page = _login(app).get("/").get_data(as_text=True)
    finally:
        server.shutdown()
    assert ('id="assistant-degraded"' in page) == (expected is not None)
    if expected:
        assert expected in page and "12368" in page


def test_agents_see_when_the_assistant_does_not_answer_at_all(app) -> None:
    page = _login(app).get("/").get_data(as_text=True)
    assert 'id="assistant-degraded"' in page and "对话助手无响应" in page


def test_a_close_while_the_assistant_is_down_stays_queued_to_be_retried(app, db) -> None:
    handoff_id = _handoff(db, "tg-621")
    client = _login(app)
    _post(client, f"/handoffs/{handoff_id}/take")
    done = _post(client, f"/handoffs/{handoff_id}/close", {"note": "已电话联系。"}, token_from=f"/handoffs/{handoff_id}")
    assert done.status_code == 302 and _status(db, handoff_id) == "closed"
    assert "交还失败，待重试" in client.get("/").get_data(as_text=True)  # the flash, on the queue
    [row] = [r for r in client.get("/queue.json").get_json() if r["id"] == handoff_id]
    assert row["status_label"] == "已结束，交还助手失败，待重试" and not row["left"]
    with db.reader() as s:
        assert handoffs.resumes_due(s, now=clock.now() + dt.timedelta(minutes=1)) == [(handoff_id, "tg-621")]


def test_the_agent_sees_that_the_resident_left_while_they_held_the_chat(app, db) -> None:
    handoff_id = _handoff(db, "tg-622")
    client = _login(app)
    _post(client, f"/handoffs/{handoff_id}/take")
    assert client.get(f"/handoffs/{handoff_id}/transcript.json").get_json().get("left") is None
    with db.transaction() as s:
        handoffs.leave(s, "tg-622", now=clock.now())
    polled = client.get(f"/handoffs/{handoff_id}/transcript.json")
    assert polled.status_code == 200 and polled.get_json()["left"] is True
    assert "居民已取消转人工" in polled.get_json()["notice"]
    page = client.get(f"/handoffs/{handoff_id}")
    assert page.status_code == 403 and "居民已取消转人工" in page.get_data(as_text=True)
    assert PHONE not in page.get_data(as_text=True)
    [row] = [r for r in client.get("/queue.json").get_json() if r["id"] == handoff_id]
    assert row["left"] and row["status_label"] == "居民已取消转人工"
    assert "居民已取消转人工" in client.get("/").get_data(as_text=True)
    # Another agent's poll of it is refused as before.
    other = _login(app, "wang")
    assert other.get(f"/handoffs/{handoff_id}/transcript.json").status_code == 403


def test_what_residents_typed_is_shown_as_text_never_as_markup(app, db) -> None:
    # A resident's name and story reach the agent's pages: escaped by the templates, and the
    # queue's JSON is rendered with textContent by desk.js (never innerHTML).
    script, tag = "<script>alert(1)</script>", '<img src=x onerror="alert(2)">'
    handoff_id = _handoff(db, "tg-666")
    with db.transaction() as s:
        resident = residents.find(s, conversation_id="tg-666")
        resident.name = f"张{script}"
        cases.open_case(s, dispute_type="neighbor", summary=f"楼上漏水{tag}", actor="test", resident=resident,
                        conversation_id="tg-666")
    client = _login(app)
    _post(client, f"/handoffs/{handoff_id}/take")
    for path in ("/", f"/handoffs/{handoff_id}", "/alerts/"):
        page = client.get(path).get_data(as_text=True)
        assert script not in page and tag not in page, path
    page = client.get(f"/handoffs/{handoff_id}").get_data(as_text=True)
    assert "&lt;script&gt;" in page or "&lt;img" in page  # shown, as text
    root = Path(__file__).resolve().parents[2]
    for script_file in (root / "desk" / "static" / "desk.js", root / "webchat" / "static" / "chat.js"):
        assert "innerHTML" not in script_file.read_text(encoding="utf-8"), script_file
