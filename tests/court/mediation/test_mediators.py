"""The mediator's side: link codes, agenda, contact after acceptance, outcomes, the clerk's CLI."""
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select, update

from court.admin import cli
from court.booking import engine
from court.mediation import mediators
from court.messaging import outbox
from court.records import workcalendar
from court.reference import guidance
from court.core.errors import LinkCodeInvalid, NotFound, PermissionDenied, ValidationError
from court.facades.messenger import NOT_ACTIVE, NOT_LINKED, FrontDesk
from court.store.schema import (
    Appointment,
    AuditEntry,
    Case,
    LinkCode,
    Mediator,
    Outcome,
    OutboxMessage,
    OutcomeResult,
)
from court.core.timeutil import format_local
from tests.races import race
from tests.factories import NOW, TUESDAY, local, mediators_of, new_case, point, shared_slot, single_mediator_point

CODE_RE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$")
CHAT = 7_100_000_001
OTHER_CHAT = 7_100_000_002
START = local(TUESDAY, 9, 30)
AFTER = START + dt.timedelta(hours=1)


def _audits(s, action, entity_id=None):
    query = select(AuditEntry).where(AuditEntry.action == action)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return s.execute(query.order_by(AuditEntry.id)).scalars().all()


def _two_mediators(s):
    sp, _ = shared_slot(s, TUESDAY)
    first, second = mediators_of(sp)[:2]
    return first, second


def _issue(db, mediator_code, **kwargs):
    with db.transaction() as s:
        return mediators.issue_link_code(s, mediator_code, actor="clerk:test", now=kwargs.pop("now", NOW), **kwargs)


def _redeem(db, code, chat_id, now=NOW):
    with db.transaction() as s:
        return mediators.redeem_link_code(s, code, chat_id, now=now)


def _book(s, start=START, sp=None, accept=False, dispute_type="neighbor"):
    sp = sp or single_mediator_point(s)
    appt = engine.book(s, new_case(s, dispute_type), point_id=sp.id, starts_at=start, actor="bot", now=NOW)
    if accept:
        engine.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
    return appt


# --- link codes -------------------------------------------------------------


def test_issue_and_redeem_links_the_chat(db):
    with db.transaction() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator.telegram_blocked_at = NOW  # blocked the bot once; linking again clears it
        mediator_id, mediator_code = mediator.id, mediator.code
    code = _issue(db, mediator_code)
    assert CODE_RE.match(code)
    plain = code.replace("-", "")
    with db.reader() as s:
        link = s.execute(select(LinkCode).where(LinkCode.mediator_id == mediator_id)).scalar_one()
        assert link.code_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert link.issued_by == "clerk:test" and link.expires_at == NOW + dt.timedelta(hours=72)
        issued = _audits(s, "mediator.link_code_issued", mediator_id)
        assert len(issued) == 1 and plain not in json.dumps(issued[0].after) and code not in json.dumps(issued[0].after)
        assert mediators.by_chat(s, CHAT) is None
    # Typed on a phone: lower case, full-width characters, spaces and a long dash.
    typed = " " + plain[:4].lower() + " — " + "".join(chr(ord(c) + 0xFEE0) for c in plain[4:]) + " "
    linked = _redeem(db, typed, CHAT, now=NOW + dt.timedelta(hours=1))
    assert linked.id == mediator_id
    with db.reader() as s:
        mediator = s.get(Mediator, mediator_id)
        assert mediator.telegram_chat_id == CHAT and mediator.telegram_blocked_at is None
        assert mediator.telegram_linked_at == NOW + dt.timedelta(hours=1)
        link = s.execute(select(LinkCode).where(LinkCode.mediator_id == mediator_id)).scalar_one()
        assert link.used_chat_id == CHAT and link.used_at == NOW + dt.timedelta(hours=1)
        assert mediators.by_chat(s, CHAT).id == mediator_id
        entry = _audits(s, "mediator.link", mediator_id)[-1]
        assert entry.before["telegram_chat_id"] is None and entry.after["telegram_chat_id"] == CHAT
    # The same /link sent again from the same chat (a resent update) is not an error.
    assert _redeem(db, code, CHAT).id == mediator_id
    with db.reader() as s:
        assert len(_audits(s, "mediator.link", mediator_id)) == 1


