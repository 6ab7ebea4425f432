"""Residents: commands, typed text, shared location and contact, unsupported media."""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, Optional

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import updates
from bot.housekeeping import erase_transcript_now
from bot.outgoing import inline_keyboard, send_text
from bot.relay import conversation_id
from bot.services import services
from bot.settings import HOTLINE
from bot.text import neutralise

log = logging.getLogger(__name__)

# Telegram allows deep-link payloads of up to 64 characters from this set.
_START_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DELETE_CONFIRM, DELETE_KEEP = "del:confirm", "del:keep"

HELP = (
    "我是黑河法院诉前调解助手，可以：\n"
    "· 听您说说遇到的纠纷，告诉您先找谁、要准备什么、要不要花钱；\n"
    "· 帮您预约离您最近的调解工作服务点的调解员；\n"
    "· 查询、改约或取消预约（报案件编号）；\n"
    "· 说“转人工”，由12368热线工作人员接手。\n\n"
    "命令：/start 重新开始  /privacy 个人信息说明  /delete_my_data 删除我的个人信息  /cancel 停止当前填写\n"
    "调解员：/link 绑定码  /today 今日预约  /week 本周预约  /outcome 案件编号 登记结果\n\n"
    f"遇到危险请立即拨打110。诉讼服务热线：{HOTLINE}。"
)
TOO_FAST = "您发得太快了，请稍等几秒再发。"
EMPTY = "没有收到文字内容。请用文字说说您遇到的事。"
UNSUPPORTED = ("暂时只能看懂文字、位置和联系人。请用文字说说您遇到的事；"
               "图片、语音和文件可以在见调解员时带上。")
NOT_OWN_CONTACT = "请点“发送本机号码”按钮发送您本人的号码，或直接输入手机号。"


def too_long(limit: int) -> str:
    return f"消息太长了（超过{limit}字）。请分几次发，或先简单说说大概情况。"


async def admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Rate limit per user; a flood gets one warning and is dropped."""
    svc = services(context)
    user = update.effective_user
    if user is None or await svc.limiter.allow(user.id):
        return True
    if svc.limiter.first_refusal(user.id):
        await send_text(context.bot, updates.chat_id(update), TOO_FAST)
    return False


async def relay(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
                extra: Optional[dict[str, Any]] = None) -> None:
    chat_id = updates.chat_id(update)
    meta: dict[str, Any] = {"channel": "telegram", "telegram_user_id": updates.user_id(update)}
    meta.update(extra or {})
    await services(context).relay.submit(context.bot, updates.chat_data(context), chat_id=chat_id,
                                         update_id=update.update_id, text=text, meta=meta)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [payload]: a deep link (from the hotline desk) carries its payload along."""
    if not await admit(update, context):
        return
    await asyncio.to_thread(services(context).desk.unblock, updates.chat_id(update))
    extra = {}
    if context.args and _START_PAYLOAD.match(context.args[0]):
        extra["start_payload"] = context.args[0]
    await relay(update, context, "/greet", extra)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_text(context.bot, updates.chat_id(update), HELP)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await admit(update, context):
        await relay(update, context, "/privacy")


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await admit(update, context):
        await relay(update, context, "/stop")


async def delete_my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask first: erasure cannot be undone and cancels appointments still ahead."""
    chat_id = updates.chat_id(update)
    markup = await inline_keyboard(services(context).desk, chat_id,
                                   [("确认删除", DELETE_CONFIRM), ("不删除", DELETE_KEEP)])
    await send_text(context.bot, chat_id, DELETE_QUESTION, markup)


DELETE_QUESTION = ("确定要删除您的个人信息吗？\n将删除：姓名、手机号、与本助手的聊天记录，未开始的预约会被取消并通知调解员。\n"
                   "案件只保留不含个人信息的统计数据。删除后无法恢复。")


ERASURE_FAILED = (f"抱歉，删除没有完成：系统暂时出了点问题，您的信息没有改动。请稍后再发送 /delete_my_data，"
                  f"或拨打{HOTLINE}诉讼服务热线。")
TRANSCRIPT_ERASED = "与助手的聊天记录已清除。"
TRANSCRIPT_PENDING = "与助手的聊天记录暂时没能清除（助手暂时连不上），系统会自动重试，清除后会在这里告诉您。"


async def erase(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The confirmed erasure; returns what the resident is told: only what really happened."""
    svc = services(context)
    return await erase_chat(svc.desk, svc.assistant, svc.relay, telegram_user_id=updates.user_id(update),
                            chat_id=updates.chat_id(update), chat_data=updates.chat_data(context))


async def erase_chat(desk, assistant, relay, *, telegram_user_id: Optional[int], chat_id: int,
                     chat_data: dict) -> str:
    """The erasure of any channel's chat (Telegram's, the web chat's)."""
    try:
        report = await asyncio.to_thread(desk.erase_resident, telegram_user_id=telegram_user_id,
                                         conversation_id=conversation_id(chat_id), chat_id=chat_id)
    except Exception:  # noqa: BLE001 - one transaction: nothing was erased
        log.exception("erasure failed")
        return ERASURE_FAILED
    chat_data.clear()
    await asyncio.to_thread(relay.forget, chat_id)
    transcript = TRANSCRIPT_PENDING
    if report.job_id is not None and await erase_transcript_now(desk, assistant, report.job_id,
                                                                conversation_id(chat_id)):
        transcript = TRANSCRIPT_ERASED
    if not report.found:
        return f"我们没有保存您的姓名或手机号。{transcript}"
    cancelled = f"已取消{report.cancelled}个未开始的预约并通知了调解员。" if report.cancelled else ""
    return f"您的姓名、手机号等个人信息已删除。{cancelled}{transcript}案件只保留不含个人信息的统计数据。"


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await admit(update, context):
        return
    body = (updates.message(update).text or "").strip()
    limit = services(context).settings.max_text
    if not body:
        await send_text(context.bot, updates.chat_id(update), EMPTY)
    elif len(body) > limit:
        await send_text(context.bot, updates.chat_id(update), too_long(limit))
    else:
        await relay(update, context, neutralise(body))


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await admit(update, context):
        return
    where = updates.present(updates.message(update).location, "a location")
    # "/inform" is the front end's own payload, never typed text: the form
    # reads the coordinates from the metadata.
    await relay(update, context, "/inform", {"location": {"latitude": where.latitude, "longitude": where.longitude}})


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not await admit(update, context):
        return
    shared = updates.present(updates.message(update).contact, "a contact")
    if shared.user_id != updates.user_id(update):
        await send_text(context.bot, updates.chat_id(update), NOT_OWN_CONTACT)
        return
    await relay(update, context, "/inform", {"contact_phone": shared.phone_number})


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if await admit(update, context):
        await send_text(context.bot, updates.chat_id(update), UNSUPPORTED)
