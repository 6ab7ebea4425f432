"""What every handler needs, kept in the application's bot_data."""
from __future__ import annotations

from dataclasses import dataclass

from telegram.ext import ContextTypes

from bot.rasa_client import RasaClient
from bot.ratelimit import UserRateLimiter
from bot.relay import Relay
from bot.settings import BotSettings
from court.facades.messenger import MessengerFacade


@dataclass
class Services:
    settings: BotSettings
    desk: MessengerFacade
    assistant: RasaClient
    relay: Relay
    limiter: UserRateLimiter


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]
