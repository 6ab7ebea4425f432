"""Front-end settings read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional

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

    @property
    def base_url(self) -> str:
        return self.api_base.rstrip("/") + "/bot"

    @property
    def base_file_url(self) -> str:
        return self.api_base.rstrip("/") + "/file/bot"
