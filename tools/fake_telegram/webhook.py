"""Webhook delivery: Telegram's side of a webhook, POSTing queued updates to the bot over HTTP.

A webhook URL is the court's public HTTPS address; `webhook_target` maps it to
the plain-HTTP balancer behind it (TLS ends at the balancer in production
too) with the routes given to `FakeTelegram(webhook_routes=...)`.
`deliver_updates` runs on the server's event loop, started by setWebhook
(`tools.fake_telegram.updates`).
"""
from __future__ import annotations

import asyncio
import copy
import time
from typing import Optional

from tools.fake_telegram.state import BotState


def webhook_target(routes: dict[str, str], url: str) -> Optional[str]:
    """The plain-HTTP address a webhook URL reaches through `routes` (public origin -> balancer)."""
    for origin, target in routes.items():
        if url == origin or url.startswith(origin.rstrip("/") + "/"):
            return target.rstrip("/") + url[len(origin.rstrip("/")):]
    return None


async def deliver_updates(api: BotState, wake: asyncio.Event) -> None:
    """Telegram's side of a webhook: each update is POSTed as JSON until the bot answers 2xx, in
    order, one at a time (max_connections=1 of Telegram's up to 100); a failure is retried after
    a growing pause and shows in getWebhookInfo's last_error_*. An update leaves the queue only
    once delivered, so a bot process killed mid-request gets it again (on another replica)."""
    import aiohttp

    pause = 0.0
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        while True:
            with api.lock:
                target = webhook_target(api.webhook_routes, api.webhook_url) if api.webhook_url else None
                update = copy.deepcopy(api.updates[0]) if api.updates else None
                headers = {"X-Telegram-Bot-Api-Secret-Token": api.webhook_secret} if api.webhook_secret else {}
            if target is None:
                return
            if update is None:
                wake.clear()
                await wake.wait()
                continue
            error: Optional[str] = None
            status = 0
            try:
                async with http.post(target, json=update, headers=headers) as response:
                    status = response.status
                    await response.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = "Connection refused" if isinstance(exc, aiohttp.ClientConnectorError) else \
                    f"Connection error: {type(exc).__name__}"
            with api.lock:
                api.webhook_deliveries.append({"update_id": update["update_id"], "status": status,
                                               "error": error, "at": time.time()})
                if error is None:
                    if api.updates and api.updates[0]["update_id"] == update["update_id"]:
                        api.updates.popleft()
                    pause = 0.0
                else:
                    api.webhook_last_error = (api.now(), error)
                    pause = min(max(pause * 2, 0.5), 8.0)
                api.changed.notify_all()
            if pause:
                await asyncio.sleep(pause)
