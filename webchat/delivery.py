"""The web chat's side of the relay and of the outbox.

WebPort shows the relay's output on the page: each message is stored (the page
reads it back on return) and handed to the open pages. WebOutbox delivers the
pushes addressed to web conversations the same way: at least once, shown once
(the message row is keyed by the outbox row), with an SMS notice when a sender
is configured and no page is open.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import quote

from bot.notifications import UnknownTemplate, render
from bot.replies import Outgoing, Venue
from court.facades.messenger import Delivery, MessengerFacade
from court.messaging import conversations, sms
from court.messaging.webchat import WebChatDesk, number_of
from court.store import notify
from webchat.hub import Hub

log = logging.getLogger(__name__)

# Changes a resident must not miss: worth a text message when the page is closed.
SMS_NOTICES = {
    "appointment_accepted": "调解员已确认您的预约",
    "appointment_reassigned": "您的调解员有变动",
    "appointment_declined": "您的预约需要重新安排",
    "appointment_rescheduled": "您的预约已改到新时间",
    "appointment_cancelled": "您的预约已取消",
    "point_moved": "您的调解地点有变动",
    "reminder_day_before": "明天有您的调解预约",
    "reminder_two_hours": "两小时后有您的调解预约",
    "agent_booked": "12368热线已为您预约调解",
    "agent_reply": "12368热线回复了您",
}


def venue_json(venue: Optional[Venue]) -> Optional[dict[str, Any]]:
    """The pin, with a geo: URI (Android opens the map app) and a web map that works in China."""
    if venue is None:
        return None
    lat, lng = f"{venue.latitude:.6f}", f"{venue.longitude:.6f}"
    return {"title": venue.title, "address": venue.address, "latitude": venue.latitude, "longitude": venue.longitude,
            "geo": f"geo:{lat},{lng}?q={lat},{lng}({quote(venue.title)})",
            "map": f"https://uri.amap.com/marker?position={lng},{lat}&name={quote(venue.title)}&coordinate=wgs84"}


def _item(item: Outgoing) -> dict[str, Any]:
    if item.venue is not None:
        return {"text": "", "venue": venue_json(item.venue)}
    return {"text": item.text, "buttons": item.buttons, "keyboard": item.keyboard}


class WebPort:
    """relay.ChatPort for the web chat. A request relaying a message collects what was shown
    meanwhile (``collect``), so it answers without reading the conversation back."""

    def __init__(self, web: WebChatDesk, hub: Hub) -> None:
        self.web, self.hub = web, hub
        self._collectors: dict[int, list[list[dict[str, Any]]]] = {}

    @contextlib.contextmanager
    def collect(self, number: int) -> Iterator[list[dict[str, Any]]]:
        shown: list[dict[str, Any]] = []
        self._collectors.setdefault(number, []).append(shown)
        try:
            yield shown
        finally:
            collectors = self._collectors[number]
            collectors.remove(shown)
            if not collectors:
                del self._collectors[number]

    def _shown(self, number: int, message: dict[str, Any]) -> None:
        self.hub.publish(number, {"type": "message", "message": message})
        for shown in self._collectors.get(number, ()):
            shown.append(message)

    async def show(self, number: int, **item: Any) -> Optional[dict[str, Any]]:
        message = await asyncio.to_thread(self.web.show_plan_item, number, **item)
        if message is not None:
            self._shown(number, message)
        return message

    async def settle(self, chat_id: int, inbound_id: int, items: Sequence[Outgoing]) -> None:
        number = number_of(chat_id)
        for message in await asyncio.to_thread(self.web.settle, number, inbound_id, [_item(i) for i in items]):
            self._shown(number, message)

    async def typing(self, chat_id: int) -> None:
        self.hub.publish(number_of(chat_id), {"type": "typing"})

    async def tell(self, chat_id: int, text: str) -> None:
        await self.show(number_of(chat_id), text=text)

    async def send_plan(self, chat_id: int, items: Sequence[Outgoing], chat_data: dict) -> None:
        number = number_of(chat_id)
        for item in items:
            await self.show(number, **_item(item))


class WebOutbox:
    """Delivers pushes to web conversations. On PostgreSQL a push written anywhere wakes it
    (court/store/notify.py) and it polls only every ``listening_interval`` for reminders
    falling due and rows left by a crash; on SQLite it polls every ``interval``."""

    def __init__(self, desk: MessengerFacade, web: WebChatDesk, hub: Hub, *, link: str, interval: float = 1.0,
                 batch: int = 50, listening_interval: float = 5.0) -> None:
        self.desk, self.web, self.hub, self.link = desk, web, hub, link
        self.interval, self.batch, self.listening_interval = interval, batch, listening_interval
        self.sent = 0
        self.wakeup = notify.Listener(desk.db, notify.OUTBOX)

    async def run(self) -> None:
        try:
            while True:
                done = 0
                listening = self.wakeup.listening or self.wakeup.start()  # before the pass: no wake-up is missed
                try:
                    done = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - a database outage must not kill the loop
                    log.exception("web outbox pass failed; retrying")
                if done >= self.batch:
                    continue  # more are waiting: no pause between full batches
                if listening and self.wakeup.listening:
                    await self.wakeup.wait(max(self.interval, self.listening_interval))
                else:
                    await asyncio.sleep(self.interval)
        finally:
            self.wakeup.stop()

    async def run_once(self) -> int:
        deliveries = await asyncio.to_thread(self.desk.claim_pushes, self.batch, conversations.WEB)
        for delivery in deliveries:
            await self._deliver(delivery)
        self.sent += len(deliveries)
        return len(deliveries)

    async def _deliver(self, delivery: Delivery) -> None:
        number = number_of(delivery.chat_id)
        try:
            notice = render(delivery.recipient_type, delivery.template, delivery.payload)
        except UnknownTemplate:
            log.error("no wording for push template %s", delivery.template)
            await asyncio.to_thread(self.desk.push_undeliverable, delivery.outbox_id, "unknown template")
            return
        if not await asyncio.to_thread(self.web.exists, number):
            await asyncio.to_thread(self.desk.push_undeliverable, delivery.outbox_id, "web chat gone")
            return
        message = await asyncio.to_thread(self.web.show_plan_item, number, text=notice.text, buttons=notice.buttons,
                                          venue=venue_json(notice.venue), role="push",
                                          outbox_id=delivery.outbox_id)
        await asyncio.to_thread(self.desk.push_sent, delivery.outbox_id)
        if message is None:
            return  # shown already: a lease ran out after the page had it
        self.hub.publish(number, {"type": "message", "message": message})
        what = SMS_NOTICES.get(delivery.template)
        if what and not self.hub.open(number) and sms.enabled():
            phone = await asyncio.to_thread(self.web.resident_phone, number)
            await asyncio.to_thread(sms.send_notice, phone, what, self.link)
