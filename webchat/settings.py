"""Web chat settings read from the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from court.records import retention


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass(frozen=True)
class WebSettings:
    host: str = field(default_factory=lambda: os.environ.get("WEBCHAT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(os.environ.get("WEBCHAT_PORT", 8090)))
    # The address residents open (QR codes, SMS, the desk's links): the HTTPS name behind the proxy.
    public_url: str = field(default_factory=lambda: os.environ.get("WEBCHAT_PUBLIC_URL", ""))
    # "1": always Secure cookies; "0": never (a test rig only); unset: Secure unless plain HTTP on loopback.
    secure_cookies: str = field(default_factory=lambda: os.environ.get("WEBCHAT_SECURE_COOKIES", ""))
    trust_proxy: bool = field(default_factory=lambda: os.environ.get("WEBCHAT_TRUST_PROXY") == "1")
    rasa_url: str = field(default_factory=lambda: os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    rasa_timeout: float = field(default_factory=lambda: _float("RASA_TIMEOUT", 30))
    # The same limits as Telegram's (BOT_*), so a resident meets one set of rules.
    rate_messages: int = field(default_factory=lambda: int(os.environ.get("BOT_RATE_MESSAGES", 8)))
    rate_window: float = field(default_factory=lambda: _float("BOT_RATE_WINDOW", 10))
    max_text: int = field(default_factory=lambda: int(os.environ.get("BOT_MAX_TEXT", 1000)))
    # New conversations per client address per 10 minutes: a script cannot fill the table.
    new_per_address: int = field(default_factory=lambda: int(os.environ.get("WEBCHAT_NEW_PER_ADDRESS", 30)))
    streams_per_chat: int = 4
    # The cookie lives as long as the court keeps the conversation (COURT_WEB_MESSAGE_DAYS).
    kept_days: int = field(default_factory=retention.web_message_days)
    outbox_interval: float = field(default_factory=lambda: _float("WEBCHAT_OUTBOX_INTERVAL", 1.0))
    retry_interval: float = field(default_factory=lambda: _float("BOT_RETRY_INTERVAL", 5.0))

    def link(self, path: str) -> str:
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + path
