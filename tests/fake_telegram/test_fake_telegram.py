"""The fake Bot API itself: driven over HTTP by python-telegram-bot and by raw clients,
so that what passes against it would pass against Telegram."""
from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from tools.fake_telegram.driver import FakeTelegram
from tools.fake_telegram.shapes import ShapeError, validate

TOKEN = "123456:TEST-token"


@pytest.fixture
def tg():
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot") as fake:
        yield fake
        fake.assert_clean()


def run(coro_fn, tg: FakeTelegram):  # type: ignore[no-untyped-def]
    """Run `coro_fn(bot)` with a PTB Bot pointed at the fake."""
    async def main():  # type: ignore[no-untyped-def]
        async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
            return await coro_fn(bot)
    return asyncio.run(main())


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"data-{label}") for label in labels]])


# ---- HTTP surface ------------------------------------------------------------------------------

def test_urls_get_me_and_auth_errors(tg):
    assert tg.base_url == tg.api_root + "/bot" and tg.api_root.startswith("http://127.0.0.1:")
    me = run(lambda bot: bot.get_me(), tg)
    assert me.id == 123456 and me.is_bot and me.username == "heihe_court_bot" and me.can_join_groups is True
    raw = httpx.get(f"{tg.base_url}{TOKEN}/getMe").json()
    assert raw["ok"] is True and raw["result"]["supports_inline_queries"] is False

    wrong = httpx.post(f"{tg.base_url}123456:wrong/getMe")
    assert wrong.status_code == 401 and wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    unknown = httpx.post(f"{tg.base_url}{TOKEN}/fooBar")
    assert unknown.status_code == 404 and unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert httpx.get(tg.api_root + "/nothing").status_code == 404

    async def wrong_token():  # type: ignore[no-untyped-def]
        async with Bot("123456:wrong", base_url=tg.base_url) as bot:
            await bot.get_me()
    with pytest.raises(InvalidToken):
        asyncio.run(wrong_token())
    assert tg.calls("getMe")[-1]["error_code"] == 401
    # Method names are case-insensitive, as on Telegram.
    assert httpx.get(f"{tg.base_url}{TOKEN}/GETME").json()["ok"] is True


