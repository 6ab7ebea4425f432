"""The residents' web chat server (Sanic, already in Rasa's venv).

One process: the page and its JSON calls, a server-sent event stream per open
page, the relay to Rasa (the court's authenticated REST channel, through the
same journal, limits and guards as Telegram), and the outbox worker for web
conversations. Rasa and the action server are never reachable from here.

Identity is an anonymous long random id in an HttpOnly, SameSite=Lax cookie
(Lax: a QR code or SMS link opened from WeChat still finds the conversation);
Secure unless the page is plain HTTP on loopback (dev and tests). POSTs need
the CSRF token bound to that cookie, a JSON body and a same-origin request.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
from pathlib import Path
from typing import Any, Optional

from sanic import Sanic, response
from sanic.request import Request

from bot.rasa_client import RasaClient
from bot.handlers.resident import (DELETE_CONFIRM, DELETE_KEEP, DELETE_QUESTION, EMPTY, ERASURE_FAILED, TOO_FAST,
                                   erase_chat, too_long)
from bot.ratelimit import UserRateLimiter
from bot.relay import Relay
from bot.text import neutralise
from court.core import internal_auth
from court.messaging import conversations, poster_links
from court.core.errors import CourtError
from court.facades.messenger import MessengerFacade
from court.core.settings import spool_path
from court.store.db import Database
from court.messaging.webchat import Conversation, WebChatDesk, new_cookie, valid_cookie
from webchat.delivery import WebOutbox, WebPort
from webchat.hub import Hub
from webchat.settings import WebSettings

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "hh_chat"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the one-time intake link must not leak to a map site
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}
_INTAKE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
HEARTBEAT = 15.0
NOT_SENT = "没有发出去，请刷新页面后再试。"


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
        self.secret = (internal_auth.secret(internal_auth.WEBCHAT_SECRET, create=True) or "").encode()
        self.page = _page()
        self.tasks: list[asyncio.Task] = []

    def csrf(self, cookie: str) -> str:
        return hmac.new(self.secret, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()

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

    # --- the request's identity -------------------------------------------

    def client(self, request: Request) -> str:
        if self.settings.trust_proxy:
            forwarded = request.headers.get("x-forwarded-for", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()
        return request.ip or "?"

    def secure(self, request: Request) -> bool:
        if self.settings.secure_cookies in ("0", "1"):
            return self.settings.secure_cookies == "1"
        scheme = request.headers.get("x-forwarded-proto", "") if self.settings.trust_proxy else ""
        if (scheme or request.scheme) == "https":
            return True
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host != "localhost"

    def set_cookie(self, request: Request, resp: response.HTTPResponse, value: str) -> None:
        resp.cookies[COOKIE] = value
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Lax"
        cookie["path"] = "/"
        cookie["max-age"] = self.settings.kept_days * 86400  # as long as the court keeps it
        if self.secure(request):
            cookie["secure"] = True

    async def conversation(self, request: Request) -> Optional[Conversation]:
        cookie = request.cookies.get(COOKIE)
        if not valid_cookie(cookie):
            return None
        return self.web.cached(cookie) or await asyncio.to_thread(self.web.find, cookie)

    def check_post(self, request: Request) -> Optional[response.HTTPResponse]:
        """CSRF: the token bound to this cookie, a JSON body, and no cross-site sender."""
        cookie = request.cookies.get(COOKIE)
        token = request.headers.get("x-csrf-token", "")
        if not valid_cookie(cookie) or not hmac.compare_digest(token, self.csrf(str(cookie))):
            return _refuse(403, "页面已过期，请刷新后再试。")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return _refuse(403, "请从本页面发送。")
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            return _refuse(403, "请从本页面发送。")
        if not (request.headers.get("content-type") or "").startswith("application/json"):
            return _refuse(415, "格式不对。")
        return None

    async def open(self, request: Request) -> Optional[Conversation]:
        """The cookie's conversation, made on its first message (at most so many per address)."""
        found = await self.conversation(request)
        if found is not None:
            return found
        if not await self.new_chats.allow(hash(self.client(request))):
            return None
        conversation, _ = await asyncio.to_thread(self.web.open, str(request.cookies.get(COOKIE)))
        return conversation


