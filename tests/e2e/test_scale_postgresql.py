"""Two Rasa replicas and two action servers behind HAProxy, Rasa's lock store in
Redis, everything on PostgreSQL (stack/topology.py): one conversation's messages
stay in order whichever replica gets them, and a replica or Redis can die
without losing or repeating a turn."""
from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from court.seeding.seed import seed
from court.store.db import Database
from stack.topology import Topology
from tests.conftest import SEED_DAY, _pg_url
from tests.e2e.conftest import BOT_ENV, BOT_TOKEN
from tests.e2e.test_telegram import DESCRIPTION, has_button, press, say
from tools.fake_telegram.driver import FakeTelegram

pytestmark = pytest.mark.skipif(not _pg_url(), reason="TEST_POSTGRES_URL not set")


def texts(replies: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in replies)


@pytest.fixture(scope="module")
def topology(model: Path, clock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:  # type: ignore[no-untyped-def]
    name = f"court_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_url(), future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    db = Database(make_url(_pg_url()).set(database=name).render_as_string(hide_password=False))
    db.migrate()
    seed(db, today=SEED_DAY)
    try:
        with Topology(model, database_url=db.url, log_dir=tmp_path_factory.mktemp("scale-logs"),
                      extra_env={"COURT_FAKE_NOW": clock.env}, bot_replicas=2) as running:
            yield running
    finally:
        db.engine.dispose()
        with admin.connect() as conn:
            for database in (name, f"{name}_tracker"):
                conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()


def user_turns(topology: Topology, sender: str) -> list[tuple[str, int]]:
    """Each user message with the number of the bot's answers before the next one."""
    events = topology.tracker(sender)["events"]
    turns: list[tuple[str, int]] = []
    for event in events:
        if event["event"] == "user":
            turns.append((event["text"], 0))
        elif event["event"] == "bot" and turns:
            turns[-1] = (turns[-1][0], turns[-1][1] + 1)
    return turns


def test_two_messages_sent_to_two_replicas_at_once_are_handled_one_after_the_other_on_postgresql(topology):
    for _ in range(3):
        me = f"scale-{uuid.uuid4().hex[:8]}"
        topology.say(me, "你好")
        replies: dict[int, list[dict]] = {}
        story, ask = "老板拖欠俺三个月工资不给，去要就说没钱", "我想约调解员"

        def send(index: int, message: str) -> None:
            replies[index] = topology.say_to(index, me, message)

        threads = [threading.Thread(target=send, args=(0, story)), threading.Thread(target=send, args=(1, ask))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert replies[0] and replies[1], "each replica answered its message"
        turns = user_turns(topology, me)
        # Every message once, each answered before the next was read: no lost or doubled turn.
        assert sorted(t for t, _ in turns) == sorted(["你好", story, ask])
        assert all(answers >= 1 for _, answers in turns), turns


def test_a_replica_killed_mid_conversation_the_other_carries_it_on_on_postgresql(topology):
    me = f"scale-{uuid.uuid4().hex[:8]}"
    topology.say(me, "你好")
    assert texts(topology.say(me, "老板拖欠俺三个月工资不给，去要就说没钱"))
    topology.kill_replica(0)
    try:
        asked = texts(topology.say(me, "我想约调解员"))
        assert "同意" in asked
        assert "称呼" in texts(topology.say(me, "同意"))
        assert [t for t, _ in user_turns(topology, me)] == ["你好", "老板拖欠俺三个月工资不给，去要就说没钱",
                                                            "我想约调解员", "同意"]
    finally:
        recovered = topology.start_replica(0)
    print(f"replica restarted and healthy in {recovered:.1f} s")
    # Back in the rotation: the conversation goes on whichever replica answers.
    assert "手机号" in texts(topology.say_to(0, me, "王桂芝"))


def test_redis_down_is_a_clear_error_and_the_retry_is_answered_once_on_postgresql(topology):
    me = f"scale-{uuid.uuid4().hex[:8]}"
    topology.say(me, "你好")
    redis = next(p for p in topology.procs if p.args[0].endswith("redis-server"))
    redis.kill()
    redis.wait(timeout=10)
    topology.procs.remove(redis)
    try:
        with pytest.raises(requests.HTTPError) as failed:
            topology.say(me, "邻居家装修天天砸墙，吵得没法睡觉")
        assert failed.value.response.status_code >= 500  # the front ends answer with the outage apology
    finally:
        topology.start_redis()
    for _ in range(20):  # Redis takes a moment to listen again
        try:
            reply = topology.say(me, "邻居家装修天天砸墙，吵得没法睡觉")
            break
        except requests.HTTPError:
            time.sleep(0.5)
    assert texts(reply)
    assert [t for t, _ in user_turns(topology, me)] == ["你好", "邻居家装修天天砸墙，吵得没法睡觉"]


def say_until_answered(topology: Topology, sender: str, text: str, tries: int = 20) -> list[dict]:
    """What a front end does with a 503: apologise, keep the message, send it again later."""
    for _ in range(tries):
        try:
            return topology.say(sender, text)
        except requests.HTTPError as failed:
            assert failed.response.status_code == 503, failed.response.status_code
            time.sleep(0.5)
    raise AssertionError(f"never answered: {text}")


def test_an_action_server_killed_mid_booking_the_other_books_it_once_on_postgresql(topology):
    me = f"scale-{uuid.uuid4().hex[:8]}"
    topology.say(me, "你好")
    topology.say(me, "俺家楼上天天往下漏水，找他好几回了也不管")
    for message, expect in (("我想约调解员", "同意"), ("同意", "称呼"), ("王桂芝", "手机号"),
                            ("13945612399", "乡镇"), ("爱辉区西岗子", "哪天")):
        assert expect in texts(say_until_answered(topology, me, message)), message
    offers = say_until_answered(topology, me, "明天上午")
    slot = next(b["payload"] for r in offers for b in r.get("buttons") or [] if "slot_token" in b["payload"])
    assert "请确认" in texts(say_until_answered(topology, me, slot))
    # One action server dies (SIGKILL) just before the booking: HAProxy sends the call to the
    # other one, or Rasa's call fails and the turn is dropped whole (503) and sent again.
    name = f"actions-{topology.action_ports[0]}"
    topology.kill(name)
    try:
        booked = texts(say_until_answered(topology, me, "确认"))
    finally:
        topology.respawn(name)
    assert "预约成功" in booked
    reference = booked.split("案件编号：")[1].split()[0]
    db = Database(topology.env["DATABASE_URL"])
    with db.reader() as s:
        count = s.execute(text("SELECT count(*) FROM appointments a JOIN cases c ON c.id = a.case_id "
                               "WHERE c.reference = :ref"), {"ref": reference}).scalar_one()
    db.dispose()
    assert count == 1
    assert [t for t, _ in user_turns(topology, me)].count("确认") == 1


WEBHOOK = "https://court.example/telegram"


@pytest.fixture(scope="module")
def webhook(topology: Topology) -> Iterator[FakeTelegram]:
    """Two Telegram front ends in webhook mode behind the balancer; the fake Bot API POSTs each
    update to the court's HTTPS address, which the route maps to the balancer (TLS ends there)."""
    with FakeTelegram(token=BOT_TOKEN, bot_username="heihe_court_bot",
                      webhook_routes={"https://court.example": topology.telegram_url}) as tg:
        topology.start_bots(token=BOT_TOKEN, api_base=tg.api_root, public_url=WEBHOOK, extra_env=BOT_ENV)
        deadline = time.monotonic() + 60
        while tg.webhook_url != WEBHOOK or len(tg.calls("setWebhook")) < len(topology.bot_ports):
            assert time.monotonic() < deadline, "the front ends never set their webhook"
            time.sleep(0.2)
        try:
            yield tg
        finally:
            for index in range(len(topology.bot_ports)):
                topology.kill_bot(index)


def front_ends_used(topology: Topology) -> set[str]:
    log = (topology.log_dir / "haproxy.log").read_text(encoding="utf-8", errors="replace")
    return {server for server in ("bots/bot0", "bots/bot1") if server in log}


def test_telegram_front_ends_in_webhook_mode_share_updates_and_one_may_die_on_postgresql(topology, webhook):
    tg = webhook
    residents = [tg.user(7_100_000 + i, first_name="桂芝", last_name="王") for i in range(4)]
    for user in residents:
        say(user, "你好", "诉前调解助手", timeout=60)
        say(user, DESCRIPTION, "需要我帮您预约", timeout=60)
    assert front_ends_used(topology) == {"bots/bot0", "bots/bot1"}  # round robin over both processes

    topology.kill_bot(0)  # SIGKILL, as a crash would: the balancer and Telegram's resend carry on
    for user in residents:
        press(user, "帮我预约", has_button("同意"))  # button presses (callback queries) through the webhook
        press(user, "同意", "怎么称呼")
        mark = user.mark()
        say(user, "王桂芝", "手机号", timeout=60)
        time.sleep(1)  # a doubled update would have answered twice by now
        assert len([m for m in user.inbox() if m["message_id"] > mark and "手机号" in (m.get("text") or "")]) == 1
    # Every update reached the court once: none lost to the killed process, none handled twice.
    delivered = {d["update_id"] for d in tg.webhook_deliveries() if d["error"] is None}
    assert tg.pending_updates() == [] and len(delivered) == len(residents) * 5
    info = requests.get(f"{tg.base_url}{BOT_TOKEN}/getWebhookInfo", timeout=5).json()["result"]
    assert info["url"] == WEBHOOK and info["pending_update_count"] == 0
    with Database(topology.env["DATABASE_URL"]).reader() as s:
        counts = s.execute(text("SELECT update_id, count(*) FROM inbound_messages WHERE update_id IS NOT NULL "
                                "GROUP BY update_id HAVING count(*) > 1")).all()
    assert counts == []