def test_an_expired_code_is_refused(db):
    with db.reader() as s:
        mediator_code = mediators_of(single_mediator_point(s))[0].code
    code = _issue(db, mediator_code, ttl=dt.timedelta(hours=1))
    with pytest.raises(LinkCodeInvalid) as err:
        _redeem(db, code, CHAT, now=NOW + dt.timedelta(hours=1, seconds=1))
    assert "过期" in err.value.message and "法院工作人员" in err.value.message
    with db.reader() as s:
        assert mediators.by_chat(s, CHAT) is None


def test_pushes_for_a_mediator_not_yet_linked_arrive_when_they_link(db):
    """Booked before the link (the demo roster starts unlinked): the push fails at once with
    no_telegram_chat, and is sent again, once per appointment still unanswered, at the link."""
    with db.transaction() as s:
        appt = _book(s)
        mediator_id, mediator_code, appt_id = appt.mediator_id, appt.mediator.code, appt.id
        cancelled = _book(s, start=AFTER, sp=appt.service_point)
        engine.cancel(s, cancelled.id, actor="bot", now=NOW)
    outbox.claim_due(db, now=NOW)  # fails the unlinked mediator's rows: no chat yet
    with db.reader() as s:
        failed = s.execute(select(OutboxMessage).where(
            OutboxMessage.recipient_id == mediator_id, OutboxMessage.template == "appointment_new")).scalars().all()
        assert failed and {r.last_error for r in failed} == {outbox.NO_CHAT}
    _redeem(db, _issue(db, mediator_code), CHAT)
    due = outbox.claim_due(db, now=NOW)
    pushes = [d for d in due if d.template == "appointment_new" and d.chat_id == CHAT]
    assert [d.payload["appointment_id"] for d in pushes] == [appt_id]  # the cancelled one is not asked again
    # Linking again (a new phone) does not send it twice.
    _redeem(db, _issue(db, mediator_code), OTHER_CHAT)
    assert not [d for d in outbox.claim_due(db, now=NOW) if d.template == "appointment_new"]


def test_a_used_code_cannot_link_another_chat(db):
    with db.reader() as s:
        mediator_code = mediators_of(single_mediator_point(s))[0].code
    code = _issue(db, mediator_code)
    _redeem(db, code, CHAT)
    with pytest.raises(LinkCodeInvalid) as err:
        _redeem(db, code, OTHER_CHAT)
    assert "用过" in err.value.message
    with db.reader() as s:
        assert mediators.by_chat(s, OTHER_CHAT) is None and mediators.by_chat(s, CHAT) is not None


