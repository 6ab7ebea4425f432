"""The state the fake keeps for one bot: chats, the update queue, files, calls, injected failures.

`BotState` is guarded by one re-entrant lock (`lock`, with the `changed`
condition) so that the aiohttp handlers (event-loop thread) and the test
driver (pytest threads) can both touch it; the lock is never held across an
`await`. Users act through it (`user_message`, `press`, `set_blocked`...);
the Bot API methods are mixed in by `tools.fake_telegram.api.BotApi`.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import itertools
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from tools.fake_telegram.params import ApiError, Params, bad
from tools.fake_telegram.shapes import DEFAULT_UPDATE_TYPES, ShapeError, validate

log = logging.getLogger("fake_telegram")


@dataclass
class ChatState:
    user: dict
    chat: dict
    chat_instance: str
    known: bool = True  # the bot has seen this chat (the user pressed Start at some point)
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, dict] = field(default_factory=dict)  # every message, both sides, current state
    extras: dict[int, dict] = field(default_factory=dict)  # client-side view: reply keyboards, deletions
    actions: list[dict] = field(default_factory=list)
    callback_answers: list[dict] = field(default_factory=list)
    reply_keyboard: Optional[dict] = None


@dataclass
class Injection:
    match: Callable[[str], bool]
    code: int
    description: str
    remaining: int
    retry_after: Optional[int] = None


DROP = 0  # an injection "code" that drops the connection instead of answering


class BotState:
    """One bot's state, what its users do, and the helpers every Bot API method shares."""

    def __init__(self, token: str, bot_username: str, *, bot_first_name: Optional[str] = None,
                 strict: bool = True, callback_query_ttl: float = 15.0, first_update_id: int = 10_000_001,
                 clock: Callable[[], float] = time.time) -> None:
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", token):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.strict = strict
        self.clock = clock
        self.callback_query_ttl = callback_query_ttl
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True,
                         "first_name": bot_first_name or bot_username, "username": bot_username}
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # any chat, poll or call changed
        self.chats: dict[int, ChatState] = {}
        self.updates: collections.deque[dict] = collections.deque()
        self.next_update_id = first_update_id
        self.allowed_updates = set(DEFAULT_UPDATE_TYPES)
        self.queries: dict[str, dict] = {}
        self.files: dict[str, dict] = {}
        self.commands: dict[tuple, list[dict]] = {}
        self.webhook_url = ""
        # Webhook delivery: Telegram reaches the court's HTTPS address; here a route maps that origin to
        # the plain-HTTP balancer behind it (TLS ends at the balancer in production too).
        self.webhook_routes: dict[str, str] = {}
        self.webhook_secret = ""
        self.webhook_max_connections = 40
        self.webhook_last_error: Optional[tuple[int, str]] = None
        self.webhook_deliveries: list[dict] = []  # update_id, status, at: what the test can read back
        self._webhook_task: Optional[asyncio.Task] = None
        self._webhook_wake: Optional[asyncio.Event] = None
        self.logged_out = False
        self.injections: list[Injection] = []
        self.call_log: list[dict] = []
        self.issues: list[str] = []
        self.long_poll: Optional[asyncio.Future] = None
        self.poll_started = 0.0
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._query_ids = itertools.count(secrets.randbelow(10 ** 6) * 10 ** 12 + 4_000_000_000_000_000_000)

    # ---- helpers -----------------------------------------------------------------------------

    def now(self) -> int:
        return int(self.clock())

    def check(self, kind: str, data: Any) -> None:
        """Strict mode: a shape error is recorded, logged and raised."""
        if not self.strict:
            return
        try:
            validate(kind, data)
        except ShapeError as exc:
            self.issue(f"shape error: {exc}")
            raise

    def issue(self, text: str) -> None:
        with self.lock:
            self.issues.append(text)
            self.changed.notify_all()
        log.error("fake_telegram: %s", text)

    def _file(self, size: int, path_hint: str, content: Optional[bytes] = None, unique: Optional[str] = None) -> dict:
        file_id = "AgAC" + secrets.token_urlsafe(48)[:60]
        entry = {"file_id": file_id, "file_unique_id": unique or "AQAD" + secrets.token_urlsafe(12)[:12],
                 "file_size": size, "file_path": f"{path_hint}/file_{len(self.files)}", "content": content}
        self.files[file_id] = entry
        return {"file_id": file_id, "file_unique_id": entry["file_unique_id"], "file_size": size}

    def _chat_instance(self, chat_id: int) -> str:
        digest = hashlib.sha256(f"{self.bot_user['id']}:{chat_id}".encode()).digest()
        return str(int.from_bytes(digest[:8], "big", signed=True))

    def add_user(self, user: dict, *, known: bool = True) -> ChatState:
        with self.lock:
            self.check("User", user)
            chat = {"id": user["id"], "first_name": user["first_name"], "type": "private"}
            for key in ("last_name", "username"):
                if user.get(key):
                    chat[key] = user[key]
            state = self.chats.get(user["id"])
            if state is None:
                state = ChatState(user=user, chat=chat, chat_instance=self._chat_instance(user["id"]), known=known)
                self.chats[user["id"]] = state
            else:
                state.user, state.chat = user, chat
                state.known = state.known or known
            return state

    def _wake(self) -> None:
        """Runs on the event loop: a long poll re-reads the queue, a webhook sender sends."""
        with self.lock:
            fut = self.long_poll
            wake = self._webhook_wake
        if fut is not None and not fut.done():
            fut.set_result("wake")
        if wake is not None:
            wake.set()

    def enqueue(self, kind: str, payload: dict) -> Optional[dict]:
        """Queue an update; Telegram drops the kinds allowed_updates excludes at creation."""
        with self.lock:
            if kind not in self.allowed_updates:
                return None
            update = {"update_id": self.next_update_id, kind: payload}
            self.check("Update", update)
            self.next_update_id += 1
            self.updates.append(update)
            self.changed.notify_all()
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._wake)
        return update

    def _chat(self, p: Params, *, write: bool = True) -> ChatState:
        raw = p.str("chat_id")
        if raw is None or not raw.strip():
            raise bad("chat_id is empty")
        try:
            chat_id = int(raw.strip())
        except ValueError:
            raise bad("chat not found") from None  # @usernames never resolve to private chats
        state = self.chats.get(chat_id)
        if state is None or not state.known:
            raise bad("chat not found")
        if write and state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return state

    # ---- what users do (called by the driver) ------------------------------------------------

    def user_message(self, user_id: int, content: dict, reply_to: Optional[int] = None) -> dict:
        with self.lock:
            state = self.chats[user_id]
            if state.blocked:
                raise RuntimeError(f"user {user_id} blocked the bot; a client shows RESTART instead of the input "
                                   f"field (call unblock() first)")
            msg = {"message_id": state.next_message_id, "from": state.user, "chat": state.chat,
                   "date": self.now(), **content}
            if reply_to is not None:
                replied = state.messages.get(reply_to)
                if replied is None or state.extras[reply_to].get("deleted"):
                    raise ValueError(f"no message {reply_to} to reply to in chat {user_id}")
                msg["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            msg = copy.deepcopy(msg)
            self.check("Message", msg)
            state.next_message_id += 1
            state.known = True
            state.messages[msg["message_id"]] = msg
            state.extras[msg["message_id"]] = {"outgoing": False}
            self.enqueue("message", copy.deepcopy(msg))
            return copy.deepcopy(msg)

    def user_edit(self, user_id: int, message_id: int, text: str, entities: list[dict]) -> dict:
        with self.lock:
            state = self.chats[user_id]
            msg = state.messages.get(message_id)
            if msg is None or state.extras[message_id].get("outgoing") or "text" not in msg \
                    or state.extras[message_id].get("deleted"):
                raise ValueError(f"user {user_id} has no text message {message_id} to edit")
            new = {k: v for k, v in msg.items() if k not in ("entities", "edit_date")}
            new.update({"text": text, "edit_date": self.now()})
            if entities:
                new["entities"] = entities
            new = copy.deepcopy(new)
            self.check("Message", new)
            state.messages[message_id] = new
            self.enqueue("edited_message", copy.deepcopy(new))
            return copy.deepcopy(new)

    def user_file(self, size: int, kind: str, content: Optional[bytes] = None) -> dict:
        with self.lock:
            return self._file(size, kind, content)

    def press(self, user_id: int, message_id: int, data: str) -> str:
        with self.lock:
            state = self.chats[user_id]
            if state.blocked:
                raise RuntimeError(f"user {user_id} blocked the bot")
            msg = state.messages.get(message_id)
            if msg is None or state.extras[message_id].get("deleted"):
                # A message the client can no longer see: Bot API 7.0's InaccessibleMessage.
                shown = {"chat": state.chat, "message_id": message_id, "date": 0}
            else:
                shown = msg
            query_id = str(next(self._query_ids))
            query = {"id": query_id, "from": state.user, "message": copy.deepcopy(shown),
                     "chat_instance": state.chat_instance, "data": data}
            self.check("CallbackQuery", query)
            self.queries[query_id] = {"user_id": user_id, "created": time.monotonic(), "answered": False}
            self.enqueue("callback_query", query)
            return query_id

    def set_blocked(self, user_id: int, blocked: bool) -> None:
        with self.lock:
            state = self.chats[user_id]
            if state.blocked == blocked:
                return
            state.blocked = blocked
            member = {"user": self.bot_user, "status": "member"}
            kicked = {"user": self.bot_user, "status": "kicked", "until_date": 0}
            old, new = (member, kicked) if blocked else (kicked, member)
            self.enqueue("my_chat_member", {"chat": state.chat, "from": state.user, "date": self.now(),
                                            "old_chat_member": old, "new_chat_member": new})
            self.changed.notify_all()

    # ---- injected failures -------------------------------------------------------------------

    def take_injection(self, method: str) -> Optional[ApiError]:
        with self.lock:
            for rule in self.injections:
                if rule.remaining > 0 and rule.match(method):
                    rule.remaining -= 1
                    self.injections = [r for r in self.injections if r.remaining > 0]
                    return ApiError(rule.code, rule.description, rule.retry_after)
        return None

