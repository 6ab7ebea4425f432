"""A phone intake continued in chat: the one-time link, redeeming it, merging with a chat resident."""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from court.core.errors import ConsentRequired, IntakeLinkInvalid, ValidationError
from court.hotline import intake_links
from court.records import residents
from court.store.schema import AuditEntry, Case, IntakeLink, Resident
from tests.court.hotline.helpers import RACERS, audits, new_user
from tests.factories import NOW, new_case
from tests.races import race


def _intake(db, user, **overrides) -> tuple[str, str]:
    fields = dict(dispute_type="labor", summary="饭店拖欠三个月工资八千元", phone="139 4567 0001", consent=True,
                  name="赵建国", now=NOW)
    with db.transaction() as s:
        return intake_links.create_intake(s, user, **(fields | overrides))


def test_create_intake_needs_consent_and_stores_only_a_hash(db):
    li = new_user(db, "li")
    with pytest.raises(ConsentRequired):
        _intake(db, li, consent=False)
    with pytest.raises(ValidationError):
        _intake(db, li, phone="12345")
    reference, token = _intake(db, li)
    _, nameless = _intake(db, li, name=None, phone="13945670002")
    assert len(token) <= 64 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.source == "hotline" and case.status == "intake" and case.dispute_type == "labor"
        assert (case.resident.name, case.resident.phone) == ("赵建国", "13945670001")
        assert case.resident.consent_at == NOW
        link = s.execute(select(IntakeLink).where(IntakeLink.case_id == case.id)).scalar_one()
        assert link.token_hash != token and len(link.token_hash) == 64
        assert link.expires_at == NOW + dt.timedelta(hours=24) and link.created_by == "desk:li"
        assert [e.actor for e in audits(s, "case.open")][-2:] == ["desk:li", "desk:li"]
        for entry in s.execute(select(AuditEntry)).scalars():
            assert token not in repr((entry.before, entry.after)) and "13945670001" not in repr(entry.after)
        assert s.execute(select(func.count()).select_from(Resident).where(
            Resident.phone == "13945670002", Resident.name.is_(None))).scalar_one() == 1
    assert nameless


def test_redeem_intake_binds_the_chat_once(db):
    li = new_user(db, "li")
    reference, token = _intake(db, li)
    with db.transaction() as s:
        start = intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001, now=NOW)
    assert start == intake_links.IntakeStart(reference=reference, dispute_type="labor", summary="饭店拖欠三个月工资八千元",
                                             phone="13945670001", name="赵建国")
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.conversation_id == "tg-9001"
        assert (case.resident.telegram_user_id, case.resident.conversation_id) == (9001, "tg-9001")
        link = s.execute(select(IntakeLink).where(IntakeLink.case_id == case.id)).scalar_one()
        assert (link.used_at, link.used_chat_id) == (NOW, 9001)
    for conversation, chat in (("tg-9001", 9001), ("tg-9002", 9002)):  # a second use, even by the same chat
        with pytest.raises(IntakeLinkInvalid) as err, db.transaction() as s:
            intake_links.redeem_intake(s, token, conversation_id=conversation, telegram_user_id=chat, now=NOW)
        assert err.value.message == "这个链接已失效，请重新联系12368热线。"
    for bad in ("", "short", "x" * 65, "有中文的链接令牌有中文的链接令牌", "A" * 24):
        with pytest.raises(IntakeLinkInvalid), db.transaction() as s:
            intake_links.redeem_intake(s, bad, conversation_id="tg-9003", telegram_user_id=9003, now=NOW)


def test_an_expired_intake_link_is_refused(db):
    li = new_user(db, "li")
    _, token = _intake(db, li, ttl=dt.timedelta(hours=1))
    with pytest.raises(IntakeLinkInvalid), db.transaction() as s:
        intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001,
                                   now=NOW + dt.timedelta(hours=1))


def test_a_caller_who_already_chats_gets_the_hotline_case_on_their_own_record(db):
    li = new_user(db, "li")
    reference, token = _intake(db, li)
    with db.transaction() as s:
        chat = residents.record_consent(s, telegram_user_id=9001, conversation_id="tg-9001")
        residents.set_contact(s, chat, name="赵国", phone="13945670009")
        old_case = new_case(s)
        old_case.resident, chat_id = chat, chat.id
    with db.transaction() as s:
        start = intake_links.redeem_intake(s, token, conversation_id="tg-9001", telegram_user_id=9001, now=NOW)
    assert (start.reference, start.phone, start.name) == (reference, "13945670001", "赵建国")  # the phone call's details
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.resident_id == chat_id and case.conversation_id == "tg-9001"
        mine = s.execute(select(Case.id).where(Case.resident_id == chat_id)).scalars().all()
        assert len(mine) == 2  # the earlier chat case and the hotline case, one resident
        husk = s.execute(select(Resident).where(Resident.phone.is_(None), Resident.anonymised_at.is_not(None))
                         ).scalars().all()
        assert len(husk) == 1 and husk[0].id != chat_id
        [merge] = audits(s, "resident.merge")
        assert merge.entity_id == chat_id and merge.after["merged"] == husk[0].id


def test_a_chat_and_an_account_of_two_residents_are_refused_and_the_link_kept(db):
    li = new_user(db, "li")
    _, token = _intake(db, li)
    with db.transaction() as s:
        residents.record_consent(s, telegram_user_id=9001, conversation_id="tg-9001")
        residents.record_consent(s, telegram_user_id=9005, conversation_id="tg-9005")
    with pytest.raises(ValidationError) as err, db.transaction() as s:
        intake_links.redeem_intake(s, token, conversation_id="tg-9005", telegram_user_id=9001, now=NOW)
    assert not isinstance(err.value, IntakeLinkInvalid) and "12368" in err.value.message
    with db.transaction() as s:  # the refusal rolled back: the caller can still open it from another chat
        assert intake_links.redeem_intake(s, token, conversation_id="tg-9002", telegram_user_id=9002, now=NOW)


def test_twenty_chats_opening_one_link_at_once(db):
    li = new_user(db, "li")
    reference, token = _intake(db, li)

    def attempt(i: int) -> str:
        with db.transaction() as s:
            return intake_links.redeem_intake(s, token, conversation_id=f"tg-{7000 + i}", telegram_user_id=7000 + i,
                                              now=NOW).reference

    outcomes = Counter(race(RACERS, attempt))
    assert outcomes == Counter({reference: 1, IntakeLinkInvalid.__name__: RACERS - 1})
    with db.reader() as s:
        assert len(audits(s, "intake.redeem")) == 1