def test_a_new_code_revokes_the_earlier_one(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    first = _issue(db, mediator_code)
    second = _issue(db, mediator_code.lower())  # clerks type codes by hand
    assert first != second
    with pytest.raises(LinkCodeInvalid) as err:
        _redeem(db, first, CHAT)
    assert "作废" in err.value.message
    assert _redeem(db, second, CHAT).id == mediator_id
    with db.reader() as s:
        assert _audits(s, "mediator.link_code_issued", mediator_id)[-1].after["revoked_codes"] == 1


@pytest.mark.parametrize("typed", ["", "ABC", "ABCD-EFGH-J", "0000-0000", "ILOU-ILOU", "2345-6789"])
def test_unknown_and_malformed_codes_are_refused(db, typed):
    with pytest.raises(LinkCodeInvalid) as err:
        _redeem(db, typed, CHAT)
    assert "绑定码" in err.value.message and "/link" in err.value.message


def test_a_chat_linked_to_another_mediator_is_refused(db):
    with db.reader() as s:
        first, second = _two_mediators(s)
        first_id, first_code, second_id, second_code = first.id, first.code, second.id, second.code
    _redeem(db, _issue(db, first_code), CHAT)
    code = _issue(db, second_code)
    with pytest.raises(ValidationError) as err:
        _redeem(db, code, CHAT)
    assert "另一位调解员" in err.value.message
    with db.reader() as s:
        assert mediators.by_chat(s, CHAT).id == first_id
    # The refusal did not use the code up: it still works from the right phone.
    assert _redeem(db, code, OTHER_CHAT).id == second_id


def test_a_new_phone_replaces_the_old_chat(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    _redeem(db, _issue(db, mediator_code), CHAT)
    _redeem(db, _issue(db, mediator_code), OTHER_CHAT)
    with db.reader() as s:
        assert mediators.by_chat(s, CHAT) is None
        assert mediators.by_chat(s, OTHER_CHAT).id == mediator_id
        moved = _audits(s, "mediator.link", mediator_id)[-1]
        assert moved.before["telegram_chat_id"] == CHAT and moved.after["telegram_chat_id"] == OTHER_CHAT


def test_suspended_and_unknown_mediators(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    with pytest.raises(NotFound) as err:
        _issue(db, "M-NOBODY")
    assert "M-NOBODY" in err.value.message
    code = _issue(db, mediator_code)
    _redeem(db, code, CHAT)
    pending = _issue(db, mediator_code)
    with db.transaction() as s:
        s.get(Mediator, mediator_id).status = "suspended"
    with db.reader() as s:
        assert mediators.by_chat(s, CHAT) is None  # a suspended mediator gets no mediator menu
    with pytest.raises(ValidationError) as err:
        _issue(db, mediator_code)
    assert "停用" in err.value.message
    with pytest.raises(LinkCodeInvalid):
        _redeem(db, pending, OTHER_CHAT)


def test_unlink(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    _redeem(db, _issue(db, mediator_code), CHAT)
    with db.transaction() as s:
        assert mediators.unlink(s, mediator_id, actor="clerk:test") is True
    with db.transaction() as s:
        assert mediators.unlink(s, mediator_id, actor="clerk:test") is False
        assert mediators.by_chat(s, CHAT) is None
        entries = _audits(s, "mediator.unlink", mediator_id)
        assert len(entries) == 1 and entries[0].before["telegram_chat_id"] == CHAT
        assert entries[0].after["telegram_chat_id"] is None
    with pytest.raises(NotFound):
        with db.transaction() as s:
            mediators.unlink(s, 10_000_000, actor="clerk:test")


def test_ten_concurrent_redemptions_of_one_code_link_one_chat(db):
    attempts = 10
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    code = _issue(db, mediator_code)

    def redeem(i: int) -> str:
        with db.transaction() as s:
            mediators.redeem_link_code(s, code, CHAT + i, now=NOW)
        return "ok"

    outcomes = race(attempts, redeem)
    assert Counter(outcomes) == Counter({"ok": 1, LinkCodeInvalid.__name__: attempts - 1})
    winner = CHAT + outcomes.index("ok")
    with db.reader() as s:
        assert s.get(Mediator, mediator_id).telegram_chat_id == winner
        assert s.execute(select(LinkCode.used_chat_id).where(LinkCode.mediator_id == mediator_id)).scalar_one() == winner
        assert len(_audits(s, "mediator.link", mediator_id)) == 1


# --- agenda and contact ---------------------------------------------------


def test_agenda_lists_the_days_and_hides_phones_until_accepted(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        accepted = _book(s, START, sp, accept=True, dispute_type="labor")
        waiting = _book(s, local(TUESDAY, 13, 30), sp)
        waiting.case.summary = "对方电话13912345678，一直不接"
        cancelled = _book(s, local(TUESDAY, 14, 30), sp)
        engine.cancel(s, cancelled.id, actor="resident", now=NOW)
        _book(s, local(TUESDAY + dt.timedelta(days=1), 9, 30), sp)  # Wednesday: outside a one-day agenda
        mediator_id, point_name = accepted.mediator_id, sp.name
        resident = accepted.case.resident
        name, phone, waiting_phone = resident.name, resident.phone, waiting.case.resident.phone
        accepted_id, waiting_id, summary = accepted.id, waiting.id, accepted.case.summary
    with db.reader() as s:
        items = mediators.agenda(s, mediator_id, start=TUESDAY, days=1, now=NOW)
        assert [i.appointment_id for i in items] == [accepted_id, waiting_id]
        first, second = items
        assert first.status == "accepted" and first.status_label == "已接受"
        assert (first.resident_name, first.resident_phone) == (name, phone)
        assert first.time == format_local(START) and first.starts_at == START
        assert first.starts_at.utcoffset() == dt.timedelta(0)
        assert first.dispute_label == guidance.card("labor").label and first.service_point == point_name
        assert first.summary == summary and first.outcome is None and not first.needs_outcome
        assert second.status == "booked" and second.status_label == "待您确认"
        assert second.resident_name is None and second.resident_phone is None
        assert "13912345678" not in second.summary and "139****5678" in second.summary
        text = mediators.render_agenda(items, "今日预约")
        assert text.startswith("【今日预约】共2个") and phone in text and waiting_phone not in text
        assert "13912345678" not in text and "接受" in text
        week = mediators.agenda(s, mediator_id, start=TUESDAY, days=7, now=AFTER)
        assert len(week) == 3 and week[0].needs_outcome and "/outcome" in mediators.render_agenda(week, "本周")
        assert mediators.agenda(s, mediator_id, start=TUESDAY + dt.timedelta(days=2), days=1, now=NOW) == []
        assert mediators.render_agenda([], "今日预约") == "【今日预约】\n没有预约。"
        with pytest.raises(ValidationError):
            mediators.agenda(s, mediator_id, start=TUESDAY, days=0, now=NOW)


def test_contact_only_for_the_owner_of_an_accepted_appointment(db):
    with db.transaction() as s:
        appt = _book(s)
        appt_id, owner = appt.id, appt.mediator_id
        resident = appt.case.resident
        name, phone = resident.name, resident.phone
    with db.reader() as s:
        with pytest.raises(ValidationError) as err:
            mediators.contact_for(s, appt_id, owner)
        assert "接受" in err.value.message
        with pytest.raises(NotFound):
            mediators.contact_for(s, appt_id + 1000, owner)
    with db.transaction() as s:
        engine.accept(s, appt_id, mediator_id=owner, now=NOW)
    with db.reader() as s:
        assert mediators.contact_for(s, appt_id, owner) == (name, phone)
        with pytest.raises(PermissionDenied) as err:
            mediators.contact_for(s, appt_id, owner + 1)
        assert "不是您负责" in err.value.message


# --- outcomes ---------------------------------------------------------------


@pytest.mark.parametrize("result,case_status,appt_status,case_actions", [
    ("success", "agreement", "done", ["case.mediating", "case.agreement"]),
    ("agreement_needs_confirmation", "jc_requested", "done",
     ["case.mediating", "case.agreement", "case.jc_requested"]),
    ("failed", "failed", "done", ["case.mediating", "case.failed"]),
    ("no_show", "intake", "no_show", ["case.intake"]),
])
def test_each_outcome_moves_the_appointment_and_the_case(db, result, case_status, appt_status, case_actions):
    with db.transaction() as s:
        appt = _book(s, accept=True)
        appt_id, case_id, owner, reference = appt.id, appt.case_id, appt.mediator_id, appt.case.reference
        resident_id = appt.case.resident_id
    with db.transaction() as s:
        outcome = mediators.record_outcome(s, owner, f"  {reference.lower()} ", result,
                                           note="  双方同意\t\t分期处理  ", now=AFTER)
        outcome_id = outcome.id
    with db.reader() as s:
        outcome = s.get(Outcome, outcome_id)
        assert outcome.result == result and outcome.case_id == case_id and outcome.appointment_id == appt_id
        assert outcome.recorded_by == f"mediator:{owner}" and outcome.agreement_summary == "双方同意 分期处理"
        assert outcome.recorded_at == AFTER
        assert outcome.jc_requested_at == (AFTER if result == "agreement_needs_confirmation" else None)
        case = s.get(Case, case_id)
        assert case.status == case_status and s.get(Appointment, appt_id).status == appt_status
        for action in case_actions:
            assert _audits(s, action, case_id)[-1].actor == f"mediator:{owner}"
        if result != "no_show":
            assert case.mediating_at is not None
        assert [e.after["status"] for e in _audits(s, f"appointment.{appt_status}", appt_id)] == [appt_status]
        recorded = _audits(s, "outcome.record", outcome_id)
        assert len(recorded) == 1 and recorded[0].after["result"] == result
        push = s.execute(select(OutboxMessage).where(OutboxMessage.template == "outcome_recorded")).scalar_one()
        assert push.idempotency_key == f"case:{case_id}:outcome:{outcome_id}:resident"
        assert push.recipient_type == "resident" and push.recipient_id == resident_id
        assert push.payload["reference"] == reference and push.payload["result"] == result
        assert push.payload["result_label"] == mediators.OUTCOME_LABELS[result]
        if result == "agreement_needs_confirmation":
            # Optional ("可以", 人民调解法第33条); only the 30 days bind.
            assert "可以自调解协议生效之日起30日内共同向法院申请司法确认" in push.payload["hint"]
            assert "应" not in push.payload["hint"].split("最晚")[0]
            assert "民事诉讼法第205条" in push.payload["hint"] and "最晚在12月31日" in push.payload["hint"]
            assert push.payload["jc_deadline"] == "2026-12-31"  # 30 days on, a Thursday
        else:
            assert "jc_deadline" not in push.payload
        # Reminders of a meeting that has happened are withdrawn.
        reminders = s.execute(select(OutboxMessage).where(
            OutboxMessage.idempotency_key.like(f"appt:{appt_id}:%reminder%"))).scalars().all()
        assert reminders and all(m.status == "cancelled" for m in reminders)
    if result == "no_show":  # the case can be booked again
        with db.transaction() as s:
            again = engine.book(s, s.get(Case, case_id), point_id=single_mediator_point(s).id,
                                 starts_at=local(TUESDAY + dt.timedelta(days=1), 9, 30), actor="bot", now=AFTER)
            assert again.case.status == "booked"


def test_the_jc_deadline_moves_past_holidays(db):
    # Recorded on 1 September 2026: thirty days on is National Day, the first working day after is 8 October.
    with db.reader() as s:
        calendar = workcalendar.of(s)
        assert mediators._jc_deadline(calendar, local(dt.date(2026, 9, 1), 10)) == dt.date(2026, 10, 8)
        assert mediators._jc_deadline(calendar, local(dt.date(2026, 9, 2), 10)) == dt.date(2026, 10, 8)


def test_an_outcome_before_the_meeting_is_refused(db):
    with db.transaction() as s:
        appt = _book(s, accept=True)
        owner, reference = appt.mediator_id, appt.case.reference
    with pytest.raises(ValidationError) as err:
        with db.transaction() as s:
            mediators.record_outcome(s, owner, reference, "success", now=START - dt.timedelta(minutes=1))
    assert "还没到" in err.value.message
    with db.transaction() as s:  # the moment it starts is fine (e.g. a no-show noticed at once)
        mediators.record_outcome(s, owner, reference, OutcomeResult.NO_SHOW, now=START)


def test_only_the_cases_mediator_records_its_outcome(db):
    with db.transaction() as s:
        appt = _book(s, accept=True)
        owner, reference, case_id = appt.mediator_id, appt.case.reference, appt.case_id
        other = s.execute(select(Mediator.id).where(Mediator.id != owner).limit(1)).scalar_one()
    with pytest.raises(PermissionDenied) as err:
        with db.transaction() as s:
            mediators.record_outcome(s, other, reference, "success", now=AFTER)
    assert "这不是您负责的案件" in err.value.message
    with pytest.raises(NotFound):
        with db.transaction() as s:
            mediators.record_outcome(s, owner, "HH000000-XXXX", "success", now=AFTER)
    with db.reader() as s:
        assert s.get(Case, case_id).status == "booked"
        assert s.execute(select(Outcome)).first() is None


def test_a_second_outcome_is_refused(db):
    with db.transaction() as s:
        appt = _book(s)  # booked, not yet accepted: the meeting may still have happened
        owner, reference = appt.mediator_id, appt.case.reference
    with db.transaction() as s:
        mediators.record_outcome(s, owner, reference, "failed", now=AFTER)
    for result in ("failed", "success"):
        with pytest.raises(ValidationError) as err:
            with db.transaction() as s:
                mediators.record_outcome(s, owner, reference, result, now=AFTER)
        assert err.value.message == "这个案件的调解结果已经登记过了。"
    with db.reader() as s:
        assert len(s.execute(select(Outcome)).all()) == 1


@pytest.mark.parametrize("text,expected", [
    ("调解成功", "success"), ("成功", "success"), ("success", "success"), (" SUCCESS ", "success"),
    ("调解失败", "failed"), ("失败", "failed"), ("failed", "failed"),
    ("达成协议，需司法确认", "agreement_needs_confirmation"), ("达成协议,需司法确认", "agreement_needs_confirmation"),
    ("司法确认", "agreement_needs_confirmation"), ("agreement_needs_confirmation", "agreement_needs_confirmation"),
    ("当事人未到", "no_show"), ("未到", "no_show"), ("no_show", "no_show"), ("no-show", "no_show"),
    ("ｓｕｃｃｅｓｓ", "success"), (OutcomeResult.FAILED, "failed"),
])
def test_parse_outcome(text, expected):
    assert mediators.parse_outcome(text) == OutcomeResult(expected)


@pytest.mark.parametrize("text", ["", "还行", "done", None])
def test_parse_outcome_refuses_other_words_and_lists_the_options(text):
    with pytest.raises(ValidationError) as err:
        mediators.parse_outcome(text)
    assert all(label in err.value.message for label in mediators.OUTCOME_LABELS.values())


# --- through the front desk -----------------------------------------------


def test_front_desk_link_agenda_accept_and_outcome(db):
    with db.transaction() as s:
        appt = _book(s)
        appt_id, reference, mediator_code = appt.id, appt.case.reference, appt.mediator.code
        phone = appt.case.resident.phone
    clock = {"now": NOW}
    desk = FrontDesk(db, now=lambda: clock["now"])
    code = _issue(db, mediator_code)
    assert desk.link_mediator(code.lower(), CHAT) and desk.is_mediator(CHAT)
    assert desk.agenda(OTHER_CHAT, days=1, title="今日预约") == NOT_LINKED
    clock["now"] = local(TUESDAY, 8, 0)
    today = desk.agenda(CHAT, days=1, title="今日预约")
    assert reference in today and phone not in today
    accepted = desk.accept(CHAT, appt_id)
    assert phone in accepted and "已接受" in accepted
    assert phone in desk.agenda(CHAT, days=1, title="今日预约")
    clock["now"] = AFTER
    assert "调解成功" in desk.record_outcome(CHAT, reference.lower(), "成功")
    # Suspended: the chat stays linked, and every command says why nothing works.
    with db.transaction() as s:
        s.execute(update(Mediator).where(Mediator.code == mediator_code).values(status="suspended"))
    assert not desk.is_mediator(CHAT)
    assert desk.agenda(CHAT, days=1, title="今日预约") == NOT_ACTIVE == desk.not_a_mediator(CHAT)
    assert desk.not_a_mediator(OTHER_CHAT) == NOT_LINKED
    with pytest.raises(NotFound) as err:
        desk.accept(CHAT, appt_id)
    assert err.value.message == NOT_ACTIVE


# --- the clerk's command line -------------------------------------------


def _cli(monkeypatch, capsys, db, *args):
    monkeypatch.setenv("DATABASE_URL", db.url)
    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_issues_a_link_code_that_works(db, monkeypatch, capsys):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    rc, out, _ = _cli(monkeypatch, capsys, db, "issue-link-code", mediator_code, "--hours", "24")
    assert rc == 0
    code = re.search(r"/link (\S+)", out).group(1)
    assert CODE_RE.match(code)
    assert f"请调解员在 Telegram 里向机器人发送：/link {code}" in out and "北京时间" in out
    with db.reader() as s:
        link = s.execute(select(LinkCode).where(LinkCode.mediator_id == mediator_id)).scalar_one()
        assert link.expires_at - link.issued_at == dt.timedelta(hours=24)
        issued_at = link.issued_at
    assert _redeem(db, code, CHAT, now=issued_at).id == mediator_id
    rc, _, err = _cli(monkeypatch, capsys, db, "issue-link-code", "M-NOBODY")
    assert rc == 1 and "M-NOBODY" in err
    rc, _, err = _cli(monkeypatch, capsys, db, "issue-link-code", mediator_code, "--hours", "0")
    assert rc == 1 and "有效期" in err


def test_cli_lists_mediators_without_phones(db, monkeypatch, capsys):
    with db.reader() as s:
        sp = point(s, "SP-231102101")
        roster = [(m.code, m.name, m.phone) for m in mediators_of(sp)]
    first_code, first_name, _ = roster[0]
    _redeem(db, _issue(db, first_code), CHAT)
    rc, out, _ = _cli(monkeypatch, capsys, db, "list-mediators", "--point", "SP-231102101")
    assert rc == 0
    rows = [line.split("\t") for line in out.splitlines()[1:-1]]
    assert sorted(r[0] for r in rows) == sorted(code for code, _, _ in roster)
    assert [first_code, first_name, "已绑定"] in rows
    assert all(r[2] == "未绑定" for r in rows if r[0] != first_code)
    assert not any(phone in out for _, _, phone in roster)
    rc, out, _ = _cli(monkeypatch, capsys, db, "list-mediators")
    assert rc == 0 and out.count("已绑定") == 1 and "共" in out
    rc, _, err = _cli(monkeypatch, capsys, db, "list-mediators", "--point", "SP-NOWHERE")
    assert rc == 1 and "SP-NOWHERE" in err


def test_cli_runs_as_a_module(db):
    with db.reader() as s:
        mediator_code = mediators_of(single_mediator_point(s))[0].code
    env = os.environ | {"DATABASE_URL": db.url}
    done = subprocess.run([sys.executable, "-m", "court.admin.cli", "issue-link-code", mediator_code], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "请调解员在 Telegram 里向机器人发送：/link " in done.stdout


def test_the_week_offers_an_answer_for_each_appointment_still_waiting_for_one(db):
    with db.transaction() as s:
        appt = _book(s)
        appt_id, reference, mediator_code = appt.id, appt.case.reference, appt.mediator.code
    clock = {"now": NOW}
    desk = FrontDesk(db, now=lambda: clock["now"])
    desk.link_mediator(_issue(db, mediator_code), CHAT)
    text, waiting = desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")
    assert reference in text and "点下面" in text
    assert [a for a, _ in waiting] == [appt_id] and reference in waiting[0][1]
    desk.accept(CHAT, appt_id)
    assert desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")[1] == []
    assert desk.agenda_with_answers(OTHER_CHAT, days=7, title="未来七天的预约") == (NOT_LINKED, [])


def test_the_week_offers_at_most_so_many_answers_and_says_how_many_wait(db, monkeypatch):
    with db.transaction() as s:
        first = _book(s)
        second = _book(s, start=START + dt.timedelta(hours=1), sp=first.service_point)
        mediator_code, ids = first.mediator.code, [first.id, second.id]
    desk = FrontDesk(db, now=lambda: NOW)
    desk.link_mediator(_issue(db, mediator_code), CHAT)
    monkeypatch.setattr(mediators, "MAX_ANSWER_PROMPTS", 1)
    text, waiting = desk.agenda_with_answers(CHAT, days=7, title="未来七天的预约")
    assert [a for a, _ in waiting] == ids[:1] and "其余1个" in text
