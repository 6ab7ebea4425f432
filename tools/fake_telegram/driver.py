"""Run the fake Bot API in a background thread, inject failures and read back what the bot did.

    with FakeTelegram(token="123456:TEST-token", bot_username="heihe_court_bot") as tg:
        app = Application.builder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)...
        me = tg.user(1001, first_name="芳", last_name="王")
        mark = me.mark()
        me.command("start")
        me.wait_for("你好", after=mark)

Every method is synchronous and thread-safe: pytest threads (or a benchmark's
many threads) drive users while the server answers the bot on its own loop.
`tg.user(...)` hands back a `FakeUser` (users.py), the user's side of a private chat.
"""
from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import Callable, Optional

from aiohttp import web

from tools.fake_telegram.api import BotApi
from tools.fake_telegram.server import build_app
from tools.fake_telegram.state import DROP, Injection
from tools.fake_telegram.users import FakeUser


class FakeTelegram:
    """A Bot API server on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, token: str = "123456:TEST-token", bot_username: str = "heihe_court_bot", *,
                 bot_first_name: Optional[str] = None, strict: bool = True, host: str = "127.0.0.1",
                 port: int = 0, callback_query_ttl: float = 15.0, first_update_id: int = 10_000_001,
                 clock: Callable[[], float] = time.time, webhook_routes: Optional[dict[str, str]] = None) -> None:
        """``webhook_routes`` maps a webhook's public HTTPS origin to the plain-HTTP address behind it
        (the balancer that ends TLS), e.g. {"https://court.example": "http://127.0.0.1:8443"}."""
        self.api = BotApi(token, bot_username, bot_first_name=bot_first_name, strict=strict,
                          callback_query_ttl=callback_query_ttl, first_update_id=first_update_id, clock=clock)
        self.api.webhook_routes = dict(webhook_routes or {})
        self.host = host
        self.port: Optional[int] = port or None
        self._wanted_port = port
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "FakeTelegram":
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(build_app(self.api), handler_cancellation=True, access_log=None,
                                   shutdown_timeout=1.0)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, self.host, self._wanted_port)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                failure.append(exc)
                loop.run_until_complete(runner.cleanup())
                loop.close()
                ready.set()
                return
            self._loop, self._runner, self.api.loop = loop, runner, loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                self.api.loop = None
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(15):
            raise RuntimeError("the fake Bot API server did not start")
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            with self.api.lock:
                self.api._abort_long_poll(None)  # noqa: SLF001 - answer a pending poll instead of waiting
                self.api._stop_webhook_sender()  # noqa: SLF001
            assert self._runner is not None
            await self._runner.cleanup()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(15)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(15)
            self._loop = self._runner = self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses ---------------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.api.token

    @property
    def api_root(self) -> str:
        if self.port is None:
            raise RuntimeError("the fake Bot API server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For Application.builder().base_url(): PTB appends the token itself."""
        return self.api_root + "/bot"

    @property
    def base_file_url(self) -> str:
        return self.api_root + "/file/bot"

    @property
    def bot(self) -> dict:
        return dict(self.api.bot_user)

    # ---- users -------------------------------------------------------------------------------

    def user(self, user_id: int, first_name: str = "Test", last_name: Optional[str] = None,
             username: Optional[str] = None, language_code: Optional[str] = None, *,
             is_premium: bool = False, started: bool = True) -> FakeUser:
        """A user whose private chat has id == user_id. `started=False`: the user never opened
        the bot, so the bot gets 400 "chat not found" until the user writes."""
        user: dict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        self.api.add_user(user, known=started)
        return FakeUser(self, user_id)

    # ---- failure injection -------------------------------------------------------------------

    def rate_limit(self, count: int = 5, retry_after: int = 2) -> None:
        """The next `count` send*/edit*/answer* calls get 429 with parameters.retry_after."""
        def flood_limited(method: str) -> bool:
            return method.lower().startswith(("send", "edit", "answer"))

        with self.api.lock:
            self.api.injections.append(Injection(flood_limited, 429, f"Too Many Requests: retry after {retry_after}",
                                                 count, retry_after))

    def fail_next(self, method: str, error_code: int, description: str, count: int = 1,
                  retry_after: Optional[int] = None) -> None:
        """The next `count` calls of `method` ("*": any method but getUpdates) fail with this
        error. `description` is sent as given (e.g. "Bad Request: chat not found")."""
        wanted = method.lower()

        def matches(called: str) -> bool:
            return called.lower() == wanted or (wanted == "*" and called.lower() != "getupdates")

        if error_code == 429 and retry_after is None:
            digits = "".join(ch for ch in description.rsplit(" ", 1)[-1] if ch.isdigit())
            retry_after = int(digits) if digits else 1
        with self.api.lock:
            self.api.injections.append(Injection(matches, error_code, description, count, retry_after))

    def drop_next(self, method: str, count: int = 1) -> None:
        """The next `count` calls of `method` ("*": any but getUpdates) get no answer: the connection drops."""
        wanted = method.lower()

        def matches(called: str) -> bool:
            return called.lower() == wanted or (wanted == "*" and called.lower() != "getupdates")

        with self.api.lock:
            self.api.injections.append(Injection(matches, DROP, "connection dropped", count))

    # ---- inspection --------------------------------------------------------------------------

    def calls(self, method: Optional[str] = None) -> list[dict]:
        """Every request: {method, params, ok, error_code, description, result, at}."""
        with self.api.lock:
            log = [c for c in self.api.call_log if method is None or c["method"].lower() == method.lower()]
            return copy.deepcopy(log)

    def pending_updates(self) -> list[dict]:
        """Updates the bot has not confirmed with a getUpdates offset yet."""
        with self.api.lock:
            return copy.deepcopy(list(self.api.updates))

    def issues(self) -> list[str]:
        with self.api.lock:
            return list(self.api.issues)

    def clear_issues(self) -> None:
        with self.api.lock:
            self.api.issues.clear()

    def assert_clean(self) -> None:
        """No shape errors, no internal errors, no call to a method the fake lacks."""
        found = self.issues()
        if found:
            raise AssertionError(f"fake Telegram saw {len(found)} problem(s):\n" + "\n---\n".join(found))

    def push_update(self, kind: str, payload: dict) -> Optional[dict]:
        """Queue a hand-made update (validated like any other); None if allowed_updates drops it."""
        return self.api.enqueue(kind, copy.deepcopy(payload))

    def wait_polling(self, timeout: float = 15) -> None:
        """Block until the bot has a long poll open, i.e. it is up and waiting for updates."""
        deadline = time.monotonic() + timeout
        with self.api.changed:
            while self.api.long_poll is None or self.api.long_poll.done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"the bot opened no long poll within {timeout}s; last calls: "
                                         f"{[c['method'] for c in self.api.call_log[-10:]]}")
                self.api.changed.wait(remaining)

    def wait_call(self, method: str, predicate: Optional[Callable[[dict], bool]] = None,
                  timeout: float = 15, after: int = 0) -> dict:
        """The first logged call of `method` (index >= after) that satisfies predicate."""
        deadline = time.monotonic() + timeout
        with self.api.changed:
            while True:
                for entry in self.api.call_log[after:]:
                    if entry["method"].lower() == method.lower() and (predicate is None or predicate(entry)):
                        return copy.deepcopy(entry)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {method} call within {timeout}s")
                self.api.changed.wait(remaining)

    def my_commands(self, scope: Optional[dict] = None, language_code: str = "") -> list[dict]:
        """The command list stored for exactly this scope and language (like getMyCommands)."""
        scope = scope or {"type": "default"}
        key: tuple = (scope["type"],)
        if "chat_id" in scope:
            key += (int(scope["chat_id"]),)
        if "user_id" in scope:
            key += (int(scope["user_id"]),)
        with self.api.lock:
            return copy.deepcopy(self.api.commands.get(key + (language_code,), []))

    @property
    def webhook_url(self) -> str:
        return self.api.webhook_url

    def webhook_deliveries(self) -> list[dict]:
        """Every webhook POST the fake made: update_id, HTTP status (0: no answer), error."""
        with self.api.lock:
            return copy.deepcopy(self.api.webhook_deliveries)
