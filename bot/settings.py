"""Front-end settings read from the environment."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

HOTLINE = "12368"


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class BotSettings:
    token: Optional[str] = field(default_factory=lambda: os.environ.get("TELEGRAM_BOT_TOKEN") or None)
    # A local Bot API server (or the tests' fake) instead of api.telegram.org.
    api_base: str = field(default_factory=lambda: os.environ.get("TELEGRAM_API_BASE", "https://api.telegram.org"))
    rasa_url: str = field(default_factory=lambda: os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    rasa_timeout: float = field(default_factory=lambda: _float("RASA_TIMEOUT", 30))
    # Per-user limit: this many messages per window, then a polite refusal.
    rate_messages: int = field(default_factory=lambda: int(os.environ.get("BOT_RATE_MESSAGES", 8)))
    rate_window: float = field(default_factory=lambda: _float("BOT_RATE_WINDOW", 10))
    max_text: int = field(default_factory=lambda: int(os.environ.get("BOT_MAX_TEXT", 1000)))
    outbox_interval: float = field(default_factory=lambda: _float("BOT_OUTBOX_INTERVAL", 1.0))
    retry_interval: float = field(default_factory=lambda: _float("BOT_RETRY_INTERVAL", 5.0))
    poll_timeout: int = field(default_factory=lambda: int(os.environ.get("BOT_POLL_TIMEOUT", 10)))
    # Webhook mode (several front-end processes behind a balancer): Telegram POSTs each update to
    # TELEGRAM_WEBHOOK_URL (HTTPS, ended at the balancer), which forwards to LISTEN:PORT of one process.
    # Unset: long polling, which allows one process only.
    webhook_url: str = field(default_factory=lambda: os.environ.get("TELEGRAM_WEBHOOK_URL", ""))
    webhook_listen: str = field(default_factory=lambda: os.environ.get("TELEGRAM_WEBHOOK_LISTEN", "127.0.0.1"))
    webhook_port: int = field(default_factory=lambda: int(os.environ.get("TELEGRAM_WEBHOOK_PORT", 8443)))
    webhook_secret: str = field(default_factory=lambda: os.environ.get("TELEGRAM_WEBHOOK_SECRET", ""))
    webhook_connections: int = field(default_factory=lambda: int(os.environ.get("TELEGRAM_WEBHOOK_CONNECTIONS", 40)))

    @property
    def webhook_path(self) -> str:
        """The path part of the webhook URL: what each process serves (the balancer keeps the path)."""
        return urlsplit(self.webhook_url).path.strip("/")

    def webhook_problem(self) -> Optional[str]:
        """Why the webhook settings cannot work, or None."""
        if not self.webhook_url:
            return None
        parts = urlsplit(self.webhook_url)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            return "TELEGRAM_WEBHOOK_URL must be an https:// URL with a path (Telegram calls only HTTPS)"
        if not re.fullmatch(r"[A-Za-z0-9_-]{32,256}", self.webhook_secret):
            # Anyone who finds the URL could post forged updates without it.
            return "TELEGRAM_WEBHOOK_SECRET must be 32-256 characters of A-Z, a-z, 0-9, _ and -"
        if not 1 <= self.webhook_connections <= 100:
            return "TELEGRAM_WEBHOOK_CONNECTIONS must be between 1 and 100"
        return None

    @property
    def base_url(self) -> str:
        return self.api_base.rstrip("/") + "/bot"

    @property
    def base_file_url(self) -> str:
        return self.api_base.rstrip("/") + "/file/bot"
