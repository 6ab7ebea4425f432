"""The Bot API methods that hand updates to the bot: getUpdates or a webhook, and ending the session.

getUpdates (offsets confirm and drop updates for good; a new long poll
terminates the previous one with 409), setWebhook, deleteWebhook,
getWebhookInfo, close and logOut, as a mixin of
`tools.fake_telegram.api.BotApi`. The webhook's HTTP delivery is
`tools.fake_telegram.webhook`.
"""
from __future__ import annotations

import asyncio
import copy
import itertools
import re
import time
from typing import Optional

from tools.fake_telegram.params import ApiError, Params, bad
from tools.fake_telegram.shapes import ALL_UPDATE_TYPES, DEFAULT_UPDATE_TYPES
from tools.fake_telegram.state import BotState
from tools.fake_telegram.webhook import deliver_updates, webhook_target

LONG_POLL_MAX_TIMEOUT = 50
LONG_POLL_WAIT_AFTER = 0.001  # tdlib batches updates arriving within 1 ms of a wake-up

CONFLICT_POLL = ("Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
                 "running")
CONFLICT_WEBHOOK = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                    "the webhook first")


class UpdateMethods(BotState):
    """The update queue's two ways out, and the session's end."""

    # ---- getUpdates --------------------------------------------------------------------------

    def _abort_long_poll(self, reason: Optional[str]) -> None:
        """Runs on the event loop. reason None answers the poll with what it has."""
        fut = self.long_poll
        if fut is not None and not fut.done():
            fut.set_result(("conflict", reason) if reason else "wake")
        self.long_poll = None

    def _take_updates(self, offset: int, limit: int) -> tuple[list[dict], int]:
        tail = self.next_update_id
        head = self.updates[0]["update_id"] if self.updates else tail
        if offset <= 0:
            if self.updates and offset < 0:
                offset += tail  # negative offsets count from the end of the queue
            offset = max(offset, head)
        elif offset > tail:
            offset = head  # an offset "in the future" reads from the head and confirms nothing
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()  # confirmed: gone for good
        return [copy.deepcopy(u) for u in itertools.islice(self.updates, limit)], offset

    async def get_updates(self, p: Params) -> list:
        with self.lock:
            if self.webhook_url:
                raise ApiError(409, CONFLICT_WEBHOOK)
            offset = p.int("offset", 0)
            limit = p.int("limit", 100, 1, 100)
            timeout = p.int("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
            allowed = p.json("allowed_updates", "allowed updates")
            if allowed is not None:
                names = {a for a in allowed if isinstance(a, str) and a in ALL_UPDATE_TYPES} \
                    if isinstance(allowed, list) else set()
                self.allowed_updates = names or set(DEFAULT_UPDATE_TYPES)
            batch, offset = self._take_updates(offset, limit)
            if batch or timeout == 0:
                self.changed.notify_all()
                return batch
            self._abort_long_poll(CONFLICT_POLL)
            fut = asyncio.get_running_loop().create_future()
            self.long_poll = fut
            self.poll_started = time.monotonic()
            self.changed.notify_all()
        try:
            reason = await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            reason = "timeout"
        finally:
            with self.lock:
                if self.long_poll is fut:
                    self.long_poll = None
                self.changed.notify_all()
        if isinstance(reason, tuple):
            raise ApiError(409, reason[1])
        if reason == "wake":
            await asyncio.sleep(LONG_POLL_WAIT_AFTER)
        with self.lock:
            return self._take_updates(offset, limit)[0]

    # ---- webhooks ----------------------------------------------------------------------------

    def delete_webhook(self, p: Params) -> tuple:
        was = bool(self.webhook_url)
        self.webhook_url = ""
        self._stop_webhook_sender()
        if p.bool("drop_pending_updates"):
            self.updates.clear()
        return True, "Webhook was deleted" if was else "Webhook is already deleted"

    def set_webhook(self, p: Params) -> tuple:
        url = p.str("url") or ""
        if not url:
            return self.delete_webhook(p)
        if not url.startswith("https://"):
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.str("secret_token") or ""
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad("bad webhook: Secret token contains unallowed characters")
        max_connections = p.int("max_connections", 40, 1, 100)
        allowed = p.json("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            self.allowed_updates = {a for a in allowed if a in ALL_UPDATE_TYPES} or set(DEFAULT_UPDATE_TYPES)
        self.webhook_url, self.webhook_secret, self.webhook_max_connections = url, secret, max_connections
        if p.bool("drop_pending_updates"):
            self.updates.clear()
        self._abort_long_poll("Conflict: terminated by setWebhook request")
        if webhook_target(self.webhook_routes, url) is None:
            self.issue(f"setWebhook: no route for {url} (FakeTelegram(webhook_routes=...)); nothing is delivered")
        else:
            self._start_webhook_sender()
        return True, "Webhook was set"

    def get_webhook_info(self, p: Params) -> dict:
        info: dict = {"url": self.webhook_url, "has_custom_certificate": False,
                      "pending_update_count": len(self.updates)}
        if self.webhook_url:
            info["max_connections"] = self.webhook_max_connections
            if self.webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        self.check("WebhookInfo", info)
        return info

    def _start_webhook_sender(self) -> None:
        """Runs on the event loop (setWebhook's handler): one sender per bot, replaced on each setWebhook."""
        self._stop_webhook_sender()
        self._webhook_wake = asyncio.Event()
        self._webhook_task = asyncio.get_running_loop().create_task(deliver_updates(self, self._webhook_wake))

    def _stop_webhook_sender(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
        self._webhook_task, self._webhook_wake = None, None

    # ---- the session's end -------------------------------------------------------------------

    def close(self, p: Params) -> bool:
        self._abort_long_poll(None)
        return True

    def log_out(self, p: Params) -> bool:
        self._abort_long_poll(None)
        self.logged_out = True
        return True
