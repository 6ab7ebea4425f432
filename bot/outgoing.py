"""Sending to a Telegram chat: texts, opaque-token inline keyboards, reply
keyboards that ask for a location or a contact, venues."""
from __future__ import annotations

import asyncio
import logging
from typing import Optional, Sequence, TypedDict, Union

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import Forbidden, RetryAfter

from bot.replies import Outgoing, Venue
from court.facades.messenger import MessengerFacade

log = logging.getLogger(__name__)

class _Request(TypedDict, total=False):
    """What a reply keyboard's button asks the resident to share (KeyboardButton's keywords)."""

    request_location: bool
    request_contact: bool


REPLY_KEYBOARDS: dict[str, tuple[str, _Request, str]] = {
    "location": ("📍 发送我的位置", {"request_location": True}, "也可以直接输入乡镇名称"),
    "contact": ("📱 发送本机号码", {"request_contact": True}, "也可以直接输入手机号"),
}
SEND_ATTEMPTS = 3


async def _retrying(call, *args, **kwargs):
    """Telegram's flood control asks us to wait; a reply waits, it is not dropped."""
    for attempt in range(SEND_ATTEMPTS):
        try:
            return await call(*args, **kwargs)
        except RetryAfter as exc:
            if attempt == SEND_ATTEMPTS - 1:
                raise
            wait = exc.retry_after.total_seconds() if hasattr(exc.retry_after, "total_seconds") else exc.retry_after
            await asyncio.sleep(float(wait))
    return None


async def inline_keyboard(desk: MessengerFacade, chat_id: int,
                          buttons: Sequence[tuple[str, str]]) -> Optional[InlineKeyboardMarkup]:
    """Buttons whose callback data is an opaque token; the payload stays on the server."""
    if not buttons:
        return None
    tokens = await asyncio.to_thread(desk.issue_buttons, chat_id, list(buttons))
    # Short labels side by side, long ones (times with names) one per row.
    rows: list[list[InlineKeyboardButton]] = []
    for (label, _), token in zip(buttons, tokens):
        button = InlineKeyboardButton(label, callback_data=token)
        if rows and len(label) <= 6 and len(rows[-1]) < 3 and all(len(b.text) <= 6 for b in rows[-1]):
            rows[-1].append(button)
        else:
            rows.append([button])
    return InlineKeyboardMarkup(rows)


def reply_keyboard(kind: str) -> ReplyKeyboardMarkup:
    label, request, placeholder = REPLY_KEYBOARDS[kind]
    return ReplyKeyboardMarkup([[KeyboardButton(label, **request)]], resize_keyboard=True, one_time_keyboard=True,
                               input_field_placeholder=placeholder)


async def send_venue(bot: Bot, chat_id: int, venue: Venue) -> Message:
    return await _retrying(bot.send_venue, chat_id=chat_id, latitude=venue.latitude, longitude=venue.longitude,
                           title=venue.title, address=venue.address or venue.title)


async def send_text(bot: Bot, chat_id: int, text: str, markup=None) -> Message:
    return await _retrying(bot.send_message, chat_id=chat_id, text=text, reply_markup=markup)


async def send_plan(bot: Bot, desk: MessengerFacade, chat_id: int, plan: Sequence[Outgoing],
                    chat_data: dict) -> list[Message]:
    """Send one turn's messages in order. A reply keyboard stays until the next
    plain text, which removes it (a message carries one markup only).

    The turn has already happened (a booking is made when its card is sent), so a
    message Telegram refuses never turns into an error for the resident: a map pin
    becomes the address in words, a keyboard that cannot be sent leaves the text
    alone, and anything else is logged and the rest of the turn still goes out."""
    sent: list[Message] = []
    for item in plan:
        try:
            sent.append(await _send_item(bot, desk, chat_id, item, chat_data))
        except Forbidden:
            log.warning("a chat refused the bot mid-turn")  # blocked: nothing more will arrive
            break
        except Exception as exc:  # noqa: BLE001 - Telegram refused it, or buttons could not be issued
            log.warning("a reply could not be sent (%s); sending it plainly", type(exc).__name__)
            fallback = _plain(item)
            if fallback:
                try:
                    sent.append(await send_text(bot, chat_id, fallback))
                except Exception:  # noqa: BLE001
                    log.warning("a reply could not be sent even plainly (%s)", type(exc).__name__)
    return sent


def _plain(item: Outgoing) -> str:
    if item.venue is not None:
        return f"地点：{item.venue.title}（{item.venue.address or item.venue.title}）"
    return item.text or ""


async def _send_item(bot: Bot, desk: MessengerFacade, chat_id: int, item: Outgoing, chat_data: dict) -> Message:
    if item.venue is not None:
        return await send_venue(bot, chat_id, item.venue)
    markup: Union[InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, None] = None
    if item.buttons:
        markup = await inline_keyboard(desk, chat_id, item.buttons)
    elif item.keyboard:
        markup = reply_keyboard(item.keyboard)
        chat_data["reply_keyboard"] = item.keyboard
    elif chat_data.pop("reply_keyboard", None):
        markup = ReplyKeyboardRemove()
    return await send_text(bot, chat_id, item.text, markup)
