"""The inbound journal: recorded once, erased when delivered, retried, then kept for an agent."""
import datetime as dt

from sqlalchemy import select

from court.messaging import inbox
from court.store.schema import Handoff, InboundMessage
from tests.factories import NOW
from tests.races import race

CHAT, OTHER_CHAT = 8_000_000_001, 8_000_000_002
CONV, OTHER_CONV = "tg-8000000001", "tg-8000000002"


def _receive(db, update_id, text="楼上漏水怎么办", chat_id=CHAT, conversation_id=CONV, now=NOW):
    with db.transaction() as s:
        return inbox.receive(s, update_id=update_id, chat_id=chat_id, conversation_id=conversation_id, text=text,
                             meta={"message_id": update_id}, now=now)


def test_receive_is_idempotent_by_update_id(db):
    first, new = _receive(db, 1001)
    again, new_again = _receive(db, 1001, text="redelivered")
    assert new is True and new_again is False and again == first
    # Without an update id every call is a new message.
    a, _ = _receive(db, None)
    b, b_new = _receive(db, None)
    assert a != b and b_new
    with db.reader() as s:
        row = s.get(InboundMessage, first)
        assert row.text == "楼上漏水怎么办" and row.meta == {"message_id": 1001}
        assert row.status == "pending" and row.received_at == NOW
        assert inbox.pending_for_chat(s, CHAT) == 3 and inbox.pending_for_chat(s, OTHER_CHAT) == 0


def test_concurrent_redeliveries_record_one_row(db):
    results = race(10, lambda i: _receive(db, 2002))
    assert all(isinstance(r, tuple) for r in results), results
    assert len({r[0] for r in results}) == 1 and sum(r[1] for r in results) == 1
    with db.reader() as s:
        assert len(s.execute(select(InboundMessage)).scalars().all()) == 1


def test_delivered_erases_the_text(db):
    inbound_id, _ = _receive(db, 1001)
    with db.transaction() as s:
        assert inbox.delivered(s, inbound_id, now=NOW + dt.timedelta(seconds=1)) is True
        assert inbox.delivered(s, inbound_id, now=NOW + dt.timedelta(seconds=2)) is False
    with db.reader() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status == "delivered" and row.delivered_at == NOW + dt.timedelta(seconds=1)
        assert row.text == "" and row.meta == {}
        assert inbox.pending_for_chat(s, CHAT) == 0
        assert inbox.due(s, now=NOW + dt.timedelta(hours=1)) == []
    # A redelivery of the same update after that is still recognised, and stays erased.
    assert _receive(db, 1001) == (inbound_id, False)


def test_failed_retries_with_backoff_then_keeps_for_a_hotline_agent(db):
    inbound_id, _ = _receive(db, 1001)
    now = NOW
    delays = []
    while True:
        with db.transaction() as s:
            outcome = inbox.failed(s, inbound_id, error="ConnectError: assistant down", now=now)
        if outcome != "retry":
            break
        with db.reader() as s:
            row = s.get(InboundMessage, inbound_id)
            delays.append((row.next_attempt_at - now).total_seconds())
            next_at = row.next_attempt_at
            assert inbox.due(s, now=next_at - dt.timedelta(seconds=1)) == []
            assert [r.id for r in inbox.due(s, now=next_at)] == [inbound_id]
        now = next_at
    assert outcome == "kept"
    assert delays[:6] == [10, 20, 40, 80, 160, 300] and set(delays[5:]) == {300}
    assert now - NOW >= inbox.DEFAULT_KEEP_AFTER
    with db.transaction() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status == "kept" and row.text == "楼上漏水怎么办"  # kept for the agent
        assert row.last_error == "ConnectError: assistant down" and row.attempts == len(delays) + 1
        (handoff,) = s.execute(select(Handoff)).scalars().all()
        assert (handoff.conversation_id, handoff.reason, handoff.status) == (CONV, "assistant_down", "waiting")
        assert inbox.due(s, now=now + dt.timedelta(hours=1)) == []
        assert inbox.failed(s, inbound_id, error="again", now=now) == "kept"
    # A second kept message of the same conversation joins the same handoff.
    second, _ = _receive(db, 1002, now=NOW + dt.timedelta(minutes=1))
    with db.transaction() as s:
        assert inbox.failed(s, second, error="down", now=NOW + dt.timedelta(hours=1)) == "kept"
        assert len(s.execute(select(Handoff)).scalars().all()) == 1


def test_due_keeps_each_chats_order(db):
    a1, _ = _receive(db, 1, chat_id=CHAT)
    b1, _ = _receive(db, 2, chat_id=OTHER_CHAT, conversation_id=OTHER_CONV)
    a2, _ = _receive(db, 3, chat_id=CHAT)
    b2, _ = _receive(db, 4, chat_id=OTHER_CHAT, conversation_id=OTHER_CONV)
    with db.reader() as s:
        rows = inbox.due(s, now=NOW)
        assert [r.id for r in rows] == [a1, a2, b1, b2]
        assert rows[0].text == "楼上漏水怎么办" and rows[0].conversation_id == CONV and rows[0].update_id == 1
        assert [r.id for r in inbox.due(s, now=NOW, limit=1)] == [a1]
    # The first message of a chat waits for its retry: the later one waits behind it.
    with db.transaction() as s:
        assert inbox.failed(s, a1, error="timeout", now=NOW) == "retry"
    with db.reader() as s:
        assert [r.id for r in inbox.due(s, now=NOW + dt.timedelta(seconds=5))] == [b1, b2]
        assert [r.id for r in inbox.due(s, now=NOW + dt.timedelta(seconds=10))] == [a1, a2, b1, b2]
        assert inbox.due(s, now=NOW + dt.timedelta(seconds=10))[0].attempts == 1
