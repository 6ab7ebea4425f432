"""`FakeUser`: one Telegram user (a resident or a mediator) acting through the fake Bot API.

Made by `FakeTelegram.user()` (driver.py), never directly. What the user does (send text, a
command, a location, a contact, a sticker/photo/voice/document; press a button; edit; block)
goes through `BotApi`'s user-side methods; what the user sees (inbox, history, keyboards, the
command menu) is read from the chat's state under the API lock, and `wait_for` blocks on the
API's condition until the bot's reply arrives.
"""
from __future__ import annotations

import copy
import json
import time
from typing import TYPE_CHECKING, Callable, Optional, Union

from tools.fake_telegram.formatting import finish_text, utf16_len
from tools.fake_telegram.messages import MAX_CAPTION, MAX_TEXT
from tools.fake_telegram.state import ChatState

if TYPE_CHECKING:
    from tools.fake_telegram.driver import FakeTelegram

Match = Union[str, Callable[[dict], bool]]


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
