"""Rasa's trackers in their own database: kept across store instances (a Rasa
restart), and erased by an empty tracker (the bot's /delete_my_data)."""
from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from rasa.core.tracker_store import create_tracker_store
from rasa.core.utils import read_endpoints_from_path
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from court.store.tracker_db import REPO_ROOT, ensure_database, stale_conversations, tracker_database_url
from rasa_ext.tracker_store import CourtTrackerStore
from tests.conftest import _backends, _pg_admin, _pg_url

ALICE, BOB = "tg-1001", "tg-1002"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO_ROOT / "domain.yml"))


def _drop_pg(name: str) -> None:
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=_backends())
def tracker_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tracker database that does not exist yet, named by TRACKER_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'new-dir' / 'court-tracker.db'}"
        monkeypatch.setenv("TRACKER_DATABASE_URL", url)
        yield url
        return
    name = f"court_tracker_test_{uuid.uuid4().hex[:10]}"
    url = make_url(_pg_url()).set(database=name).render_as_string(hide_password=False)
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    yield url
    _drop_pg(name)


def session(*turns: tuple[str, str], at: float) -> list:
    events: list = [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at + 0.1),
                    ActionExecuted("action_listen", timestamp=at + 0.2)]
    for i, (said, answered) in enumerate(turns):
        t = at + 1 + i
        events += [UserUttered(said, intent={"name": "describe_dispute", "confidence": 1.0}, timestamp=t),
                   BotUttered(answered, timestamp=t + 0.1), ActionExecuted("action_listen", timestamp=t + 0.2)]
    return events


