"""The web chat's rules on both databases: the conversation-id codec, cookie-bound
conversations, pushes routed to the channel the resident chats on, unread counts, erasure."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from court.core.errors import ButtonInvalid
from court.messaging import conversations, outbox, webchat
from court.messaging.webchat import WebChatDesk
from court.records import erasure, journal, residents
from court.store.schema import OutboxMessage, RecipientType, WebMessage
from tests.factories import NOW


def test_the_codec_keeps_telegram_and_web_apart() -> None:
    assert conversations.parse("tg-12345") == conversations.Address("telegram", 12345)
    assert conversations.parse("tg--100123") == conversations.Address("telegram", -100123)
    web = conversations.parse("web-7")
    assert web.channel == "web" and web.chat_key == conversations.WEB_BASE + 7
    assert conversations.for_chat(web.chat_key) == "web-7" and conversations.for_chat(42) == "tg-42"
    for bad in ("web-0", "web--3", "console-ab12", "erased", "tg-1x", None, f"tg-{conversations.WEB_BASE}"):
        assert conversations.parse(bad) is None
    assert outbox.chat_id_of("web-7") is None and outbox.chat_id_of("web-7", "web") == web.chat_key


def test_a_cookie_opens_only_its_own_conversation(db) -> None:
    desk = WebChatDesk(db, now=lambda: NOW)
    mine, theirs = webchat.new_cookie(), webchat.new_cookie()
    a, created = desk.open(mine)
    assert created and desk.open(mine) == (a, False) and desk.find(mine) == a
    b, _ = desk.open(theirs)
    assert a != b and desk.find("x" * 43) is None and desk.find("short") is None
    shown = desk.show_plan_item(a.number, text="请选一个：", buttons=[("帮我预约", "/book_mediation")])
    token = shown["buttons"][0]["token"]
    with pytest.raises(ButtonInvalid):
        desk.press(b.number, token)  # another resident's token is unknown to them
    assert desk.press(a.number, token).payload == "/book_mediation"
    assert desk.history(a.number)["messages"][0]["chosen"] == "帮我预约"
    assert desk.history(b.number)["messages"] == []


def test_pushes_go_to_the_web_worker_and_are_counted_unread(db) -> None:
    desk = WebChatDesk(db, now=lambda: NOW)
    chat, _ = desk.open(webchat.new_cookie())
    with db.transaction() as s:
        resident = residents.record_consent(s, conversation_id=chat.conversation_id, now=NOW)
        residents.set_contact(s, resident, name="王桂芝", phone="13945612378")
        for key, kind, rid, payload in (
                ("w:1", RecipientType.RESIDENT, resident.id, {"reference": "HH1", "time": "明天"}),
                ("w:2", RecipientType.CHAT, None, {"conversation_id": chat.conversation_id, "text": "您好"}),
                ("t:1", RecipientType.CHAT, None, {"conversation_id": "tg-99", "text": "您好"})):
            journal.enqueue(s, key=key, recipient_type=kind, recipient_id=rid,
                            template="reminder_day_before" if kind == RecipientType.RESIDENT else "agent_reply",
                            payload=payload, due_at=NOW)
    web = outbox.claim_due(db, now=NOW, channel="web")
    assert sorted(d.key for d in web) == ["w:1", "w:2"] and {d.chat_id for d in web} == {chat.chat_key}
    assert [d.key for d in outbox.claim_due(db, now=NOW)] == ["t:1"]  # Telegram's worker never sees web rows
    for d in web:
        desk.show_plan_item(chat.number, text=d.template, role="push", outbox_id=d.outbox_id)
        assert desk.show_plan_item(chat.number, text=d.template, role="push", outbox_id=d.outbox_id) is None
    state = desk.history(chat.number)
    assert state["unread"] == 2
    desk.mark_read(chat.number, 10 ** 9)  # never past what exists
    assert desk.history(chat.number)["unread"] == 0 and desk.history(chat.number)["read_up_to"] == state[
        "messages"][-1]["id"]


def test_a_resident_row_follows_the_resident_to_the_web(db) -> None:
    """Written while the resident was on Telegram, delivered after they moved: the Telegram worker hands it over."""
    desk = WebChatDesk(db, now=lambda: NOW)
    chat, _ = desk.open(webchat.new_cookie())
    with db.transaction() as s:
        resident = residents.record_consent(s, conversation_id="tg-555", telegram_user_id=555, now=NOW)
        journal.enqueue(s, key="moved", recipient_type=RecipientType.RESIDENT, recipient_id=resident.id,
                        template="reminder_day_before", payload={}, due_at=NOW)
        resident.telegram_user_id, resident.conversation_id = None, chat.conversation_id
    assert outbox.claim_due(db, now=NOW) == []
    with db.reader() as s:
        assert s.execute(select(OutboxMessage.channel).where(OutboxMessage.idempotency_key == "moved")).scalar_one() \
            == "web"
    assert [d.key for d in outbox.claim_due(db, now=NOW, channel="web")] == ["moved"]


def test_erasure_clears_the_pages_copy(db) -> None:
    desk = WebChatDesk(db, now=lambda: NOW)
    chat, _ = desk.open(webchat.new_cookie())
    desk.append(chat.number, role="resident", text="我叫王桂芝，电话13945612378")
    with db.transaction() as s:
        erasure.erase(s, telegram_user_id=None, conversation_id=chat.conversation_id, chat_id=chat.chat_key, now=NOW)
    with db.reader() as s:
        assert s.execute(select(WebMessage).where(WebMessage.conversation_id == chat.number)).first() is None
