"""Delivering the outbox: claims, leases, retries, blocked and unreachable recipients."""
import datetime as dt
import threading

import pytest
from sqlalchemy import select

from court.booking import engine, slots
from court.messaging import outbox
from court.records import journal
from court.store.schema import AuditEntry, Mediator, OutboxMessage, RecipientType, Resident
from tests.factories import NOW, TUESDAY, local, new_case, single_mediator_point

START = local(TUESDAY, 9, 30)
DAY_BEFORE = START - dt.timedelta(hours=24)
MEDIATOR_CHAT = 7_000_000_001
RESIDENT_CHAT = 8_000_000_001


def _book(s, *, start=START, sp=None, mediator_chat=MEDIATOR_CHAT, resident_chat=RESIDENT_CHAT, accept=False):
    sp = sp or single_mediator_point(s)
    case = new_case(s)
    appt = engine.book(s, case, point_id=sp.id, starts_at=start, actor="bot", now=NOW)
    if mediator_chat is not None:
        appt.mediator.telegram_chat_id = mediator_chat
    if resident_chat is not None:
        case.resident.telegram_user_id = resident_chat
    if accept:
        engine.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
    s.flush()
    return appt


def _rows(s, **filters):
    query = select(OutboxMessage).execution_options(populate_existing=True)
    for key, value in filters.items():
        query = query.where(getattr(OutboxMessage, key) == value)
    return s.execute(query.order_by(OutboxMessage.id)).scalars().all()


def _alerts(s, template):
    return [a for a in outbox.court_alerts(s, limit=500) if a.template == template]


def test_claim_honours_due_at_and_resolves_chats(db):
    with db.transaction() as s:
        appt = _book(s, accept=True)
        appt_id, mediator_id, resident_id = appt.id, appt.mediator_id, appt.case.resident_id
        reference = appt.case.reference
        # A court alert due now is for the hotline desk, never a Telegram push.
        journal.enqueue(s, key="alert:test", recipient_type=RecipientType.COURT, recipient_id=None,
                        template="recipient_blocked", payload={}, due_at=NOW)
    with db.transaction() as s:  # a Session works too: the claim joins the caller's transaction
        claimed = outbox.claim_due(s, now=NOW)
    assert sorted((d.template, d.recipient_type, d.chat_id) for d in claimed) == [
        ("appointment_accepted", "resident", RESIDENT_CHAT),
        ("appointment_new", "mediator", MEDIATOR_CHAT),
    ]
    first = claimed[0]
    assert first.attempts == 1 and first.payload["reference"] == reference
    assert first.key.startswith(f"appt:{appt_id}:") and first.due_at == NOW
    assert {(d.recipient_type, d.recipient_id) for d in claimed} == {("mediator", mediator_id),
                                                                     ("resident", resident_id)}
    with db.transaction() as s:
        for d in claimed:
            assert outbox.mark_sent(s, d.outbox_id, now=NOW)
        assert outbox.pending_count(s, NOW) == 0  # the reminders are not due yet
    # Reminders are not claimed a second early, and the day-before ones come before the two-hour ones.
    assert outbox.claim_due(db, now=DAY_BEFORE - dt.timedelta(seconds=1)) == []
    due = outbox.claim_due(db, now=DAY_BEFORE)
    assert sorted((d.template, d.recipient_type) for d in due) == [
        ("reminder_day_before", "mediator"), ("reminder_day_before", "resident")]
    with db.transaction() as s:
        for d in due:
            outbox.mark_sent(s, d.outbox_id, now=DAY_BEFORE)
    later = outbox.claim_due(db, now=START)
    assert sorted((d.template, d.recipient_type) for d in later) == [
        ("reminder_two_hours", "mediator"), ("reminder_two_hours", "resident")]
    with db.reader() as s:
        court = _rows(s, recipient_type="court")
        assert len(court) == 1 and court[0].status == "pending" and court[0].attempts == 0


