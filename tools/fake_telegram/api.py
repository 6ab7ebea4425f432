"""The Bot API for one bot: its state and every method the fake implements, by Telegram's name.

`BotApi` is `tools.fake_telegram.state.BotState` with the methods of
`messages` (sendMessage, editMessageText, answerCallbackQuery...), `account`
(getMe, setMyCommands...) and `updates` (getUpdates, setWebhook, close...)
mixed in; `METHODS` maps each Bot API name to its Python method. Behaviour
follows tdlib/telegram-bot-api where it is observable by a client.
"""
from __future__ import annotations

import telegram

from tools.fake_telegram.account import AccountMethods
from tools.fake_telegram.messages import MessageMethods
from tools.fake_telegram.updates import UpdateMethods


class BotApi(MessageMethods, AccountMethods, UpdateMethods):
    """The Bot API state machine for one bot."""


# Telegram matches method names case-insensitively: lower-cased name -> (Bot API name, BotApi method).
METHODS: dict[str, tuple[str, str]] = {
    name.lower(): (name, attr) for name, attr in [
        ("getMe", "get_me"), ("getUpdates", "get_updates"), ("deleteWebhook", "delete_webhook"),
        ("setWebhook", "set_webhook"), ("getWebhookInfo", "get_webhook_info"),
        ("setMyCommands", "set_my_commands"), ("getMyCommands", "get_my_commands"),
        ("deleteMyCommands", "delete_my_commands"), ("sendMessage", "send_message"),
        ("sendLocation", "send_location"), ("sendVenue", "send_venue"), ("sendContact", "send_contact"),
        ("sendChatAction", "send_chat_action"), ("answerCallbackQuery", "answer_callback_query"),
        ("editMessageText", "edit_message_text"), ("editMessageReplyMarkup", "edit_message_reply_markup"),
        ("deleteMessage", "delete_message"), ("getFile", "get_file"), ("close", "close"), ("logOut", "log_out"),
    ]
}


def _real_methods() -> set[str]:
    """Every Bot API method python-telegram-bot knows (its camelCase aliases)."""
    names = {n.lower() for n in dir(telegram.Bot)
             if not n.startswith("_") and n[0].islower() and any(ch.isupper() for ch in n)}
    return names | {"close"}


REAL_METHODS = _real_methods()
