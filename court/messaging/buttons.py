"""Inline buttons whose real payload stays on the server.

Telegram carries only an opaque token as callback data, and a modified client
can send any callback data it likes: a token only works in the chat it was
issued to, until it expires, and once per keyboard (the first press of any
button of a keyboard uses up all of them).
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ButtonExpired, ButtonInvalid, ButtonUsed
from court.store.schema import ChatButton

DEFAULT_TTL = dt.timedelta(days=7)
LABEL_LIMIT = 64
TOKEN_LIMIT = 64  # Telegram's callback_data limit, in bytes
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Pressed:
    label: str
    payload: str
    keyboard: str


def issue(session: Session, *, chat_id: int, buttons: list[tuple[str, str]], ttl: dt.timedelta = DEFAULT_TTL,
          now: Optional[dt.datetime] = None) -> list[str]:
    """Store one keyboard's buttons for a chat; returns their tokens, in order."""
    if not buttons:
        return []
    now = now or clock.now()
    keyboard = secrets.token_urlsafe(12)
    tokens: list[str] = []
    for label, payload in buttons:
        token = secrets.token_urlsafe(12)  # 16 characters
        session.add(ChatButton(token=token, keyboard=keyboard, chat_id=chat_id, label=str(label)[:LABEL_LIMIT],
                               payload=str(payload), created_at=now, expires_at=now + ttl))
        tokens.append(token)
    session.flush()
    return tokens


def valid_token(token: object) -> bool:
    """Shape check before any query: urlsafe characters, at most 64 bytes."""
    return isinstance(token, str) and 0 < len(token) <= TOKEN_LIMIT and _TOKEN_RE.fullmatch(token) is not None


def press(session: Session, *, chat_id: int, token: str, now: Optional[dt.datetime] = None) -> Pressed:
    """Use a button: its payload, or ButtonInvalid / ButtonUsed / ButtonExpired.

    Of concurrent presses on one keyboard exactly one wins: the keyboard is
    marked used by a conditional UPDATE and only the press that changed rows counts.
    """
    if not valid_token(token):
        raise ButtonInvalid()
    now = now or clock.now()
    button = session.execute(
        select(ChatButton).where(ChatButton.token == token).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    # Another chat's token is answered like an unknown one: nothing to learn from it.
    if button is None or button.chat_id != chat_id:
        raise ButtonInvalid()
    if button.used_at is not None:
        raise ButtonUsed()
    if button.expires_at <= now:
        raise ButtonExpired()
    won = session.execute(
        update(ChatButton)
        .where(ChatButton.keyboard == button.keyboard, ChatButton.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise ButtonUsed()
    return Pressed(label=button.label, payload=button.payload, keyboard=button.keyboard)


def purge(session: Session, *, now: dt.datetime, older_than: dt.timedelta = dt.timedelta(days=30)) -> int:
    """Delete buttons expired or used more than ``older_than`` ago; returns how many."""
    cutoff = now - older_than
    result = session.execute(
        delete(ChatButton)
        .where(or_(ChatButton.expires_at < cutoff, ChatButton.used_at < cutoff))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