def test_claim_respects_limit_and_oldest_due_first(db):
    with db.transaction() as s:
        _book(s, accept=True)
    first = outbox.claim_due(db, now=START, limit=3)
    # Both immediate pushes are due at NOW: the older row (the booking's) goes first.
    assert [d.template for d in first] == ["appointment_new", "appointment_accepted", "reminder_day_before"]
    rest = outbox.claim_due(db, now=START, limit=10)
    assert [d.template for d in rest] == ["reminder_day_before", "reminder_two_hours", "reminder_two_hours"]
    assert not {d.outbox_id for d in first} & {d.outbox_id for d in rest}


def test_lease_expiry_reclaims_after_a_crash(db):
    with db.transaction() as s:
        _book(s)
    claimed = outbox.claim_due(db, now=NOW)
    assert [d.template for d in claimed] == ["appointment_new"] and claimed[0].attempts == 1
    # The worker dies without marking anything. Inside the lease nobody else takes the row…
    assert outbox.claim_due(db, now=NOW + dt.timedelta(seconds=59)) == []
    with db.reader() as s:
        assert outbox.pending_count(s, NOW) == 1  # in flight still counts as not delivered
    # …after it, the next worker does.
    again = outbox.claim_due(db, now=NOW + outbox.DEFAULT_LEASE)
    assert [d.outbox_id for d in again] == [claimed[0].outbox_id] and again[0].attempts == 2
    short = outbox.claim_due(db, now=NOW + dt.timedelta(minutes=5), lease=dt.timedelta(seconds=5))
    assert short[0].attempts == 3
    assert outbox.claim_due(db, now=NOW + dt.timedelta(minutes=5, seconds=5))[0].attempts == 4


