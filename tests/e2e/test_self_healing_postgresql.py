"""Kill each part of the stack in the middle of a resident's booking on PostgreSQL:
the resident hears a clear answer to every message, the supervisor brings the part
back, the conversation goes on where it was, and nothing is lost or doubled."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import Appointment, AuditEntry, Case, OutboxMessage
from stack.processes import ROOT, Stack, free_port
from tests.conftest import SEED_DAY, _pg_url
from tests.e2e.conftest import BOT_ENV, BOT_TOKEN
from tests.e2e.test_telegram import DESCRIPTION, has_button, link_point_mediators, press, resident, say, xigangzi

pytestmark = pytest.mark.skipif(not _pg_url(), reason="TEST_POSTGRES_URL not set")

APOLOGY = "助手暂时出了点问题"
RECOVERY: dict[str, float] = {}


class Postgres:
    """A PostgreSQL server of this module's own (bin/pg-test-server on a free port), so that
    killing it disturbs no other test."""

    def __init__(self) -> None:
        port = free_port()
        # Under /tmp, not pytest's owner-only tmp: the server runs as the postgres user when we are root.
        self.directory = Path(f"/tmp/heihe-court-pgtest-{port}")
        # Durable, as in production: a commit acknowledged before the kill is there after it.
        self.env = os.environ | {"PGTEST_PORT": str(port), "PGTEST_DIR": str(self.directory), "PGTEST_DURABLE": "1"}

    def start(self) -> str:
        return subprocess.run([str(ROOT / "bin" / "pg-test-server"), "start"], env=self.env, check=True,
                              capture_output=True, text=True, timeout=120).stdout.strip()

    def kill(self) -> None:
        pid = int((self.directory / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)  # the postmaster: its backends end with it

    def stop(self) -> None:
        subprocess.run([str(ROOT / "bin" / "pg-test-server"), "stop"], env=self.env, check=False, timeout=120)
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def healing(model: Path, clock, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tools.fake_telegram.driver import FakeTelegram

    server = Postgres()
    url = server.start()
    admin = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE court_heal"))
    admin.dispose()
    db = Database(make_url(url).set(database="court_heal").render_as_string(hide_password=False))
    db.migrate()
    seed(db, today=SEED_DAY)
    env = {"COURT_FAKE_NOW": clock.env, "HOUSEKEEPING_INTERVAL": "0.5", "ACTION_TIMEOUT_SECONDS": "3"}
    try:
        with Stack(model, database_url=db.url, log_dir=tmp_path_factory.mktemp("heal-logs"), extra_env=env) as stack, \
                FakeTelegram(token=BOT_TOKEN, bot_username="heihe_court_bot") as tg:
            desk = stack.start_desk()
            webchat = stack.start_webchat()
            stack.start_bot(token=BOT_TOKEN, api_base=tg.api_root, extra_env=BOT_ENV, heartbeat_age=5)
            supervisor = stack.supervise(interval=0.5, misses=2, backoff=0.5, max_backoff=2)
            yield stack, tg, supervisor, db, desk, webchat, server
    finally:
        db.engine.dispose()
        server.stop()
        if RECOVERY:
            print("\ntime to recover: " + ", ".join(f"{k} {v:.1f} s" for k, v in RECOVERY.items()))


def back(supervisor, name: str, since: float, timeout: float = 300) -> float:  # type: ignore[no-untyped-def]
    """Seconds from the failure to the supervisor seeing ``name`` healthy again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [r for r in supervisor.recoveries if r.name == name and r.down_at >= since - 1]
        if done:
            return done[-1].seconds
        time.sleep(0.2)
    raise AssertionError(f"{name} did not come back in {timeout} s")


def answered_after_apology(user, mark: int, expect: str, timeout: float = 240) -> dict:  # type: ignore[no-untyped-def]
    """The resident's message got the apology (or, if the part was back already, the answer),
    then the real answer; nothing else in between: no half answer."""
    answer = user.wait_for(expect, after=mark, timeout=timeout)
    between = [m.get("text") or "" for m in user.inbox() if mark < m["message_id"] < answer["message_id"]]
    assert all(APOLOGY in t for t in between), between
    assert len(between) <= 1, between  # one apology, not one per retry
    return answer


def user_turns(stack: Stack, chat_id: int) -> list[str]:
    return [e["text"] for e in stack.tracker(f"tg-{chat_id}")["events"] if e["event"] == "user"]


