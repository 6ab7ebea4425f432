"""Webhook mode's settings are checked before anything starts: Telegram calls only HTTPS, and
without a long secret anyone who found the URL could post forged updates."""
from __future__ import annotations

import pytest

from bot.settings import BotSettings

SECRET = "k" * 32


def test_polling_needs_no_webhook_settings() -> None:
    assert BotSettings(webhook_url="").webhook_problem() is None


def test_a_sound_webhook_and_its_path() -> None:
    settings = BotSettings(webhook_url="https://bot.court.example/telegram", webhook_secret=SECRET)
    assert settings.webhook_problem() is None and settings.webhook_path == "telegram"


@pytest.mark.parametrize("url, secret, connections, word", [
    ("http://bot.court.example/telegram", SECRET, 40, "https"),
    ("https://bot.court.example/", SECRET, 40, "path"),
    ("https:///telegram", SECRET, 40, "https"),
    ("https://bot.court.example/telegram", "", 40, "SECRET"),
    ("https://bot.court.example/telegram", "short", 40, "SECRET"),
    ("https://bot.court.example/telegram", "k" * 31 + "!", 40, "SECRET"),
    ("https://bot.court.example/telegram", SECRET, 0, "CONNECTIONS"),
    ("https://bot.court.example/telegram", SECRET, 101, "CONNECTIONS"),
])
def test_unsound_webhook_settings_are_named(url: str, secret: str, connections: int, word: str) -> None:
    problem = BotSettings(webhook_url=url, webhook_secret=secret, webhook_connections=connections).webhook_problem()
    assert problem is not None and word in problem


def test_the_front_end_refuses_to_start_on_unsound_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import app

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:test")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "http://insecure.example/hook")
    assert app.main() == 2
