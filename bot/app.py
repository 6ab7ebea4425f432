"""The Telegram front end: builds the python-telegram-bot application.

Run on its own (`python -m bot.app`) it polls Telegram, or the Bot API server
named by TELEGRAM_API_BASE, and talks to the Rasa server at RASA_URL.
`python -m stack` starts it with Rasa, the action server and the rest.
"""
from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Optional

from telegram import BotCommand, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import heartbeat
from bot.delivery import OutboxWorker
from bot.handlers import buttons, mediator, resident
from bot.rasa_client import RasaClient
from bot.ratelimit import UserRateLimiter
from bot.relay import Relay
from bot.services import Services
from bot.settings import BotSettings
from court.core.privacy import install_log_masking
from court.core.settings import spool_path
from court.facades.messenger import MessengerFacade
from court.store.db import Database

log = logging.getLogger(__name__)

RESIDENT_COMMANDS = [
    BotCommand("start", "开始 / 重新开始"),
    BotCommand("help", "能帮您做什么"),
    BotCommand("privacy", "个人信息说明"),
    BotCommand("delete_my_data", "删除我的个人信息"),
    BotCommand("cancel", "停止当前填写"),
]
UNSUPPORTED_MEDIA = (filters.Sticker.ALL | filters.PHOTO | filters.VOICE | filters.AUDIO | filters.Document.ALL
                     | filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION | filters.POLL | filters.Dice.ALL)


async def _background(app: Application) -> None:
    svc = services_of(app)
    worker = OutboxWorker(app.bot, svc.desk, interval=svc.settings.outbox_interval)
    app.bot_data["outbox_worker"] = worker
    app.bot_data["tasks"] = [asyncio.create_task(worker.run(), name="outbox"),
                             asyncio.create_task(_retry_loop(app), name="inbound-retry")]
    try:
        await app.bot.set_my_commands(RESIDENT_COMMANDS)
    except Exception:  # noqa: BLE001 - a menu is a nicety; the bot works without it
        log.warning("could not set the command menu")


async def _retry_loop(app: Application) -> None:
    svc = services_of(app)
    while True:
        heartbeat.beat()  # the event loop is alive: the launcher's supervisor reads this
        try:
            await svc.relay.retry_due(app.bot, lambda chat_id: app.chat_data[chat_id])
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("inbound retry pass failed")
        await asyncio.sleep(svc.settings.retry_interval)


async def _stop_background(app: Application) -> None:
    for task in app.bot_data.get("tasks", []):
        task.cancel()
    await asyncio.gather(*app.bot_data.get("tasks", []), return_exceptions=True)
    await services_of(app).assistant.close()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, "抱歉，刚才出了点问题，请再发一次，或拨打12368诉讼服务热线。")
        except Exception:  # noqa: BLE001
            pass


ALLOWED_UPDATES = ["message", "callback_query"]


def services_of(app: Application) -> Services:
    return app.bot_data["services"]


def build(settings: BotSettings, desk: MessengerFacade, assistant: Optional[RasaClient] = None) -> Application:
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    app = (Application.builder().token(settings.token).base_url(settings.base_url)
           .base_file_url(settings.base_file_url).concurrent_updates(64)
           .job_queue(None)  # reminders are outbox rows in the database, not in-memory jobs
           .get_updates_read_timeout(settings.poll_timeout + 10)
           .post_init(_background).post_stop(_stop_background).build())
    assistant = assistant or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    app.bot_data["services"] = Services(
        settings=settings, desk=desk, assistant=assistant,
        # One spool per webhook process: a replica drains only what it kept itself.
        relay=Relay(desk, assistant, spool_path(f"telegram-{settings.webhook_port}" if settings.webhook_url
                                                else "telegram")),
        limiter=UserRateLimiter(settings.rate_messages, settings.rate_window))

    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", resident.start, filters=private))
    app.add_handler(CommandHandler("help", resident.help_command, filters=private))
    app.add_handler(CommandHandler("privacy", resident.privacy, filters=private))
    app.add_handler(CommandHandler("delete_my_data", resident.delete_my_data, filters=private))
    app.add_handler(CommandHandler("cancel", resident.cancel, filters=private))
    app.add_handler(CommandHandler("link", mediator.link, filters=private))
    app.add_handler(CommandHandler("today", mediator.today, filters=private))
    app.add_handler(CommandHandler("week", mediator.week, filters=private))
    app.add_handler(CommandHandler("outcome", mediator.outcome, filters=private))
    app.add_handler(CommandHandler("cases", mediator.cases, filters=private))
    app.add_handler(CommandHandler("contact", mediator.contact, filters=private))
    app.add_handler(CommandHandler("session", mediator.session, filters=private))
    app.add_handler(CallbackQueryHandler(buttons.pressed))
    app.add_handler(MessageHandler(private & filters.LOCATION, resident.location))
    app.add_handler(MessageHandler(private & filters.CONTACT, resident.contact))
    # Any other text, unknown "/commands" included: relayed as neutralised text.
    app.add_handler(MessageHandler(private & filters.TEXT, resident.text))
    app.add_handler(MessageHandler(private & UNSUPPORTED_MEDIA, resident.unsupported))
    app.add_error_handler(_on_error)
    return app


def configure_logging() -> None:
    logging.basicConfig(level=os.environ.get("BOT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token
    install_log_masking()  # phones and ID numbers masked, tracebacks included


def main() -> int:
    configure_logging()
    settings = BotSettings()
    problem = settings.webhook_problem()
    if problem:
        log.error("%s", problem)
        return 2
    db = Database()
    app = build(settings, MessengerFacade(db))
    if settings.webhook_url:
        # Every replica sets the same webhook; updates Telegram could not deliver wait there.
        app.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port, url_path=settings.webhook_path,
                        webhook_url=settings.webhook_url, secret_token=settings.webhook_secret,
                        max_connections=settings.webhook_connections, allowed_updates=ALLOWED_UPDATES,
                        drop_pending_updates=False, bootstrap_retries=-1)
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=settings.poll_timeout, drop_pending_updates=False)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
