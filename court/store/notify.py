"""Wake-ups between processes on PostgreSQL: a push written in any process (the action
server's booking, the desk's reply) wakes the worker that delivers it at once, instead of
that worker polling the outbox several times a second.

``signal`` is called inside the writer's transaction: PostgreSQL delivers a NOTIFY only
when that transaction commits, and never for one rolled back. ``Listener`` holds one
connection of its own (outside the pool) with LISTEN and wakes an asyncio event. On
SQLite both are no-ops and the worker polls as before; a lost connection falls back to
polling until it is listening again.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from sqlalchemy import text
from sqlalchemy.orm import Session

from court.store.db import Database

log = logging.getLogger(__name__)

OUTBOX = "court_outbox"
_CHANNELS = frozenset({OUTBOX})


def signal(session: Session, channel: str, payload: str = "") -> None:
    if channel not in _CHANNELS:
        raise ValueError(channel)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload[:100]})


class Listener:
    """LISTEN on ``channel``; ``wait(timeout)`` returns early when a notification arrives."""

    def __init__(self, db: Database, channel: str) -> None:
        if channel not in _CHANNELS:
            raise ValueError(channel)
        self.db, self.channel = db, channel
        self._event = asyncio.Event()
        self._conn: Optional[Any] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    @property
    def listening(self) -> bool:
        return self._conn is not None

    def start(self) -> bool:
        """Begin listening (PostgreSQL only); False when the worker must poll."""
        if self.db.dialect != "postgresql" or self._conn is not None:
            return self._conn is not None
        try:
            raw = self.db.engine.raw_connection()
            raw.detach()  # ours for good: never handed back to the pool in LISTEN state
            conn = getattr(raw, "driver_connection", None) or raw.connection
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f"LISTEN {self.channel}")
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(conn.fileno(), self._readable)
            self._conn = conn
        except Exception:  # noqa: BLE001 - the database is down: poll until it is back
            log.warning("cannot LISTEN on %s; polling", self.channel, exc_info=True)
            return False
        return True

    def _readable(self) -> None:
        conn = self._conn
        if conn is None:  # stopped: stop() removes this reader as it lets go of the connection
            return
        try:
            conn.poll()
            conn.notifies.clear()
        except Exception:  # noqa: BLE001 - the connection is gone: back to polling, listen again later
            log.warning("LISTEN connection lost; polling")
            self.stop()
        self._event.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        self._event.clear()

    def stop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._loop is not None:
                self._loop.remove_reader(conn.fileno())
            conn.close()
        except Exception:  # noqa: BLE001
            pass