def test_form_json_multipart_and_query_bodies_all_work(tg):
    tg.user(1001, first_name="芳")
    url = f"{tg.base_url}{TOKEN}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    as_json = httpx.post(url, json={"chat_id": 1001, "text": "json", "reply_markup": markup}).json()
    as_form = httpx.post(url, data={"chat_id": "1001", "text": "form",
                                    "reply_markup": '{"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}'})
    as_multipart = httpx.post(url, data={"chat_id": "1001", "text": "multipart"},
                              files={"thumbnail": ("a.jpg", b"\xff\xd8", "image/jpeg")})
    as_query = httpx.get(url, params={"chat_id": "1001", "text": "123"})
    assert as_json["result"]["reply_markup"] == markup
    assert as_form.json()["result"]["reply_markup"] == markup
    assert as_multipart.json()["result"]["text"] == "multipart"
    assert as_query.json()["result"]["text"] == "123"  # a numeric-looking text stays a string
    ids = [r["result"]["message_id"] for r in (as_json, as_form.json(), as_multipart.json(), as_query.json())]
    assert ids == [1, 2, 3, 4]
    bad_markup = httpx.post(url, data={"chat_id": "1001", "text": "x", "reply_markup": "{nope"})
    assert bad_markup.status_code == 400
    assert bad_markup.json()["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    assert tg.calls("sendMessage")[0]["params"]["reply_markup"] == markup


# ---- messages, keyboards, callback queries -----------------------------------------------------

def test_inline_keyboard_round_trip_with_answers_and_edits(tg):
    user = tg.user(1001, first_name="芳", last_name="王", language_code="zh-hans")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        sent = await bot.send_message(1001, "请确认预约", reply_markup=keyboard("确认", "取消"))
        assert sent.from_user.id == 123456 and sent.chat.type == "private" and isinstance(sent.date, dt.datetime)
        query_id = await asyncio.to_thread(user.press, "确认")
        updates = await bot.get_updates(timeout=1)
        query = updates[-1].callback_query
        assert query.id == query_id and query.data == "data-确认" and query.from_user.id == 1001
        assert query.message.message_id == sent.message_id and query.message.text == "请确认预约"
        assert query.chat_instance
        assert await bot.answer_callback_query(query.id, text="已确认") is True
        with pytest.raises(BadRequest, match="(?i)query is too old and response timeout expired or query ID is invalid"):
            await bot.answer_callback_query(query.id)
        with pytest.raises(BadRequest, match="(?i)query is too old"):
            await bot.answer_callback_query("12345")
        edited = await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=None)
        assert edited.reply_markup is None and edited.edit_date is not None
        with pytest.raises(BadRequest, match="(?i)^message is not modified: specified new message content and reply "
                                             "markup are exactly the same as a current content and reply markup "
                                             "of the message$"):
            await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=None)
        with pytest.raises(BadRequest, match="(?i)Message to edit not found"):
            await bot.edit_message_reply_markup(1001, 999, reply_markup=keyboard("x"))
        return sent.message_id

    message_id = run(scenario, tg)
    assert user.callback_answers()[0]["text"] == "已确认" and user.callback_answers()[0]["show_alert"] is False
    [msg] = user.inbox()
    assert msg["message_id"] == message_id and "reply_markup" not in msg and msg["deleted"] is False
    # The exact text of a Telegram error body, as seen by a raw client.
    raw = httpx.post(f"{tg.base_url}{TOKEN}/editMessageReplyMarkup", data={"chat_id": 1001, "message_id": 999})
    assert raw.status_code == 400
    assert raw.json() == {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"}


def test_edit_text_removes_the_keyboard_and_delete_marks_it(tg):
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        sent = await bot.send_message(1001, "选一个时间", reply_markup=keyboard("9:00", "10:00"))
        kept = await bot.edit_message_text("选一个时间（还剩1个）", 1001, sent.message_id, reply_markup=keyboard("10:00"))
        assert kept.reply_markup.inline_keyboard[0][0].text == "10:00"
        plain = await bot.edit_message_text("✔ 10:00", 1001, sent.message_id)  # no reply_markup: keyboard goes
        assert plain.reply_markup is None
        with pytest.raises(BadRequest, match="(?i)Message is not modified"):
            await bot.edit_message_text("✔ 10:00", 1001, sent.message_id)
        assert await bot.delete_message(1001, sent.message_id) is True
        with pytest.raises(BadRequest, match="(?i)Message to delete not found"):
            await bot.delete_message(1001, sent.message_id)
        with pytest.raises(BadRequest, match="(?i)Message to edit not found"):
            await bot.edit_message_text("again", 1001, sent.message_id)

    run(scenario, tg)
    [msg] = user.inbox()
    assert msg["text"] == "✔ 10:00" and msg["deleted"] is True and "reply_markup" not in msg
    assert user.texts() == ["✔ 10:00"]


def test_reply_keyboards_stay_client_side_and_force_reply(tg):
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        contact = ReplyKeyboardMarkup([[KeyboardButton("📱 发送本机号码", request_contact=True)]],
                                      resize_keyboard=True, one_time_keyboard=True, input_field_placeholder="手机号")
        sent = await bot.send_message(1001, "请留手机号", reply_markup=contact)
        assert sent.reply_markup is None  # a Message only ever carries an inline keyboard
        assert user.current_reply_keyboard()[0][0]["request_contact"] is True
        assert user.reply_keyboard_markup()["input_field_placeholder"] == "手机号"
        await bot.send_message(1001, "在哪个乡镇？", reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("📍 发送我的位置", request_location=True)]]))
        assert user.current_reply_keyboard()[0][0]["request_location"] is True
        await bot.send_message(1001, "称呼？", reply_markup=ForceReply(input_field_placeholder="姓名"))
        assert user.current_reply_keyboard() is not None  # ForceReply does not take the keyboard away
        await bot.send_message(1001, "好的", reply_markup=ReplyKeyboardRemove())
        assert user.current_reply_keyboard() is None

    run(scenario, tg)
    assert user.inbox()[0]["reply_keyboard"]["one_time_keyboard"] is True
    assert user.inbox()[2]["reply_keyboard"] == {"force_reply": True, "input_field_placeholder": "姓名"}


