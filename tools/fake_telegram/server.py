"""A local stand-in for the Telegram Bot API: real HTTP, Telegram's JSON, Telegram's errors.

The state machine (`BotApi`) is guarded by one re-entrant lock so that the
aiohttp handlers (event-loop thread) and the test driver (pytest threads) can
both touch it; the lock is never held across an `await`.

Behaviour follows tdlib/telegram-bot-api where it is observable by a client:
getUpdates offsets confirm and drop updates for good, a new long poll
terminates the previous one with 409, reply keyboards never appear in a
returned Message, editing text without reply_markup removes the inline
keyboard, texts are trimmed, entity offsets are UTF-16 code units.

With `strict=True` every object the fake hands out is parsed back with
python-telegram-bot's own `de_json` and compared with its `to_dict()`, so the
fake's shapes cannot drift from what a real client accepts.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import inspect
import itertools
import json
import logging
import re
import secrets
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import telegram
from aiohttp import web

log = logging.getLogger("fake_telegram")

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
LONG_POLL_MAX_TIMEOUT = 50
LONG_POLL_WAIT_AFTER = 0.001  # tdlib batches updates arriving within 1 ms of a wake-up
MAX_DOWNLOAD = 20 << 20

NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message")
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLL = ("Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
                 "running")
CONFLICT_WEBHOOK = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                    "the webhook first")

CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
                "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
                # still accepted by the server as aliases
                "record_audio", "upload_audio", "pick_up_location"}
ALL_UPDATE_TYPES = ["message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
                    "business_message", "edited_business_message", "deleted_business_messages",
                    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
                    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
                    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
                    "removed_chat_boost"]
# Telegram leaves these out unless asked for by name.
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}
SCOPE_TYPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
               "chat_administrators", "chat_member"}
JSON_PARAMS = {"reply_markup", "entities", "caption_entities", "allowed_updates", "commands", "scope",
               "reply_parameters", "link_preview_options", "media"}


class ApiError(Exception):
    """A Bot API error response."""

    def __init__(self, code: int, description: str, retry_after: Optional[int] = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> dict:
        out: dict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            out["parameters"] = {"retry_after": self.retry_after}
        return out


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class ShapeError(AssertionError):
    """The fake was about to hand out an object a real client would not read the same way."""


# --------------------------------------------------------------------------------------------
# Shape validation with python-telegram-bot's own parser
# --------------------------------------------------------------------------------------------

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
_ENTITY_TYPES = {str(e.value) for e in telegram.constants.MessageEntityType}
_UPDATE_KINDS = set(ALL_UPDATE_TYPES)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


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
            if not isinstance(ent, dict) or ent.get("type") not in _ENTITY_TYPES:
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


# --------------------------------------------------------------------------------------------
# Text: parse modes, entity detection, trimming
# --------------------------------------------------------------------------------------------

def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


def _entity_error(message: str) -> ApiError:
    return bad(f"can't parse entities: {message}")


_HTML_TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
              "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
              "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
              "tg-emoji": "custom_emoji"}
_HTML_ENTITY = re.compile(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);")
_HTML_ATTR = re.compile(r"""\s*([a-zA-Z_-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+))?""")


def parse_html(src: str) -> tuple[str, list[dict]]:
    """Telegram's HTML subset: returns (text, entities) or raises 'can't parse entities'."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY.match(src, i)
            if m:
                name = m.group(1)
                char = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name)
                if char is None:
                    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
                    char = chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
                out.append(char)
                pos16 += utf16_len(char)
                i = m.end()
                continue
            out.append(c)
            pos16 += 1
            i += 1
            continue
        if c != "<":
            out.append(c)
            pos16 += utf16_len(c)
            i += 1
            continue
        start = i
        if src.startswith("</", i):
            end = src.find(">", i)
            if end < 0:
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(src, start)}")
            name = src[i + 2:end].strip().lower()
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {_byte_offset(src, start)}")
            top = stack.pop()
            if name != top["tag"]:
                raise _entity_error(f'Unmatched end tag at byte offset {_byte_offset(src, start)}, expected '
                                    f'"</{top["tag"]}>", found "</{name}>"')
            _close_html_entity(top, stack, pos16, entities)
            i = end + 1
            continue
        j = i + 1
        while j < n and (src[j].isalnum() or src[j] == "-") and src[j].isascii():
            j += 1
        name = src[i + 1:j].lower()
        if name not in _HTML_TAGS:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {_byte_offset(src, start)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(src, start)}")
            if src[j] == ">":
                break
            m = _HTML_ATTR.match(src, j)
            if not m or m.end() == j:
                raise _entity_error(f'Empty attribute name in the tag "{name}" at byte offset '
                                    f"{_byte_offset(src, j)}")
            value = m.group(2) or ""
            if value[:1] in ("'", '"'):
                value = value[1:-1]
            attrs[m.group(1).lower()] = re.sub(r"&(lt|gt|amp|quot);",
                                               lambda e: {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[e.group(1)],
                                               value)
            j = m.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(src, start)}')
        stack.append({"tag": name, "attrs": attrs, "start": pos16})
        i = j + 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    return "".join(out), entities


