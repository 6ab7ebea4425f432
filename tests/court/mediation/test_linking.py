"""Linking a mediator's Telegram chat: one-time codes, redeeming them once, unlinking, and the
clerk's command line that issues them."""
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select

from court.admin import cli
from court.booking import engine
from court.core.errors import LinkCodeInvalid, NotFound, ValidationError
from court.mediation import linking
from court.messaging import outbox
from court.store.schema import LinkCode, Mediator, OutboxMessage
from tests.court.mediation.mediator_side import (
    AFTER,
    CHAT,
    OTHER_CHAT,
    audits,
    book_appointment,
    issue_code,
    redeem_code,
)
from tests.factories import NOW, TUESDAY, mediators_of, point, shared_slot, single_mediator_point
from tests.races import race

CODE_RE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$")


def _two_mediators(s):
    sp, _ = shared_slot(s, TUESDAY)
    first, second = mediators_of(sp)[:2]
    return first, second


def test_issue_and_redeem_links_the_chat(db):
    with db.transaction() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator.telegram_blocked_at = NOW  # blocked the bot once; linking again clears it
        mediator_id, mediator_code = mediator.id, mediator.code
    code = issue_code(db, mediator_code)
    assert CODE_RE.match(code)
    plain = code.replace("-", "")
    with db.reader() as s:
        link = s.execute(select(LinkCode).where(LinkCode.mediator_id == mediator_id)).scalar_one()
        assert link.code_hash == hashlib.sha256(plain.encode()).hexdigest()
        assert link.issued_by == "clerk:test" and link.expires_at == NOW + dt.timedelta(hours=72)
        issued = audits(s, "mediator.link_code_issued", mediator_id)
        assert len(issued) == 1 and plain not in json.dumps(issued[0].after) and code not in json.dumps(issued[0].after)
        assert linking.by_chat(s, CHAT) is None
    # Typed on a phone: lower case, full-width characters, spaces and a long dash.
    typed = " " + plain[:4].lower() + " — " + "".join(chr(ord(c) + 0xFEE0) for c in plain[4:]) + " "
    linked = redeem_code(db, typed, CHAT, now=NOW + dt.timedelta(hours=1))
    assert linked.id == mediator_id
    with db.reader() as s:
        mediator = s.get(Mediator, mediator_id)
        assert mediator.telegram_chat_id == CHAT and mediator.telegram_blocked_at is None
        assert mediator.telegram_linked_at == NOW + dt.timedelta(hours=1)
        link = s.execute(select(LinkCode).where(LinkCode.mediator_id == mediator_id)).scalar_one()
        assert link.used_chat_id == CHAT and link.used_at == NOW + dt.timedelta(hours=1)
        assert linking.by_chat(s, CHAT).id == mediator_id
        entry = audits(s, "mediator.link", mediator_id)[-1]
        assert entry.before["telegram_chat_id"] is None and entry.after["telegram_chat_id"] == CHAT
    # The same /link sent again from the same chat (a resent update) is not an error.
    assert redeem_code(db, code, CHAT).id == mediator_id
    with db.reader() as s:
        assert len(audits(s, "mediator.link", mediator_id)) == 1


def test_an_expired_code_is_refused(db):
    with db.reader() as s:
        mediator_code = mediators_of(single_mediator_point(s))[0].code
    code = issue_code(db, mediator_code, ttl=dt.timedelta(hours=1))
    with pytest.raises(LinkCodeInvalid) as err:
        redeem_code(db, code, CHAT, now=NOW + dt.timedelta(hours=1, seconds=1))
    assert "过期" in err.value.message and "法院工作人员" in err.value.message
    with db.reader() as s:
        assert linking.by_chat(s, CHAT) is None


def test_pushes_for_a_mediator_not_yet_linked_arrive_when_they_link(db):
    """Booked before the link (the demo roster starts unlinked): the push fails at once with
    no_telegram_chat, and is sent again, once per appointment still unanswered, at the link."""
    with db.transaction() as s:
        appt = book_appointment(s)
        mediator_id, mediator_code, appt_id = appt.mediator_id, appt.mediator.code, appt.id
        cancelled = book_appointment(s, start=AFTER, sp=appt.service_point)
        engine.cancel(s, cancelled.id, actor="bot", now=NOW)
    outbox.claim_due(db, now=NOW)  # fails the unlinked mediator's rows: no chat yet
    with db.reader() as s:
        failed = s.execute(select(OutboxMessage).where(
            OutboxMessage.recipient_id == mediator_id, OutboxMessage.template == "appointment_new")).scalars().all()
        assert failed and {r.last_error for r in failed} == {outbox.NO_CHAT}
    redeem_code(db, issue_code(db, mediator_code), CHAT)
    due = outbox.claim_due(db, now=NOW)
    pushes = [d for d in due if d.template == "appointment_new" and d.chat_id == CHAT]
    assert [d.payload["appointment_id"] for d in pushes] == [appt_id]  # the cancelled one is not asked again
    # Linking again (a new phone) does not send it twice.
    redeem_code(db, issue_code(db, mediator_code), OTHER_CHAT)
    assert not [d for d in outbox.claim_due(db, now=NOW) if d.template == "appointment_new"]


def test_a_used_code_cannot_link_another_chat(db):
    with db.reader() as s:
        mediator_code = mediators_of(single_mediator_point(s))[0].code
    code = issue_code(db, mediator_code)
    redeem_code(db, code, CHAT)
    with pytest.raises(LinkCodeInvalid) as err:
        redeem_code(db, code, OTHER_CHAT)
    assert "用过" in err.value.message
    with db.reader() as s:
        assert linking.by_chat(s, OTHER_CHAT) is None and linking.by_chat(s, CHAT) is not None