def test_venue_location_contact_and_chat_actions(tg):
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        venue = await bot.send_venue(1001, latitude=49.8966, longitude=127.3387, title="西岗子镇调解室",
                                     address="黑河市爱辉区西岗子镇")
        assert venue.venue.title == "西岗子镇调解室" and venue.location.latitude == pytest.approx(49.8966)
        location = await bot.send_location(1001, latitude=50.2452, longitude=127.5280)
        assert location.location.longitude == pytest.approx(127.528)
        contact = await bot.send_contact(1001, phone_number="12368", first_name="诉讼服务热线")
        assert contact.contact.phone_number == "12368"
        assert await bot.send_chat_action(1001, ChatAction.TYPING) is True
        with pytest.raises(BadRequest, match="(?i)Wrong parameter action in request"):
            await bot.send_chat_action(1001, "dancing")

    run(scenario, tg)
    venue, location, contact = user.inbox()
    assert venue["venue"]["address"] == "黑河市爱辉区西岗子镇" and "location" in venue and "text" not in venue
    assert "venue" not in location and contact["contact"]["first_name"] == "诉讼服务热线"
    assert user.chat_actions() == ["typing"]
    assert user.wait_for(lambda m: "venue" in m)["message_id"] == venue["message_id"]
    no_latitude = httpx.post(f"{tg.base_url}{TOKEN}/sendLocation", data={"chat_id": 1001, "longitude": 1}).json()
    assert no_latitude["description"] == "Bad Request: latitude is empty"


def test_html_parse_mode_entities_and_errors(tg):
    tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        sent = await bot.send_message(1001, "  <b>预约</b>成功 &lt;编号&gt; <a href=\"https://court.example/x\">详情</a>😀 ",
                                      parse_mode="HTML")
        assert sent.text == "预约成功 <编号> 详情😀"
        assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 2), ("text_link", 10, 2)]
        with pytest.raises(BadRequest, match='(?i)Can\'t parse entities: unsupported start tag "br" at byte offset 1'):
            await bot.send_message(1001, "a<br>b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)Can't parse entities: can't find end tag"):
            await bot.send_message(1001, "<b>x", parse_mode="HTML")
        with pytest.raises(BadRequest, match='(?i)unsupported start tag "" at byte offset 2'):
            await bot.send_message(1001, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)Character '.' is reserved"):
            await bot.send_message(1001, "第1条.", parse_mode="MarkdownV2")
        v2 = await bot.send_message(1001, "*粗*体 \\. ok", parse_mode="MarkdownV2")
        assert v2.text == "粗体 . ok" and v2.entities[0].type == "bold"
        with pytest.raises(BadRequest, match="(?i)Unsupported parse_mode"):
            await bot.send_message(1001, "x", parse_mode="BBCode")

    run(scenario, tg)


# ---- getUpdates ------------------------------------------------------------------------------

def test_get_updates_offset_limit_and_allowed_updates(tg):
    user = tg.user(1001, first_name="芳")
    first, second, third = (user.send(t) for t in ("一", "二", "三"))

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        every = await bot.get_updates()
        assert [u.message.text for u in every] == ["一", "二", "三"]
        again = await bot.get_updates()  # offset 0: nothing confirmed, nothing lost
        assert [u.update_id for u in again] == [u.update_id for u in every]
        assert [u.message.text for u in await bot.get_updates(limit=1)] == ["一"]
        rest = await bot.get_updates(offset=every[1].update_id)  # confirms "一" for good
        assert [u.message.text for u in rest] == ["二", "三"]
        assert [u.message.text for u in await bot.get_updates()] == ["二", "三"]
        # An offset from the future confirms nothing and reads from the head.
        assert len(await bot.get_updates(offset=every[-1].update_id + 50)) == 2
        last = await bot.get_updates(offset=-1)  # the newest one; everything before it is confirmed
        assert [u.message.text for u in last] == ["三"]
        assert [u.message.text for u in await bot.get_updates()] == ["三"]
        assert await bot.get_updates(offset=every[-1].update_id + 1) == ()
        # allowed_updates filters updates when they are created, and sticks.
        assert await bot.get_updates(offset=every[-1].update_id + 1, allowed_updates=["callback_query"]) == ()
        return every[-1].update_id

    last_id = run(scenario, tg)
    assert tg.pending_updates() == []
    user.send("丢掉")  # not allowed: dropped at creation
    assert tg.pending_updates() == []
    user.press_data(first["message_id"], "x")
    assert [u["update_id"] for u in tg.pending_updates()] == [last_id + 1]
    assert second["message_id"] < third["message_id"]


