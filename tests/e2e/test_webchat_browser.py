"""The web chat in Debian's Chromium as a resident's phone: 360×740, touch, location
granted at 西岗子镇. The whole booking with a reload in the middle, an agent's live
reply, and two residents at once who never see each other's messages."""
from __future__ import annotations

import time

from sqlalchemy import select

from court.hotline import queue
from court.store.schema import Handoff
from tests.e2e.test_telegram import DESCRIPTION, xigangzi
from tests.e2e.test_webchat import agent
from tests.factories import NOW

PHONE_VIEW = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True, "locale": "zh-CN",
              "user_agent": ("Mozilla/5.0 (Linux; Android 8.1.0; PBAM00) AppleWebKit/537.36 (KHTML, like Gecko) "
                             "Chrome/66.0.3359.126 MQQBrowser/6.2 TBS/045120 Mobile Safari/537.36 "
                             "MicroMessenger/7.0.10.1580(0x27000A34) NetType/WIFI Language/zh_CN")}


def phone(browser, url: str, lat: float, lng: float):  # type: ignore[no-untyped-def]
    context = browser.new_context(**PHONE_VIEW, geolocation={"latitude": lat, "longitude": lng},
                                  permissions=["geolocation"])
    page = context.new_page()
    page.goto(url + "/")
    return page


def answered(page, before: int, expect: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Wait for an answer containing ``expect`` among the messages after the first ``before``."""
    page.wait_for_function(
        "([n, s]) => Array.prototype.slice.call(document.querySelectorAll('.msg'), n)"
        ".some(m => !m.classList.contains('resident') && m.textContent.indexOf(s) >= 0)",
        arg=[before, expect], timeout=timeout * 1000)


def send(page, text: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator(".msg").count()
    page.fill("#text", text)
    page.click("#send")
    answered(page, before, expect)


def tap(page, label: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator(".msg").count()
    page.locator(".buttons").last.get_by_role("button", name=label, exact=True).tap()
    answered(page, before, expect)


def test_a_resident_books_on_a_phone_and_an_agent_answers_live(browser, webchat, stack_db):
    lat, lng = xigangzi(stack_db)
    page = phone(browser, webchat, lat, lng)
    started = time.monotonic()
    page.locator(".msg", has_text="诉前调解助手").first.wait_for(timeout=30000)
    first_render = time.monotonic() - started
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    assert not page.evaluate("Object.keys(localStorage).length + Object.keys(sessionStorage).length")
    assert page.evaluate("document.cookie") == ""  # HttpOnly: the page's script cannot read it
    send(page, DESCRIPTION, "人民调解")
    tap(page, "帮我预约", "同意")
    tap(page, "同意", "称呼")
    send(page, "王桂芝", "手机号")
    assert page.get_attribute("#text", "inputmode") == "tel"
    send(page, "13945612378", "乡镇")
    before = page.locator(".msg").count()
    page.locator("#locate").tap()
    answered(page, before, "哪天")
    # A reload in the middle of the booking loses nothing: the conversation and the form go on.
    before = page.locator(".msg").count()
    page.reload()
    page.locator(".msg", has_text="哪天").last.wait_for(timeout=30000)
    assert page.locator(".msg").count() == before
    send(page, "明天上午", "请选一个时间")
    before = page.locator(".msg").count()
    page.locator(".buttons").last.locator("button").first.tap()
    answered(page, before, "请确认")
    tap(page, "确认", "预约成功")
    pin = page.locator(".venue a").last
    pin.wait_for()
    assert page.locator(".venue a[href^='geo:']").count() >= 1
    page.locator("#show-appts").tap()
    page.locator("#appt-list li", has_text="西岗子").wait_for(timeout=10000)
    # 转人工, then the agent's reply arrives on the open page without a reload.
    send(page, "转人工", "工作人员")
    with stack_db.reader() as s:
        handoff_id = s.execute(select(Handoff.id).where(Handoff.conversation_id.like("web-%"))
                               .order_by(Handoff.id.desc())).scalars().first()
    clerk = agent(stack_db, "browser.agent")
    with stack_db.transaction() as s:
        queue.take(s, handoff_id, clerk, now=NOW)
        queue.reply(s, handoff_id, clerk, "您好，我是12368的李敏，预约已经看到了。", now=NOW)
    page.locator(".msg.push", has_text="李敏").wait_for(timeout=15000)
    assert first_render < 10


def test_two_residents_at_once_never_see_each_other(browser, webchat, stack_db):
    lat, lng = xigangzi(stack_db)
    one, two = phone(browser, webchat, lat, lng), phone(browser, webchat, lat, lng)
    for page in (one, two):
        page.locator(".msg", has_text="诉前调解助手").first.wait_for(timeout=30000)
    send(one, "单位拖欠我三个月工资不给", "劳动")
    send(two, DESCRIPTION, "人民调解")
    assert "拖欠" not in two.inner_text("#log") and "漏水" not in one.inner_text("#log")
