"""The page's JSON calls: its state (messages, unread, appointments), starting the conversation,
sending a message, pressing a button, sharing a location, erasing the resident's data (asked
first) and marking messages read. Every POST passes the guard (webchat/guard.py) first; a
message goes to Rasa through the relay and its answer comes back in the reply, and on the page's
event stream (webchat/events.py)."""
from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.handlers.resident import (
    DELETE_CONFIRM,
    DELETE_KEEP,
    DELETE_QUESTION,
    EMPTY,
    ERASURE_FAILED,
    TOO_FAST,
    erase_chat,
    too_long,
)
from bot.text import neutralise
from court.core.errors import CourtError
from court.messaging.webchat import Conversation
from webchat.chat import WebChat
from webchat.guard import refuse

log = logging.getLogger(__name__)

NOT_SENT = "没有发出去，请刷新页面后再试。"


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def add_routes(app: Sanic, chat: WebChat) -> None:
    @app.get("/api/state")
    async def state(request: Request) -> response.HTTPResponse:
        conversation = await chat.conversation(request)
        if conversation is None:
            return response.json({"messages": [], "unread": 0, "read_up_to": 0, "appointments": [], "new": True})
        history = await asyncio.to_thread(chat.web.history, conversation.number)
        cards = await asyncio.to_thread(chat.web.appointments, conversation.number)
        history["appointments"] = [{"reference": c.reference, "status": c.status, "time": c.time,
                                    "place": f"{c.point_name}（{c.address}）", "mediator": c.mediator}
                                   for c in cards]
        history["new"] = not history["messages"]
        return response.json(history)

    @app.post("/api/start")
    async def start(request: Request) -> response.HTTPResponse:
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.open(request)
        if conversation is None:
            return refuse(429, TOO_FAST)
        history = await asyncio.to_thread(chat.web.history, conversation.number)
        if history["messages"]:
            return response.json({"ok": True})
        return await _turn(chat, conversation, None, "/greet", {})

    @app.post("/api/send")
    async def send(request: Request) -> response.HTTPResponse:
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.open(request)
        if conversation is None:
            return refuse(429, TOO_FAST)
        body = _body(request)
        text = str(body.get("text") or "").strip()
        if not await chat.limiter.allow(conversation.chat_key):
            if chat.limiter.first_refusal(conversation.chat_key):
                await chat.port.tell(conversation.chat_key, TOO_FAST)
            return refuse(429, TOO_FAST)
        if not text:
            await chat.port.tell(conversation.chat_key, EMPTY)
            return response.json({"ok": True})
        if len(text) > chat.settings.max_text:
            await chat.port.tell(conversation.chat_key, too_long(chat.settings.max_text))
            return response.json({"ok": True})
        return await _turn(chat, conversation, text, neutralise(text), {})

    @app.post("/api/press")
    async def press(request: Request) -> response.HTTPResponse:
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is None:
            return refuse(403, "这个按钮已失效。")
        token = str(_body(request).get("token") or "")
        try:
            button = await asyncio.to_thread(chat.web.press, conversation.number, token)
        except CourtError as exc:
            return refuse(409, exc.message)
        chat.hub.publish(conversation.number, {"type": "chosen", "token": token, "label": button.label})
        if button.payload in (DELETE_CONFIRM, DELETE_KEEP):
            return await _erase(chat, conversation, button.payload == DELETE_CONFIRM)
        if not button.payload.startswith("/"):
            return refuse(409, "这个按钮在网页上不能使用。")
        if not await chat.limiter.allow(conversation.chat_key):
            return refuse(429, TOO_FAST)
        return await _turn(chat, conversation, button.label, button.payload, {})

    @app.post("/api/location")
    async def location(request: Request) -> response.HTTPResponse:
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is None:
            return refuse(403, NOT_SENT)
        body = _body(request)
        try:
            lat, lng = float(body["latitude"]), float(body["longitude"])
        except (KeyError, TypeError, ValueError):
            return refuse(400, "没有收到位置。")
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
            return refuse(400, "没有收到位置。")
        if not await chat.limiter.allow(conversation.chat_key):
            return refuse(429, TOO_FAST)
        # As Telegram's shared location: the form reads the coordinates from the metadata.
        return await _turn(chat, conversation, "📍 我的位置", "/inform",
                           {"location": {"latitude": lat, "longitude": lng}})

    @app.post("/api/erase")
    async def erase(request: Request) -> response.HTTPResponse:
        """Ask first, as on Telegram: erasure cannot be undone and cancels appointments still ahead."""
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is None:
            return response.json({"ok": True, "messages": []})
        asked = await chat.port.show(conversation.number, text=DELETE_QUESTION,
                                     buttons=[("确认删除", DELETE_CONFIRM), ("不删除", DELETE_KEEP)])
        return response.json({"ok": True, "messages": [asked] if asked else []})

    @app.post("/api/read")
    async def read(request: Request) -> response.HTTPResponse:
        refused = chat.guard.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is not None:
            try:
                up_to = int(_body(request).get("up_to") or 0)
            except (TypeError, ValueError):
                up_to = 0
            await asyncio.to_thread(chat.web.mark_read, conversation.number, up_to)
        return response.json({"ok": True})


async def _erase(chat: WebChat, conversation: Conversation, confirmed: bool) -> response.HTTPResponse:
    if not confirmed:
        told = await chat.port.show(conversation.number, text="好的，您的信息保持不变。")
        return response.json({"ok": True, "messages": [told] if told else []})
    assert chat.relay is not None and chat.assistant is not None
    said = await erase_chat(chat.desk, chat.assistant, chat.relay, telegram_user_id=None,
                            chat_id=conversation.chat_key, chat_data={})
    if said == ERASURE_FAILED:
        said = "抱歉，删除没有完成：系统暂时出了点问题，您的信息没有改动。请稍后再点“删除我的信息”，或拨打12368诉讼服务热线。"
    else:
        chat.hub.publish(conversation.number, {"type": "cleared"})  # the page's copy is gone too
    told = await chat.port.show(conversation.number, text=said)
    return response.json({"ok": True, "cleared": said != ERASURE_FAILED, "messages": [told] if told else []})


async def _turn(chat: WebChat, conversation: Conversation, shown: Optional[str], text: str,
                extra: dict[str, Any]) -> response.HTTPResponse:
    """Relay one message; the answer is on the page's stream and in the reply, for pages without one.

    The page's copy (``shown``) and the journal row go in one transaction, the journal row's
    delivery and the replies in another (WebPort.settle); the reply lists what this turn showed."""
    assert chat.relay is not None
    meta: dict[str, Any] = {"channel": "web"}
    meta.update(extra)
    try:
        mine, _ = await asyncio.to_thread(chat.web.receive, conversation.number, shown=shown, relayed=text, meta=meta)
    except Exception:  # noqa: BLE001 - the court's database is down: the page says it was not sent
        log.exception("web message not journaled")
        return refuse(503, NOT_SENT)
    if mine is not None:
        chat.hub.publish(conversation.number, {"type": "message", "message": mine})
    with chat.port.collect(conversation.number) as answered:
        await chat.relay.flush(chat.port, conversation.chat_key, {})
    return response.json({"ok": True, "messages": ([mine] if mine else []) + answered})
