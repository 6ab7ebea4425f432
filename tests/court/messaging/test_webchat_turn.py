"""One resident turn through the web chat costs the court's database two short transactions:
the page's copy with the journal row, then the delivery with every reply. Finding the
conversation by its cookie is a read unless the last visit is stale."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, select

from court.messaging import webchat
from court.messaging.webchat import WebChatDesk
from court.store.schema import InboundMessage, WebConversation, WebMessage
from tests.factories import NOW


class Commits:
    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        event.listen(db.engine, "commit", self._commit)
        self.db = db

    def _commit(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.count += 1

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


def test_a_turn_is_two_transactions_and_a_visit_a_read(db) -> None:
    now = [NOW]
    web = WebChatDesk(db, now=lambda: now[0])
    cookie = webchat.new_cookie()
    chat, _ = web.open(cookie)
    commits = Commits(db)
    assert web.find(cookie) == chat and commits.take() == 0  # a read: no write lock per request
    mine, inbound_id = web.receive(chat.number, shown="楼上漏水", relayed="楼上漏水", meta={"channel": "web"})
    assert commits.take() == 1 and mine["role"] == "resident"
    shown = web.settle(chat.number, inbound_id, [
        {"text": "这类纠纷可以先找人民调解。", "buttons": [("帮我预约", "/book_mediation")]},
        {"text": "", "venue": {"title": "西岗子镇", "address": "西岗子镇", "latitude": 50.0, "longitude": 127.0}}])
    assert commits.take() == 1 and [m["role"] for m in shown] == ["assistant", "assistant"]
    with db.reader() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row.status == "delivered" and row.text == ""
        assert s.execute(select(WebMessage.id).where(WebMessage.conversation_id == chat.number)).scalars().all() == [
            mine["id"], *(m["id"] for m in shown)]
    now[0] = NOW + webchat.SEEN_TOUCH + dt.timedelta(seconds=1)
    assert web.find(cookie) == chat and commits.take() == 1  # a stale last visit is renewed, once
    assert web.find(cookie) == chat and commits.take() == 0
    with db.reader() as s:
        assert s.get(WebConversation, chat.number).last_seen_at == now[0]


def test_a_pages_requests_find_the_conversation_without_the_database(db) -> None:
    now = [NOW]
    web = WebChatDesk(db, now=lambda: now[0])
    cookie = webchat.new_cookie()
    chat, _ = web.open(cookie)
    assert web.find(cookie) == chat
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    for _ in range(5):
        assert web.find(cookie) == chat
    assert statements == []
    assert web.find(webchat.new_cookie()) is None and statements  # an unknown cookie is looked up
    now[0] = NOW - dt.timedelta(hours=1)  # a clock moved back: looked up again, never trusted as fresh
    statements.clear()
    assert web.find(cookie) == chat and statements


def test_a_failed_settle_leaves_the_message_pending_and_shows_nothing(db) -> None:
    web = WebChatDesk(db, now=lambda: NOW)
    chat, _ = web.open(webchat.new_cookie())
    _, inbound_id = web.receive(chat.number, shown="你好", relayed="你好", meta={})
    with pytest.raises(ValueError):
        web.settle(chat.number, inbound_id, [{"text": "好的"}, {"text": "坏的", "role": "nobody"}])
    with db.reader() as s:
        assert s.get(InboundMessage, inbound_id).status == "pending"  # the retry loop relays it again
        assert len(s.execute(select(WebMessage.id).where(WebMessage.conversation_id == chat.number)).all()) == 1