def test_every_part_killed_mid_booking_the_resident_is_answered_and_nothing_is_lost(healing) -> None:
    stack, tg, supervisor, db, desk, webchat, _ = healing
    lat, lng = xigangzi(db)
    team = link_point_mediators(tg, db, lat, lng)
    me = resident(tg)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    say(me, DESCRIPTION, "人民调解")
    me.wait_for(has_button("帮我预约"))  # the turn's last message

    # The action server dies: the booking offer would come without its action; the resident
    # hears the apology, and the retry after the restart is answered in full.
    since = time.monotonic()
    stack.kill("actions")
    mark = me.mark()
    me.send("我想约调解员")
    answered_after_apology(me, mark, "同意")
    RECOVERY["action server (SIGKILL)"] = back(supervisor, "actions", since)

    # The action server hangs: Rasa's call times out (3 s here), the turn is dropped whole.
    health = f"{stack.rasa_url}/webhooks/court/"
    assert requests.get(health, timeout=5).json() == {"status": "ok", "actions": "ok"}
    since = time.monotonic()
    stack.kill("actions", signal.SIGSTOP)
    # Rasa still answers /status, but it is not healthy: the desk's banner reads this.
    degraded = requests.get(health, timeout=5)
    assert (degraded.status_code, degraded.json()["actions"]) == (503, "down")
    mark = me.mark()
    me.send("同意")
    answered_after_apology(me, mark, "称呼")
    RECOVERY["action server (SIGSTOP)"] = back(supervisor, "actions", since)

    # Rasa dies: the front end apologises and retries until the restarted Rasa answers.
    since = time.monotonic()
    stack.kill("rasa")
    mark = me.mark()
    me.send("王桂芝")
    answered_after_apology(me, mark, "手机号")
    RECOVERY["Rasa (SIGKILL)"] = back(supervisor, "rasa", since)

    # The Telegram front end dies: the update waits at the Bot API until it is back.
    since = time.monotonic()
    stack.kill("bot")
    mark = me.mark()
    me.share_contact("+86 139 4561 2378")
    me.wait_for("乡镇", after=mark, timeout=120)
    RECOVERY["Telegram front end (SIGKILL)"] = back(supervisor, "bot", since)

    # The housekeeping worker, the desk and the web chat die: they come back; the resident notices nothing.
    for name in ("housekeeping", "desk", "webchat"):
        since = time.monotonic()
        stack.kill(name)
        RECOVERY[f"{name} (SIGKILL)"] = back(supervisor, name, since)
    assert requests.get(f"{desk}/healthz", timeout=5).ok and requests.get(f"{webchat}/healthz", timeout=5).ok

    # The front end hangs: its heartbeat stops, the supervisor kills it and starts it again; the
    # location waits at the Bot API meanwhile.
    since = time.monotonic()
    stack.kill("bot", signal.SIGSTOP)
    mark = me.mark()
    me.share_location(lat, lng)
    me.wait_for("哪天", after=mark, timeout=120)
    RECOVERY["Telegram front end (SIGSTOP)"] = back(supervisor, "bot", since)
    offers = say(me, "明天上午", "请选一个时间")
    press(me, offers["reply_markup"]["inline_keyboard"][0][0]["text"], "请确认")
    booked = press(me, "确认", "预约成功")
    reference = booked["text"].split("案件编号：")[1].split()[0]

    # Every message once in the transcript: no turn lost to a kill, none doubled by a retry.
    turns = user_turns(stack, me.id)
    for said in (DESCRIPTION, "我想约调解员", "同意", "王桂芝"):
        assert turns.count(said) == 1, (said, turns)
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert s.execute(select(func.count()).select_from(Case)
                         .where(Case.resident_id == case.resident_id)).scalar_one() == 1
        appointments = s.execute(select(Appointment).where(Appointment.case_id == case.id)).scalars().all()
        assert len(appointments) == 1
        pushes = [row for row in s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_new"))
                  .scalars() if (row.payload or {}).get("appointment_id") == appointments[0].id]
        assert len(pushes) == 1
        booked_audits = s.execute(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity_type == "appointment", AuditEntry.entity_id == appointments[0].id,
            AuditEntry.action == "appointment.book")).scalar_one()
        assert booked_audits == 1
        mediator_id = appointments[0].mediator_id
    team[mediator_id].wait_for(reference)
    assert supervisor.gave_up is None


def test_rasa_hung_and_postgresql_killed_the_resident_hears_the_apology_then_the_answer(healing) -> None:
    stack, tg, supervisor, db, _, _, server = healing
    me = resident(tg)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)

    # Rasa hangs: the front end's wait runs out (the apology), the supervisor's probe fails and
    # the hung server is killed and started again; the kept message is then answered.
    since = time.monotonic()
    stack.kill("rasa", signal.SIGSTOP)
    mark = me.mark()
    me.send(DESCRIPTION)
    answered_after_apology(me, mark, "人民调解")
    me.wait_for(has_button("帮我预约"))
    RECOVERY["Rasa (SIGSTOP)"] = back(supervisor, "rasa", since)

    # PostgreSQL dies under everything: the inbound journal spools to disk, the resident hears
    # the apology; systemd (here: the test, after 5 s) starts it again and the message is answered.
    killed = time.monotonic()
    server.kill()
    mark = me.mark()
    me.send("我想约调解员")
    apology = me.wait_for(APOLOGY, after=mark, timeout=60)
    time.sleep(5)
    server.start()
    answered_after_apology(me, mark, "同意")
    RECOVERY["PostgreSQL (SIGKILL, restarted after 5 s)"] = time.monotonic() - killed
    assert apology["message_id"] > mark
    turns = user_turns(stack, me.id)
    assert turns.count(DESCRIPTION) == 1 and turns.count("我想约调解员") == 1, turns
    assert supervisor.gave_up is None
