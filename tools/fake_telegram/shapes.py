"""The shapes of Telegram's JSON objects (Update, Message, User, CallbackQuery...) and their check.

With `strict=True` every object the fake hands out is parsed back with
python-telegram-bot's own `de_json` and compared with its `to_dict()`
(`validate`), so the fake's shapes cannot drift from what a real client
accepts; a mismatch is a `ShapeError`.
"""
from __future__ import annotations

import copy
import inspect
import json
from typing import Any

import telegram

from tools.fake_telegram.formatting import utf16_len

ALL_UPDATE_TYPES = ["message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
                    "business_message", "edited_business_message", "deleted_business_messages",
                    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
                    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
                    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
                    "removed_chat_boost"]
# Telegram leaves these out unless asked for by name.
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}


class ShapeError(AssertionError):
    """The fake was about to hand out an object a real client would not read the same way."""


SHAPES: dict[str, type] = {
    "Update": telegram.Update, "Message": telegram.Message, "User": telegram.User,
    "CallbackQuery": telegram.CallbackQuery, "BotCommand": telegram.BotCommand,
    "WebhookInfo": telegram.WebhookInfo, "File": telegram.File, "ChatMemberUpdated": telegram.ChatMemberUpdated,
}
_INT_KEYS = {"message_id", "update_id", "date", "edit_date", "offset", "length", "width", "height", "file_size",
             "duration", "user_id", "until_date", "pending_update_count", "live_period", "heading",
             "proximity_alert_radius", "max_connections"}
_STR_KEYS = {"text", "first_name", "last_name", "username", "language_code", "type", "data", "chat_instance",
             "file_id", "file_unique_id", "title", "address", "phone_number", "mime_type", "file_name", "emoji",
             "caption", "url", "command", "description", "file_path", "status", "set_name", "vcard",
             "callback_data", "language", "foursquare_id", "foursquare_type", "google_place_id",
             "google_place_type", "input_field_placeholder"}
_FLOAT_KEYS = {"latitude", "longitude", "horizontal_accuracy"}
_BOOL_KEYS = {"is_bot", "is_animated", "is_video", "has_custom_certificate", "can_join_groups",
              "can_read_all_group_messages", "supports_inline_queries", "can_connect_to_business",
              "has_main_web_app", "has_topics_enabled", "remove_keyboard", "force_reply", "resize_keyboard",
              "one_time_keyboard", "is_persistent", "selective", "request_location", "request_contact",
              "has_protected_content"}
ENTITY_TYPES = {str(e.value) for e in telegram.constants.MessageEntityType}
_UPDATE_KINDS = set(ALL_UPDATE_TYPES)


def validate(kind: str, data: Any) -> None:
    """Raise ShapeError unless PTB parses `data` as `kind` with no unknown fields and
    its to_dict() gives back every field that was set, with the same value."""
    cls = SHAPES[kind]
    if not isinstance(data, dict):
        raise ShapeError(f"{kind}: expected a JSON object, got {type(data).__name__}")
    problems = list(_check_types(kind, data, kind))
    try:
        obj = cls.de_json(copy.deepcopy(data), bot=None)
    except Exception as exc:  # noqa: BLE001 - any failure to parse is the finding
        problems.append(f"{kind}: python-telegram-bot cannot parse it: {exc!r}")
    else:
        problems += [f"{path}: unknown field(s) {sorted(extra)}" for path, extra in _unknown_fields(obj, kind)]
        problems += [f"{path}: required field {name!r} is missing" for path, name in _missing(obj, kind)]
        problems += list(_diff(data, obj.to_dict(), kind))
    if problems:
        raise ShapeError(f"{kind} does not round-trip through python-telegram-bot:\n  "
                         + "\n  ".join(problems) + f"\n{_dump(data)}")


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)[:2000]


def _unknown_fields(obj: Any, path: str):
    if isinstance(obj, telegram.TelegramObject):
        if obj.api_kwargs:
            yield path, set(obj.api_kwargs)
        for key, value in obj._get_attrs(recursive=False).items():  # noqa: SLF001 - PTB's own walker
            yield from _unknown_fields(value, f"{path}.{key}")
    elif isinstance(obj, (tuple, list)):
        for k, item in enumerate(obj):
            yield from _unknown_fields(item, f"{path}[{k}]")


_REQUIRED: dict[type, list[str]] = {}


def _missing(obj: Any, path: str):
    """PTB builds objects with None for absent required fields; Telegram never omits them."""
    if isinstance(obj, telegram.TelegramObject):
        cls = type(obj)
        if cls not in _REQUIRED:
            _REQUIRED[cls] = [n for n, prm in inspect.signature(cls).parameters.items()
                              if prm.default is prm.empty and prm.kind is prm.POSITIONAL_OR_KEYWORD]
        for name in _REQUIRED[cls]:
            if getattr(obj, name, None) is None:
                yield path, name
        for key, value in obj._get_attrs(recursive=False).items():  # noqa: SLF001
            yield from _missing(value, f"{path}.{key}")
    elif isinstance(obj, (tuple, list)):
        for k, item in enumerate(obj):
            yield from _missing(item, f"{path}[{k}]")


