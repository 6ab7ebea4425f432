"""The Bot API methods that send, edit and delete messages, answer button presses and serve files.

sendMessage, sendLocation, sendVenue, sendContact, sendChatAction,
answerCallbackQuery, editMessageText, editMessageReplyMarkup, deleteMessage
and getFile, as a mixin of `tools.fake_telegram.api.BotApi`. As tdlib does:
reply keyboards never appear in a returned Message, editing text without
reply_markup removes the inline keyboard, texts are trimmed.
"""
from __future__ import annotations

import copy
import time
from typing import Optional

from tools.fake_telegram.formatting import finish_text, parse_html, parse_markdown, parse_markdown_v2, utf16_len
from tools.fake_telegram.params import Markup, Params, bad, parse_markup
from tools.fake_telegram.shapes import ENTITY_TYPES
from tools.fake_telegram.state import BotState, ChatState

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
MAX_DOWNLOAD = 20 << 20

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message")
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
                # still accepted by the server as aliases
                "record_audio", "upload_audio", "pick_up_location"}


class MessageMethods(BotState):
    """Messages in a private chat, button answers and file downloads."""

    def _text(self, p: Params, name: str, entities_name: str, *, required: bool) -> tuple[str, list[dict]]:
        text = p.str(name) or ""
        if not text:
            if required:
                raise bad("message text is empty")
            return "", []
        mode = (p.str("parse_mode") or "").strip().lower()
        if mode and mode != "none":
            parser = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}.get(mode)
            if parser is None:
                raise bad("unsupported parse_mode")
            text, entities = parser(text)
        else:
            given = p.json(entities_name, "entities")
            entities = []
            if isinstance(given, list):
                for ent in given:
                    if not isinstance(ent, dict) or not isinstance(ent.get("type"), str):
                        raise bad("can't parse MessageEntity: expected an Object")
                    if ent["type"] not in ENTITY_TYPES:
                        raise bad("can't parse MessageEntity: Unsupported type specified")
                    if ent["type"] in ("mention", "hashtag", "cashtag", "bot_command", "url", "email",
                                       "phone_number", "bank_card_number"):
                        continue  # the server finds these itself
                    entities.append({k: v for k, v in ent.items()
                                     if k in ("type", "offset", "length", "url", "language", "custom_emoji_id")})
        text, entities = finish_text(text, entities)
        if not text and required:
            raise bad("message text is empty")
        return text, entities

    def _reply_to(self, p: Params, state: ChatState) -> Optional[dict]:
        params = p.json("reply_parameters", "reply parameters")
        if isinstance(params, dict):
            message_id, allow = params.get("message_id"), bool(params.get("allow_sending_without_reply"))
        else:
            message_id, allow = p.int("reply_to_message_id"), p.bool("allow_sending_without_reply")
        if not message_id:
            return None
        replied = state.messages.get(int(message_id))
        if replied is None or state.extras[int(message_id)].get("deleted"):
            if allow:
                return None
            raise bad("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _send(self, p: Params, content: dict, markup: Optional[Markup], state: ChatState) -> dict:
        msg = {"message_id": state.next_message_id, "from": self.bot_user, "chat": state.chat,
               "date": self.now(), **content}
        replied = self._reply_to(p, state)
        if replied is not None:
            msg["reply_to_message"] = replied
        if p.bool("protect_content"):
            msg["has_protected_content"] = True
        if markup is not None and markup.kind == "inline":
            msg["reply_markup"] = markup.data
        msg = copy.deepcopy(msg)
        self.check("Message", msg)
        state.next_message_id += 1
        state.messages[msg["message_id"]] = msg
        extra: dict = {"outgoing": True, "sent_at": time.time()}
        if markup is not None and markup.kind != "inline":
            extra["reply_keyboard"] = copy.deepcopy(markup.data)
            if markup.kind == "keyboard":
                state.reply_keyboard = copy.deepcopy(markup.data)
            elif markup.kind == "remove":
                state.reply_keyboard = None
        state.extras[msg["message_id"]] = extra
        self.changed.notify_all()
        return copy.deepcopy(msg)

    def send_message(self, p: Params) -> dict:
        text, entities = self._text(p, "text", "entities", required=True)
        markup = parse_markup(p)
        state = self._chat(p)
        if utf16_len(text) > MAX_TEXT:
            raise bad("message is too long")
        content: dict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._send(p, content, markup, state)

    def _location(self, p: Params) -> dict:
        if not p.has("latitude"):
            raise bad("latitude is empty")
        if not p.has("longitude"):
            raise bad("longitude is empty")
        lat, lng = p.float("latitude"), p.float("longitude")
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise bad("wrong location specified")
        location: dict = {"latitude": lat, "longitude": lng}
        if p.has("horizontal_accuracy"):
            location["horizontal_accuracy"] = p.float("horizontal_accuracy")
        return location

    def send_location(self, p: Params) -> dict:
        location = self._location(p)
        markup = parse_markup(p)
        state = self._chat(p)
        if p.has("live_period"):
            location["live_period"] = p.int("live_period")
            for key in ("heading", "proximity_alert_radius"):
                if p.has(key):
                    location[key] = p.int(key)
        return self._send(p, {"location": location}, markup, state)

    def send_venue(self, p: Params) -> dict:
        location = self._location(p)
        title, address = p.str("title") or "", p.str("address") or ""
        if not title:
            raise bad("title is empty")
        markup = parse_markup(p)
        state = self._chat(p)
        venue: dict = {"location": location, "title": title, "address": address}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if p.has(key):
                venue[key] = p.str(key)
        return self._send(p, {"venue": venue, "location": dict(location)}, markup, state)

    def send_contact(self, p: Params) -> dict:
        phone, first = p.str("phone_number") or "", p.str("first_name") or ""
        if not phone:
            raise bad("phone_number is empty")
        if not first:
            raise bad("first_name is empty")
        markup = parse_markup(p)
        state = self._chat(p)
        contact: dict = {"phone_number": phone, "first_name": first}
        for key in ("last_name", "vcard"):
            if p.has(key):
                contact[key] = p.str(key)
        return self._send(p, {"contact": contact}, markup, state)

    def send_chat_action(self, p: Params) -> bool:
        action = (p.str("action") or "").strip().lower()
        if action not in CHAT_ACTIONS:
            raise bad("wrong parameter action in request")
        state = self._chat(p)
        state.actions.append({"action": action, "at": time.time()})
        self.changed.notify_all()
        return True

    def answer_callback_query(self, p: Params) -> bool:
        query_id = p.str("callback_query_id") or ""
        text = p.str("text") or ""
        if len(text) > MAX_CALLBACK_ANSWER:
            raise bad("MESSAGE_TOO_LONG")
        query = self.queries.get(query_id)
        if query is None or query["answered"] or time.monotonic() - query["created"] > self.callback_query_ttl:
            raise bad(QUERY_INVALID)
        query["answered"] = True
        answer = {"callback_query_id": query_id, "text": text or None, "show_alert": p.bool("show_alert"),
                  "url": p.str("url"), "cache_time": p.int("cache_time", 0), "at": time.time()}
        self.chats[query["user_id"]].callback_answers.append(answer)
        self.changed.notify_all()
        return True

    def _message_to_edit(self, p: Params, what: str) -> tuple[ChatState, dict]:
        if not p.has("chat_id") and not p.has("message_id"):
            if p.has("inline_message_id"):
                raise bad("MESSAGE_ID_INVALID")  # the fake sends no inline-mode messages
            raise bad("message identifier is not specified")
        state = self._chat(p, write=False)
        message_id = p.int("message_id", 0)
        if not message_id:
            raise bad("message identifier is not specified")
        msg = state.messages.get(message_id)
        if msg is None or state.extras[message_id].get("deleted"):
            raise bad(f"{what} not found")
        return state, msg

    def _apply_edit(self, state: ChatState, msg: dict, changes: dict, markup: Optional[dict]) -> dict:
        new = {k: v for k, v in msg.items() if k not in ("reply_markup", "edit_date")}
        new.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            new.pop(key)
        if markup is not None:
            new["reply_markup"] = markup
        old_view = {k: v for k, v in msg.items() if k != "edit_date"}
        if {k: v for k, v in new.items()} == old_view:
            raise bad(NOT_MODIFIED)
        new["edit_date"] = self.now()
        new = copy.deepcopy(new)
        self.check("Message", new)
        state.messages[msg["message_id"]] = new
        state.extras[msg["message_id"]]["edits"] = state.extras[msg["message_id"]].get("edits", 0) + 1
        self.changed.notify_all()
        return copy.deepcopy(new)

    def _edit_markup(self, p: Params) -> Optional[dict]:
        markup = parse_markup(p)
        if markup is not None and markup.kind != "inline":
            raise bad("REPLY_MARKUP_INVALID")
        return markup.data if markup is not None else None

    def edit_message_text(self, p: Params) -> dict:
        text, entities = self._text(p, "text", "entities", required=True)
        markup = self._edit_markup(p)
        state, msg = self._message_to_edit(p, "message to edit")
        if msg["from"]["id"] != self.bot_user["id"]:
            raise bad("message can't be edited")
        if "text" not in msg:
            raise bad("there is no text in the message to edit")
        if utf16_len(text) > MAX_TEXT:
            raise bad("message is too long")
        # Telegram: an edit without reply_markup removes the inline keyboard.
        return self._apply_edit(state, msg, {"text": text, "entities": entities or None}, markup)

    def edit_message_reply_markup(self, p: Params) -> dict:
        markup = self._edit_markup(p)
        state, msg = self._message_to_edit(p, "message to edit")
        if msg["from"]["id"] != self.bot_user["id"]:
            raise bad("message can't be edited")
        return self._apply_edit(state, msg, {}, markup)

    def delete_message(self, p: Params) -> bool:
        if not p.has("chat_id"):
            raise bad("chat_id is empty")
        if not p.has("message_id"):
            raise bad("message identifier is not specified")
        state = self._chat(p, write=False)
        message_id = p.int("message_id", 0)
        if message_id not in state.messages or state.extras[message_id].get("deleted"):
            raise bad("message to delete not found")
        state.extras[message_id]["deleted"] = True
        self.changed.notify_all()
        return True

    def get_file(self, p: Params) -> dict:
        entry = self.files.get(p.str("file_id") or "")
        if entry is None:
            raise bad("invalid file_id")
        if entry["file_size"] > MAX_DOWNLOAD:
            raise bad("file is too big")
        out = {"file_id": entry["file_id"], "file_unique_id": entry["file_unique_id"],
               "file_size": entry["file_size"], "file_path": entry["file_path"]}
        self.check("File", out)
        return out
