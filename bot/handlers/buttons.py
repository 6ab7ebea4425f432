"""Inline button presses. Callback data is an opaque token; the court resolves
it to the payload it stands for, for this chat only, once."""
from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.handlers import mediator, resident, updates
from bot.notifications import ACCEPT, DECLINE, DELEGATION_ACCEPT, DELEGATION_DECLINE
from bot.outgoing import send_text
from bot.services import services
from court.core.errors import CourtError

log = logging.getLogger(__name__)
MARK = "\n\n✔ {}"


async def _mark_pressed(update: Update, label: str) -> None:
    """Remove the keyboard so it cannot be pressed again, and show the choice."""
    message = updates.present(update.callback_query, "a button press").message
    if not isinstance(message, Message):  # Telegram sends a message over 48 hours old as inaccessible
        return
    with contextlib.suppress(BadRequest):  # too old to edit, or already edited
        if message.text:
            await message.edit_text(message.text + MARK.format(label), reply_markup=None)
        else:
            await message.edit_reply_markup(reply_markup=None)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = updates.present(update.callback_query, "a button press")
    chat_id = updates.chat_id(update)
    notice = None
    try:
        try:
            button = await asyncio.to_thread(services(context).desk.press_button, chat_id, query.data or "")
        except CourtError as exc:
            notice = exc.message
            return
        await _mark_pressed(update, button.label)
        await _route(update, context, chat_id, button.payload)
    finally:
        # Always answered, or the resident's button spins until Telegram gives up.
        with contextlib.suppress(TelegramError):
            await query.answer(text=notice, show_alert=False)


async def _route(update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, payload: str) -> None:
    if payload.startswith("/"):
        if await resident.admit(update, context):
            await resident.relay(update, context, payload)
    elif payload.startswith((ACCEPT, DECLINE)):
        await send_text(context.bot, chat_id, await mediator.answer_push(context, chat_id, payload))
    elif payload.startswith((DELEGATION_ACCEPT, DELEGATION_DECLINE)):
        await send_text(context.bot, chat_id, await mediator.answer_delegation(context, chat_id, payload))
    elif payload.startswith(mediator.OUTCOME_PREFIX):
        reference, _, result = payload[len(mediator.OUTCOME_PREFIX):].partition(":")
        await send_text(context.bot, chat_id, await mediator.record(context, chat_id, reference, result))
    elif payload == resident.DELETE_CONFIRM:
        await send_text(context.bot, chat_id, await resident.erase(update, context))
    elif payload == resident.DELETE_KEEP:
        await send_text(context.bot, chat_id, "好的，您的信息保持不变。")
    else:
        log.error("button with an unknown payload kind")
