"""A push written in one process wakes the worker in another at commit (PostgreSQL's
LISTEN/NOTIFY), so the web chat's outbox worker does not poll several times a second."""
from __future__ import annotations

import asyncio
import time

from court.records import journal
from court.store import notify
from court.store.schema import RecipientType
from tests.factories import NOW


def _push(db, key: str, *, commit: bool = True) -> None:  # type: ignore[no-untyped-def]
    class Rollback(Exception):
        pass
    try:
        with db.transaction() as s:
            journal.enqueue(s, key=key, recipient_type=RecipientType.CHAT, recipient_id=None, template="agent_reply",
                            payload={"conversation_id": "web-1", "text": "您好"}, due_at=NOW)
            if not commit:
                raise Rollback()
    except Rollback:
        pass


def test_a_committed_push_wakes_the_listener_and_a_rolled_back_one_does_not(db) -> None:
    async def scenario() -> tuple[bool, float, float]:
        listener = notify.Listener(db, notify.OUTBOX)
        listening = listener.start()
        try:
            if not listening:
                return False, 0.0, 0.0
            started = time.monotonic()
            await asyncio.to_thread(_push, db, "n:rolled-back", commit=False)
            await listener.wait(0.5)
            quiet = time.monotonic() - started
            started = time.monotonic()
            await asyncio.to_thread(_push, db, "n:committed")
            await listener.wait(10)
            return True, quiet, time.monotonic() - started
        finally:
            listener.stop()

    listening, quiet, woken = asyncio.run(scenario())
    assert listening == (db.dialect == "postgresql")  # SQLite: the worker polls, as before
    if listening:
        assert quiet >= 0.45 and woken < 2