def _close_html_entity(top: dict, stack: list[dict], pos16: int, entities: list[dict]) -> None:
    tag, attrs, start = top["tag"], top["attrs"], top["start"]
    length = pos16 - start
    if length <= 0:
        return
    kind = _HTML_TAGS[tag]
    entity: dict = {"type": kind, "offset": start, "length": length}
    if tag == "a":
        href = attrs.get("href", "")
        if not href:
            return  # an <a> without href is plain text
        entity["url"] = href
    elif tag == "code" and stack and stack[-1]["tag"] == "pre" and stack[-1]["start"] == start:
        lang = attrs.get("class", "")
        if lang.startswith("language-"):
            stack[-1]["language"] = lang[len("language-"):]
            return  # merged into the enclosing pre
    elif tag == "pre" and top.get("language"):
        entity["language"] = top["language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        if not attrs.get("emoji-id"):
            return
        entity["custom_emoji_id"] = attrs["emoji-id"]
    entities.append(entity)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"))


def parse_markdown_v2(src: str) -> tuple[str, list[dict]]:
    """Telegram's MarkdownV2: reserved characters must be escaped outside entities."""
    out: list[str] = []
    pos16 = 0
    stack: list[dict] = []
    entities: list[dict] = []
    i, n = 0, len(src)

    def emit(text: str) -> None:
        nonlocal pos16
        out.append(text)
        pos16 += utf16_len(text)

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            emit(src[i + 1])
            i += 2
            continue
        if c == "`":
            is_pre = src.startswith("```", i)
            j = i + (3 if is_pre else 1)
            body: list[str] = []
            while j < n and not (src.startswith("```", j) if is_pre else src[j] == "`"):
                if src[j] == "\\" and j + 1 < n and src[j + 1] in "`\\":
                    body.append(src[j + 1])
                    j += 2
                else:
                    body.append(src[j])
                    j += 1
            if j >= n:
                raise _entity_error(f"Can't find end of {'Pre' if is_pre else 'Code'} entity at byte offset "
                                    f"{_byte_offset(src, i)}")
            content = "".join(body)
            entity: dict = {"type": "pre" if is_pre else "code"}
            if is_pre:
                first, sep, rest = content.partition("\n")
                if sep and first and not any(ch.isspace() for ch in first):
                    entity["language"] = first
                    content = rest
                elif sep and not first:
                    content = rest
            start = pos16
            emit(content)
            if pos16 > start:
                entities.append({**entity, "offset": start, "length": pos16 - start})
            i = j + (3 if is_pre else 1)
            continue
        if c == "[":
            stack.append({"marker": "[", "start": pos16, "at": i})
            i += 1
            continue
        if c == "]" and stack and stack[-1]["marker"] == "[":
            top = stack.pop()
            if not src.startswith("(", i + 1):
                raise _entity_error(f"Can't find end of the entity starting at byte offset "
                                    f"{_byte_offset(src, top['at'])}")
            j = i + 2
            url: list[str] = []
            while j < n and src[j] != ")":
                if src[j] == "\\" and j + 1 < n:
                    url.append(src[j + 1])
                    j += 2
                else:
                    url.append(src[j])
                    j += 1
            if j >= n:
                raise _entity_error(f"Can't find end of a url at byte offset {_byte_offset(src, i + 1)}")
            if pos16 > top["start"] and url:
                entities.append({"type": "text_link", "offset": top["start"], "length": pos16 - top["start"],
                                 "url": "".join(url)})
            i = j + 1
            continue
        marker = next((m for m, _ in _MDV2_MARKERS if src.startswith(m, i)), None)
        if marker is not None:
            if stack and stack[-1]["marker"] == marker:
                top = stack.pop()
                if pos16 > top["start"]:
                    kind = dict(_MDV2_MARKERS)[marker]
                    entities.append({"type": kind, "offset": top["start"], "length": pos16 - top["start"]})
            else:
                stack.append({"marker": marker, "start": pos16, "at": i})
            i += len(marker)
            continue
        if c in _MDV2_RESERVED:
            raise _entity_error(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1
    if stack:
        raise _entity_error(f"Can't find end of the entity starting at byte offset "
                            f"{_byte_offset(src, stack[-1]['at'])}")
    return "".join(out), entities


def parse_markdown(src: str) -> tuple[str, list[dict]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out: list[str] = []
    pos16 = 0
    entities: list[dict] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            pos16 += 1
            i += 2
            continue
        if c in "*_`" or c == "[":
            closer = {"*": "*", "_": "_", "`": "`", "[": "]"}[c]
            opener = "```" if src.startswith("```", i) else c
            end = src.find("```" if opener == "```" else closer, i + len(opener))
            if end < 0:
                raise _entity_error(f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}")
            inner = src[i + len(opener):end]
            after = end + len(opener if opener == "```" else closer)
            entity: dict = {"type": {"*": "bold", "_": "italic", "`": "code", "```": "pre", "[": "text_link"}[opener]}
            if opener == "[":
                if not src.startswith("(", after):
                    raise _entity_error(f"Can't find end of the entity starting at byte offset "
                                        f"{_byte_offset(src, i)}")
                close = src.find(")", after)
                if close < 0:
                    raise _entity_error(f"Can't find end of a url at byte offset {_byte_offset(src, after)}")
                entity["url"] = src[after + 1:close]
                after = close + 1
            if opener == "```":
                first, sep, rest = inner.partition("\n")
                if sep and first and " " not in first:
                    entity["language"], inner = first, rest
            length = utf16_len(inner)
            if length:
                entities.append({**entity, "offset": pos16, "length": length})
            out.append(inner)
            pos16 += length
            i = after
            continue
        out.append(c)
        pos16 += utf16_len(c)
        i += 1
    return "".join(out), entities


_AUTO_ENTITIES = [
    ("bot_command", re.compile(r"(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/])")),
    ("url", re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"]+[^\s<>\".,;:!?)\]'，。！？；：）】」]")),
    ("email", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("mention", re.compile(r"(?<![A-Za-z0-9_@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![A-Za-z0-9_])")),
    ("hashtag", re.compile(r"(?<![\w#])#(?!\d+(?!\w))\w{1,256}")),
]


def detect_entities(text: str) -> list[dict]:
    """The entities Telegram's server finds in any text (commands, links, mentions...)."""
    found: list[dict] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for m in pattern.finditer(text):
            a, b = m.start(), m.end()
            if any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            found.append({"type": kind, "offset": utf16_len(text[:a]), "length": utf16_len(text[a:b])})
    return found


def finish_text(text: str, entities: list[dict], *, detect: bool = True) -> tuple[str, list[dict]]:
    """Trim like Telegram does, shift entities, add the auto-detected ones, sort."""
    stripped = text.strip()
    lead = utf16_len(text[:len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    fixed = []
    for ent in entities:
        start = max(ent["offset"] - lead, 0)
        end = min(ent["offset"] + ent["length"] - lead, size)
        if end > start:
            fixed.append({**ent, "offset": start, "length": end - start})
    if detect:
        opaque = [(e["offset"], e["offset"] + e["length"]) for e in fixed
                  if e["type"] in ("code", "pre", "text_link", "url", "email", "mention", "bot_command")]
        for ent in detect_entities(stripped):
            a, b = ent["offset"], ent["offset"] + ent["length"]
            if not any(a < y and x < b for x, y in opaque):
                fixed.append(ent)
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed


# --------------------------------------------------------------------------------------------
# Request parameters
# --------------------------------------------------------------------------------------------

@dataclass
class Upload:
    filename: str
    content_type: str
    content: bytes


class Params:
    """Parameters as Telegram reads them: form, multipart, JSON body or query string."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def str(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value
        if isinstance(value, Upload):
            return default
        return json.dumps(value, ensure_ascii=False)

    def int(self, name: str, default: Optional[int] = None, lo: Optional[int] = None,
            hi: Optional[int] = None) -> Optional[int]:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        try:
            if isinstance(value, bool):
                number = int(value)
            elif isinstance(value, float):
                number = int(value)
            elif isinstance(value, int):
                number = value
            else:
                number = int(str(value).strip())
        except ValueError:
            return default  # tdlib's get_integer_arg falls back to the default
        if lo is not None:
            number = max(lo, number)
        if hi is not None:
            number = min(hi, number)
        return number

    def float(self, name: str) -> Optional[float]:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0.0  # tdlib's to_double reads garbage as 0

    def bool(self, name: str) -> bool:
        value = self.raw.get(name)
        if isinstance(value, bool):
            return value
        if value is None:
            return False
        return str(value).strip().lower() in ("true", "yes", "1")

    def json(self, name: str, what: str) -> Any:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad(f"can't parse {what} JSON object") from None
        return value

    def logged(self) -> dict:
        out: dict = {}
        for key, value in self.raw.items():
            if isinstance(value, Upload):
                out[key] = {"filename": value.filename, "size": len(value.content)}
            elif key in JSON_PARAMS and isinstance(value, str):
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = value
            else:
                out[key] = value
        return out


# --------------------------------------------------------------------------------------------
# Reply markup
# --------------------------------------------------------------------------------------------

def _ptb_fields(cls: type) -> set[str]:
    return {n for n in inspect.signature(cls).parameters if n != "api_kwargs"}


_INLINE_BUTTON_FIELDS = _ptb_fields(telegram.InlineKeyboardButton)
_INLINE_ACTIONS = _INLINE_BUTTON_FIELDS - {"text", "style", "icon_custom_emoji_id"}
_KEYBOARD_BUTTON_FIELDS = _ptb_fields(telegram.KeyboardButton)


@dataclass
class Markup:
    kind: str  # inline | keyboard | remove | force_reply
    data: dict


def parse_markup(p: Params) -> Optional[Markup]:
    value = p.json("reply_markup", "reply keyboard markup")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad("object expected as reply markup")
    if "keyboard" in value:
        rows = value["keyboard"]
        if not isinstance(rows, list):
            raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
        out_rows = []
        for row in rows:
            if not isinstance(row, list):
                raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            out_row = []
            for button in row:
                if isinstance(button, str):
                    button = {"text": button}
                if not isinstance(button, dict):
                    raise bad("can't parse keyboard button: KeyboardButton must be a String or an Object")
                if not isinstance(button.get("text"), str):
                    raise bad('can\'t parse keyboard button: Field "text" must be of type String')
                out_row.append({k: v for k, v in button.items() if k in _KEYBOARD_BUTTON_FIELDS})
            if out_row:
                out_rows.append(out_row)
        if out_rows:
            data = {"keyboard": out_rows}
            for key in ("resize_keyboard", "one_time_keyboard", "is_persistent", "selective"):
                if key in value:
                    if not isinstance(value[key], bool):
                        raise bad(f'field "{key}" of the ReplyKeyboardMarkup must be of the type Boolean')
                    if value[key]:
                        data[key] = True
            if isinstance(value.get("input_field_placeholder"), str) and value["input_field_placeholder"]:
                data["input_field_placeholder"] = value["input_field_placeholder"]
            return Markup("keyboard", data)
    if "inline_keyboard" in value:
        rows = value["inline_keyboard"]
        if not isinstance(rows, list):
            raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
        out_rows = []
        for row in rows:
            if not isinstance(row, list):
                raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            out_row = [_inline_button(button) for button in row]
            if out_row:
                out_rows.append(out_row)
        if out_rows:
            return Markup("inline", {"inline_keyboard": out_rows})
    if value.get("remove_keyboard") is True or value.get("hide_keyboard") is True:
        data = {"remove_keyboard": True}
        if value.get("selective") is True:
            data["selective"] = True
        return Markup("remove", data)
    if value.get("force_reply") is True:
        data = {"force_reply": True}
        if isinstance(value.get("input_field_placeholder"), str) and value["input_field_placeholder"]:
            data["input_field_placeholder"] = value["input_field_placeholder"]
        if value.get("selective") is True:
            data["selective"] = True
        return Markup("force_reply", data)
    return None


def _inline_button(button: Any) -> dict:
    if not isinstance(button, dict):
        raise bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str):
        raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    actions = [k for k in button if k in _INLINE_ACTIONS]
    if not actions:
        raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str):
            raise bad('can\'t parse inline keyboard button: Field "callback_data" must be of type String')
        if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"^(https?://[^\s]+\.[^\s]+|tg://\S+)", url):
            raise bad("BUTTON_URL_INVALID")
    if not button["text"].strip():
        raise bad("BUTTON_TEXT_INVALID")
    return {k: v for k, v in button.items() if k in _INLINE_BUTTON_FIELDS}


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------

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


def _real_methods() -> set[str]:
    """Every Bot API method python-telegram-bot knows (its camelCase aliases)."""
    names = {n.lower() for n in dir(telegram.Bot)
             if not n.startswith("_") and n[0].islower() and any(ch.isupper() for ch in n)}
    return names | {"close"}


REAL_METHODS = _real_methods()


class BotApi:
    """The Bot API state machine for one bot."""

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

    # ---- Bot API methods ---------------------------------------------------------------------

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
                    if ent["type"] not in _ENTITY_TYPES:
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

    def get_me(self, p: Params) -> dict:
        me = {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
              "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}
        self.check("User", me)
        return me

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

    def _scope(self, p: Params) -> tuple:
        scope = p.json("scope", "bot command scope")
        if scope is None:
            return ("default",)
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad("unsupported bot command scope type specified")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators", "chat_member"):
            state = self._chat(Params({"chat_id": scope.get("chat_id")}), write=False)
            if kind == "chat_member":
                return (kind, state.user["id"], int(scope.get("user_id") or 0))
            return (kind, state.user["id"])
        return (kind,)

    def _language(self, p: Params) -> str:
        lang = (p.str("language_code") or "").strip()
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad("invalid language code specified")
        return lang

    def set_my_commands(self, p: Params) -> bool:
        value = p.json("commands", "commands")
        if value is None:
            value = []
        if not isinstance(value, list):
            raise bad("expected an Array of BotCommand")
        commands = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("command"), str) \
                    or not isinstance(item.get("description"), str):
                raise bad("can't parse BotCommand: Field \"command\" must be of type String")
            command = item["command"].lstrip("/")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(item["description"].strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            commands.append({"command": command, "description": item["description"].strip()})
        if len(commands) > 100:
            raise bad("too many commands specified")
        key = self._scope(p) + (self._language(p),)
        if commands:
            for command in commands:
                self.check("BotCommand", command)
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    def get_my_commands(self, p: Params) -> list:
        key = self._scope(p) + (self._language(p),)
        return copy.deepcopy(self.commands.get(key, []))

    def delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._scope(p) + (self._language(p),), None)
        return True

    def delete_webhook(self, p: Params) -> tuple:
        was = bool(self.webhook_url)
        self.webhook_url = ""
        self._stop_webhook_sender()
        if p.bool("drop_pending_updates"):
            self.updates.clear()
        return True, "Webhook was deleted" if was else "Webhook is already deleted"

    def set_webhook(self, p: Params) -> tuple:
        url = p.str("url") or ""
        if not url:
            return self.delete_webhook(p)
        if not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.str("secret_token") or ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("bad webhook: Secret token contains unallowed characters")
        max_connections = p.int("max_connections", 40, 1, 100)
        allowed = p.json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self.allowed_updates = {a for a in allowed if a in ALL_UPDATE_TYPES} or set(DEFAULT_UPDATE_TYPES)
        self.webhook_url, self.webhook_secret, self.webhook_max_connections = url, secret, max_connections
        if p.bool("drop_pending_updates"):
            self.updates.clear()
        self._abort_long_poll("Conflict: terminated by setWebhook request")
        if self._route(url) is None:
            self.issue(f"setWebhook: no route for {url} (FakeTelegram(webhook_routes=...)); nothing is delivered")
        else:
            self._start_webhook_sender()
        return True, "Webhook was set"

    def get_webhook_info(self, p: Params) -> dict:
        info: dict = {"url": self.webhook_url, "has_custom_certificate": False,
                      "pending_update_count": len(self.updates)}
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            if self.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        self.check("WebhookInfo", info)
        return info

    # ---- webhook delivery --------------------------------------------------------------------

    def _route(self, url: str) -> Optional[str]:
        for origin, target in self.webhook_routes.items():
            if url == origin or url.startswith(origin.rstrip("/") + "/"):
                return target.rstrip("/") + url[len(origin.rstrip("/")):]
        return None

    def _start_webhook_sender(self) -> None:
        """Runs on the event loop (setWebhook's handler): one sender per bot, replaced on each setWebhook."""
        self._stop_webhook_sender()
        self._webhook_wake = asyncio.Event()
        self._webhook_task = asyncio.get_running_loop().create_task(self._send_webhooks(self._webhook_wake))

    def _stop_webhook_sender(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
        self._webhook_task, self._webhook_wake = None, None

    async def _send_webhooks(self, wake: asyncio.Event) -> None:
        """Telegram's side of a webhook: each update is POSTed as JSON until the bot answers 2xx, in
        order, one at a time (max_connections=1 of Telegram's up to 100); a failure is retried after
        a growing pause and shows in getWebhookInfo's last_error_*. An update leaves the queue only
        once delivered, so a bot process killed mid-request gets it again (on another replica)."""
        import aiohttp

        pause = 0.0
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while True:
                with self.lock:
                    target = self._route(self.webhook_url) if self.webhook_url else None
                    update = copy.deepcopy(self.updates[0]) if self.updates else None
                    headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
                if target is None:
                    return
                if update is None:
                    wake.clear()
                    await wake.wait()
                    continue
                error: Optional[str] = None
                status = 0
                try:
                    async with http.post(target, json=update, headers=headers) as response:
                        status = response.status
                        await response.read()
                        if not 200 <= status < 300:
                            error = f"Wrong response from the webhook: {status} {response.reason}"
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    error = "Connection refused" if isinstance(exc, aiohttp.ClientConnectorError) else \
                        f"Connection error: {type(exc).__name__}"
                with self.lock:
                    self.webhook_deliveries.append({"update_id": update["update_id"], "status": status,
                                                    "error": error, "at": time.time()})
                    if error is None:
                        if self.updates and self.updates[0]["update_id"] == update["update_id"]:
                            self.updates.popleft()
                        pause = 0.0
                    else:
                        self.webhook_last_error = (self.now(), error)
                        pause = min(max(pause * 2, 0.5), 8.0)
                    self.changed.notify_all()
                if pause:
                    await asyncio.sleep(pause)

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

    def close(self, p: Params) -> bool:
        self._abort_long_poll(None)
        return True

    def log_out(self, p: Params) -> bool:
        self._abort_long_poll(None)
        self.logged_out = True
        return True

    # ---- getUpdates --------------------------------------------------------------------------

    def _abort_long_poll(self, reason: Optional[str]) -> None:
        """Runs on the event loop. reason None answers the poll with what it has."""
        fut = self.long_poll
        if fut is not None and not fut.done():
            fut.set_result(("conflict", reason) if reason else "wake")
        self.long_poll = None

    def _take_updates(self, offset: int, limit: int) -> tuple[list[dict], int]:
        tail = self.next_update_id
        head = self.updates[0]["update_id"] if self.updates else tail
        if offset <= 0:
            if self.updates and offset < 0:
                offset += tail  # negative offsets count from the end of the queue
            offset = max(offset, head)
        elif offset > tail:
            offset = head  # an offset "in the future" reads from the head and confirms nothing
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()  # confirmed: gone for good
        return [copy.deepcopy(u) for u in itertools.islice(self.updates, limit)], offset

    async def get_updates(self, p: Params) -> list:
        with self.lock:
            if self.webhook_url:
                raise ApiError(409, CONFLICT_WEBHOOK)
            offset = p.int("offset", 0)
            limit = p.int("limit", 100, 1, 100)
            timeout = p.int("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
            allowed = p.json("allowed_updates", "allowed updates")
            if allowed is not None:
                names = {a for a in allowed if isinstance(a, str) and a in ALL_UPDATE_TYPES} \
                    if isinstance(allowed, list) else set()
                self.allowed_updates = names or set(DEFAULT_UPDATE_TYPES)
            batch, offset = self._take_updates(offset, limit)
            if batch or timeout == 0:
                self.changed.notify_all()
                return batch
            self._abort_long_poll(CONFLICT_POLL)
            fut = asyncio.get_running_loop().create_future()
            self.long_poll = fut
            self.poll_started = time.monotonic()
            self.changed.notify_all()
        try:
            reason = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            reason = "timeout"
        finally:
            with self.lock:
                if self.long_poll is fut:
                    self.long_poll = None
                self.changed.notify_all()
        if isinstance(reason, tuple):
            raise ApiError(409, reason[1])
        if reason == "wake":
            await asyncio.sleep(LONG_POLL_WAIT_AFTER)
        with self.lock:
            return self._take_updates(offset, limit)[0]

    # ---- injected failures -------------------------------------------------------------------

    def take_injection(self, method: str) -> Optional[ApiError]:
        with self.lock:
            for rule in self.injections:
                if rule.remaining > 0 and rule.match(method):
                    rule.remaining -= 1
                    self.injections = [r for r in self.injections if r.remaining > 0]
                    return ApiError(rule.code, rule.description, rule.retry_after)
        return None


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, attr) for name, attr in [
        ("getMe", "get_me"), ("getUpdates", "get_updates"), ("deleteWebhook", "delete_webhook"),
        ("setWebhook", "set_webhook"), ("getWebhookInfo", "get_webhook_info"),
        ("setMyCommands", "set_my_commands"), ("getMyCommands", "get_my_commands"),
        ("deleteMyCommands", "delete_my_commands"), ("sendMessage", "send_message"),
        ("sendLocation", "send_location"), ("sendVenue", "send_venue"), ("sendContact", "send_contact"),
        ("sendChatAction", "send_chat_action"), ("answerCallbackQuery", "answer_callback_query"),
        ("editMessageText", "edit_message_text"), ("editMessageReplyMarkup", "edit_message_reply_markup"),
        ("deleteMessage", "delete_message"), ("getFile", "get_file"), ("close", "close"), ("logOut", "log_out"),
    ]
}


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
