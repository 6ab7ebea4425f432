"""Looking up an appointment by case reference and phone: a reference carries about
20 random bits per day, so wrong phones are counted per reference, pause it, and
every failed lookup is audited (without what was typed)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from court.booking import engine
from court.core.errors import LookupPaused, NotFound
from court.facades.assistant import AssistantFacade
from court.records import journal
from court.store.schema import AuditEntry
from tests.factories import NOW, local, new_case, single_mediator_point

WRONG = "13800000000"


def test_wrong_phones_pause_a_reference_and_every_failure_is_audited(db):
    court = AssistantFacade(db)
    with db.transaction() as s:
        case = new_case(s)
        engine.book(s, case, point_id=single_mediator_point(s).id, starts_at=local(dt.date(2026, 12, 1), 9, 30),
                    actor="test", now=NOW)
        reference, phone = case.reference, case.resident.phone
    for _ in range(4):
        with pytest.raises(NotFound):
            court.find_appointment(reference, WRONG, conversation_id="tg-9001", now=NOW)
    assert court.find_appointment(reference.lower(), phone, conversation_id="tg-9001", now=NOW).reference == reference
    for _ in range(5):  # the right phone in between started the count again
        with pytest.raises(NotFound):
            court.find_appointment(reference, WRONG, conversation_id="tg-9001", now=NOW)
    with pytest.raises(LookupPaused):  # even the right phone, for an hour: no oracle for the next guess
        court.find_appointment(reference, phone, conversation_id="tg-9001", now=NOW + dt.timedelta(minutes=59))
    with pytest.raises(LookupPaused):
        court.cancel(reference, phone, conversation_id="tg-9001", now=NOW + dt.timedelta(minutes=59))
    assert court.find_appointment(reference, phone, conversation_id="tg-9001", now=NOW + dt.timedelta(minutes=61))
    with pytest.raises(NotFound):
        court.find_appointment("HH261130-ZZZZ", phone, conversation_id="tg-9001", now=NOW)
    with db.reader() as s:
        failed = [(e.actor, e.after) for e in s.execute(
            select(AuditEntry).where(AuditEntry.action == "case.lookup_failed").order_by(AuditEntry.id)).scalars()]
    assert len(failed) == 4 + 5 + 2 + 1
    assert {actor for actor, _ in failed} == {journal.chat_actor("tg-9001")}
    assert [after["reason"] for _, after in failed][-4:] == ["wrong_phone", "paused", "paused", "unknown_reference"]
    assert "paused_until" in failed[8][1]
    assert not [a for _, a in failed if WRONG in json.dumps(a) or phone in json.dumps(a)]
