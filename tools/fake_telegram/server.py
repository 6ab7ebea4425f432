"""The fake Bot API's HTTP side: an aiohttp app serving /bot<token>/<method> and /file/bot<token>/<path>.

`build_app` reads a request's parameters (query string, form, multipart or
JSON body), applies injected failures, calls the `BotApi` method under its
lock (getUpdates awaits outside it), logs the call and answers with
Telegram's JSON: ``{"ok": true, "result": ...}`` or the error body. Unknown
methods are 404 (and an issue when python-telegram-bot knows them), a bad
token 401. Webhook delivery, the other direction, is
`tools.fake_telegram.webhook`.
"""
from __future__ import annotations

import asyncio
import json
import time
import traceback
from typing import Any

from aiohttp import web

from tools.fake_telegram.api import METHODS, REAL_METHODS, BotApi
from tools.fake_telegram.messages import MAX_DOWNLOAD
from tools.fake_telegram.params import ApiError, Params, Upload, bad
from tools.fake_telegram.shapes import ShapeError
from tools.fake_telegram.state import DROP


def _json_response(body: dict, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json", charset="utf-8")


async def _read_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return raw
    ctype = request.content_type
    if ctype == "application/json":
        body = await request.read()
        if body.strip():
            try:
                data = json.loads(body)
            except ValueError:
                raise bad("can't parse JSON request body") from None
            if not isinstance(data, dict):
                raise bad("JSON request body must be an Object")
            raw.update(data)
    elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                raw[key] = value
    return raw


def build_app(api: BotApi) -> web.Application:
    async def method_handler(request: web.Request) -> web.Response:
        called = request.match_info["method"]
        entry = METHODS.get(called.lower())
        name = entry[0] if entry else called
        params = Params({})
        status, body = 200, {}
        try:
            if request.match_info["token"] != api.token or api.logged_out:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                if called.lower() in REAL_METHODS:
                    api.issue(f"the bot called {called}, a real Bot API method the fake does not implement")
                raise ApiError(404, "Not Found")
            params = Params(await _read_params(request))
            injected = api.take_injection(name)
            if injected is not None and injected.code == DROP:
                # A dropped connection: no HTTP answer at all (the bot cannot know whether it was sent).
                with api.lock:
                    api.call_log.append({"method": name, "params": params.logged(), "ok": False, "error_code": None,
                                         "description": "connection dropped", "result": None, "at": time.time()})
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError()
            if injected is not None:
                raise injected
            handler = getattr(api, entry[1])
            if asyncio.iscoroutinefunction(handler):
                result = await handler(params)
            else:
                with api.lock:
                    result = handler(params)
            description = None
            if isinstance(result, tuple):
                result, description = result
            body = {"ok": True, "result": result}
            if description:
                body["description"] = description
        except ApiError as exc:
            status, body = exc.code, exc.body()
        except ShapeError as exc:
            status, body = 500, {"ok": False, "error_code": 500,
                                 "description": f"Internal Server Error: fake_telegram shape error: {exc}"[:500]}
        except asyncio.CancelledError:
            with api.lock:
                api.call_log.append({"method": name, "params": params.logged(), "ok": False, "error_code": None,
                                     "description": "client went away", "result": None, "at": time.time()})
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must surface in assert_clean()
            api.issue(f"internal error in {name}: {exc!r}\n{traceback.format_exc()}")
            status, body = 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        with api.lock:
            api.call_log.append({"method": name, "params": params.logged(), "ok": body.get("ok", False),
                                 "error_code": body.get("error_code"), "description": body.get("description"),
                                 "result": body.get("result"), "at": time.time()})
            api.changed.notify_all()
        return _json_response(body, status)

    async def file_handler(request: web.Request) -> web.Response:
        if request.match_info["token"] != api.token:
            return _json_response(ApiError(401, "Unauthorized").body(), 401)
        path = request.match_info["path"]
        with api.lock:
            entry = next((f for f in api.files.values() if f["file_path"] == path), None)
        if entry is None or entry["file_size"] > MAX_DOWNLOAD:
            return _json_response(ApiError(404, "Not Found").body(), 404)
        content = entry["content"] if entry["content"] is not None else bytes(entry["file_size"])
        return web.Response(body=content, content_type="application/octet-stream")

    async def not_found(request: web.Request) -> web.Response:
        return _json_response(ApiError(404, "Not Found").body(), 404)

    app = web.Application(client_max_size=60 << 20)
    app.router.add_route("*", "/bot{token}/{method}", method_handler)
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", file_handler)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
