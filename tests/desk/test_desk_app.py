"""The hotline desk web app through Flask's test client, on a migrated, seeded database.

Rasa is "down" in every test (rasa_url points at a closed port): the court writes
must still happen and the agent must be told the transcript is unavailable.
"""
from __future__ import annotations

import re
import socket

import pytest
from sqlalchemy import select

from court import clock, desk, handoffs, residents
from court.store.schema import Case, Handoff, OutboxMessage
from desk.app import create_app

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
        desk.create_user(s, "li", PASSWORD, display_name="李敏", role="agent", now=clock.now())
        desk.create_user(s, "wang", PASSWORD, display_name="王芳", role="agent", now=clock.now())
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


def test_session_cookie_is_httponly_and_lax(app) -> None:
    client = app.test_client()
    response = client.get("/login")
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header


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
    assert "暂时无法读取对话记录" in client.get(f"/handoffs/{handoff_id}").get_data(as_text=True)

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
    assert _status(db, returned) == "returned"

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
