"""The page's server-sent event stream (``/api/events``): what it missed since Last-Event-ID,
then live messages from the hub, with a heartbeat; at most so many open pages per conversation."""
from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

from sanic import Sanic, response
from sanic.request import Request

from webchat.chat import WebChat
from webchat.guard import refuse

HEARTBEAT = 15.0


def add_routes(app: Sanic, chat: WebChat) -> None:
    @app.get("/api/events")
    async def events(request: Request) -> Optional[response.HTTPResponse]:
        """Server-sent events: what was missed since Last-Event-ID, then live messages."""
        conversation = await chat.conversation(request)
        if conversation is None:
            return refuse(403, "请刷新页面。")
        if chat.hub.open(conversation.number) >= chat.settings.streams_per_chat:
            return refuse(429, "打开的页面太多了，请关掉一些再试。")
        try:
            after = int(request.headers.get("last-event-id") or request.args.get("after") or 0)
        except ValueError:
            after = 0
        queue = chat.hub.subscribe(conversation.number)
        try:
            stream = await request.respond(content_type="text/event-stream; charset=utf-8",
                                           headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
            await stream.send("retry: 2000\n\n")
            missed = await asyncio.to_thread(chat.web.history, conversation.number, after=after)
            for message in missed["messages"]:
                await stream.send(_sse({"type": "message", "message": message}, message["id"]))
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT)
                except asyncio.TimeoutError:
                    await stream.send(": ping\n\n")
                    continue
                ident = event["message"]["id"] if event.get("type") == "message" else None
                await stream.send(_sse(event, ident))
        finally:
            chat.hub.unsubscribe(conversation.number, queue)
        return None


def _sse(event: dict[str, Any], ident: Optional[int]) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}data: {json.dumps(event, ensure_ascii=False)}\n\n"
