"""Delivering the outbox: pushes the court wrote in the same transaction as the
change that caused them. At least once, with backoff; Telegram's 429
retry_after is honoured for the whole bot; a 403 (blocked) marks the recipient
and alerts the court. Nothing lives only in memory: claims are leases in the
database, so a restart picks up whatever was not confirmed as sent."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Optional, Union

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.notifications import UnknownTemplate, render
from bot.outgoing import inline_keyboard, send_venue
from court.facades.messenger import Delivery, MessengerFacade

log = logging.getLogger(__name__)


def _seconds(value: Union[int, float, dt.timedelta]) -> float:
    """Telegram's retry_after: whole seconds, or a timedelta (python-telegram-bot's choice)."""
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class OutboxWorker:
    def __init__(self, bot: Bot, desk: MessengerFacade, *, interval: float = 1.0, batch: int = 50) -> None:
        self.bot, self.desk, self.interval, self.batch = bot, desk, interval, batch
        self.sent = 0
        self._paused_until = 0.0

    async def run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database outage must not kill the loop
                log.exception("outbox pass failed; retrying")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many were sent."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._paused_until:
            return 0
        deliveries = await asyncio.to_thread(self.desk.claim_pushes, self.batch)
        sent = 0
        for index, delivery in enumerate(deliveries):
            retry_after = await self._deliver(delivery)
            if retry_after is not None:
                # Flood control applies to the whole bot: stop, and release the rest of the batch.
                self._paused_until = loop.time() + retry_after
                for rest in deliveries[index + 1:]:
                    await asyncio.to_thread(self.desk.push_retry, rest.outbox_id, "paused by flood control",
                                            retry_after)
                break
            sent += 1
        self.sent += sent
        return sent

    async def _deliver(self, delivery: Delivery) -> Optional[float]:
        """Send one push; returns Telegram's retry_after when it asked us to wait."""
        try:
            notice = render(delivery.recipient_type, delivery.template, delivery.payload)
        except UnknownTemplate:
            log.error("no wording for push template %s", delivery.template)
            await asyncio.to_thread(self.desk.push_undeliverable, delivery.outbox_id, "unknown template")
            return None
        try:
            markup = await inline_keyboard(self.desk, delivery.chat_id, notice.buttons)
            await self.bot.send_message(chat_id=delivery.chat_id, text=notice.text, reply_markup=markup)
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            await asyncio.to_thread(self.desk.push_retry, delivery.outbox_id, "429 flood control", wait)
            return wait
        except Forbidden as exc:
            await asyncio.to_thread(self.desk.push_blocked, delivery.outbox_id, f"403 {exc.message}"[:200])
            return None
        except BadRequest as exc:
            await asyncio.to_thread(self.desk.push_undeliverable, delivery.outbox_id, f"400 {exc.message}"[:200])
            return None
        except (NetworkError, TelegramError) as exc:
            await asyncio.to_thread(self.desk.push_retry, delivery.outbox_id, f"{type(exc).__name__}"[:200], None)
            return None
        await asyncio.to_thread(self.desk.push_sent, delivery.outbox_id)
        if notice.venue is not None:  # the map pin is a courtesy: the text already says where
            try:
                await send_venue(self.bot, delivery.chat_id, notice.venue)
            except TelegramError as exc:
                log.warning("venue after push %s not sent: %s", delivery.outbox_id, type(exc).__name__)
        return None
