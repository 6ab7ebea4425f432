"""The Rasa server, seen from the front end: one message in, a list of replies out."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import aiohttp
import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from court.core import internal_auth

log = logging.getLogger(__name__)


class RasaUnavailable(Exception):
    """Rasa (or the action server or database behind it) did not answer."""


class _Transient(Exception):
    pass


class RasaClient:
    """Messages go to the court's REST channel with its shared secret; tracker
    calls go to Rasa's HTTP API with a bearer JWT (court/core/internal_auth.py)."""

    def __init__(self, base_url: str, *, timeout: float = 30, attempts: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.timeout = timeout
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=3))
        # Messages, the hot path, go through aiohttp (already in Rasa's venv): a small fraction of
        # httpx's CPU per request, which the front ends otherwise take from Rasa on the same cores.
        self._messages: Optional[aiohttp.ClientSession] = None
        self._channel = internal_auth.channel_headers()
        self._api = internal_auth.rasa_headers("bot")

    def _session(self) -> aiohttp.ClientSession:
        # Made in the running event loop on first use, kept for the process's life (keep-alive to Rasa).
        if self._messages is None or self._messages.closed:
            self._messages = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, connect=3),
                connector=aiohttp.TCPConnector(limit=100, keepalive_timeout=30))
        return self._messages

    async def send(self, sender: str, message: str, metadata: Optional[dict[str, Any]] = None) -> list[dict]:
        """Relay one message; retries brief hiccups, then raises RasaUnavailable."""
        body = {"sender": sender, "message": message, "metadata": metadata or {}}
        try:
            async for attempt in AsyncRetrying(stop=stop_after_attempt(self.attempts),
                                               wait=wait_exponential(multiplier=0.3, max=2),
                                               retry=retry_if_exception_type(_Transient), reraise=True):
                with attempt:
                    return await self._post(body)
        except _Transient as exc:
            raise RasaUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")

    async def _post(self, body: dict) -> list[dict]:
        try:
            async with self._session().post(f"{self.base_url}/webhooks/court/webhook", json=body,
                                            headers=self._channel) as response:
                status = response.status
                replies = await response.json(content_type=None) if status < 400 else None
        except asyncio.TimeoutError as exc:
            # Rasa may have handled it; a retry could answer twice, so give up now.
            raise RasaUnavailable(f"timeout: {exc}") from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if status >= 500:
            # Rasa answers 500 when an action (or the database behind it) failed.
            raise RasaUnavailable(f"rasa status {status}")
        if status in (401, 403):
            log.error("the court channel refused the bot: REST_CHANNEL_SECRET differs from Rasa's")
            raise RasaUnavailable(f"rasa status {status}")
        if status >= 400:
            raise RasaUnavailable(f"rasa status {status}")
        return replies if isinstance(replies, list) else []

    async def reset(self, sender: str) -> None:
        """Forget a conversation (its tracker holds the resident's name and phone)."""
        try:
            response = await self._client.put(f"{self.base_url}/conversations/{sender}/tracker/events", json=[],
                                              headers=self._api)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"reset failed: {exc}") from exc

    async def paused(self, sender: str) -> bool:
        """Whether the conversation is paused (a 12368 agent has it)."""
        try:
            response = await self._client.get(f"{self.base_url}/conversations/{sender}/tracker",
                                              params={"include_events": "NONE"}, headers=self._api)
            response.raise_for_status()
            return bool(response.json().get("paused"))
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"tracker unavailable: {type(exc).__name__}") from exc

    async def resume(self, sender: str) -> None:
        """Hand a paused conversation back to the assistant (a give-back it missed while down)."""
        try:
            response = await self._client.post(
                f"{self.base_url}/conversations/{sender}/tracker/events",
                json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}], headers=self._api)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"resume failed: {type(exc).__name__}") from exc

    async def healthy(self) -> bool:
        try:
            return (await self._client.get(f"{self.base_url}/status", headers=self._api, timeout=3)).is_success
        except httpx.HTTPError:
            return False

    async def close(self) -> None:
        await self._client.aclose()
        if self._messages is not None:
            await self._messages.close()