def test_long_poll_returns_early_when_an_update_arrives(tg):
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        threading.Timer(0.3, user.send, args=("醒醒",)).start()
        started = time.monotonic()
        updates = await bot.get_updates(timeout=20)
        return time.monotonic() - started, updates

    waited, updates = run(scenario, tg)
    assert 0.25 < waited < 3 and updates[0].message.text == "醒醒"

    async def quiet(bot: Bot):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        got = await bot.get_updates(offset=updates[0].update_id + 1, timeout=1)
        return time.monotonic() - started, got

    waited, got = run(quiet, tg)
    assert got == () and 0.9 < waited < 3


def test_a_second_poller_terminates_the_first_with_409(tg):
    async def scenario():  # type: ignore[no-untyped-def]
        async with Bot(TOKEN, base_url=tg.base_url) as first, Bot(TOKEN, base_url=tg.base_url) as second:
            older = asyncio.create_task(first.get_updates(timeout=10))
            await asyncio.to_thread(tg.wait_polling, 5)
            newer = asyncio.create_task(second.get_updates(timeout=1))
            with pytest.raises(Conflict, match="(?i)terminated by other getUpdates request; make sure that only one "
                                               "bot instance is running"):
                await older
            assert await newer == ()

    asyncio.run(scenario())
    assert any(c["error_code"] == 409 for c in tg.calls("getUpdates"))

    async def webhook(bot: Bot):  # type: ignore[no-untyped-def]
        assert (await bot.get_webhook_info()).url == ""
        await bot.set_webhook("https://court.example/hook")
        with pytest.raises(Conflict, match="(?i)can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        assert await bot.delete_webhook() is True
        assert await bot.get_updates() == ()

    run(webhook, tg)
    assert any("setWebhook" in issue for issue in tg.issues())  # the fake says it delivers nothing there
    tg.clear_issues()


# ---- errors ------------------------------------------------------------------------------------

def test_chat_not_found_blocked_and_unknown_users(tg):
    stranger = tg.user(2002, first_name="陌生人", started=False)
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        with pytest.raises(BadRequest, match="(?i)Chat not found"):
            await bot.send_message(424242, "谁？")
        with pytest.raises(BadRequest, match="(?i)Chat not found"):
            await bot.send_message(2002, "你好")  # never opened the bot
        await asyncio.to_thread(stranger.send, "你好")
        assert (await bot.send_message(2002, "你好")).chat.id == 2002
        await asyncio.to_thread(user.block)
        with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
            await bot.send_message(1001, "还在吗")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(1001, ChatAction.TYPING)
        updates = await bot.get_updates(allowed_updates=["message", "my_chat_member"])
        assert updates[-1].my_chat_member.new_chat_member.status == "kicked"
        await asyncio.to_thread(user.unblock)
        assert (await bot.send_message(1001, "欢迎回来")).text == "欢迎回来"

    run(scenario, tg)
    raw = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", data={"chat_id": 5, "text": "x"}).json()
    assert raw == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    raw = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", data={"text": "x"}).json()
    assert raw["description"] == "Bad Request: chat_id is empty"
    user.block()
    raw = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", data={"chat_id": 1001, "text": "x"})
    assert raw.status_code == 403
    assert raw.json() == {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    with pytest.raises(RuntimeError):
        user.send("blocked users get a RESTART button, not an input field")


def test_rate_limit_and_injected_failures(tg):
    tg.user(1001, first_name="芳")
    tg.rate_limit(count=2, retry_after=3)
    raw = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", data={"chat_id": 1001, "text": "x"})
    assert raw.status_code == 429 and raw.json() == {"ok": False, "error_code": 429,
                                                     "description": "Too Many Requests: retry after 3",
                                                     "parameters": {"retry_after": 3}}

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        assert (await bot.get_me()).id == 123456  # not flood-limited
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "x")
        assert caught.value.retry_after in (3, dt.timedelta(seconds=3))
        assert (await bot.send_message(1001, "x")).text == "x"  # the two 429s are used up
        tg.fail_next("sendMessage", 502, "Bad Gateway")
        with pytest.raises(NetworkError, match="(?i)Bad Gateway"):
            await bot.send_message(1001, "x")
        tg.fail_next("*", 400, "Bad Request: chat not found", count=1)
        with pytest.raises(BadRequest, match="(?i)Chat not found"):
            await bot.send_chat_action(1001, ChatAction.TYPING)

    run(scenario, tg)
    assert [c["error_code"] for c in tg.calls("sendMessage")] == [429, 429, None, 502]


def test_text_limits_and_button_data(tg):
    user = tg.user(1001, first_name="芳")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        assert len((await bot.send_message(1001, "漏" * 4096)).text) == 4096
        with pytest.raises(BadRequest, match="(?i)Message is too long"):
            await bot.send_message(1001, "漏" * 4097)
        with pytest.raises(BadRequest, match="(?i)Message is too long"):
            await bot.send_message(1001, "😀" * 2049)  # 4098 UTF-16 code units
        with pytest.raises(BadRequest, match="(?i)Message text is empty"):
            await bot.send_message(1001, "   \n ")
        with pytest.raises(BadRequest, match="(?i)Button_data_invalid"):
            await bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("a", callback_data="x" * 65)]]))
        with pytest.raises(BadRequest, match="(?i)Button_data_invalid"):
            await bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("a", callback_data="数" * 22)]]))  # 66 bytes in UTF-8
        ok = await bot.send_message(1001, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("a", callback_data="x" * 64)]]))
        assert ok.reply_markup.inline_keyboard[0][0].callback_data == "x" * 64

    run(scenario, tg)
    raw = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", json={
        "chat_id": 1001, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "y" * 65}]]}})
    assert raw.json() == {"ok": False, "error_code": 400, "description": "Bad Request: BUTTON_DATA_INVALID"}
    assert len(user.inbox()) == 2


