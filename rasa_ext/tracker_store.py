"""Rasa's SQL tracker store on the court's tracker database, with erasure.

endpoints.yml names this class; Rasa falls back to its in-memory store (with
only a warning) when the class cannot be imported, so keep imports simple.
"""
from __future__ import annotations

import itertools
import json
import logging
from typing import Any, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ConversationPaused, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

from court.store.tracker_db import ensure_database, tracker_database_url

logger = logging.getLogger(__name__)


class CourtTrackerStore(SQLTrackerStore):
    """Trackers in TRACKER_DATABASE_URL (or the court database's sibling, see
    court.store.tracker_db), kept across Rasa restarts."""

    def __init__(self, domain: Optional[Domain] = None, event_broker: Optional[EventBroker] = None,
                 **kwargs: Any) -> None:
        # Rasa passes host=<url from endpoints.yml> and the endpoint's other keys;
        # the database comes from the environment instead, like the court's own.
        ignored = sorted(key for key, value in kwargs.items() if value is not None)
        if ignored:
            logger.warning("CourtTrackerStore ignores %s from endpoints.yml; set TRACKER_DATABASE_URL instead.",
                           ", ".join(ignored))
        url = tracker_database_url()
        ensure_database(url)
        # A host containing "://" is used by SQLTrackerStore as the complete URL.
        super().__init__(domain=domain, host=url, event_broker=event_broker)
        if self.engine.dialect.name == "sqlite":
            self._pooled_sqlite_engine(url)
        # Rasa builds the engine itself; its errors must not carry the events' texts to the logs.
        self.engine.hide_parameters = True

    def _pooled_sqlite_engine(self, url: str) -> None:
        """Rasa opens a new SQLite connection per turn (SQLAlchemy 1.4's NullPool) in
        rollback-journal mode with a full sync per commit: about a tenth of the server's
        CPU per message. Keep connections, and use WAL, which also lets the desk read
        transcripts while Rasa writes. synchronous=NORMAL in WAL keeps the file sound on
        a crash; an OS crash may lose the last turns of a transcript, never the court's
        records (their database keeps full sync)."""
        self.engine.dispose()
        self.engine = create_engine(url, poolclass=QueuePool, pool_size=2, max_overflow=2)

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

        self.sessionmaker = sessionmaker(bind=self.engine)

    # --- the latest session's events, read and appended with statements built once ---------
    #
    # Rasa's `retrieve` and `save` build their ORM query (the events since the latest
    # SessionStarted) anew for every call, load each row as an ORM object, and insert the new
    # events one by one through the ORM's unit of work: together about a fifth of the Rasa
    # server's CPU per message. Here the same query is a Core statement built once per store
    # (sender id bound at execution), only the `data` column is read, and the new rows go in
    # as one executemany, in order, with the same columns. Rasa's `_event_query` stays the
    # reference (tests/rasa_ext/test_tracker_store.py compares the two).

    def _session_statements(self) -> tuple[Any, Any, Any]:
        built = self.__dict__.get("_court_statements")
        if built is None:
            table = self.SQLEvent.__table__
            sender = sa.bindparam("sender_id", type_=table.c.sender_id.type)
            session_start = (sa.select(sa.func.max(table.c.timestamp))
                             .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
                             .scalar_subquery())
            latest_session = sa.and_(table.c.sender_id == sender,
                                     sa.or_(table.c.timestamp >= session_start, session_start.is_(None)))
            read = sa.select(table.c.data).where(latest_session).order_by(table.c.id)
            count = sa.select(sa.func.count()).select_from(table).where(latest_session)
            pause = (sa.select(table.c.id).where(latest_session, table.c.type_name == ConversationPaused.type_name)
                     .limit(1))
            built = self._court_statements = (read, count, pause)
        return built

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest conversation session, as Rasa's `SQLTrackerStore.retrieve` gives it."""
        read, _, _ = self._session_statements()
        with self.session_scope() as session:
            rows = session.execute(read, {"sender_id": sender_id}).scalars().all()
        events = [json.loads(data) for data in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events; a tracker without events erases the conversation.

        Rasa's SQL store only ever appends, so `PUT /conversations/{id}/tracker/events`
        with `[]` - what the bot sends for `/delete_my_data` (bot/rasa_client.py `reset`) -
        would otherwise leave the resident's chat history in the database.
        """
        if tracker.events:
            await self._append(tracker)
            return
        with self.session_scope() as session:
            deleted = (session.query(self.SQLEvent)
                       .filter(self.SQLEvent.sender_id == tracker.sender_id)
                       .delete(synchronize_session=False))
            session.commit()
        logger.debug("Erased %d stored events of one conversation.", deleted)

    async def _append(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `SQLTrackerStore.save`: the events after those the latest session has stored."""
        await self.stream_events(tracker)
        _, count, _ = self._session_statements()
        with self.session_scope() as session:
            stored = session.execute(count, {"sender_id": tracker.sender_id}).scalar_one()
            rows = []
            for new in itertools.islice(tracker.events, stored, len(tracker.events)):
                data = new.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": new.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            if rows:
                session.execute(self.SQLEvent.__table__.insert(), rows)
            session.commit()

    async def may_be_paused(self, sender_id: Text) -> bool:
        """Whether `retrieve(sender_id)` could give a paused tracker: its events (the latest
        session's) include a pause. Only `ConversationPaused` pauses a tracker, so without one
        it is not paused (or there is no tracker), and the court channel need not read back and
        replay the whole conversation before each message (about a tenth of the server's CPU)."""
        _, _, pause = self._session_statements()
        with self.session_scope() as session:
            return session.execute(pause, {"sender_id": sender_id}).first() is not None
