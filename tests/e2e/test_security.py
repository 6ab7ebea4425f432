"""No open door between the processes: the whole stack (action server, Rasa, the
bot on the fake Telegram server, the desk) as real processes, probed over HTTP
and through /proc the way an attacker on the same machine would."""
from __future__ import annotations

import stat
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from sqlalchemy.engine import make_url

from court.store.tracker_db import tracker_database_url
from stack.sockets import descendants, listening

PHONE = "13604561234"  # only this module uses it: a log line holding it came from here
ID_NUMBER = "231102198001011239"


def sender() -> str:
    return f"e2e-sec-{uuid.uuid4().hex[:8]}"


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


@pytest.fixture(scope="module")
def desk_url(stack) -> str:  # type: ignore[no-untyped-def]
    return stack.start_desk(extra_env={"DESK_SECRET_KEY": "security-test-secret"})


def test_no_port_of_the_stack_listens_beyond_loopback(stack, telegram, desk_url, webchat):
    pids = set().union(*(descendants(proc.pid) for proc in stack.procs))
    sockets = listening(pids)
    ports = {s.port for s in sockets}
    # Not vacuous: the action server, Rasa, the desk and the web chat were found listening.
    assert {stack.action_port, stack.rasa_port, urlsplit(desk_url).port, urlsplit(webchat).port} <= ports, sockets
    assert [s for s in sockets if not s.loopback] == []
    # The bot long-polls: it opens no port at all.
    bots = [p for p in stack.procs if p.args[1:3] == ["-m", "bot.app"]]
    assert bots and not [s for s in sockets if s.pid in descendants(bots[0].pid)]


def _action_call(name: str, sender_id: str, slots: dict) -> dict:
    return {"next_action": name, "sender_id": sender_id, "version": "3.6.21", "domain": {},
            "tracker": {"sender_id": sender_id, "slots": slots, "latest_message": {}, "events": [],
                        "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}


def test_the_action_server_refuses_requests_without_the_token(stack):
    call = _action_call("action_request_human", "tg-424242", {"name": "王桂芝", "phone": PHONE})
    url = f"{stack.action_url}/webhook"
    token = stack.secrets["ACTION_SERVER_TOKEN"]
    assert requests.post(url, json=call, timeout=10).status_code == 401
    assert requests.post(url, params={"token": token[:-1] + "x"}, json=call, timeout=10).status_code == 401
    assert requests.post(url, params={"token": ""}, json=call, timeout=10).status_code == 401
    assert requests.get(f"{stack.action_url}/actions", timeout=10).status_code == 401
    assert requests.get(f"{stack.action_url}/actions", params={"token": token}, timeout=10).status_code == 200
    assert requests.get(f"{stack.action_url}/health", timeout=10).status_code == 200  # liveness only


def test_a_failing_action_answers_without_echoing_the_request(stack):
    call = _action_call("action_request_human", "tg-434343", {"phone": PHONE, "id_number": ID_NUMBER})
    del call["tracker"]["sender_id"]  # rasa_sdk cannot build the tracker: an internal error
    response = requests.post(f"{stack.action_url}/webhook", params={"token": stack.secrets["ACTION_SERVER_TOKEN"]},
                             json=call, timeout=10)
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert PHONE not in response.text and ID_NUMBER not in response.text


def test_cross_origin_pages_get_no_cors_grant(stack):
    for url in (f"{stack.action_url}/webhook", f"{stack.rasa_url}/conversations/tg-1/tracker"):
        preflight = requests.options(url, headers={"Origin": "http://evil.example",
                                                   "Access-Control-Request-Method": "POST"}, timeout=10)
        assert preflight.headers.get("Access-Control-Allow-Origin") in (None, ""), url


def test_rasa_refuses_its_http_api_without_the_jwt(stack):
    tracker = f"{stack.rasa_url}/conversations/tg-454545/tracker"
    forged = jwt.encode({"user": {"username": "desk", "role": "admin"}}, "not-the-secret-but-32-bytes-long!",
                        algorithm="HS256")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        assert requests.get(tracker, headers=headers, timeout=10).status_code == 401
        assert requests.put(f"{tracker}/events", json=[], headers=headers, timeout=10).status_code == 401
        assert requests.post(f"{tracker}/events", json={"event": "bot", "text": "假冒坐席"}, headers=headers,
                             timeout=10).status_code == 401
        assert requests.post(f"{stack.rasa_url}/conversations/tg-454545/messages", headers=headers, timeout=10,
                             json={"text": "hi", "sender": "user"}).status_code == 401
        assert requests.put(f"{stack.rasa_url}/model", json={"model_file": "/tmp/other.tar.gz"}, headers=headers,
                            timeout=10).status_code == 401
    assert requests.get(tracker, headers=stack.api_headers(), timeout=10).status_code == 200


def test_the_rest_channel_refuses_messages_without_the_secret(stack):
    body = {"sender": sender(), "message": "你好", "metadata": {"telegram_user_id": 1}}
    url = f"{stack.rasa_url}/webhooks/court/webhook"
    assert requests.post(url, json=body, timeout=30).status_code == 401
    assert requests.post(url, json=body, headers={"X-Court-Channel-Secret": "guess"}, timeout=30).status_code == 401
    # Rasa's own open REST channel is not there at all.
    assert requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=30).status_code == 404
    answered = requests.post(url, json=body, headers=stack.channel_headers(), timeout=30)
    assert answered.status_code == 200 and "诉前调解助手" in texts(answered.json())
    assert requests.post(url, json={"sender": 5, "message": "x"}, headers=stack.channel_headers(),
                         timeout=30).status_code == 400


def test_geo_50_at_the_place_question_is_asked_again_and_no_log_holds_a_phone(stack):
    me = sender()
    stack.say(me, "俺家楼上天天往下漏水，找他好几回了也不管，这事咋整")
    stack.say(me, "/book_mediation")
    assert "称呼" in texts(stack.say(me, "/affirm"))
    assert "手机号" in texts(stack.say(me, "王桂芝"))
    assert "乡镇" in texts(stack.say(me, PHONE))
    # Typed "geo:50" used to crash the validator: a 500 echoing every slot, which Rasa then logged.
    again = texts(stack.say(me, "geo:50"))
    assert "系统暂时出了点问题" not in again and again
    stack.say(me, f"我的身份证是{ID_NUMBER}")
    for log in stack.log_dir.glob("*.log"):
        content = log.read_text(encoding="utf-8", errors="replace")
        assert PHONE not in content and ID_NUMBER not in content, log.name


def test_the_stacks_files_are_owner_only(stack, stack_db):
    tracker_db = Path(make_url(tracker_database_url({"DATABASE_URL": stack_db.url})).database)
    for path in [*stack.log_dir.glob("*.log"), tracker_db]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
