"""On PostgreSQL the web chat's outbox worker is woken by the push's own transaction
(LISTEN/NOTIFY) instead of polling: with its poll set to a minute, an agent's reply still
reaches the open page at once. Only the web chat process runs (no Rasa is needed for pushes)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from court.messaging import webchat
from court.messaging.webchat import WebChatDesk
from court.records import journal
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import RecipientType
from stack.processes import Stack
from tests.conftest import SEED_DAY, _pg_url
from tests.factories import NOW
from tools.webchat_client import EventStream, WebResident

pytestmark = pytest.mark.skipif(not _pg_url(), reason="TEST_POSTGRES_URL not set")


@pytest.fixture(scope="module")
def pg_db() -> Iterator[Database]:
    name = f"court_webpg_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_url(), future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    db = Database(make_url(_pg_url()).set(database=name).render_as_string(hide_password=False))
    db.migrate()
    seed(db, today=SEED_DAY)
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_a_push_reaches_the_open_page_without_waiting_for_a_poll(pg_db, tmp_path):
    stack = Stack(Path("unused-model"), database_url=pg_db.url, log_dir=tmp_path)
    try:
        url = stack.start_webchat(extra_env={"WEBCHAT_OUTBOX_INTERVAL": "60", "COURT_FAKE_NOW": NOW.isoformat()})
        cookie = webchat.new_cookie()
        chat, _ = WebChatDesk(pg_db, now=lambda: NOW).open(cookie)
        me = WebResident(url)
        me.http.cookies.set("hh_chat", cookie)
        me.open()
        stream = EventStream(me)
        try:
            time.sleep(1.0)  # the worker's first pass is over: from now on it only waits
            started = time.monotonic()
            with pg_db.transaction() as s:
                journal.enqueue(s, key="pg:wake:1", recipient_type=RecipientType.CHAT, recipient_id=None,
                                template="agent_reply", due_at=NOW,
                                payload={"conversation_id": chat.conversation_id, "text": "您好，我是李敏", "agent": "李敏"})
            stream.wait(lambda e: e.get("type") == "message" and "李敏" in e["message"]["text"], timeout=20)
            assert time.monotonic() - started < 5  # a poll would have taken up to 60 s
        finally:
            stream.close()
    finally:
        stack.stop()
