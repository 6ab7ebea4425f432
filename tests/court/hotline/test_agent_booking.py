"""Booking, moving and cancelling from the hotline desk: the taker only, all or nothing."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from court.booking import engine
from court.booking.offers import decode_slot
from court.core.errors import (
    ConsentRequired,
    InvalidPhone,
    PermissionDenied,
    PlaceAmbiguous,
    PlaceNotFound,
    ValidationError,
)
from court.hotline import accounts, agent_booking, handoffs, queue
from court.records import cases, residents
from court.store.schema import AppointmentStatus, AuditEntry, Case, CaseSource, OutboxMessage, RecipientType, Resident
from tests.factories import NOW, counts, new_case

PHONE = "13945612378"
CHAT = 501


def _agent(db, username: str = "li.min") -> accounts.DeskUser:
    with db.transaction() as s:
        return accounts.create_user(s, username, "correct horse 12368", role="agent", display_name="李敏", actor="test",
                                    now=NOW)


def _taken(db, user: accounts.DeskUser, *, consented: bool = True, chat: int = CHAT) -> int:
    conversation_id = f"tg-{chat}"
    with db.transaction() as s:
        if consented:
            resident = residents.record_consent(s, conversation_id=conversation_id, telegram_user_id=chat)
            residents.set_contact(s, resident, name="张三", phone=PHONE)
        handoff, _ = handoffs.request(s, conversation_id, reason="request_human", dispute_type="neighbor")
        queue.take(s, handoff.id, user, now=NOW)
        return handoff.id


def _times(db, handoff_id: int, user: accounts.DeskUser, place: str = "爱辉区西岗子", dispute: str = "neighbor"):
    with db.reader() as s:
        return agent_booking.find_times(s, handoff_id, user, place=place, dispute_type=dispute, now=NOW)


def _book(db, handoff_id, user, token, **overrides):
    fields = dict(token=token, dispute_type="neighbor", summary="楼上漏水，协商不成", phone=PHONE, name="张三",
                  consent=False, now=NOW) | overrides
    with db.transaction() as s:
        return agent_booking.book(s, handoff_id, user, **fields)


def _rows(s, model, **where):
    query = select(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return s.execute(query.order_by(model.id)).scalars().all()


def test_times_are_offered_near_the_named_place_nearest_point_first(db):
    li = _agent(db)
    hid = _taken(db, li)
    ref, offers = _times(db, hid, li)
    assert ref.name.startswith("西岗子")
    assert len(offers) >= agent_booking.DESK_FIRST
    first_point = offers[0].point_name
    assert all(o.point_name == first_point for o in offers[:agent_booking.DESK_FIRST])
    assert [o.distance_km for o in offers] == sorted(o.distance_km for o in offers)
    starts = [decode_slot(o.token)[2] for o in offers[:agent_booking.DESK_FIRST]]
    assert starts == sorted(starts) and all(t > NOW for t in starts)
    # A later start date moves the first offer on.
    with db.reader() as s:
        _, later = agent_booking.find_times(s, hid, li, place="西岗子", dispute_type="neighbor",
                                           after=dt.date(2026, 12, 10), now=NOW)
    assert decode_slot(later[0].token)[2].date() >= dt.date(2026, 12, 10)


def test_place_problems_and_strangers_are_refused(db):
    li, wang = _agent(db), _agent(db, "wang.fang")
    hid = _taken(db, li)
    with pytest.raises(PlaceNotFound):
        _times(db, hid, li, place="火星基地")
    with pytest.raises(PlaceAmbiguous):
        _times(db, hid, li, place="兴安")
    with pytest.raises(PermissionDenied):
        _times(db, hid, wang)
    with pytest.raises(ValidationError):
        _times(db, hid, li, dispute="no_such_type")


def test_booking_for_a_consented_resident_tells_resident_and_mediator(db):
    li = _agent(db)
    hid = _taken(db, li)
    _, offers = _times(db, hid, li)
    card = _book(db, hid, li, offers[1].token, name="张三丰")
    assert card.active and card.time == offers[1].time and card.point_name == offers[1].point_name
    with db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == card.reference)).scalar_one()
        assert (case.source, case.status, case.conversation_id) == (CaseSource.HOTLINE.value, "booked", "tg-501")
        assert case.resident.name == "张三丰" and case.resident.phone == PHONE
        [chat] = _rows(s, OutboxMessage, template="agent_booked")
        assert chat.recipient_type == RecipientType.CHAT.value
        assert chat.payload["conversation_id"] == "tg-501" and chat.payload["agent"] == "李敏"
        assert chat.payload["reference"] == card.reference and PHONE not in str(chat.payload)
        [new] = _rows(s, OutboxMessage, template="appointment_new")
        assert new.recipient_type == RecipientType.MEDIATOR.value
        [entry] = _rows(s, AuditEntry, action="handoff.book")
        assert entry.actor == li.actor and entry.entity_id == hid and PHONE not in str(entry.after)
        context = agent_booking.booking_context(s, hid, li)
    assert context.consented and [a.reference for a in context.appointments] == [card.reference]
    # The case is booked now: a second booking is refused, not doubled.
    with pytest.raises(ValidationError):
        _book(db, hid, li, offers[2].token)


def test_without_consent_nothing_is_written_and_with_it_the_chat_becomes_a_resident(db):
    li = _agent(db)
    hid = _taken(db, li, consented=False, chat=777)
    _, offers = _times(db, hid, li)
    with db.reader() as s:
        before = counts(s)
        assert not agent_booking.booking_context(s, hid, li).consented
    with pytest.raises(ConsentRequired):
        _book(db, hid, li, offers[0].token)
    with pytest.raises(InvalidPhone):  # consent given, but a bad number: the consent is rolled back too
        _book(db, hid, li, offers[0].token, consent=True, phone="12345")
    with db.reader() as s:
        assert counts(s) == before
        assert _rows(s, Resident, conversation_id="tg-777") == []
    card = _book(db, hid, li, offers[0].token, consent=True, name="")
    with db.reader() as s:
        [resident] = _rows(s, Resident, conversation_id="tg-777")
        assert resident.telegram_user_id == 777 and resident.consent_at is not None
        assert resident.name is None and resident.phone == PHONE
        assert s.execute(select(Case).where(Case.reference == card.reference)).scalar_one().resident_id == resident.id


def test_an_open_intake_of_the_same_dispute_is_booked_not_duplicated(db):
    li = _agent(db)
    hid = _taken(db, li)
    with db.transaction() as s:
        resident = residents.find(s, conversation_id="tg-501")
        intake = cases.open_case(s, dispute_type="neighbor", summary="噪音", actor="bot:tg-501", resident=resident,
                                 conversation_id="tg-501")
        reference = intake.reference
    _, offers = _times(db, hid, li)
    assert _book(db, hid, li, offers[0].token).reference == reference
    # Another dispute is another case.
    _, offers = _times(db, hid, li, dispute="labor")
    assert _book(db, hid, li, offers[0].token, dispute_type="labor").reference != reference


def test_moving_and_cancelling_only_the_residents_own_appointments(db):
    li = _agent(db)
    hid = _taken(db, li)
    _, offers = _times(db, hid, li)
    card = _book(db, hid, li, offers[0].token)
    with db.transaction() as s:
        stranger = new_case(s)
        sp, mediator, start = decode_slot(offers[3].token)
        theirs = engine.book(s, stranger, point_id=sp, starts_at=start, mediator_id=mediator, actor="test", now=NOW).id
    with pytest.raises(PermissionDenied), db.transaction() as s:
        agent_booking.move(s, hid, li, theirs, token=offers[4].token, now=NOW)
    with pytest.raises(PermissionDenied), db.transaction() as s:
        agent_booking.cancel(s, hid, li, theirs, reason="不需要了", now=NOW)

    with db.transaction() as s:
        moved = agent_booking.move(s, hid, li, card.appointment_id, token=offers[2].token, now=NOW)
    assert moved.time == offers[2].time and moved.status.startswith("已改约")
    with db.transaction() as s:
        cancelled = agent_booking.cancel(s, hid, li, card.appointment_id, reason="居民来电说已和解", now=NOW)
    assert not cancelled.active
    with db.reader() as s:
        appt = engine.get_appointment(s, card.appointment_id)
        assert appt.status == AppointmentStatus.CANCELLED.value and "已和解" in appt.note
        resident_pushes = {r.template for r in _rows(s, OutboxMessage, recipient_type=RecipientType.RESIDENT.value)}
        assert {"appointment_rescheduled", "appointment_cancelled"} <= resident_pushes
        assert {e.action for e in _rows(s, AuditEntry, actor=li.actor)} >= {
            "handoff.book", "handoff.move", "handoff.cancel", "appointment.book", "appointment.reschedule",
            "appointment.cancel"}
        assert agent_booking.booking_context(s, hid, li).appointments == []


def test_after_hand_back_the_agent_can_no_longer_book(db):
    li = _agent(db)
    hid = _taken(db, li)
    _, offers = _times(db, hid, li)
    with db.transaction() as s:
        queue.give_back(s, hid, li, now=NOW)
    with pytest.raises(ValidationError):  # HandoffUnavailable
        _book(db, hid, li, offers[0].token)
    with pytest.raises(ValidationError):
        _book(db, hid, li, "S.1.2.forged")