def _diff(sent: Any, back: Any, path: str):
    if isinstance(sent, dict):
        if not isinstance(back, dict):
            yield f"{path}: became {type(back).__name__}"
            return
        for key, value in sent.items():
            if value is None:
                yield f"{path}.{key}: null (Telegram leaves absent fields out)"
            elif isinstance(value, list) and not value:
                yield f"{path}.{key}: empty array (Telegram leaves empty arrays out)"
            elif key not in back:
                yield f"{path}.{key}: dropped by python-telegram-bot"
            else:
                yield from _diff(value, back[key], f"{path}.{key}")
    elif isinstance(sent, list):
        if not isinstance(back, (list, tuple)) or len(back) != len(sent):
            yield f"{path}: array changed to {back!r}"
            return
        for k, (a, b) in enumerate(zip(sent, back)):
            yield from _diff(a, b, f"{path}[{k}]")
    elif isinstance(sent, bool) != isinstance(back, bool) or sent != back:
        yield f"{path}: sent {sent!r}, read back {back!r}"


def _check_types(kind: str, data: Any, path: str):
    """Type rules python-telegram-bot would not catch (it stores whatever it is given)."""
    if isinstance(data, list):
        for k, item in enumerate(data):
            yield from _check_types(kind, item, f"{path}[{k}]")
        return
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        where = f"{path}.{key}"
        if key == "id":
            want = str if "chat_instance" in data else int  # a CallbackQuery id is a string
            if not isinstance(value, want) or isinstance(value, bool):
                yield f"{where}: must be {want.__name__}, got {value!r}"
        elif key in _INT_KEYS and (not isinstance(value, int) or isinstance(value, bool)):
            yield f"{where}: must be Integer, got {value!r}"
        elif key in _STR_KEYS and not isinstance(value, str):
            yield f"{where}: must be String, got {value!r}"
        elif key in _FLOAT_KEYS and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            yield f"{where}: must be Float, got {value!r}"
        elif key in _BOOL_KEYS and not isinstance(value, bool):
            yield f"{where}: must be Boolean, got {value!r}"
        if isinstance(value, (dict, list)):
            yield from _check_types(kind, value, where)
    if "update_id" in data:
        kinds = [k for k in data if k != "update_id"]
        if len(kinds) != 1 or kinds[0] not in _UPDATE_KINDS:
            yield f"{path}: an Update carries exactly one known payload, got {kinds}"
    if "message_id" in data and "chat" in data:
        yield from _check_message(data, path)


def _check_message(msg: dict, path: str):
    chat, sender = msg["chat"], msg.get("from")
    if not isinstance(chat, dict) or chat.get("type") not in {"private", "group", "supergroup", "channel"}:
        yield f"{path}.chat: bad chat {chat!r}"
    elif chat["type"] == "private":
        if not chat.get("first_name"):
            yield f"{path}.chat: a private chat has a first_name"
        if isinstance(sender, dict) and not sender.get("is_bot") and sender.get("id") != chat.get("id"):
            yield f"{path}: in a private chat a user's message comes from the chat's user"
    if msg.get("date") == 0:
        return  # an InaccessibleMessage
    if not isinstance(msg.get("date"), int) or msg["date"] <= 0:
        yield f"{path}.date: must be a positive Unix time"
    for text_key, ent_key in (("text", "entities"), ("caption", "caption_entities")):
        if ent_key in msg and text_key not in msg:
            yield f"{path}.{ent_key}: entities without {text_key}"
        text_len = utf16_len(msg.get(text_key) or "")
        for k, ent in enumerate(msg.get(ent_key) or []):
            if not isinstance(ent, dict) or ent.get("type") not in ENTITY_TYPES:
                yield f"{path}.{ent_key}[{k}]: unknown entity {ent!r}"
                continue
            off, length = ent.get("offset"), ent.get("length")
            if not isinstance(off, int) or not isinstance(length, int) or off < 0 or length <= 0 \
                    or off + length > text_len:
                yield f"{path}.{ent_key}[{k}]: {ent!r} is outside the text (UTF-16 length {text_len})"
    if "text" in msg and not msg["text"]:
        yield f"{path}.text: empty"
    markup = msg.get("reply_markup")
    if markup is not None and (not isinstance(markup, dict) or set(markup) != {"inline_keyboard"}):
        yield f"{path}.reply_markup: a Message only ever carries an InlineKeyboardMarkup, got {markup!r}"

