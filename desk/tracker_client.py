"""A tiny client for the Rasa server's conversation trackers (the transcripts)."""
from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any, Optional
from urllib.parse import quote

import requests

from court.core import internal_auth

TIMEOUT = 5  # seconds; a slow Rasa must not hang an agent's page
HEALTH_TTL = 10  # seconds an answer about the assistant's health is reused across pages


class TrackerUnavailable(Exception):
    """Rasa could not be reached or refused the request."""


class TrackerClient:
    """Rasa's HTTP API with a bearer JWT signed by RASA_JWT_SECRET (court/core/internal_auth.py)."""

    def __init__(self, base_url: Optional[str] = None) -> None:
        self.base_url = (base_url or os.environ.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/")
        self._headers = internal_auth.rasa_headers("desk")
        self._health: tuple[float, Optional[str]] = (0.0, None)

    def degraded(self) -> Optional[str]:
        """None when residents are answered; else which part is down, in Chinese (cached briefly)."""
        checked, answer = self._health
        if time.monotonic() - checked < HEALTH_TTL:
            return answer
        try:
            body = requests.get(f"{self.base_url}/webhooks/court/", timeout=2).json()
            answer = None if body.get("status") == "ok" else "业务动作服务无响应"
        except (requests.RequestException, ValueError):
            answer = "对话助手无响应"
        self._health = (time.monotonic(), answer)
        return answer

    def _url(self, conversation_id: str, suffix: str = "") -> str:
        # Conversation ids come from chats; quote them so they stay one path segment.
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/tracker{suffix}"

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(method, url, timeout=TIMEOUT, headers=self._headers, **kwargs)
            response.raise_for_status()
        except requests.RequestException as exc:
            # Only the exception type: the URL holds a conversation id, bodies hold message text.
            raise TrackerUnavailable(type(exc).__name__) from None
        return response

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """Resident, bot and agent messages, oldest first."""
        try:
            events = self._call("GET", self._url(conversation_id)).json().get("events") or []
        except ValueError:
            raise TrackerUnavailable("bad json") from None
        lines = []
        for event in events:
            kind = event.get("event")
            text = (event.get("text") or "").strip()
            if kind not in ("user", "bot") or not text or text.startswith("/"):
                continue  # button payloads and slash commands are not what anyone said
            who = "resident" if kind == "user" else ("agent" if (event.get("metadata") or {}).get("agent") else "bot")
            at = dt.datetime.fromtimestamp(float(event.get("timestamp") or 0), tz=dt.timezone.utc)
            lines.append({"who": who, "text": text, "at": at})
        return lines

    def record_agent_reply(self, conversation_id: str, text: str, agent: str) -> None:
        """Append the agent's words to the transcript without the bot saying anything."""
        self._call("POST", self._url(conversation_id, "/events"),
                   json={"event": "bot", "text": text, "metadata": {"agent": agent}})

    def resume(self, conversation_id: str) -> None:
        """Hand the conversation back to the assistant. The resident's messages
        while paused got no bot turn; a closing action_listen keeps the next
        message from being read as a turn without an answer."""
        self._call("POST", self._url(conversation_id, "/events"),
                   json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}])
