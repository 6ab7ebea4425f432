"""The parts of an update the handlers read, typed as present.

python-telegram-bot types every part of an update as optional, since some kinds of update
lack it (a channel post has no user, an inline query no chat). The handlers are registered
(bot/app.py) for private chats' messages, commands and button presses, which always carry
a chat, a user and, for messages, the message: a missing part is a bug and raises here,
by name, where it used to be an AttributeError further on.
"""
from __future__ import annotations

from typing import Any, Optional, TypeVar

from telegram import Message, Update
from telegram.ext import ContextTypes

T = TypeVar("T")


class MissingPart(RuntimeError):
    """An update without a part its handler's filter promised."""


def present(part: Optional[T], what: str) -> T:
    if part is None:
        raise MissingPart(f"update without {what}")
    return part


def chat_id(update: Update) -> int:
    return present(update.effective_chat, "a chat").id


def user_id(update: Update) -> int:
    return present(update.effective_user, "a user").id


def message(update: Update) -> Message:
    return present(update.effective_message, "a message")


def chat_data(context: ContextTypes.DEFAULT_TYPE) -> dict[Any, Any]:
    """The chat's data (python-telegram-bot has it for every update with a chat)."""
    return present(context.chat_data, "chat data")