def test_a_new_code_revokes_the_earlier_one(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    first = issue_code(db, mediator_code)
    second = issue_code(db, mediator_code.lower())  # clerks type codes by hand
    assert first != second
    with pytest.raises(LinkCodeInvalid) as err:
        redeem_code(db, first, CHAT)
    assert "作废" in err.value.message
    assert redeem_code(db, second, CHAT).id == mediator_id
    with db.reader() as s:
        assert audits(s, "mediator.link_code_issued", mediator_id)[-1].after["revoked_codes"] == 1


@pytest.mark.parametrize("typed", ["", "ABC", "ABCD-EFGH-J", "0000-0000", "ILOU-ILOU", "2345-6789"])
def test_unknown_and_malformed_codes_are_refused(db, typed):
    with pytest.raises(LinkCodeInvalid) as err:
        redeem_code(db, typed, CHAT)
    assert "绑定码" in err.value.message and "/link" in err.value.message


def test_a_chat_linked_to_another_mediator_is_refused(db):
    with db.reader() as s:
        first, second = _two_mediators(s)
        first_id, first_code, second_id, second_code = first.id, first.code, second.id, second.code
    redeem_code(db, issue_code(db, first_code), CHAT)
    code = issue_code(db, second_code)
    with pytest.raises(ValidationError) as err:
        redeem_code(db, code, CHAT)
    assert "另一位调解员" in err.value.message
    with db.reader() as s:
        assert linking.by_chat(s, CHAT).id == first_id
    # The refusal did not use the code up: it still works from the right phone.
    assert redeem_code(db, code, OTHER_CHAT).id == second_id


def test_a_new_phone_replaces_the_old_chat(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    redeem_code(db, issue_code(db, mediator_code), CHAT)
    redeem_code(db, issue_code(db, mediator_code), OTHER_CHAT)
    with db.reader() as s:
        assert linking.by_chat(s, CHAT) is None
        assert linking.by_chat(s, OTHER_CHAT).id == mediator_id
        moved = audits(s, "mediator.link", mediator_id)[-1]
        assert moved.before["telegram_chat_id"] == CHAT and moved.after["telegram_chat_id"] == OTHER_CHAT


def test_suspended_and_unknown_mediators(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    with pytest.raises(NotFound) as err:
        issue_code(db, "M-NOBODY")
    assert "M-NOBODY" in err.value.message
    code = issue_code(db, mediator_code)
    redeem_code(db, code, CHAT)
    pending = issue_code(db, mediator_code)
    with db.transaction() as s:
        s.get(Mediator, mediator_id).status = "suspended"
    with db.reader() as s:
        assert linking.by_chat(s, CHAT) is None  # a suspended mediator gets no mediator menu
    with pytest.raises(ValidationError) as err:
        issue_code(db, mediator_code)
    assert "停用" in err.value.message
    with pytest.raises(LinkCodeInvalid):
        redeem_code(db, pending, OTHER_CHAT)


def test_unlink(db):
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    redeem_code(db, issue_code(db, mediator_code), CHAT)
    with db.transaction() as s:
        assert linking.unlink(s, mediator_id, actor="clerk:test") is True
    with db.transaction() as s:
        assert linking.unlink(s, mediator_id, actor="clerk:test") is False
        assert linking.by_chat(s, CHAT) is None
        entries = audits(s, "mediator.unlink", mediator_id)
        assert len(entries) == 1 and entries[0].before["telegram_chat_id"] == CHAT
        assert entries[0].after["telegram_chat_id"] is None
    with pytest.raises(NotFound):
        with db.transaction() as s:
            linking.unlink(s, 10_000_000, actor="clerk:test")


def test_ten_concurrent_redemptions_of_one_code_link_one_chat(db):
    attempts = 10
    with db.reader() as s:
        mediator = mediators_of(single_mediator_point(s))[0]
        mediator_id, mediator_code = mediator.id, mediator.code
    code = issue_code(db, mediator_code)

    def redeem(i: int) -> str:
        with db.transaction() as s:
            linking.redeem_link_code(s, code, CHAT + i, now=NOW)
        return "ok"

    outcomes = race(attempts, redeem)
    assert Counter(outcomes) == Counter({"ok": 1, LinkCodeInvalid.__name__: attempts - 1})
    winner = CHAT + outcomes.index("ok")
    with db.reader() as s:
        assert s.get(Mediator, mediator_id).telegram_chat_id == winner
        assert s.execute(select(LinkCode.used_chat_id).where(LinkCode.mediator_id == mediator_id)).scalar_one() == winner
        assert len(audits(s, "mediator.link", mediator_id)) == 1


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
    assert redeem_code(db, code, CHAT, now=issued_at).id == mediator_id
    rc, _, err = _cli(monkeypatch, capsys, db, "issue-link-code", "M-NOBODY")
    assert rc == 1 and "M-NOBODY" in err
    rc, _, err = _cli(monkeypatch, capsys, db, "issue-link-code", mediator_code, "--hours", "0")
    assert rc == 1 and "有效期" in err


def test_cli_lists_mediators_without_phones(db, monkeypatch, capsys):
    with db.reader() as s:
        sp = point(s, "SP-231102101")
        roster = [(m.code, m.name, m.phone) for m in mediators_of(sp)]
    first_code, first_name, _ = roster[0]
    redeem_code(db, issue_code(db, first_code), CHAT)
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