def texts(tracker: DialogueStateTracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


def stored_rows(url: str, sender: str) -> int:
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar_one()
    finally:
        engine.dispose()


def test_trackers_outlive_the_store_and_an_empty_tracker_erases_one(tracker_url, domain):
    first = CourtTrackerStore(domain=domain, host=None)  # what Rasa's loader passes
    assert str(first.engine.url) == str(make_url(tracker_url))
    alice = DialogueStateTracker.from_events(ALICE, session(("楼上漏水", "邻里纠纷可以先找人民调解"), at=1000.0),
                                             domain.slots)
    asyncio.run(first.save(alice))
    # A second conversation session: erasure must take the earlier one too.
    for event in session(("我叫张三，电话13945670001", "好的，已记下"), at=2000.0):
        alice.update(event)
    asyncio.run(first.save(alice))
    bob = DialogueStateTracker.from_events(BOB, session(("工资拖欠三个月", "劳动争议可以先申请劳动仲裁"), at=1500.0),
                                           domain.slots)
    asyncio.run(first.save(bob))
    first.engine.dispose()

    # A new instance is a restarted Rasa: everything is still there, in order.
    second = CourtTrackerStore(domain=domain)
    kept = asyncio.run(second.retrieve_full_tracker(ALICE))
    assert texts(kept) == ["楼上漏水", "邻里纠纷可以先找人民调解", "我叫张三，电话13945670001", "好的，已记下"]
    assert texts(asyncio.run(second.retrieve(ALICE))) == ["我叫张三，电话13945670001", "好的，已记下"]
    assert texts(asyncio.run(second.retrieve(BOB))) == ["工资拖欠三个月", "劳动争议可以先申请劳动仲裁"]
    assert sorted(asyncio.run(second.keys())) == [ALICE, BOB]

    # What Rasa does for PUT /conversations/tg-1001/tracker/events with [].
    asyncio.run(second.save(DialogueStateTracker.from_dict(ALICE, [], domain.slots)))
    assert asyncio.run(second.retrieve(ALICE)) is None
    assert asyncio.run(second.retrieve_full_tracker(ALICE)) is None
    assert stored_rows(tracker_url, ALICE) == 0
    assert texts(asyncio.run(second.retrieve_full_tracker(BOB))) == ["工资拖欠三个月", "劳动争议可以先申请劳动仲裁"]
    assert asyncio.run(second.keys()) == [BOB]
    # Erasing what is not there is no error; a new conversation starts from scratch.
    asyncio.run(second.save(DialogueStateTracker.from_dict(ALICE, [], domain.slots)))
    fresh = asyncio.run(second.get_or_create_tracker(ALICE))
    assert texts(fresh) == [] and stored_rows(tracker_url, ALICE) == 1  # the initial action_listen
    second.engine.dispose()


def test_ensure_database_twice_is_harmless(tracker_url, domain):
    ensure_database(tracker_url)
    ensure_database(tracker_url)
    store = CourtTrackerStore(domain=domain)
    asyncio.run(store.save(DialogueStateTracker.from_events(BOB, session(("你好", "您好"), at=10.0), domain.slots)))
    store.engine.dispose()
    ensure_database(tracker_url)
    again = CourtTrackerStore(domain=domain)
    assert texts(asyncio.run(again.retrieve(BOB))) == ["你好", "您好"]
    again.engine.dispose()


def test_endpoints_yml_loads_this_store(tracker_url, domain, monkeypatch):
    """Rasa swallows an import error and quietly keeps trackers in memory; not here."""
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    endpoints = read_endpoints_from_path(REPO_ROOT / "endpoints.yml")
    store = create_tracker_store(endpoints.tracker_store, domain)
    assert type(store) is CourtTrackerStore
    store.engine.dispose()


@pytest.mark.parametrize("backend", [p for p in _backends() if p.values == ("postgresql",)])
def test_postgres_tracker_database_is_derived_and_created_once_under_a_race(backend, monkeypatch):
    court = f"court_test_{uuid.uuid4().hex[:10]}"  # never created: the admin falls back to `postgres`
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", make_url(_pg_url()).set(database=court).render_as_string(hide_password=False))
    url = make_url(_pg_url()).set(database=f"{court}_tracker").render_as_string(hide_password=False)
    errors: list[BaseException] = []

    def create() -> None:
        try:
            ensure_database(url)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert tracker_database_url() == url
        engine = create_engine(url, future=True)
        with engine.connect() as conn:  # it exists, and the court's tables are not in it
            assert conn.execute(text("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'")).scalar_one() == 0
        engine.dispose()
    finally:
        _drop_pg(f"{court}_tracker")



def test_stale_conversations_are_those_quiet_since_before_the_cutoff(tracker_url, domain):
    ensure_database(tracker_url)
    assert stale_conversations(tracker_url, before=10_000.0) == []  # no events table yet
    store = CourtTrackerStore(domain=domain)
    asyncio.run(store.save(DialogueStateTracker.from_events(ALICE, session(("楼上漏水", "好的"), at=1000.0),
                                                            domain.slots)))
    bob = DialogueStateTracker.from_events(BOB, session(("工资拖欠", "好的"), at=1000.0), domain.slots)
    asyncio.run(store.save(bob))
    for event in session(("又来了", "好的"), at=9000.0):  # Bob spoke again later
        bob.update(event)
    asyncio.run(store.save(bob))
    store.engine.dispose()
    assert stale_conversations(tracker_url, before=5000.0) == [ALICE]
    assert sorted(stale_conversations(tracker_url, before=10_000.0)) == [ALICE, BOB]


def test_an_sqlite_tracker_store_keeps_its_connection_in_wal_mode(tmp_path, monkeypatch, domain):
    url = f"sqlite:///{tmp_path / 'court-tracker.db'}"
    monkeypatch.setenv("TRACKER_DATABASE_URL", url)
    store = CourtTrackerStore(domain=domain)
    tracker = DialogueStateTracker.from_events(ALICE, session(("你好", "您好"), at=1_700_000_000.0))
    asyncio.run(store.save(tracker))
    with store.engine.connect() as conn:
        first = conn.connection.dbapi_connection
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    assert texts(asyncio.run(store.retrieve(ALICE))) == ["你好", "您好"]
    with store.engine.connect() as conn:
        assert conn.connection.dbapi_connection is first  # pooled, not reopened per turn
    assert store.engine.hide_parameters


def test_may_be_paused_is_false_only_where_the_read_back_tracker_is_not_paused(tracker_url, domain):
    """The court channel skips reading a conversation back when may_be_paused says no."""
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.events import ConversationPaused, ConversationResumed

    from rasa_ext.channels import _tracker_if_paused

    store = CourtTrackerStore(domain=domain)
    carol, dave, erin = "tg-1003", "tg-1004", "tg-1005"
    paused = DialogueStateTracker.from_events(carol, session(("转人工", "正在为您转接"), at=100.0), domain.slots)
    paused.update(ConversationPaused(timestamp=104.0))
    asyncio.run(store.save(paused))
    back = DialogueStateTracker.from_events(dave, session(("转人工", "正在为您转接"), at=100.0), domain.slots)
    back.update(ConversationPaused(timestamp=104.0))
    back.update(ConversationResumed(timestamp=105.0))
    asyncio.run(store.save(back))
    # A pause in an earlier session, and a new session since.
    earlier = DialogueStateTracker.from_events(erin, session(("转人工", "正在为您转接"), at=100.0), domain.slots)
    earlier.update(ConversationPaused(timestamp=104.0))
    earlier.update(ConversationResumed(timestamp=105.0))
    for event in session(("你好", "您好"), at=200.0):
        earlier.update(event)
    asyncio.run(store.save(earlier))

    for sender, says, is_paused in [(carol, True, True), (dave, True, False), (erin, False, False),
                                    ("tg-nobody", False, None)]:
        assert asyncio.run(store.may_be_paused(sender)) is says, sender
        tracker = asyncio.run(store.retrieve(sender))
        assert (tracker.is_paused() if tracker else None) is is_paused, sender
        # What the channel reads through Rasa's wrapper: the tracker where it may be paused, else nothing.
        read = asyncio.run(_tracker_if_paused(FailSafeTrackerStore(store), sender))
        assert (read is not None) is says and (read.is_paused() if read else None) in (is_paused, None)
    store.engine.dispose()


def test_a_store_that_cannot_tell_is_read_whole(domain):
    from rasa.core.tracker_store import InMemoryTrackerStore

    from rasa_ext.channels import _tracker_if_paused

    store = InMemoryTrackerStore(domain)
    asyncio.run(store.save(DialogueStateTracker.from_events(BOB, session(("你好", "您好"), at=10.0), domain.slots)))
    assert texts(asyncio.run(_tracker_if_paused(store, BOB))) == ["你好", "您好"]


def test_a_failing_pause_check_is_the_store_being_unavailable(tracker_url, domain, monkeypatch):
    from rasa_ext.channels import _tracker_if_paused
    from rasa_ext.strict_tracker_store import TrackerStoreUnavailable

    store = CourtTrackerStore(domain=domain)

    async def broken(sender_id: str) -> bool:
        raise ConnectionError("database down")

    monkeypatch.setattr(store, "may_be_paused", broken)
    with pytest.raises(TrackerStoreUnavailable):
        asyncio.run(_tracker_if_paused(store, BOB))
    store.engine.dispose()


def test_reading_and_appending_store_what_rasas_sql_store_does(tracker_url, domain):
    """CourtTrackerStore's own retrieve/save against Rasa's SQLTrackerStore ones, turn by turn."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SlotSet

    store = CourtTrackerStore(domain=domain)
    ours, rasas = "tg-2001", "tg-2002"
    turns = session(("楼上漏水", "邻里纠纷可以先找人民调解"), ("我叫张三", "好的"), at=1000.0)
    turns += [SlotSet("name", "张三", timestamp=1010.0)]
    turns += session(("你好", "您好"), at=2000.0)  # a second session: retrieve gives only this one
    for k in range(1, len(turns) + 1, 2):
        for sender, save in ((ours, CourtTrackerStore.save), (rasas, SQLTrackerStore.save)):
            asyncio.run(save(store, DialogueStateTracker.from_events(sender, turns[:k], domain.slots)))
        for sender in (ours, rasas):
            mine = asyncio.run(store.retrieve(sender))
            theirs = asyncio.run(SQLTrackerStore.retrieve(store, sender))
            assert mine is not None and list(mine.events) == list(theirs.events)
            assert mine.current_state() == theirs.current_state()
    engine = create_engine(tracker_url, future=True)
    with engine.connect() as conn:
        rows = {sender: conn.execute(text("SELECT type_name, timestamp, intent_name, action_name, data FROM events "
                                          "WHERE sender_id = :s ORDER BY id"), {"s": sender}).all()
                for sender in (ours, rasas)}
    engine.dispose()
    assert rows[ours] == rows[rasas] and len(rows[ours]) >= len(turns)
    assert asyncio.run(store.retrieve("tg-nobody")) is None
    store.engine.dispose()
