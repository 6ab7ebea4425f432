"""The Bot API methods about the bot itself: getMe and its command menus.

getMe, setMyCommands, getMyCommands and deleteMyCommands (menus per scope
and language), as a mixin of `tools.fake_telegram.api.BotApi`.
"""
from __future__ import annotations

import copy
import re

from tools.fake_telegram.params import Params, bad
from tools.fake_telegram.state import BotState

SCOPE_TYPES = {"default", "all_private_chats", "all_group_chats", "all_chat_administrators", "chat",
               "chat_administrators", "chat_member"}


class AccountMethods(BotState):
    """The bot's own profile and its command menus."""

    def get_me(self, p: Params) -> dict:
        me = {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
              "supports_inline_queries": False, "can_connect_to_business": False, "has_main_web_app": False}
        self.check("User", me)
        return me

    def _scope(self, p: Params) -> tuple:
        scope = p.json("scope", "bot command scope")
        if scope is None:
            return ("default",)
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad("unsupported bot command scope type specified")
        kind = scope["type"]
        if kind in ("chat", "chat_administrators", "chat_member"):
            state = self._chat(Params({"chat_id": scope.get("chat_id")}), write=False)
            if kind == "chat_member":
                return (kind, state.user["id"], int(scope.get("user_id") or 0))
            return (kind, state.user["id"])
        return (kind,)

    def _language(self, p: Params) -> str:
        lang = (p.str("language_code") or "").strip()
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad("invalid language code specified")
        return lang

    def set_my_commands(self, p: Params) -> bool:
        value = p.json("commands", "commands")
        if value is None:
            value = []
        if not isinstance(value, list):
            raise bad("expected an Array of BotCommand")
        commands = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("command"), str) \
                    or not isinstance(item.get("description"), str):
                raise bad("can't parse BotCommand: Field \"command\" must be of type String")
            command = item["command"].lstrip("/")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(item["description"].strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
            commands.append({"command": command, "description": item["description"].strip()})
        if len(commands) > 100:
            raise bad("too many commands specified")
        key = self._scope(p) + (self._language(p),)
        if commands:
            for command in commands:
                self.check("BotCommand", command)
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    def get_my_commands(self, p: Params) -> list:
        key = self._scope(p) + (self._language(p),)
        return copy.deepcopy(self.commands.get(key, []))

    def delete_my_commands(self, p: Params) -> bool:
        self.commands.pop(self._scope(p) + (self._language(p),), None)
        return True
