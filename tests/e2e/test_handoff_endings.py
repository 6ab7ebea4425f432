"""How a handoff ends, when the desk cannot reach the assistant and when the resident leaves first:
the resident in Telegram (fake Bot API, the bot as a process), Rasa, the action server, the
housekeeping process, the desk app (Flask's test client) and the database."""
from __future__ import annotations

import socket
import uuid
from types import SimpleNamespace

from sqlalchemy import select

from court.hotline import accounts
from court.store.schema import DeskRole, Handoff, OutboxMessage
from desk.app import create_app
from tests.desk.test_desk_app import _csrf
from tests.e2e.test_paused import _waiting
from tests.e2e.test_telegram import eventually, resident, say
from tests.factories import NOW

PASSWORD = "correct horse 12368"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _desk_client(db, rasa_url: str):  # type: ignore[no-untyped-def]
    """An agent signed in to a desk app whose assistant is at ``rasa_url``."""
    app = create_app(db, rasa_url=rasa_url, testing=True)
    username = f"end.{uuid.uuid4().hex[:8]}"
    with db.transaction() as s:
        accounts.create_user(s, username, PASSWORD, role=DeskRole.AGENT.value, display_name="刘芳", actor="test", now=NOW)
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 302
    return client


def _handoff(db, user) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """The conversation's latest handoff, read now (detached from its session)."""
    with db.reader() as s:
        row = s.execute(select(Handoff).where(Handoff.conversation_id == f"tg-{user.id}")
                        .order_by(Handoff.id.desc())).scalars().first()
        return SimpleNamespace(id=row.id, status=row.status, resume_attempts=row.resume_attempts,
                               resume_next_at=row.resume_next_at)


def _post(client, path: str, data: dict | None = None, token_from: str = "/"):  # type: ignore[no-untyped-def]
    return client.post(path, data={**(data or {}), "csrf_token": _csrf(client, token_from)})


def test_a_close_the_desk_could_not_tell_the_assistant_is_retried_until_the_chat_is_resumed(
        telegram, stack, stack_db):
    me = resident(telegram)
    _waiting(me)
    assert stack.tracker(f"tg-{me.id}")["paused"] is True
    handoff_id = _handoff(stack_db, me).id
    client = _desk_client(stack_db, f"http://127.0.0.1:{_closed_port()}")  # the desk cannot reach Rasa
    assert _post(client, f"/handoffs/{handoff_id}/take").status_code == 302
    closed = _post(client, f"/handoffs/{handoff_id}/close", {"note": "已电话联系。"}, f"/handoffs/{handoff_id}")
    assert closed.status_code == 302
    first = _handoff(stack_db, me)
    assert first.status == "closed" and first.resume_attempts >= 1 and first.resume_next_at is not None
    assert "人工服务" in me.wait_for("人工服务")["text"]  # the resident is told it ended
    # The housekeeping process, which reaches Rasa, resumes the chat without the resident writing.
    assert eventually(lambda: stack.tracker(f"tg-{me.id}")["paused"] is False, timeout=40)
    assert eventually(lambda: _handoff(stack_db, me).resume_next_at is None)
    assert _handoff(stack_db, me).status == "closed"
    with stack_db.reader() as s:
        closes = s.execute(select(OutboxMessage).where(
            OutboxMessage.idempotency_key == f"handoff:{handoff_id}:closed")).scalars().all()
        assert len(closes) == 1


def test_an_agent_holding_the_chat_sees_that_the_resident_left(telegram, stack, stack_db):
    me = resident(telegram)
    _waiting(me)
    handoff_id = _handoff(stack_db, me).id
    client = _desk_client(stack_db, stack.rasa_url)
    _post(client, f"/handoffs/{handoff_id}/take")
    assert client.get(f"/handoffs/{handoff_id}/transcript.json").get_json()["ok"] is True
    say(me, "算了，取消转人工吧", "已为您取消转人工")
    polled = client.get(f"/handoffs/{handoff_id}/transcript.json").get_json()
    assert polled["left"] is True and "居民已取消转人工" in polled["notice"]
    [row] = [r for r in client.get("/queue.json").get_json() if r["id"] == handoff_id]
    assert row["left"] and row["status_label"] == "居民已取消转人工"
    refused = _post(client, f"/handoffs/{handoff_id}/reply", {"text": "您好？"}, "/")
    assert refused.status_code == 302
    assert "居民已取消转人工" in client.get("/").get_data(as_text=True)
    with stack_db.reader() as s:
        assert not s.execute(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"handoff:{handoff_id}:reply:%"))).scalars().all()
