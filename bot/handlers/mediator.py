"""Mediators: link the chat, read the agenda, answer pushes, record outcomes."""
from __future__ import annotations

import asyncio

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.handlers import updates
from bot.notifications import ACCEPT, DECLINE, DELEGATION_ACCEPT, DELEGATION_DECLINE
from bot.outgoing import inline_keyboard, send_text
from bot.services import services
from court.core.errors import CourtError
from court.facades.messenger import OUTCOME_CHOICES

LINK_USAGE = "请在 /link 后面加上法院给您的绑定码，例如：/link K7P3-M9QX"
OUTCOME_USAGE = "请在 /outcome 后面加上案件编号，例如：/outcome HH261130-7K3Q"
OUTCOME_PREFIX = "o:"
MEDIATOR_COMMANDS = [
    BotCommand("today", "今日预约"),
    BotCommand("week", "未来七天的预约"),
    BotCommand("outcome", "登记调解结果：/outcome 案件编号"),
    BotCommand("cases", "法院委派的案件"),
    BotCommand("contact", "委派案件联系记录：/contact 案件编号 情况"),
    BotCommand("session", "委派案件调解记录：/session 案件编号 情况"),
    BotCommand("help", "使用说明"),
]


async def _reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup=None) -> None:
    await send_text(context.bot, updates.chat_id(update), text, markup)


async def link(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        await _reply(update, context, LINK_USAGE)
        return
    chat_id = updates.chat_id(update)
    try:
        name = await asyncio.to_thread(services(context).desk.link_mediator, " ".join(context.args)[:40], chat_id)
    except CourtError as exc:
        await _reply(update, context, exc.message)
        return
    try:  # the mediator's own command menu; a failure here must not undo the link
        await context.bot.set_my_commands(MEDIATOR_COMMANDS, scope=BotCommandScopeChat(chat_id))
    except TelegramError:
        pass
    await _reply(update, context, f"绑定成功！{name}调解员您好。新的预约会推送到这里，请及时点“接受”或“拒绝”。\n"
                                  "发送 /today 查看今日预约，/week 查看未来七天。")


async def _agenda(update: Update, context: ContextTypes.DEFAULT_TYPE, days: int, title: str) -> None:
    """The agenda, then one short message with 接受 / 拒绝 per appointment still waiting for an answer
    (its own keyboard: pressing one never uses up another's buttons)."""
    desk, chat_id = services(context).desk, updates.chat_id(update)
    try:
        text, waiting = await asyncio.to_thread(desk.agenda_with_answers, chat_id, days=days, title=title)
    except CourtError as exc:
        text, waiting = exc.message, []
    await _reply(update, context, text)
    for appointment_id, line in waiting:
        markup = await inline_keyboard(desk, chat_id, [("接受", f"{ACCEPT}{appointment_id}"),
                                                       ("拒绝", f"{DECLINE}{appointment_id}")])
        await _reply(update, context, line, markup)


async def today(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _agenda(update, context, 1, "今日预约")


async def week(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _agenda(update, context, 7, "未来七天的预约")


async def outcome(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/outcome REF [result]: with a result it is recorded at once, else buttons ask."""
    desk = services(context).desk
    chat_id = updates.chat_id(update)
    if not await asyncio.to_thread(desk.is_mediator, chat_id):
        await _reply(update, context, await asyncio.to_thread(desk.not_a_mediator, chat_id))
        return
    if not context.args:
        await _reply(update, context, OUTCOME_USAGE)
        return
    reference = context.args[0][:20]
    if len(context.args) > 1:
        await _reply(update, context, await record(context, chat_id, reference, " ".join(context.args[1:])[:240]))
        return
    try:
        question = await asyncio.to_thread(desk.outcome_question, chat_id, reference)
    except CourtError as exc:
        await _reply(update, context, exc.message)
        return
    markup = await inline_keyboard(desk, chat_id, [(label, f"{OUTCOME_PREFIX}{reference}:{value}")
                                                   for value, label in OUTCOME_CHOICES])
    await _reply(update, context, question, markup)


async def record(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reference: str, result: str) -> str:
    try:
        return await asyncio.to_thread(services(context).desk.record_outcome, chat_id, reference, result)
    except CourtError as exc:
        return exc.message


async def answer_push(context: ContextTypes.DEFAULT_TYPE, chat_id: int, payload: str) -> str:
    """接受 / 拒绝 on an appointment push; the court checks it is this mediator's."""
    action, _, appointment = payload.partition(":")[2].partition(":")
    desk = services(context).desk
    try:
        if action == "accept":
            return await asyncio.to_thread(desk.accept, chat_id, int(appointment))
        if action == "decline":
            return await asyncio.to_thread(desk.decline, chat_id, int(appointment))
    except CourtError as exc:
        return exc.message
    return "这个按钮已失效。"



# --- 委派调解: cases the court delegated -------------------------------------------

LOG_USAGE = "请在 /{cmd} 后面加上案件编号和简短情况，例如：/{cmd} HH261130-7K3Q 电话联系申请人，约定周三面谈"


async def cases(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cases: the open delegated cases, then 接受 / 拒绝 for each still waiting."""
    desk, chat_id = services(context).desk, updates.chat_id(update)
    try:
        text, waiting = await asyncio.to_thread(desk.delegated_cases, chat_id)
    except CourtError as exc:
        text, waiting = exc.message, []
    await _reply(update, context, text)
    for delegation_id in waiting[:10]:
        markup = await inline_keyboard(desk, chat_id, [("接受", f"{DELEGATION_ACCEPT}{delegation_id}"),
                                                       ("拒绝", f"{DELEGATION_DECLINE}{delegation_id}")])
        await _reply(update, context, "待确认的委派案件：", markup)


async def _log(update: Update, context: ContextTypes.DEFAULT_TYPE, kind: str, cmd: str) -> None:
    args = context.args or []
    if len(args) < 2:
        await _reply(update, context, LOG_USAGE.format(cmd=cmd))
        return
    reference, note = args[0][:20], " ".join(args[1:])[:400]
    try:
        text = await asyncio.to_thread(services(context).desk.log_delegation, updates.chat_id(update), kind,
                                       reference, note)
    except CourtError as exc:
        text = exc.message
    await _reply(update, context, text)


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _log(update, context, "contact", "contact")


async def session(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _log(update, context, "session", "session")


async def answer_delegation(context: ContextTypes.DEFAULT_TYPE, chat_id: int, payload: str) -> str:
    """接受 / 拒绝 on a delegated case; the court checks it is this mediator's."""
    action, _, delegation_id = payload.partition(":")[2].partition(":")
    desk = services(context).desk
    try:
        if action == "accept":
            return await asyncio.to_thread(desk.accept_delegation, chat_id, int(delegation_id))
        if action == "decline":
            return await asyncio.to_thread(desk.decline_delegation, chat_id, int(delegation_id))
    except CourtError as exc:
        return exc.message
    return "这个按钮已失效。"
