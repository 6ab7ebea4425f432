"""委派调解 end to end, on SQLite and PostgreSQL: the court delegates (as the clerk's page does),
the mediator accepts in Telegram, a party with a chat hears in it and the other by SMS, the mediator
logs a contact and a session, the deadline's 7-day warning arrives when the one clock moves, and a
failed mediation goes back to the court to be filed. The fake Bot API, the bot and the housekeeping
process as their own processes on a database of this module's own; no Rasa (no resident talks)."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import time
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from court.core.clock import FileClock
from court.mediation import delegation, delegation_offers, linking
from court.records import residents
from court.store.schema import Court, Delegation, OutboxMessage, ServicePoint
from stack.processes import Stack
from tests.conftest import _backends, database_copy
from tests.e2e.conftest import BOT_ENV, BOT_TOKEN
from tests.e2e.test_telegram import eventually, press
from tests.factories import NOW

APPLICANT, RESPONDENT = "13977001122", "13977003344"
_ids = itertools.count(760001)


@pytest.fixture(scope="module", params=_backends())
def light(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """(database, clock, stack, fake Telegram, SMS file): the bot and housekeeping without Rasa."""
    from tools.fake_telegram.driver import FakeTelegram

    clock = FileClock(tmp_path_factory.mktemp("delegated-clock") / "now")
    clock.set(NOW)
    sms = tmp_path_factory.mktemp("delegated-sms") / "sms.jsonl"
    env = {"COURT_FAKE_NOW": clock.env, "HOUSEKEEPING_INTERVAL": "0.5", "COURT_ACCEPT_HOURS": "0"}
    with database_copy(request, tmp_path_factory.mktemp("delegated-e2e")) as db:
        stack = Stack(Path("unused-model"), database_url=db.url, log_dir=tmp_path_factory.mktemp("delegated-logs"),
                      extra_env=env)
        try:
            with FakeTelegram(token=BOT_TOKEN, bot_username="heihe_court_bot") as tg:
                stack.start_bot(token=BOT_TOKEN, api_base=tg.api_root, extra_env=BOT_ENV)
                stack.restart_housekeeping({"SMS_PROVIDER": "record", "SMS_RECORD_FILE": str(sms)})
                yield db, clock, stack, tg, sms
        finally:
            stack.stop()


def _point_and_mediator(s):  # type: ignore[no-untyped-def]
    point = next(p for p in s.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars()
                 if any(m.status == "active" for m in p.mediators))
    return point, sorted((m for m in point.mediators if m.status == "active"), key=lambda m: m.id)[0]


def _link(telegram, db):  # type: ignore[no-untyped-def]
    """The mediator's chat, linked with /link before the push (a push needs the chat)."""
    with db.transaction() as s:
        code = linking.issue_link_code(s, _point_and_mediator(s)[1].code, actor="test")
    user = telegram.user(next(_ids), first_name="调解员")
    mark = user.mark()
    user.command("link", payload=code)
    user.wait_for("绑定成功", after=mark)
    return user


def _delegate(db, chat_user_id: int) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        point, mediator = _point_and_mediator(s)
        party = residents.record_consent(s)
        residents.set_contact(s, party, name="赵申请", phone=APPLICANT)
        party.telegram_user_id = chat_user_id  # the applicant chats with the court's bot already
        court = s.execute(select(Court).order_by(Court.id)).scalars().first()
        d = delegation_offers.delegate(
            s, parties=[delegation.PartyIn("applicant", "赵申请", APPLICANT),
                        delegation.PartyIn("respondent", "钱被申", RESPONDENT)],
            dispute_type="debt", summary="货款两万元未付", amount_cents=2000000, court_id=court.id, judge="孙法官",
            channel="judge", place_id=point.place_id, point_id=point.id, mediator_id=mediator.id, consent=True,
            actor="desk:clerk", now=NOW)
        return d.id, d.case.reference


def test_clerk_delegates_mediator_accepts_logs_is_warned_and_returns_it_to_filing(light):
    db, clock, _, telegram, texts = light
    mediator = _link(telegram, db)
    party = telegram.user(next(_ids), first_name="申请", last_name="赵")
    d_id, reference = _delegate(db, party.id)

    offer = mediator.wait_for(lambda m: reference in (m.get("text") or "") and "法院委派调解" in m["text"])
    assert APPLICANT not in offer["text"] and "孙法官" in offer["text"]
    accepted = press(mediator, "接受", "已接受", where=reference)
    assert APPLICANT in accepted["text"] and RESPONDENT in accepted["text"]
    told = party.wait_for("法院委派调解")
    assert reference in told["text"] and "调解员" in told["text"]
    assert eventually(lambda: texts.exists() and RESPONDENT in texts.read_text(encoding="utf-8"))
    [sms] = [json.loads(line) for line in texts.read_text(encoding="utf-8").splitlines()]
    assert sms["phone"] == RESPONDENT and reference in sms["text"]

    mark = mediator.mark()
    mediator.command("contact", f"{reference} 电话联系被申请人，同意周三面谈")
    mediator.wait_for("已记录（联系）", after=mark)
    mark = mediator.mark()
    mediator.command("session", f"{reference} 第一次调解，金额分歧大")
    mediator.wait_for("已记录（调解）", after=mark)
    mark = mediator.mark()
    mediator.command("cases")
    assert reference in mediator.wait_for("委派案件", after=mark)["text"]

    # 7 days before the last day (30 December): the mediator and the desk are warned, once.
    clock.set(dt.datetime(2026, 12, 23, 9, 0, tzinfo=NOW.tzinfo))
    warning = mediator.wait_for(lambda m: "委派期限提醒" in (m.get("text") or "") and reference in m["text"],
                                timeout=30)
    assert "12月30日" in warning["text"]
    time.sleep(1.5)  # more housekeeping passes: no second warning
    assert sum("委派期限提醒" in t for t in mediator.texts()) == 1

    mark = mediator.mark()
    mediator.command("outcome", reference)
    mediator.wait_for("调解不成的案件会退回法院转立案", after=mark)
    back = press(mediator, "调解不成", "转立案")
    assert reference in back["text"]
    with db.reader() as s:
        d = s.get(Delegation, d_id)
        assert (d.status, d.case.status, [e.kind for e in d.log]) == ("returned", "failed", ["contact", "session"])
        alerts = s.execute(select(OutboxMessage.template).where(OutboxMessage.recipient_type == "court")
                           ).scalars().all()
        assert alerts.count("delegation_due_7") == 1 and alerts.count("delegation_returned") == 1
    clock.set(NOW)
