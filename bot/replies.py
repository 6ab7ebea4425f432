"""Rasa's replies as the messages Telegram should show, before any token or markup.

Rasa's REST channel returns a flat list: a text (maybe with buttons), then any
custom JSON of the same response as its own item. Custom JSON carries the
channel hints: ``{"keyboard": "location" | "contact"}`` for the question it
follows, ``{"venue": {...}}`` for a service point, ``{"appointment": {...}}``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from bot.text import split_text

REPLY_KEYBOARDS = ("location", "contact")


@dataclass
class Venue:
    latitude: float
    longitude: float
    title: str
    address: str


@dataclass
class Outgoing:
    text: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, Rasa payload)
    keyboard: Optional[str] = None  # a reply keyboard asking for location or contact
    venue: Optional[Venue] = None


def _venue(data: object) -> Optional[Venue]:
    if not isinstance(data, dict):
        return None
    try:
        return Venue(float(data["latitude"]), float(data["longitude"]), str(data.get("title") or "调解工作服务点")[:100],
                     str(data.get("address") or "")[:200])
    except (KeyError, TypeError, ValueError):
        return None


def _buttons(raw: object) -> list[tuple[str, str]]:
    out = []
    for button in raw if isinstance(raw, list) else []:
        if isinstance(button, dict) and button.get("title") and button.get("payload"):
            out.append((str(button["title"])[:64], str(button["payload"])))
    return out


def plan(replies: list[dict]) -> list[Outgoing]:
    """Turn one turn's Rasa replies into Telegram messages, in order."""
    out: list[Outgoing] = []
    for reply in replies:
        custom = reply.get("custom") if isinstance(reply.get("custom"), dict) else None
        if reply.get("text"):
            chunks = split_text(str(reply["text"]))
            out += [Outgoing(text=chunk) for chunk in chunks[:-1]]
            out.append(Outgoing(text=chunks[-1] if chunks else "", buttons=_buttons(reply.get("buttons"))))
        if custom:
            hint = custom.get("keyboard")
            if hint in REPLY_KEYBOARDS and out and out[-1].text and not out[-1].buttons:
                out[-1].keyboard = hint  # a reply keyboard attaches to the question it belongs to
            venue = _venue(custom.get("venue"))
            if venue:
                out.append(Outgoing(venue=venue))
    return [o for o in out if o.text or o.venue]
