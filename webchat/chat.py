"""What the web chat's routes share (``WebChat``): the court's doors, the open pages' hub, the
relay to Rasa with its rate limits, the guard, the page, and the background tasks (the outbox
worker for web conversations and the retry of inbound messages Rasa did not answer)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Optional

from sanic.request import Request

from bot.rasa_client import RasaClient
from bot.ratelimit import UserRateLimiter
from bot.relay import Relay
from court.core import internal_auth
from court.core.settings import spool_path
from court.facades.messenger import MessengerFacade
from court.messaging import conversations
from court.messaging.webchat import Conversation, WebChatDesk, valid_cookie
from court.store.db import Database
from webchat.delivery import WebOutbox, WebPort
from webchat.guard import COOKIE, Guard
from webchat.hub import Hub
from webchat.settings import WebSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent


def _page() -> str:
    return (HERE / "templates" / "index.html").read_text(encoding="utf-8")


class WebChat:
    """Everything the routes share."""

    def __init__(self, settings: WebSettings, db: Database) -> None:
        self.settings = settings
        self.desk = MessengerFacade(db)
        self.web = WebChatDesk(db)
        self.hub = Hub()
        self.port = WebPort(self.web, self.hub)
        self.assistant: Optional[RasaClient] = None
        self.relay: Optional[Relay] = None
        self.limiter = UserRateLimiter(settings.rate_messages, settings.rate_window)
        self.new_chats = UserRateLimiter(settings.new_per_address, 600)
        self.guard = Guard(settings, (internal_auth.secret(internal_auth.WEBCHAT_SECRET, create=True) or "").encode())
        self.page = _page()
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.assistant = RasaClient(self.settings.rasa_url, timeout=self.settings.rasa_timeout)
        self.relay = Relay(self.desk, self.assistant, spool_path("web"), channel=conversations.WEB)
        worker = WebOutbox(self.desk, self.web, self.hub, link=self.settings.link("/"),
                           interval=self.settings.outbox_interval)
        self.tasks = [asyncio.create_task(worker.run(), name="web-outbox"),
                      asyncio.create_task(self._retry_loop(), name="web-inbound-retry")]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.assistant is not None:
            await self.assistant.close()

    async def _retry_loop(self) -> None:
        while True:
            try:
                assert self.relay is not None
                await self.relay.retry_due(self.port, lambda chat_id: {})
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                log.exception("web inbound retry pass failed")
            await asyncio.sleep(self.settings.retry_interval)

    # --- the request's conversation -------------------------------------------

    async def conversation(self, request: Request) -> Optional[Conversation]:
        cookie = request.cookies.get(COOKIE)
        if not valid_cookie(cookie):
            return None
        return self.web.cached(cookie) or await asyncio.to_thread(self.web.find, cookie)

    async def open(self, request: Request) -> Optional[Conversation]:
        """The cookie's conversation, made on its first message (at most so many per address)."""
        found = await self.conversation(request)
        if found is not None:
            return found
        if not await self.new_chats.allow(hash(self.guard.client(request))):
            return None
        conversation, _ = await asyncio.to_thread(self.web.open, str(request.cookies.get(COOKIE)))
        return conversation
