"""A 12368 agent books for a phone caller by their case: agents and admins only, the caller's
consent ticked, booking + audit + web chat link in one transaction, and the link shows the booking."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from court.booking.offers import decode_slot
from court.core.errors import ConsentRequired, NotFound, PermissionDenied, ValidationError
from court.hotline import accounts, caller_booking, intake_links
from court.store.schema import AuditEntry, Case, IntakeLink, OutboxMessage, RecipientType
from tests.factories import NOW, counts, new_case

PHONE = "13945612378"


def _user(db, username: str = "li.min", role: str = "agent") -> accounts.DeskUser:
    with db.transaction() as s:
        return accounts.create_user(s, username, "correct horse 12368", role=role, display_name="李敏", actor="test",
                                    now=NOW)


def _intake(db, user: accounts.DeskUser) -> str:
    with db.transaction() as s:
        reference, _ = intake_links.create_intake(s, user, dispute_type="neighbor", summary="楼上漏水，协商不成",
                                                  phone=PHONE, consent=True, name="张三", now=NOW)
    return reference


def _times(db, reference: str, user: accounts.DeskUser, place: str = "爱辉区西岗子", **kw):
    with db.reader() as s:
        return caller_booking.find_times(s, reference, user, place=place, now=NOW, **kw)


def _book(db, reference: str, user: accounts.DeskUser, token: str, consent: bool = True):
    with db.transaction() as s:
        return caller_booking.book(s, reference, user, token=token, consent=consent, now=NOW)


def test_times_for_the_cases_dispute_near_the_callers_town(db):
    li = _user(db)
    reference = _intake(db, li)
    place, offers = _times(db, reference.lower(), li)  # typed in lower case: still the case
    assert place.name.startswith("西岗子") and len(offers) >= caller_booking.FIRST
    assert [o.distance_km for o in offers] == sorted(o.distance_km for o in offers)
    _, later = _times(db, reference, li, after=dt.date(2026, 12, 10))
    assert decode_slot(later[0].token)[2].date() >= dt.date(2026, 12, 10)
    with db.reader() as s:
        shown = caller_booking.caller_case(s, reference, li)
    assert shown.dispute_type == "neighbor" and shown.phone_masked != PHONE and not shown.booked


def test_booking_needs_the_callers_consent_and_writes_all_or_nothing(db):
    li = _user(db)
    reference = _intake(db, li)
    _, offers = _times(db, reference, li)
    with db.reader() as s:
        before = counts(s)
        links_before = len(s.execute(select(IntakeLink)).scalars().all())
    with pytest.raises(ConsentRequired):
        _book(db, reference, li, offers[0].token, consent=False)
    with pytest.raises(ValidationError):
        _book(db, reference, li, "S.1.1.99")  # a forged token names no slot
    with db.reader() as s:
        assert counts(s) == before and len(s.execute(select(IntakeLink)).scalars().all()) == links_before
    done = _book(db, reference, li, offers[1].token)
    assert done.card.reference == reference and done.card.time == offers[1].time and done.phone == PHONE
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.status == "booked"
        [entry] = s.execute(select(AuditEntry).where(AuditEntry.action == "case.desk_book")).scalars().all()
        assert entry.actor == li.actor and entry.entity_id == case.id and PHONE not in str(entry.after)
        assert s.execute(select(OutboxMessage).where(OutboxMessage.template == "appointment_new",
                                                     OutboxMessage.recipient_type == RecipientType.MEDIATOR.value)
                         ).scalars().all()
        assert len(s.execute(select(IntakeLink).where(IntakeLink.case_id == case.id)).scalars().all()) == 2
        assert caller_booking.caller_case(s, reference, li).booked
    with pytest.raises(ValidationError):  # one case, one appointment: moving is the way
        _book(db, reference, li, offers[2].token)
    # The texted link opens the booking in the chat, not a second booking form.
    with db.transaction() as s:
        start = intake_links.redeem_intake(s, done.link_token, conversation_id="web-41", telegram_user_id=None, now=NOW)
    assert start.reference == reference and offers[1].time in (start.booked or "")


def test_only_agents_and_admins_and_only_phone_intakes(db):
    li, boss, clerk = _user(db), _user(db, "boss", "admin"), _user(db, "clerk.zhao", "clerk")
    reference = _intake(db, li)
    _, offers = _times(db, reference, boss)
    with pytest.raises(PermissionDenied):
        _times(db, reference, clerk)
    with pytest.raises(PermissionDenied):
        _book(db, reference, clerk, offers[0].token)
    with db.transaction() as s:
        chat_case = new_case(s, "neighbor")  # a case the assistant opened in a chat
        chat_reference = chat_case.reference
    with pytest.raises(PermissionDenied):
        _times(db, chat_reference, li)
    with pytest.raises(NotFound):
        _times(db, "HH261130-ZZZZ", li)
    with pytest.raises(ValidationError):
        _times(db, "1 OR 1=1", li)
    assert _book(db, reference, boss, offers[0].token).card.active
