"""The REST channel the Telegram front end talks to, behind a shared secret.

Rasa's stock ``rest`` channel lets anyone who reaches the port speak as any
sender with any metadata; this one wants ``X-Court-Channel-Secret`` (the
``secret`` in credentials.yml) on every message, checks the body's shape, and
never logs what the resident wrote.
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from court.internal_auth import CHANNEL_HEADER, matches
from court.privacy import install_log_masking

logger = logging.getLogger(__name__)
install_log_masking()  # the Rasa server process: this module is imported before it serves

MAX_SENDER = 64
MAX_MESSAGE = 4000


class CourtRestInput(InputChannel):
    """POST /webhooks/court/webhook {"sender", "message", "metadata"} → the replies as JSON."""

    def __init__(self, secret: Optional[Text]) -> None:
        self.secret = secret

    @classmethod
    def name(cls) -> Text:
        return "court"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "CourtRestInput":
        secret = (credentials or {}).get("secret")
        if not secret:
            # Fail closed: without a secret the channel would be the open door it replaces.
            raise ValueError("the court channel needs a secret (REST_CHANNEL_SECRET)")
        return cls(str(secret))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("court_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not matches(request.headers.get(CHANNEL_HEADER), self.secret):
                return response.json({"error": "unauthorized"}, status=401)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - Sanic raises its own error for bad JSON
                body = None
            parsed = _parse(body)
            if parsed is None:
                return response.json({"error": "bad request"}, status=400)
            sender, text, metadata = parsed
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata=metadata))
            except CancelledError:
                logger.error("message handling timed out")
            except Exception:  # noqa: BLE001 - e.g. the lock store (Redis) or the tracker store is down
                # Rasa saves the turn only when it is handled to the end, so nothing of it is kept:
                # no half answer; a 503 makes the front end apologise and send the message again later.
                logger.exception("message handling failed")  # the trace, never the text
                return response.json({"error": "unavailable"}, status=503)
            return response.json(collector.messages)

        return webhook


def _parse(body: Any) -> Optional[tuple[str, str, Dict[str, Any]]]:
    if not isinstance(body, dict):
        return None
    sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata") or {}
    if not isinstance(sender, str) or not 0 < len(sender) <= MAX_SENDER:
        return None
    if not isinstance(text, str) or len(text) > MAX_MESSAGE or not isinstance(metadata, dict):
        return None
    return sender, text, metadata
