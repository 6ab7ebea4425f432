"""Typed text must reach Rasa as text, never as an intent or a slot payload;
long replies must fit Telegram's message limit."""
from __future__ import annotations

INTENT_PREFIX = "/"
_FULLWIDTH_SLASH = "／"
TELEGRAM_LIMIT = 4096


def neutralise(text: str) -> str:
    """Rasa reads a leading '/' as `/intent{"slot": ...}`; typed text must not."""
    stripped = text.lstrip()
    if stripped.startswith(INTENT_PREFIX):
        return _FULLWIDTH_SLASH + stripped[1:]
    return text


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut a long reply into messages Telegram accepts, at paragraph or line
    breaks when possible so a card is not split mid-line."""
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = max(rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit))
        if cut <= limit // 2:
            cut = max(rest.rfind(mark, 0, limit) for mark in ("。", "；", "，", " "))
            cut = cut + 1 if cut > limit // 2 else limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks
