"""A resident's message on its way to the assistant and back.

Every message is journaled in the court database before it is relayed, and a
chat's messages reach Rasa one at a time, in order. When the assistant (or the
action server or database behind it) is down, the resident gets one apology
with the hotline number; the message stays pending and a background loop
retries it, and after a while it is kept for a hotline agent.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence

from cryptography.fernet import Fernet, InvalidToken
from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.outgoing import send_plan, send_text
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.replies import Outgoing, plan
from bot.settings import HOTLINE
from court.core import internal_auth
from court.facades.messenger import MessengerFacade, PendingMessage
from court.hotline import waiting
from court.messaging import conversations

log = logging.getLogger(__name__)

APOLOGY = f"抱歉，助手暂时出了点问题，您的消息已经记下，恢复后会马上回复您。着急可以拨打{HOTLINE}诉讼服务热线。"
KEPT = f"助手一直没有恢复，您的消息已转给{HOTLINE}热线工作人员，他们会在这里回复您。着急请直接拨打{HOTLINE}。"
UNANSWERED = f"抱歉，这句话我没能处理。可以换个说法再说一次；需要人工帮忙请说“转人工”，或拨打{HOTLINE}。"
TYPING_EVERY = 4.5  # Telegram shows "typing…" for 5 s


def conversation_id(chat_id: int) -> str:
    return conversations.for_chat(chat_id)


class ChatPort(Protocol):
    """How a channel shows the relay's output: Telegram's bot, or the web chat's page."""

    async def typing(self, chat_id: int) -> None: ...

    async def tell(self, chat_id: int, text: str) -> None: ...

    async def send_plan(self, chat_id: int, items: Sequence[Outgoing], chat_data: dict) -> None: ...

    # Optional: ``async def settle(chat_id, inbound_id, items)`` marks the journal row delivered and
    # shows the replies in one transaction (the web chat stores what it shows in the court's database).


class TelegramPort:
    def __init__(self, bot: Bot, desk: MessengerFacade) -> None:
        self.bot, self.desk = bot, desk

    async def typing(self, chat_id: int) -> None:
        await self.bot.send_chat_action(chat_id=chat_id, action=ChatAction.TYPING)

    async def tell(self, chat_id: int, text: str) -> None:
        with contextlib.suppress(TelegramError):
            await send_text(self.bot, chat_id, text)

    async def send_plan(self, chat_id: int, items: Sequence[Outgoing], chat_data: dict) -> None:
        await send_plan(self.bot, self.desk, chat_id, items, chat_data)


