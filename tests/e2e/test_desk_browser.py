"""The hotline desk in a real browser (Debian's Chromium, driven by Playwright),
with the bot, Rasa and the action server behind it and residents on the fake
Telegram server."""
from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from court.hotline import accounts
from court.store.schema import Case, Handoff
from tests.e2e.test_telegram import resident, say

PASSWORD = "correct horse battery"
BROWSER = os.environ.get("DESK_TEST_BROWSER")
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")


@pytest.fixture(scope="module")
def desk_url(stack, telegram, stack_db) -> str:  # type: ignore[no-untyped-def]
    with stack_db.transaction() as s:
        for username in ("agent.zhao", "agent.qian"):
            accounts.create_user(s, username, PASSWORD, role="agent", display_name=username.split(".")[1], actor="test")
    return stack.start_desk(extra_env={"DESK_SECRET_KEY": "browser-test-secret",
                                       "TELEGRAM_BOT_USERNAME": "heihe_court_bot"})


def logged_in(browser, desk_url: str, username: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{desk_url}/")
    assert "/login" in page.url  # no session, no desk
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_selector("text=排队")
    return page


def test_live_queue_take_reply_and_hand_back(browser, desk_url, telegram, stack_db):
    page = logged_in(browser, desk_url, "agent.zhao")
    me = resident(telegram)
    mark = me.mark()
    me.command("start")
    me.wait_for("诉前调解助手", after=mark)
    say(me, "转人工", "工作人员")
    mark = me.mark()
    me.send("老板拖欠工资三个月了")
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"tg-{me.id}")).scalar_one()
    row = f'form[action="/handoffs/{handoff_id}/take"] button'
    page.wait_for_selector(row, timeout=15_000)  # arrived without a reload
    page.click(row)
    page.wait_for_url(f"**/handoffs/{handoff_id}")
    page.wait_for_selector("text=老板拖欠工资三个月了", timeout=15_000)
    page.fill('textarea[name="text"]', "您好，我是热线的赵，请问是哪家单位？")
    page.click('button:has-text("发送")')
    assert "哪家单位" in me.wait_for("【12368热线", after=mark)["text"]
    page.click('button:has-text("交还助手")')
    me.wait_for("助手继续为您服务", after=mark)
    assert "人民调解" in say(me, "俺家楼上天天往下漏水，找他好几回了也不管", "人民调解")["text"]
    with stack_db.reader() as s:
        assert s.get(Handoff, handoff_id).status == "returned"


def test_two_agents_press_take_at_once_and_one_wins(browser, desk_url, telegram, stack_db):
    pages = [logged_in(browser, desk_url, name) for name in ("agent.zhao", "agent.qian")]
    me = resident(telegram)
    say(me, "转人工", "工作人员")
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"tg-{me.id}")).scalar_one()
    button = f'form[action="/handoffs/{handoff_id}/take"] button'
    for page in pages:
        page.wait_for_selector(button, timeout=15_000)
    # Both forms are submitted before either answer arrives: two agents pressing at once.
    with pages[0].expect_navigation(), pages[1].expect_navigation():
        for page in pages:
            page.evaluate(f"document.querySelector('{button}').form.requestSubmit()")
    landed = [p.url.endswith(f"/handoffs/{handoff_id}") for p in pages]
    assert sorted(landed) == [False, True], [p.url for p in pages]
    loser = pages[landed.index(False)]
    assert "已被其他工作人员接手" in loser.content()
    with stack_db.reader() as s:
        assert s.get(Handoff, handoff_id).status == "taken"


def test_a_phone_caller_is_handed_to_the_bot_by_a_deep_link(browser, desk_url, telegram, stack_db):
    page = logged_in(browser, desk_url, "agent.qian")
    page.goto(f"{desk_url}/intake")
    page.select_option('select[name="dispute_type"]', "debt")
    page.fill('textarea[name="summary"]', "借给邻居两万元，到期不还")
    page.fill('input[name="phone"]', "13945670002")
    page.fill('input[name="name"]', "孙丽")
    page.check('input[name="consent"]')
    page.click('button:has-text("登记")')
    link = page.get_attribute("a.deeplink", "href")
    reference = page.inner_text("strong.reference")
    assert link.startswith("https://t.me/heihe_court_bot?start=") and page.query_selector(".qr svg")
    me = resident(telegram)
    mark = me.mark()
    me.command("start", payload=link.split("start=")[1])
    me.wait_for(reference, after=mark)
    me.wait_for("乡镇", after=mark)
    with stack_db.reader() as s:
        case = s.execute(select(Case).where(Case.reference == reference)).scalar_one()
        assert case.source == "hotline" and case.resident.telegram_user_id == me.id


def test_an_agent_books_for_the_resident_who_then_gets_the_card_and_the_pin(browser, desk_url, telegram, stack_db):
    page = logged_in(browser, desk_url, "agent.zhao")
    me = resident(telegram)
    say(me, "转人工", "工作人员")
    mark = me.mark()
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id == f"tg-{me.id}")).scalar_one()
    take = f'form[action="/handoffs/{handoff_id}/take"] button'
    page.wait_for_selector(take, timeout=15_000)
    page.click(take)
    page.wait_for_url(f"**/handoffs/{handoff_id}")
    page.click("#book-link")
    page.fill('input[name="place"]', "爱辉区西岗子")
    page.select_option('select[name="dispute_type"]', "neighbor")
    page.click('button:has-text("查找可约时间")')
    page.wait_for_selector('input[name="slot"]')
    page.check('input[name="slot"] >> nth=0')
    page.fill('textarea[name="summary"]', "楼上装修噪音，每天到夜里十点")
    page.fill('input[name="phone"]', "13945670003")
    page.check('input[name="consent"]')  # asked in the chat; this resident had not consented before
    page.click('button:has-text("确认预约")')
    page.wait_for_url(f"**/handoffs/{handoff_id}")
    assert "居民和调解员都会收到通知" in page.content()
    assert page.query_selector('#appointments button:has-text("取消预约")')
    card = me.wait_for("已为您预约调解", after=mark)
    assert "案件编号" in card["text"] and "13945670003" not in card["text"]
    me.wait_for(lambda m: "venue" in m, after=card["message_id"] - 1)
    page.wait_for_selector("text=已为居民预约", timeout=15_000)  # the agent's turn is in the transcript
    with stack_db.reader() as s:
        [case] = s.execute(select(Case).where(Case.conversation_id == f"tg-{me.id}")).scalars().all()
        assert case.status == "booked" and case.source == "hotline" and case.resident.telegram_user_id == me.id
