"""A local chat in the terminal against the full stack (what `make run` opens
when no Telegram token is set).

Buttons are numbered: type the number to press one. Everything else is sent as
typed text. Ctrl-D or "退出" ends the chat and stops the stack.
"""
from __future__ import annotations

import uuid

import requests

from bot.settings import HOTLINE
from bot.text import neutralise
from stack.processes import Stack


def _show(replies: list[dict]) -> list[dict]:
    buttons: list[dict] = []
    for reply in replies:
        if reply.get("text"):
            print(f"\n助手：{reply['text']}")
        venue = (reply.get("custom") or {}).get("venue")
        if venue:
            print(f"  📍 {venue['title']}（{venue['address']}）{venue['latitude']:.4f}, {venue['longitude']:.4f}")
        for button in reply.get("buttons") or []:
            buttons.append(button)
            print(f"  [{len(buttons)}] {button['title']}")
    return buttons


def chat(stack: Stack) -> int:
    """Chat with the running stack until Ctrl-D or “退出”."""
    sender = f"console-{uuid.uuid4().hex[:8]}"
    print(f"已启动：Rasa {stack.rasa_url}。输入“退出”结束。数字可以点按钮。")
    buttons = _show(_say(stack, sender, "/greet"))
    while True:
        try:
            line = input("\n您：").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if line in ("退出", "exit", "quit"):
            break
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            message = buttons[int(line) - 1]["payload"]
        else:
            message = neutralise(line)
        buttons = _show(_say(stack, sender, message))
    return 0


def _say(stack: Stack, sender: str, message: str) -> list[dict]:
    try:
        return stack.say(sender, message)
    except requests.RequestException:  # a part is down or restarting: the supervisor brings it back
        print(f"\n助手：抱歉，助手暂时出了点问题，请稍后再发一次。着急可以拨打{HOTLINE}诉讼服务热线。")
        return []