class Relay:
    """``spool`` keeps messages on disk while the database is down: owner-only, and
    what residents wrote (text, phone, deep-link token) encrypted with SPOOL_KEY."""

    def __init__(self, desk: MessengerFacade, assistant: RasaClient, spool: Path, *, key: Optional[bytes] = None,
                 channel: str = conversations.TELEGRAM) -> None:
        self.desk, self.assistant, self.spool = desk, assistant, spool
        self.channel = channel  # the retry loop relays only this channel's chats
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._apologised: set[int] = set()
        self._warned: set[int] = set()  # inbound ids whose emergency advice went out while the assistant was down
        self._fernet = Fernet(key or internal_auth.fernet_key())
        self._spool_lock = threading.Lock()  # written from the event loop, drained from worker threads

    def _port(self, bot: "Bot | ChatPort") -> ChatPort:
        return TelegramPort(bot, self.desk) if isinstance(bot, Bot) else bot

    async def submit(self, bot: "Bot | ChatPort", chat_data: dict, *, chat_id: int, update_id: Optional[int],
                     text: str, meta: dict[str, Any]) -> None:
        """Journal a message, then relay everything pending for the chat (``bot``: a Telegram
        bot, or another channel's ChatPort)."""
        try:
            await asyncio.to_thread(self.desk.inbox_receive, update_id=update_id, chat_id=chat_id,
                                    conversation_id=conversation_id(chat_id), text=text, meta=meta)
        except Exception:  # noqa: BLE001 - the database is down: keep it on disk until it is back
            log.exception("inbound journal unavailable; spooling update %s", update_id)
            self._spool({"update_id": update_id, "chat_id": chat_id, "text": text, "meta": meta})
            advice = waiting.decide(text).emergency  # danger needs no database either
            if advice:
                await self._tell(bot, chat_id, advice)
            await self._apologise(bot, chat_id)
            return
        await self.flush(bot, chat_id, chat_data)

    async def flush(self, bot: "Bot | ChatPort", chat_id: int, chat_data: dict) -> None:
        async with self._locks[chat_id]:
            pending = await asyncio.to_thread(self.desk.inbox_pending, chat_id)
            for message in pending:
                if not await self._deliver(bot, chat_id, message, chat_data):
                    break

    async def _deliver(self, bot: "Bot | ChatPort", chat_id: int, message: PendingMessage, chat_data: dict) -> bool:
        typing = asyncio.create_task(self._typing(bot, chat_id))
        try:
            replies = await self.assistant.send(conversation_id(chat_id), message.text, message.meta)
        except RasaUnavailable as exc:
            log.warning("assistant unavailable for inbound %s: %s", message.id, exc)
            await self._emergency(bot, chat_id, message)
            state = await asyncio.to_thread(self.desk.inbox_failed, message.id, str(exc)[:200])
            if state == "kept":
                await self._tell(bot, chat_id, KEPT)
            else:
                await self._apologise(bot, chat_id)
            return False
        finally:
            typing.cancel()
        port = self._port(bot)
        settle = getattr(port, "settle", None)
        if replies and settle is not None:
            # The channel marks the journal row and stores the replies in one transaction (the web chat).
            await settle(chat_id, message.id, plan(replies))
            self._apologised.discard(chat_id)
            return True
        await asyncio.to_thread(self.desk.inbox_delivered, message.id)
        self._apologised.discard(chat_id)
        if not replies and not await self._paused(chat_id):
            # Rasa said nothing and no agent has the chat: silence would look like a dead bot.
            await self._tell(bot, chat_id, UNANSWERED)
            return True
        await self._port(bot).send_plan(chat_id, plan(replies), chat_data)
        return True

    async def _paused(self, chat_id: int) -> bool:
        """Is the chat with the hotline? The court's handoff decides, not Rasa's flag alone (a give-back
        that Rasa missed must not leave the resident unanswered). Unknown counts as yes: better quiet."""
        try:
            return await asyncio.to_thread(self.desk.chat_held, conversation_id(chat_id))
        except Exception:  # noqa: BLE001 - the court's database is down
            log.warning("handoff state unavailable for a chat")
            return True

    async def retry_due(self, bot: "Bot | ChatPort", chat_data_for) -> int:
        """One pass of the background loop: drain the spool, retry due messages."""
        await asyncio.to_thread(self._drain_spool)
        chats = [chat for chat in await asyncio.to_thread(self.desk.inbox_due_chats)
                 if conversations.is_web_key(chat) == (self.channel == conversations.WEB)]
        for chat_id in chats:
            await self.flush(bot, chat_id, chat_data_for(chat_id))
        return len(chats)

    async def _typing(self, bot: "Bot | ChatPort", chat_id: int) -> None:
        port = self._port(bot)
        with contextlib.suppress(TelegramError, asyncio.CancelledError):
            while True:
                await port.typing(chat_id)
                await asyncio.sleep(TYPING_EVERY)

    async def _emergency(self, bot: "Bot | ChatPort", chat_id: int, message: PendingMessage) -> None:
        """Danger needs no assistant: the advice (110, 120 …) goes out now, once per message."""
        if message.id in self._warned:
            return
        advice = waiting.decide(message.text).emergency
        if advice:
            self._warned.add(message.id)
            await self._tell(bot, chat_id, advice)

    async def _apologise(self, bot: "Bot | ChatPort", chat_id: int) -> None:
        if chat_id not in self._apologised:
            self._apologised.add(chat_id)
            await self._tell(bot, chat_id, APOLOGY)

    async def _tell(self, bot: "Bot | ChatPort", chat_id: int, text: str) -> None:
        await self._port(bot).tell(chat_id, text)

    def _spool(self, record: dict) -> None:
        sealed = self._fernet.encrypt(json.dumps({"text": record["text"], "meta": record["meta"]},
                                                 ensure_ascii=False).encode("utf-8")).decode("ascii")
        line = json.dumps({"update_id": record["update_id"], "chat_id": record["chat_id"], "sealed": sealed}) + "\n"
        with self._spool_lock:
            self.spool.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)

    def _open(self, record: dict) -> Optional[tuple[str, dict]]:
        if "sealed" not in record:  # written before the spool was encrypted
            return record.get("text") or "", record.get("meta") or {}
        try:
            inner = json.loads(self._fernet.decrypt(record["sealed"].encode("ascii")))
        except InvalidToken:
            log.error("a spooled message cannot be decrypted (SPOOL_KEY changed?); dropped")
            return None
        return inner["text"], inner["meta"]

    def _rewrite(self, lines: list[str]) -> None:
        if not lines:
            self.spool.unlink(missing_ok=True)
            return
        tmp = self.spool.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        tmp.replace(self.spool)

    def _drain_spool(self) -> None:
        with self._spool_lock:
            if not self.spool.exists():
                return
            lines = self.spool.read_text(encoding="utf-8").splitlines()
            left = []
            for line in lines:
                record = json.loads(line)
                opened = self._open(record)
                if opened is None:
                    continue
                text, meta = opened
                try:
                    self.desk.inbox_receive(update_id=record["update_id"], chat_id=record["chat_id"],
                                            conversation_id=conversation_id(record["chat_id"]), text=text, meta=meta)
                except Exception:  # noqa: BLE001 - still down; keep it
                    left.append(line)
            self._rewrite(left)

    def forget(self, chat_id: int) -> int:
        """Drop a chat's spooled messages (its resident asked for erasure); returns how many."""
        with self._spool_lock:
            if not self.spool.exists():
                return 0
            lines = self.spool.read_text(encoding="utf-8").splitlines()
            kept = [line for line in lines if json.loads(line).get("chat_id") != chat_id]
            self._rewrite(kept)
            return len(lines) - len(kept)