def _refuse(status: int, text: str) -> response.HTTPResponse:
    return response.json({"error": text}, status=status)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def create_app(settings: Optional[WebSettings] = None, db: Optional[Database] = None, name: str = "webchat") -> Sanic:
    settings = settings or WebSettings()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 16 * 1024  # a message is at most 1000 characters
    app.config.RESPONSE_TIMEOUT = 120
    app.config.KEEP_ALIVE_TIMEOUT = 75
    chat = WebChat(settings, db or Database())
    app.ctx.chat = chat
    app.static("/static", str(HERE / "static"), name="static")

    @app.listener("after_server_start")
    async def _start(app: Sanic, loop: Any) -> None:
        await chat.start()

    @app.listener("before_server_stop")
    async def _stop(app: Sanic, loop: Any) -> None:
        await chat.stop()

    @app.middleware("response")
    async def _headers(request: Request, resp: response.HTTPResponse) -> None:
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)
        if request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "public, max-age=3600"
        else:
            resp.headers["Cache-Control"] = "no-store"

    @app.get("/healthz")
    async def healthz(request: Request) -> response.HTTPResponse:
        return response.text("ok")

    @app.get("/")
    async def index(request: Request) -> response.HTTPResponse:
        cookie = request.cookies.get(COOKIE)
        fresh = not valid_cookie(cookie)
        if fresh:
            cookie = new_cookie()
        page = chat.page.replace("{{csrf}}", chat.csrf(str(cookie)))
        resp = response.html(page)
        chat.set_cookie(request, resp, str(cookie))  # renewed: 90 days from the last visit
        return resp

    @app.get("/i/<token>")
    async def intake_link(request: Request, token: str) -> response.HTTPResponse:
        """A phone intake's one-time link: the chat opens already at the booking step."""
        cookie = request.cookies.get(COOKIE)
        if not valid_cookie(cookie):
            cookie = new_cookie()
        resp = response.redirect("/", status=303)
        chat.set_cookie(request, resp, str(cookie))
        if not _INTAKE_TOKEN.match(token):
            return resp
        if not await chat.new_chats.allow(hash(chat.client(request))):
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
        chat.set_cookie(request, resp, str(cookie))
        point_id = poster_links.point_of(token)
        if point_id is None:  # altered, another installation's, or not a poster at all: a plain start
            return resp
        known = await chat.conversation(request)
        if known is None and not await chat.new_chats.allow(hash(chat.client(request))):
            return resp
        conversation = known or (await asyncio.to_thread(chat.web.open, str(cookie)))[0]
        point = await asyncio.to_thread(chat.web.remember_point, conversation.number, point_id)
        if point is None:
            return resp
        # Before the redirect: the page then finds the greeting and does not ask for another.
        await _poster_welcome(chat, conversation, point)
        return resp

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
        refused = chat.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.open(request)
        if conversation is None:
            return _refuse(429, TOO_FAST)
        history = await asyncio.to_thread(chat.web.history, conversation.number)
        if history["messages"]:
            return response.json({"ok": True})
        return await _turn(chat, conversation, None, "/greet", {})

    @app.post("/api/send")
    async def send(request: Request) -> response.HTTPResponse:
        refused = chat.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.open(request)
        if conversation is None:
            return _refuse(429, TOO_FAST)
        body = _body(request)
        text = str(body.get("text") or "").strip()
        if not await chat.limiter.allow(conversation.chat_key):
            if chat.limiter.first_refusal(conversation.chat_key):
                await chat.port.tell(conversation.chat_key, TOO_FAST)
            return _refuse(429, TOO_FAST)
        if not text:
            await chat.port.tell(conversation.chat_key, EMPTY)
            return response.json({"ok": True})
        if len(text) > settings.max_text:
            await chat.port.tell(conversation.chat_key, too_long(settings.max_text))
            return response.json({"ok": True})
        return await _turn(chat, conversation, text, neutralise(text), {})

    @app.post("/api/press")
    async def press(request: Request) -> response.HTTPResponse:
        refused = chat.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is None:
            return _refuse(403, "这个按钮已失效。")
        token = str(_body(request).get("token") or "")
        try:
            button = await asyncio.to_thread(chat.web.press, conversation.number, token)
        except CourtError as exc:
            return _refuse(409, exc.message)
        chat.hub.publish(conversation.number, {"type": "chosen", "token": token, "label": button.label})
        if button.payload in (DELETE_CONFIRM, DELETE_KEEP):
            return await _erase(chat, conversation, button.payload == DELETE_CONFIRM)
        if not button.payload.startswith("/"):
            return _refuse(409, "这个按钮在网页上不能使用。")
        if not await chat.limiter.allow(conversation.chat_key):
            return _refuse(429, TOO_FAST)
        return await _turn(chat, conversation, button.label, button.payload, {})

    @app.post("/api/location")
    async def location(request: Request) -> response.HTTPResponse:
        refused = chat.check_post(request)
        if refused is not None:
            return refused
        conversation = await chat.conversation(request)
        if conversation is None:
            return _refuse(403, NOT_SENT)
        body = _body(request)
        try:
            lat, lng = float(body["latitude"]), float(body["longitude"])
        except (KeyError, TypeError, ValueError):
            return _refuse(400, "没有收到位置。")
        if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
            return _refuse(400, "没有收到位置。")
        if not await chat.limiter.allow(conversation.chat_key):
            return _refuse(429, TOO_FAST)
        # As Telegram's shared location: the form reads the coordinates from the metadata.
        return await _turn(chat, conversation, "📍 我的位置", "/inform",
                           {"location": {"latitude": lat, "longitude": lng}})

    @app.post("/api/erase")
    async def erase(request: Request) -> response.HTTPResponse:
        """Ask first, as on Telegram: erasure cannot be undone and cancels appointments still ahead."""
        refused = chat.check_post(request)
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
        refused = chat.check_post(request)
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

    @app.get("/api/events")
    async def events(request: Request) -> Optional[response.HTTPResponse]:
        """Server-sent events: what was missed since Last-Event-ID, then live messages."""
        conversation = await chat.conversation(request)
        if conversation is None:
            return _refuse(403, "请刷新页面。")
        if chat.hub.open(conversation.number) >= settings.streams_per_chat:
            return _refuse(429, "打开的页面太多了，请关掉一些再试。")
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

    return app


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


def _sse(event: dict[str, Any], ident: Optional[int]) -> str:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}data: {json.dumps(event, ensure_ascii=False)}\n\n"


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
        return _refuse(503, NOT_SENT)
    if mine is not None:
        chat.hub.publish(conversation.number, {"type": "message", "message": mine})
    with chat.port.collect(conversation.number) as answered:
        await chat.relay.flush(chat.port, conversation.chat_key, {})
    return response.json({"ok": True, "messages": ([mine] if mine else []) + answered})
