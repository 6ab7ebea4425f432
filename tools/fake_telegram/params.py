"""Request parameters as Telegram reads them, and Telegram's error JSON.

`Params` reads form, multipart, JSON-body and query-string parameters the way
tdlib/telegram-bot-api does (garbage integers fall back to the default, garbage
floats read as 0); `parse_markup` validates reply_markup with Telegram's own
error descriptions; `ApiError` is the ``{"ok": false, "error_code", "description"}``
answer and `bad` its usual 400 "Bad Request: ..." form.
"""
from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Optional

import telegram

MAX_CALLBACK_DATA = 64
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

