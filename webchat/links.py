"""The two links that open the chat somewhere: a phone intake's one-time link (``/i/<token>``,
the chat opens at the booking step) and a service point's QR poster (``/p/<token>``, the point
remembered as the starting place). Both set the cookie and redirect to the page."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from sanic import Sanic, response
from sanic.request import Request

from court.messaging import poster_links
from court.messaging.webchat import Conversation, new_cookie, valid_cookie
from webchat.chat import WebChat
from webchat.guard import COOKIE

_INTAKE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def add_routes(app: Sanic, chat: WebChat) -> None:
    @app.get("/i/<token>")
    async def intake_link(request: Request, token: str) -> response.HTTPResponse:
        """A phone intake's one-time link: the chat opens already at the booking step."""
        cookie = request.cookies.get(COOKIE)
        if not valid_cookie(cookie):
            cookie = new_cookie()
        resp = response.redirect("/", status=303)
        chat.guard.set_cookie(request, resp, str(cookie))
        if not _INTAKE_TOKEN.match(token):
            return resp
        if not await chat.new_chats.allow(hash(chat.guard.client(request))):
            return resp
        conversation, _ = await asyncio.to_thread(chat.web.open, str(cookie))
        # The greeting reads the token (actions/welcome.py); the page shows the answer when it loads.
        task = asyncio.create_task(_relay(chat, conversation, "/greet", {"start_payload": token}))
        chat.tasks.append(task)
        await asyncio.sleep(0)
        return resp

    @app.get("/p/<token>")
    async def poster_link(request: Request, token: str) -> response.HTTPResponse:
        """A service point's QR poster: the chat opens with that point remembered as the starting place."""
        cookie = request.cookies.get(COOKIE)
        if not valid_cookie(cookie):
            cookie = new_cookie()
        resp = response.redirect("/", status=303)
        chat.guard.set_cookie(request, resp, str(cookie))
        point_id = poster_links.point_of(token)
        if point_id is None:  # altered, another installation's, or not a poster at all: a plain start
            return resp
        known = await chat.conversation(request)
        if known is None and not await chat.new_chats.allow(hash(chat.guard.client(request))):
            return resp
        conversation = known or (await asyncio.to_thread(chat.web.open, str(cookie)))[0]
        point = await asyncio.to_thread(chat.web.remember_point, conversation.number, point_id)
        if point is None:
            return resp
        # Before the redirect: the page then finds the greeting and does not ask for another.
        await _poster_welcome(chat, conversation, point)
        return resp


async def _poster_welcome(chat: WebChat, conversation: Conversation, point: dict[str, str]) -> None:
    if not (await asyncio.to_thread(chat.web.history, conversation.number))["messages"]:
        await _relay(chat, conversation, "/greet", {})
    await chat.port.show(conversation.number, text=(
        f"您扫的是{point['name']}的二维码（{point['address']}）。预约调解时，可以直接选这个服务点附近的时间。"))


async def _relay(chat: WebChat, conversation: Conversation, text: str, extra: dict[str, Any]) -> None:
    assert chat.relay is not None
    meta: dict[str, Any] = {"channel": "web"}
    meta.update(extra)
    await chat.relay.submit(chat.port, {}, chat_id=conversation.chat_key, update_id=None, text=text, meta=meta)
