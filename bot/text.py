"""Typed text must reach Rasa as text, never as an intent or a slot payload."""
from __future__ import annotations

INTENT_PREFIX = "/"
_FULLWIDTH_SLASH = "／"


def neutralise(text: str) -> str:
    """Rasa reads a leading '/' as `/intent{"slot": ...}`; typed text must not."""
    stripped = text.lstrip()
    if stripped.startswith(INTENT_PREFIX):
        return _FULLWIDTH_SLASH + stripped[1:]
    return text
