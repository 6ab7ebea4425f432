"""A tracker store that cannot be reached fails the turn; it never falls back to memory.

Rasa 3.6 wraps every tracker store in a FailSafeTrackerStore: when the database is down it
reads "no such conversation" and saves the turn in this process's memory. The resident is
then answered as a stranger (a booking half filled is forgotten) and the turn is lost when
the database returns. Here the error goes up instead: the court channel answers 503, the
front end apologises with 12368 and sends the message again once the database is back.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Text

from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)


class TrackerStoreUnavailable(Exception):
    """The conversation's store could not be read or written."""


async def _retrieve(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    try:
        return await self._tracker_store.retrieve(sender_id)
    except Exception as exc:
        raise TrackerStoreUnavailable(type(exc).__name__) from exc


async def _retrieve_full(self: FailSafeTrackerStore, sender_id: Text) -> Optional[DialogueStateTracker]:
    try:
        return await self._tracker_store.retrieve_full_tracker(sender_id)
    except Exception as exc:
        raise TrackerStoreUnavailable(type(exc).__name__) from exc


async def _save(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    try:
        await self._tracker_store.save(tracker)
    except Exception as exc:
        raise TrackerStoreUnavailable(type(exc).__name__) from exc


def install() -> None:
    patches: dict[str, Any] = {"retrieve": _retrieve, "retrieve_full_tracker": _retrieve_full, "save": _save}
    for name, function in patches.items():
        setattr(FailSafeTrackerStore, name, function)