def test_concurrent_claimers_never_get_the_same_row(db):
    with db.transaction() as s:
        sp = single_mediator_point(s)
        free = slots.free_slots(s, sp.id, TUESDAY, TUESDAY + dt.timedelta(days=14), now=NOW)[:10]
        for i, slot in enumerate(free):
            _book(s, start=slot.starts_at, sp=sp, resident_chat=RESIDENT_CHAT + i)
        expected = {m.id for m in _rows(s, status="pending")}
    assert len(expected) == 50  # per booking: one new-appointment push, four reminders
    later = START + dt.timedelta(days=30)  # every push is due
    workers = 8
    barrier = threading.Barrier(workers)
    got: list[list[int]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            while True:
                batch = outbox.claim_due(db, now=later, limit=3)
                if not batch:
                    return
                got[i].extend(d.outbox_id for d in batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    claimed = [oid for ids in got for oid in ids]
    assert len(claimed) == len(set(claimed)) == len(expected)
    assert set(claimed) == expected
    with db.reader() as s:
        assert all(m.attempts == 1 for m in _rows(s, status="pending"))


def test_mark_sent_is_idempotent(db):
    with db.transaction() as s:
        _book(s)
    (d,) = outbox.claim_due(db, now=NOW)
    with db.transaction() as s:
        assert outbox.mark_sent(s, d.outbox_id, now=NOW + dt.timedelta(seconds=1)) is True
    with db.transaction() as s:
        assert outbox.mark_sent(s, d.outbox_id, now=NOW + dt.timedelta(seconds=9)) is False
        assert outbox.mark_sent(s, 10**9, now=NOW) is False
    with db.reader() as s:
        row = s.get(OutboxMessage, d.outbox_id)
        assert row.status == "sent" and row.sent_at == NOW + dt.timedelta(seconds=1)
        assert outbox.status_counts(s)["sent"] == 1
    # A sent row is never claimed again, lease or not.
    assert outbox.claim_due(db, now=NOW + dt.timedelta(hours=1)) == []


def test_retry_backs_off_with_jitter_or_honours_retry_after(db):
    with db.transaction() as s:
        _book(s)
    (d,) = outbox.claim_due(db, now=NOW)
    t1 = NOW + dt.timedelta(seconds=2)
    with db.transaction() as s:
        assert outbox.mark_retry(s, d.outbox_id, error="Timed out talking to 13945612378 chat 7000000001", now=t1)
    with db.reader() as s:
        row = s.get(OutboxMessage, d.outbox_id)
        next_at = row.next_attempt_at
        assert 4.0 <= (next_at - t1).total_seconds() <= 6.0 and row.status == "pending" and row.attempts == 1
        assert "13945612378" not in row.last_error and "7000000001" not in row.last_error
    assert outbox.claim_due(db, now=t1 + dt.timedelta(seconds=3.9)) == []
    (d,) = outbox.claim_due(db, now=next_at)
    assert d.attempts == 2
    t2 = next_at + dt.timedelta(seconds=1)
    with db.transaction() as s:  # Telegram said 429, retry after 37 s
        assert outbox.mark_retry(s, d.outbox_id, error="Flood control exceeded" + "!" * 500, now=t2, retry_after=37)
    with db.reader() as s:
        row = s.get(OutboxMessage, d.outbox_id)
        assert row.next_attempt_at == t2 + dt.timedelta(seconds=37)
        assert row.attempts == 1  # flood control does not use up an attempt
        assert len(row.last_error) <= outbox.ERROR_LIMIT
    assert outbox.claim_due(db, now=t2 + dt.timedelta(seconds=36)) == []
    assert [x.outbox_id for x in outbox.claim_due(db, now=t2 + dt.timedelta(seconds=37))] == [d.outbox_id]


def test_backoff_grows_and_is_capped():
    assert [round(min(outbox.BACKOFF_BASE * 2 ** (n - 1), outbox.BACKOFF_CAP)) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    for attempts in range(1, 30):
        base = min(5 * 2 ** (attempts - 1), 1800)
        assert 0.8 * base <= outbox.backoff(attempts) <= min(1.2 * base, 1800)
    assert outbox.backoff(50) <= 1800


def test_max_attempts_fail_and_alert_the_court_once(db):
    with db.transaction() as s:
        appt = _book(s)
        reference = appt.case.reference
    now = NOW
    results = []
    for n in range(1, outbox.MAX_ATTEMPTS + 1):
        (d,) = outbox.claim_due(db, now=now)
        assert d.attempts == n
        with db.transaction() as s:
            results.append(outbox.mark_retry(s, d.outbox_id, error="Bad Gateway", now=now))
            now = s.get(OutboxMessage, d.outbox_id).next_attempt_at
    assert results == [True] * (outbox.MAX_ATTEMPTS - 1) + [False]
    with db.transaction() as s:
        row = s.get(OutboxMessage, d.outbox_id)
        assert row.status == "failed" and row.last_error == "Bad Gateway"
        assert outbox.mark_retry(s, d.outbox_id, error="again", now=now) is False
    assert d.outbox_id not in {x.outbox_id for x in outbox.claim_due(db, now=now + dt.timedelta(days=1))}
    with db.reader() as s:
        (alert,) = _alerts(s, "delivery_failed")
        assert alert.key == f"alert:failed:{d.outbox_id}"
        assert alert.payload["reference"] == reference and alert.payload["template"] == "appointment_new"
        assert alert.payload["recipient_type"] == "mediator" and alert.payload["attempts"] == outbox.MAX_ATTEMPTS


def test_blocked_recipient_is_flagged_pushes_failed_and_court_alerted_once(db):
    with db.transaction() as s:
        appt = _book(s, accept=True)
        appt_id, resident_id, reference = appt.id, appt.case.resident_id, appt.case.reference
    claimed = outbox.claim_due(db, now=NOW)
    to_resident = next(d for d in claimed if d.recipient_type == "resident")
    to_mediator = next(d for d in claimed if d.recipient_type == "mediator")
    with db.transaction() as s:
        assert outbox.mark_blocked(s, to_resident.outbox_id, error="Forbidden: bot was blocked by the user",
                                   now=NOW) is True
    with db.transaction() as s:  # a second 403 for the same blocking: no second alert
        assert outbox.mark_blocked(s, to_resident.outbox_id, error="Forbidden", now=NOW) is False
        assert outbox.mark_sent(s, to_mediator.outbox_id, now=NOW)
    with db.reader() as s:
        assert s.get(Resident, resident_id).telegram_blocked_at == NOW
        resident_rows = _rows(s, recipient_type="resident", recipient_id=resident_id)
        assert len(resident_rows) == 3 and all(m.status == "failed" for m in resident_rows)
        assert {m.last_error for m in resident_rows if m.id != to_resident.outbox_id} == {"blocked"}
        # The mediator is not affected.
        assert {m.status for m in _rows(s, recipient_type="mediator")} == {"sent", "pending"}
        (alert,) = _alerts(s, "recipient_blocked")
        assert alert.key == f"alert:blocked:resident:{resident_id}:{to_resident.outbox_id}"
        assert alert.payload["reference"] == reference and alert.payload["template"] == "appointment_accepted"
        assert (alert.payload["recipient_type"], alert.payload["recipient_id"]) == ("resident", resident_id)
        (entry,) = s.execute(select(AuditEntry).where(AuditEntry.action == "recipient.blocked")).scalars()
        assert (entry.actor, entry.entity_type, entry.entity_id) == ("bot:outbox", "resident", resident_id)
    # New pushes to a blocked recipient fail at claim time, without a send.
    with db.transaction() as s:
        engine.reschedule(s, appt_id, starts_at=START + dt.timedelta(hours=4), actor="resident", now=NOW)
    claimed = outbox.claim_due(db, now=NOW)
    assert {d.recipient_type for d in claimed} == {"mediator"}
    with db.reader() as s:
        moved = _rows(s, recipient_type="resident", template="appointment_rescheduled")[0]
        assert moved.status == "failed" and moved.last_error == "blocked" and moved.attempts == 0
    # The resident writes to the bot again: unblocked, new pushes reach them.
    with db.transaction() as s:
        assert outbox.unblock(s, chat_id=RESIDENT_CHAT) is True
        assert outbox.unblock(s, chat_id=RESIDENT_CHAT) is False
        assert outbox.unblock(s, chat_id=123) is False
    with db.transaction() as s:
        assert s.get(Resident, resident_id).telegram_blocked_at is None
        assert s.execute(select(AuditEntry).where(AuditEntry.action == "recipient.unblocked")).scalars().one()
        engine.cancel(s, appt_id, actor="resident", now=NOW)
    claimed = outbox.claim_due(db, now=NOW)
    assert ("appointment_cancelled", "resident", RESIDENT_CHAT) in {(d.template, d.recipient_type, d.chat_id)
                                                                    for d in claimed}


def test_blocked_mediator_and_unblock_by_chat_id(db):
    with db.transaction() as s:
        appt = _book(s)
        mediator_id = appt.mediator_id
    (d,) = outbox.claim_due(db, now=NOW)
    with db.transaction() as s:
        assert outbox.mark_blocked(s, d.outbox_id, error="Forbidden", now=NOW)
    with db.transaction() as s:
        assert s.get(Mediator, mediator_id).telegram_blocked_at == NOW
        assert all(m.status == "failed" for m in _rows(s, recipient_type="mediator"))
        assert len(_alerts(s, "recipient_blocked")) == 1
        assert outbox.unblock(s, chat_id=MEDIATOR_CHAT) is True
    with db.reader() as s:
        assert s.get(Mediator, mediator_id).telegram_blocked_at is None


def test_recipient_without_telegram_chat_fails_without_retry(db):
    with db.transaction() as s:
        _book(s, mediator_chat=None, accept=True)  # the resident has a chat, the mediator none
    claimed = outbox.claim_due(db, now=NOW)
    assert [d.template for d in claimed] == ["appointment_accepted"]
    with db.reader() as s:
        (row,) = _rows(s, template="appointment_new")
        assert row.status == "failed" and row.last_error == "no_telegram_chat" and row.attempts == 0
        assert outbox.status_counts(s)["failed"] == 1
    # Not retried, whatever the time.
    assert all(d.recipient_type == "resident" for d in outbox.claim_due(db, now=START))


def test_undeliverable_chat_fails_and_alerts(db):
    with db.transaction() as s:
        _book(s)
    (d,) = outbox.claim_due(db, now=NOW)
    with db.transaction() as s:
        assert outbox.mark_undeliverable(s, d.outbox_id, error="Bad Request: chat not found", now=NOW) is True
        assert outbox.mark_undeliverable(s, d.outbox_id, error="Bad Request: chat not found", now=NOW) is False
    with db.reader() as s:
        row = s.get(OutboxMessage, d.outbox_id)
        assert row.status == "failed" and row.last_error == "Bad Request: chat not found"
        (alert,) = _alerts(s, "recipient_unreachable")
        assert alert.payload["template"] == "appointment_new"
        # The recipient is not flagged blocked: other pushes are still tried.
        assert s.execute(select(Mediator).where(Mediator.telegram_chat_id == MEDIATOR_CHAT)).scalar_one() \
            .telegram_blocked_at is None
        assert outbox.pending_count(s, START) == 4


def test_monitoring_counts(db):
    with db.transaction() as s:
        _book(s, accept=True)
        assert outbox.status_counts(s) == {"pending": 6, "sent": 0, "failed": 0, "cancelled": 0}
        assert outbox.pending_count(s, NOW) == 2
        assert outbox.pending_count(s, START) == 6
        assert outbox.court_alerts(s) == []


@pytest.mark.parametrize("error", ["", None, "x" * 1000, "用户 13945612378 身份证 230102199001011234"])
def test_clean_error_is_short_and_masked(error):
    text = outbox.clean_error(error)
    assert len(text) <= outbox.ERROR_LIMIT
    assert "13945612378" not in text and "199001011234" not in text


def _chat_push(s, conversation_id: str, key: str):  # type: ignore[no-untyped-def]
    return journal.enqueue(s, key=key, recipient_type=RecipientType.CHAT, recipient_id=None,
                           template="agent_reply", payload={"conversation_id": conversation_id, "text": "您好"},
                           due_at=NOW)


def test_a_desk_reply_to_a_resident_who_blocked_the_bot_flags_them_and_alerts_the_court(db):
    with db.transaction() as s:
        appt = _book(s)
        resident_id = appt.case.resident_id
        _chat_push(s, f"tg-{RESIDENT_CHAT}", "handoff:1:reply:a")
        _chat_push(s, "tg-8000000999", "handoff:2:reply:a")  # a chat nobody is on record for
    claimed = [d for d in outbox.claim_due(db, now=NOW) if d.recipient_type == "chat"]
    assert len(claimed) == 2
    with db.transaction() as s:
        for d in claimed:
            assert outbox.mark_blocked(s, d.outbox_id, error="Forbidden: bot was blocked by the user", now=NOW)
    with db.transaction() as s:  # the same row again: nothing new
        assert not outbox.mark_blocked(s, claimed[0].outbox_id, error="Forbidden", now=NOW)
    with db.reader() as s:
        assert s.get(Resident, resident_id).telegram_blocked_at == NOW
        assert all(s.get(OutboxMessage, d.outbox_id).status == "failed" for d in claimed)
        alerts = _alerts(s, "recipient_blocked")
        assert sorted((a.payload["recipient_type"], a.payload["recipient_id"]) for a in alerts) == [
            ("chat", None), ("resident", resident_id)]
        assert all(a.payload["template"] == "agent_reply" for a in alerts)