# ---- commands, media, files, the whole PTB stack ------------------------------------------------

def test_command_menus_by_scope(tg):
    user = tg.user(1001, first_name="调解员", language_code="zh-hans")

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        assert await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")]) is True
        assert await bot.set_my_commands([BotCommand("today", "今日预约")], scope=BotCommandScopeChat(1001))
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(1001))] == ["today"]
        with pytest.raises(BadRequest, match="(?i)Chat not found"):
            await bot.set_my_commands([BotCommand("x", "y")], scope=BotCommandScopeChat(777))
        with pytest.raises(BadRequest, match="(?i)Bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Bad-Name", "y")])

    run(scenario, tg)
    assert [c["command"] for c in user.menu_commands()] == ["today"]
    assert [c["command"] for c in tg.user(1002, first_name="居民").menu_commands()] == ["start", "help"]
    assert run(lambda bot: bot.delete_my_commands(scope=BotCommandScopeChat(1001)), tg) is True
    assert [c["command"] for c in user.menu_commands()] == ["start", "help"]


def test_user_updates_parse_in_ptb_and_files_download(tg):
    user = tg.user(1001, first_name="芳", last_name="王", username="wangfang")
    start = user.command("start", payload="abc")
    assert start["text"] == "/start abc" and start["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    user.share_location(49.8966, 127.3387)
    contact = user.share_contact("13812345678")
    assert contact["contact"]["user_id"] == 1001 and contact["contact"]["last_name"] == "王"
    user.send_sticker()
    user.send_photo(caption="现场照片")
    user.send_voice()
    document = user.send_document(content=b"%PDF-1.4 test")
    said = user.send("看 https://court.example 和 @heihe_court_bot #漏水")
    user.edit(said["message_id"], "改了")
    with pytest.raises(ValueError):
        user.press_data(said["message_id"], "x" * 65)

    async def scenario(bot: Bot):  # type: ignore[no-untyped-def]
        updates = await bot.get_updates()
        messages = [u.message for u in updates]
        assert filters.COMMAND.check_update(updates[0]) and messages[0].text == "/start abc"
        assert messages[1].location.latitude == pytest.approx(49.8966)
        assert messages[2].contact.user_id == 1001
        assert filters.Sticker.ALL.check_update(updates[3]) and filters.PHOTO.check_update(updates[4])
        assert messages[4].caption == "现场照片" and messages[4].photo[-1].width == 1280
        assert filters.VOICE.check_update(updates[5]) and filters.Document.ALL.check_update(updates[6])
        assert [e.type for e in messages[7].entities] == ["url", "mention", "hashtag"]
        assert updates[8].edited_message.text == "改了" and updates[8].edited_message.edit_date is not None
        file = await bot.get_file(messages[6].document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 test"
        with pytest.raises(BadRequest, match="(?i)Invalid file_id"):
            await bot.get_file("nope")

    run(scenario, tg)
    assert document["document"]["file_size"] == 13


def test_ptb_application_polls_and_answers(tg):
    """The real python-telegram-bot stack (deleteWebhook, getUpdates loop, handlers) against the fake."""
    user = tg.user(1001, first_name="芳")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
        await update.message.reply_text(f"欢迎，参数 {' '.join(context.args)}", reply_markup=keyboard("预约"),
                                        do_quote=True)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer("收到")
        await update.callback_query.edit_message_reply_markup(None)
        await context.bot.send_message(update.effective_chat.id, f"你按了 {update.callback_query.data}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"你说：{update.message.text}")

    async def scenario() -> None:
        app = (Application.builder().token(TOKEN).base_url(tg.base_url).base_file_url(tg.base_file_url)
               .get_updates_read_timeout(5).build())
        app.add_handler(CommandHandler("start", start))
        app.add_handler(CallbackQueryHandler(pressed))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        async with app:
            await app.start()
            await app.updater.start_polling(timeout=1, poll_interval=0,
                                            allowed_updates=["message", "callback_query"])
            try:
                def conversation() -> None:
                    mark = user.mark()
                    user.command("start", payload="abc")
                    welcome = user.wait_for("欢迎", after=mark, timeout=10)
                    assert welcome["text"] == "欢迎，参数 abc" and welcome["reply_to_message"]["text"] == "/start abc"
                    mark = user.mark()
                    user.press("预约")
                    user.wait_for("你按了 data-预约", after=mark, timeout=10)
                    user.wait_for(lambda m: m["message_id"] == welcome["message_id"] and "reply_markup" not in m,
                                  timeout=10)
                    mark = user.mark()
                    user.send("我和邻居因为漏水吵起来了")
                    user.wait_for("你说：我和邻居因为漏水吵起来了", after=mark, timeout=10)
                await asyncio.to_thread(conversation)
            finally:
                await app.updater.stop()
                await app.stop()

    asyncio.run(scenario())
    assert user.chat_actions() == ["typing"] and user.callback_answers()[0]["text"] == "收到"
    assert tg.calls("deleteWebhook") and tg.pending_updates() == []


def test_wait_for_times_out_with_the_inbox(tg):
    user = tg.user(1001, first_name="芳")
    run(lambda bot: bot.send_message(1001, "第一条", reply_markup=keyboard("好")), tg)
    assert user.wait_for("第一")["text"] == "第一条"
    mark = user.mark()
    with pytest.raises(AssertionError, match=r"(?s)no message matching '第二'.*#1 bot: 第一条 buttons=\['好'\]"):
        user.wait_for("第二", timeout=0.2, after=mark)
    with pytest.raises(AssertionError, match="no button '坏'"):
        user.press("坏")


def test_log_out_and_close(tg):
    assert run(lambda bot: bot.close(), tg) is True
    assert httpx.post(f"{tg.base_url}{TOKEN}/getMe").json()["ok"] is True
    assert run(lambda bot: bot.log_out(), tg) is True
    assert httpx.post(f"{tg.base_url}{TOKEN}/getMe").status_code == 401


# ---- strict shapes -----------------------------------------------------------------------------

def test_the_strict_validator_catches_malformed_objects(tg):
    good = {"message_id": 1, "date": 1_700_000_000, "chat": {"id": 1, "type": "private", "first_name": "芳"},
            "from": {"id": 1, "is_bot": False, "first_name": "芳"}, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}
    validate("Message", good)
    validate("Update", {"update_id": 1, "message": good})
    for broken, why in [
        ({k: v for k, v in good.items() if k != "chat"}, "required field 'chat' is missing"),
        ({**good, "txt": "typo"}, "unknown field"),
        ({**good, "entities": [{"type": "bot_command", "offset": 0, "length": 7}]}, "outside the text"),
        ({**good, "date": "1700000000"}, "must be Integer"),
        ({**good, "from": {"id": 2, "is_bot": False, "first_name": "别人"}}, "chat's user"),
        ({**good, "reply_markup": {"keyboard": [[{"text": "x"}]]}}, "only ever carries an InlineKeyboardMarkup"),
        ({**good, "entities": []}, "empty array"),
        ({**good, "chat": {"id": 1, "type": "private", "first_name": "芳", "title": None}}, "null"),
    ]:
        with pytest.raises(ShapeError, match=why):
            validate("Message", broken)
    with pytest.raises(ShapeError, match="exactly one known payload"):
        validate("Update", {"update_id": 1, "message": good, "callback_query": {}})

    tg.user(1, first_name="芳")
    with pytest.raises(ShapeError):
        tg.push_update("message", {**good, "txt": "typo"})
    assert tg.pending_updates() == []  # nothing malformed reaches the bot
    with pytest.raises(AssertionError, match="shape error"):
        tg.assert_clean()
    tg.clear_issues()
    tg.push_update("message", good)
    assert tg.pending_updates()[0]["message"]["text"] == "/start"


def test_ptb_application_in_webhook_mode_gets_updates_posted_and_a_failed_post_again() -> None:
    """Webhook mode against the fake: setWebhook with a secret, each update POSTed to the route
    behind the HTTPS address, a 5xx answer retried and shown in getWebhookInfo."""
    from stack.processes import free_port

    port = free_port()
    refused: list[int] = []
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot",
                      webhook_routes={"https://court.example": f"http://127.0.0.1:{port}"}) as tg:
        user = tg.user(1001, first_name="芳")

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if not refused:  # the first delivery fails as if the handler crashed the front end
                refused.append(update.update_id)
                raise RuntimeError("first delivery fails")
            await update.message.reply_text(f"你说：{update.message.text}")

        async def scenario() -> None:
            app = Application.builder().token(TOKEN).base_url(tg.base_url).build()
            app.add_handler(MessageHandler(filters.TEXT, echo))
            async with app:
                await app.start()
                await app.updater.start_webhook(listen="127.0.0.1", port=port, url_path="hook",
                                                webhook_url="https://court.example/hook", secret_token="s" * 40)
                try:
                    def conversation() -> None:
                        mark = user.mark()
                        user.send("第一句")
                        user.send("第二句")
                        user.wait_for("你说：第二句", after=mark, timeout=10)
                    await asyncio.to_thread(conversation)
                    # A forged POST without the secret is refused by the bot, not handled.
                    async with httpx.AsyncClient() as http:
                        forged = await http.post(f"http://127.0.0.1:{port}/hook",
                                                 json={"update_id": 1, "message": {}})
                    assert forged.status_code == 403
                finally:
                    await app.updater.stop()
                    await app.stop()

        asyncio.run(scenario())
        delivered = tg.webhook_deliveries()
        assert [d["status"] for d in delivered] == [200, 200]  # PTB answers 200 once the update is queued
        assert user.texts() == ["你说：第二句"]  # the handler's failure lost the first: PTB had confirmed it

        # A front end that answers 5xx: the update waits and is POSTed again.
        with tg.api.lock:
            tg.api.webhook_routes["https://court.example"] = f"http://127.0.0.1:{free_port()}"  # nobody listens
        user.send("第三句")
        deadline = time.monotonic() + 10
        while len(tg.webhook_deliveries()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        tail = tg.webhook_deliveries()[2:]
        assert len(tail) >= 2 and all(d["error"] == "Connection refused" for d in tail)
        info = run(lambda bot: bot.get_webhook_info(), tg)
        assert info.pending_update_count == 1 and info.last_error_message == "Connection refused"
        run(lambda bot: bot.delete_webhook(), tg)
        assert [u["message"]["text"] for u in tg.pending_updates()] == ["第三句"]
