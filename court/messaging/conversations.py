"""The one codec for conversation ids: what the assistant calls a conversation
(its sender id) and the numeric chat key the court's tables file it under.

- Telegram: ``tg-<chat id>``; the chat key is Telegram's chat id (|id| < 2**52).
- Web chat: ``web-<n>``; the chat key is WEB_BASE + n, a range no Telegram id
  reaches, so buttons, the inbound journal and erasure need no second column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

TELEGRAM, WEB = "telegram", "web"
WEB_BASE = 1 << 60  # Telegram ids have at most 52 significant bits
_WEB_MAX = (1 << 63) - 1 - WEB_BASE
_ID = re.compile(r"^(tg|web)-(-?\d{1,19})$")


@dataclass(frozen=True)
class Address:
    channel: str
    chat_key: int


def telegram(chat_id: int) -> str:
    return f"tg-{chat_id}"


def web(number: int) -> str:
    if not 0 < number <= _WEB_MAX:
        raise ValueError("web conversation number out of range")
    return f"web-{number}"


def web_key(number: int) -> int:
    return WEB_BASE + number


def is_web_key(chat_key: int) -> bool:
    return chat_key >= WEB_BASE


def for_chat(chat_key: int) -> str:
    """The conversation id of a chat key, whichever channel it belongs to."""
    return web(chat_key - WEB_BASE) if is_web_key(chat_key) else telegram(chat_key)


def parse(conversation_id: object) -> Optional[Address]:
    """The channel and chat key behind a conversation id, or None (console, erased, malformed)."""
    match = _ID.match(str(conversation_id or ""))
    if not match:
        return None
    kind, number = match.group(1), int(match.group(2))
    if kind == "tg":
        return Address(TELEGRAM, number) if abs(number) < WEB_BASE else None
    return Address(WEB, web_key(number)) if 0 < number <= _WEB_MAX else None


def channel_of(conversation_id: object) -> Optional[str]:
    address = parse(conversation_id)
    return address.channel if address else None
