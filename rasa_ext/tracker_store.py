"""Rasa's SQL tracker store on the court's tracker database, with erasure.

endpoints.yml names this class; Rasa falls back to its in-memory store (with
only a warning) when the class cannot be imported, so keep imports simple.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_db import ensure_database, tracker_database_url

logger = logging.getLogger(__name__)


class CourtTrackerStore(SQLTrackerStore):
    """Trackers in TRACKER_DATABASE_URL (or the court database's sibling, see
    rasa_ext.tracker_db), kept across Rasa restarts."""

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
        # Rasa builds the engine itself; its errors must not carry the events' texts to the logs.
        self.engine.hide_parameters = True

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the tracker's new events; a tracker without events erases the conversation.

        Rasa's SQL store only ever appends, so `PUT /conversations/{id}/tracker/events`
        with `[]` - what the bot sends for `/delete_my_data` (bot/assistant.py `reset`) -
        would otherwise leave the resident's chat history in the database.
        """
        if tracker.events:
            await super().save(tracker)
            return
        with self.session_scope() as session:
            deleted = (session.query(self.SQLEvent)
                       .filter(self.SQLEvent.sender_id == tracker.sender_id)
                       .delete(synchronize_session=False))
            session.commit()
        logger.debug("Erased %d stored events of one conversation.", deleted)
