"""The residents' web chat server (Sanic, already in Rasa's venv).

One process: the page and its JSON calls, a server-sent event stream per open
page, the relay to Rasa (the court's authenticated REST channel, through the
same journal, limits and guards as Telegram), and the outbox worker for web
conversations. Rasa and the action server are never reachable from here.

``create_app`` builds the app: its limits, the static files, the shared state's start and
stop, the security headers on every answer, the health check and the page; the rest of the
routes come from their modules. Modules: ``chat`` (``WebChat``, what the routes share, and its
background tasks), ``guard`` (the cookie, the CSRF token bound to it, the client's address,
the security headers), ``links`` (the intake and poster links), ``api`` (the page's JSON
calls), ``events`` (the server-sent event stream), ``delivery`` (the outbox worker and the
port answers go out through), ``hub`` (the open pages) and ``settings``.
"""
from __future__ import annotations

from typing import Any, Optional

from sanic import Sanic, response
from sanic.request import Request

from court.messaging.webchat import new_cookie, valid_cookie
from court.store.db import Database
from webchat import api, events, links
from webchat.chat import HERE, WebChat
from webchat.guard import COOKIE, SECURITY_HEADERS
from webchat.settings import WebSettings


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
        page = chat.page.replace("{{csrf}}", chat.guard.csrf(str(cookie)))
        resp = response.html(page)
        chat.guard.set_cookie(request, resp, str(cookie))  # renewed: 90 days from the last visit
        return resp

    links.add_routes(app, chat)
    api.add_routes(app, chat)
    events.add_routes(app, chat)
    return app
