"""Run the fake Bot API in a background thread and act as Telegram users from tests.

    with FakeTelegram(token="123456:TEST-token", bot_username="heihe_court_bot") as tg:
        app = Application.builder().token(tg.token).base_url(tg.base_url).base_file_url(tg.base_file_url)...
        me = tg.user(1001, first_name="芳", last_name="王")
        mark = me.mark()
        me.command("start")
        me.wait_for("你好", after=mark)

Every method is synchronous and thread-safe: pytest threads (or a benchmark's
many threads) drive users while the server answers the bot on its own loop.
"""
from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from typing import Callable, Optional, Union

from aiohttp import web

from tools.fake_telegram.api import BotApi
from tools.fake_telegram.formatting import finish_text, utf16_len
from tools.fake_telegram.messages import MAX_CAPTION, MAX_TEXT
from tools.fake_telegram.server import build_app
from tools.fake_telegram.state import DROP, ChatState, Injection

Match = Union[str, Callable[[dict], bool]]


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
             is_premium: bool = False, started: bool = True) -> "FakeUser":
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


class FakeUser:
    """One Telegram user in a private chat with the bot (chat id == user id)."""

    def __init__(self, tg: FakeTelegram, user_id: int) -> None:
        self.tg = tg
        self.api = tg.api
        self.id = user_id
        self.chat_id = user_id

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.user['first_name']!r})"

    @property
    def _state(self) -> ChatState:
        return self.api.chats[self.id]

    @property
    def user(self) -> dict:
        return dict(self._state.user)

    @property
    def blocked(self) -> bool:
        return self._state.blocked

    # ---- what the user does ------------------------------------------------------------------

    def send(self, text: str, *, reply_to: Optional[int] = None) -> dict:
        """A text message as a client sends it: trimmed, with the entities the server detects."""
        text, entities = finish_text(text, [])
        if not text:
            raise ValueError("a Telegram client does not send an empty message")
        if utf16_len(text) > MAX_TEXT:
            raise ValueError(f"a Telegram client splits texts over {MAX_TEXT} characters; send the parts")
        content: dict = {"text": text}
        if entities:
            content["entities"] = entities
        return self.api.user_message(self.id, content, reply_to=reply_to)

    def command(self, name: str, payload: Optional[str] = None) -> dict:
        """"/name payload" with a bot_command entity at offset 0 (deep links arrive like this)."""
        msg = self.send(f"/{name.lstrip('/')}" + (f" {payload}" if payload else ""))
        first = (msg.get("entities") or [{}])[0]
        assert first.get("type") == "bot_command" and first.get("offset") == 0, msg
        return msg

    def share_location(self, latitude: float, longitude: float, *, horizontal_accuracy: Optional[float] = None,
                       live_period: Optional[int] = None) -> dict:
        location: dict = {"latitude": float(latitude), "longitude": float(longitude)}
        if horizontal_accuracy is not None:
            location["horizontal_accuracy"] = float(horizontal_accuracy)
        if live_period is not None:
            location["live_period"] = int(live_period)
        return self.api.user_message(self.id, {"location": location})

    def share_contact(self, phone_number: str, *, first_name: Optional[str] = None,
                      last_name: Optional[str] = None, user_id: Optional[int] = -1,
                      vcard: Optional[str] = None) -> dict:
        """By default the user's own contact (user_id == this user), as a request_contact button sends it;
        pass user_id=None for someone else's number."""
        me = self.user
        contact: dict = {"phone_number": phone_number, "first_name": first_name or me["first_name"]}
        last = last_name if first_name is not None else (last_name or me.get("last_name"))
        if last:
            contact["last_name"] = last
        if user_id == -1:
            user_id = self.id
        if user_id is not None:
            contact["user_id"] = user_id
        if vcard:
            contact["vcard"] = vcard
        return self.api.user_message(self.id, {"contact": contact})

    def _with_caption(self, content: dict, caption: Optional[str]) -> dict:
        if caption:
            text, entities = finish_text(caption, [])
            if utf16_len(text) > MAX_CAPTION:
                raise ValueError(f"captions are at most {MAX_CAPTION} characters")
            if text:
                content["caption"] = text
                if entities:
                    content["caption_entities"] = entities
        return content

    def send_sticker(self, emoji: str = "👍", *, set_name: Optional[str] = "HotCherry") -> dict:
        sticker = {**self.api.user_file(24_000, "stickers"), "type": "regular", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False, "emoji": emoji}
        if set_name:
            sticker["set_name"] = set_name
        return self.api.user_message(self.id, {"sticker": sticker})

    def send_photo(self, caption: Optional[str] = None, *, width: int = 1280, height: int = 960) -> dict:
        sizes = []
        for side in (90, 320, 800, 1280):
            scale = min(side / max(width, height), 1.0)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            sizes.append({**self.api.user_file(w * h // 10 + 500, "photos"), "width": w, "height": h})
            if scale == 1.0:
                break
        return self.api.user_message(self.id, self._with_caption({"photo": sizes}, caption))

    def send_voice(self, duration: int = 3, *, size: Optional[int] = None) -> dict:
        voice = {**self.api.user_file(size or 2_000 * duration + 300, "voice"), "duration": duration,
                 "mime_type": "audio/ogg"}
        return self.api.user_message(self.id, {"voice": voice})

    def send_document(self, file_name: str = "材料.pdf", *, mime_type: str = "application/pdf",
                      size: Optional[int] = None, content: Optional[bytes] = None,
                      caption: Optional[str] = None) -> dict:
        size = len(content) if content is not None else (size or 48_213)
        document = {"file_name": file_name, "mime_type": mime_type,
                    **self.api.user_file(size, "documents", content)}
        return self.api.user_message(self.id, self._with_caption({"document": document}, caption))

    def press(self, text: str, message_id: Optional[int] = None) -> str:
        """Press the callback button labelled `text` on the newest bot message showing one
        (exact label first, then a unique substring); returns the callback query id."""
        with self.api.lock:
            candidates = [message_id] if message_id is not None else sorted(self._bot_ids(), reverse=True)
            for exact in (True, False):
                for mid in candidates:
                    msg = self._state.messages.get(mid)
                    if msg is None or self._state.extras[mid].get("deleted"):
                        continue
                    buttons = [b for row in (msg.get("reply_markup") or {}).get("inline_keyboard", [])
                               for b in row if "callback_data" in b]
                    hits = [b for b in buttons if (b["text"] == text if exact else text in b["text"])]
                    if len(hits) == 1 or (exact and hits):
                        return self.api.press(self.id, mid, hits[0]["callback_data"])
            shown = {mid: [b["text"] for row in (self._state.messages[mid].get("reply_markup") or {})
                           .get("inline_keyboard", []) for b in row]
                     for mid in candidates if mid in self._state.messages}
            raise AssertionError(f"{self!r}: no button {text!r} to press; buttons shown: {shown}")

    def press_data(self, message_id: int, data: str) -> str:
        """A modified client: a callback query with arbitrary data on any message id (a message
        this chat cannot see arrives as an InaccessibleMessage, date 0)."""
        if not 1 <= len(data.encode("utf-8")) <= 64:
            raise ValueError("Telegram only carries callback data of 1-64 bytes")
        return self.api.press(self.id, message_id, data)

    def edit(self, message_id: int, text: str) -> dict:
        """Edit one of this user's text messages; the bot gets an edited_message update."""
        text, entities = finish_text(text, [])
        if not text or utf16_len(text) > MAX_TEXT:
            raise ValueError("a Telegram client only saves 1-4096 characters")
        return self.api.user_edit(self.id, message_id, text, entities)

    def block(self) -> None:
        self.api.set_blocked(self.id, True)

    def unblock(self) -> None:
        self.api.set_blocked(self.id, False)

    # ---- what the user sees ------------------------------------------------------------------

    def _bot_ids(self) -> list[int]:
        return [mid for mid, extra in self._state.extras.items() if extra.get("outgoing")]

    def _view(self, mid: int) -> dict:
        extra = self._state.extras[mid]
        view = copy.deepcopy(self._state.messages[mid])
        view["deleted"] = bool(extra.get("deleted"))
        if "reply_keyboard" in extra:
            view["reply_keyboard"] = copy.deepcopy(extra["reply_keyboard"])
        return view

    def inbox(self) -> list[dict]:
        """The bot's messages in this chat, oldest first, as they are now (after edits). Telegram
        fields, plus `deleted` and, where the bot sent one, the client-side `reply_keyboard`."""
        with self.api.lock:
            return [self._view(mid) for mid in sorted(self._bot_ids())]

    def history(self) -> list[dict]:
        """Both sides of the chat, oldest first."""
        with self.api.lock:
            return [self._view(mid) for mid in sorted(self._state.messages)]

    def texts(self) -> list[str]:
        """The bot's texts, oldest first (deleted ones too: the user saw them arrive)."""
        return [m["text"] for m in self.inbox() if "text" in m]

    def mark(self) -> int:
        """The newest message id in the chat (either side); pass it as wait_for(after=...)."""
        with self.api.lock:
            return self._state.next_message_id - 1

    def wait_for(self, match: Match, timeout: float = 30, after: Optional[int] = None) -> dict:
        """The first bot message (id > after, if given) whose text or caption contains `match`,
        or for which `match(message)` is true; AssertionError with the inbox on timeout."""
        def hit(msg: dict) -> bool:
            if callable(match):
                return bool(match(msg))
            return match in (msg.get("text") or "") or match in (msg.get("caption") or "")

        deadline = time.monotonic() + timeout
        with self.api.changed:
            while True:
                for mid in sorted(self._bot_ids()):
                    if after is not None and mid <= after:
                        continue
                    view = self._view(mid)
                    if hit(view):
                        return view
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self!r}: no message matching {match!r} (after={after}) within "
                                         f"{timeout}s. Inbox:\n{self._dump()}")
                self.api.changed.wait(min(remaining, 1.0))

    def _dump(self) -> str:
        lines = []
        for msg in self.history():
            who = "bot" if msg["from"].get("is_bot") else "user"
            body = msg.get("text") or msg.get("caption") or json.dumps(
                {k: v for k, v in msg.items() if k in ("location", "venue", "contact", "sticker", "photo",
                                                       "voice", "document")}, ensure_ascii=False)[:200]
            buttons = [b["text"] for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
            flags = (" [deleted]" if msg["deleted"] else "") + (f" buttons={buttons}" if buttons else "")
            lines.append(f"  #{msg['message_id']} {who}: {body}{flags}")
        return "\n".join(lines) or "  (empty)"

    def chat_actions(self) -> list[str]:
        with self.api.lock:
            return [a["action"] for a in self._state.actions]

    def callback_answers(self) -> list[dict]:
        """answerCallbackQuery calls for this user's queries: text, show_alert, url, cache_time."""
        with self.api.lock:
            return copy.deepcopy(self._state.callback_answers)

    def current_reply_keyboard(self) -> Optional[list[list[dict]]]:
        """Rows of the reply keyboard shown now (None after ReplyKeyboardRemove or before any)."""
        with self.api.lock:
            keyboard = self._state.reply_keyboard
            return copy.deepcopy(keyboard["keyboard"]) if keyboard else None

    def reply_keyboard_markup(self) -> Optional[dict]:
        """The whole ReplyKeyboardMarkup shown now (resize_keyboard, placeholder...)."""
        with self.api.lock:
            return copy.deepcopy(self._state.reply_keyboard)

    def menu_commands(self) -> list[dict]:
        """The command menu this user's client shows (most specific scope and language first)."""
        lang = (self._state.user.get("language_code") or "")[:2]
        keys = [("chat", self.id), ("all_private_chats",), ("default",)]
        with self.api.lock:
            for key in keys:
                for code in ((lang, "") if lang else ("",)):
                    if key + (code,) in self.api.commands:
                        return copy.deepcopy(self.api.commands[key + (code,)])
        return []
