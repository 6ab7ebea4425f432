"""委派调解 in a real browser (Debian's Chromium, driven by Playwright): a clerk fills the form,
gets the proposed mediators, delegates, extends the deadline once, and sees the deadline marked
as the court's one clock moves. The desk runs as its own process on a database of this module's own, SQLite then PostgreSQL."""
from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import select

from court.core.clock import FileClock
from court.hotline import accounts
from court.store.db import Database
from court.store.schema import Delegation, OutboxMessage
from stack.processes import Stack
from tests.conftest import _backends, database_copy
from tests.court.mediation.test_delegation import town_with_point
from tests.factories import NOW

PASSWORD = "correct horse battery"
BROWSER = os.environ.get("DESK_TEST_BROWSER")
pytestmark = pytest.mark.skipif(not BROWSER, reason="DESK_TEST_BROWSER not set (bin/test sets it)")


@pytest.fixture(scope="module", params=_backends())
def clerk_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with database_copy(request, tmp_path_factory.mktemp("delegation-e2e")) as db:
        with db.transaction() as s:
            accounts.create_user(s, "clerk.sun", PASSWORD, role="clerk", display_name="孙丽", actor="test")
        yield db


@pytest.fixture(scope="module")
def desk_clock(tmp_path_factory: pytest.TempPathFactory) -> FileClock:
    shared = FileClock(tmp_path_factory.mktemp("delegation-clock") / "now")
    shared.set(NOW)
    return shared


@pytest.fixture(scope="module")
def desk_url(clerk_db: Database, desk_clock: FileClock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    stack = Stack(Path("unused-model"), database_url=clerk_db.url, log_dir=tmp_path_factory.mktemp("delegation-logs"))
    try:
        yield stack.start_desk(extra_env={"DESK_SECRET_KEY": "delegation-browser-test-secret",
                                          "COURT_FAKE_NOW": desk_clock.env})
    finally:
        stack.stop()


def logged_in(browser, desk_url: str):  # type: ignore[no-untyped-def]
    page = browser.new_context().new_page()
    page.goto(f"{desk_url}/delegated/")
    assert "/login" in page.url
    page.fill('input[name="username"]', "clerk.sun")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("登录")')
    page.wait_for_url("**/delegated/")
    return page


def test_a_clerk_delegates_through_the_form_and_extends_the_deadline_once(browser, desk_url, clerk_db, desk_clock):
    with clerk_db.reader() as s:
        town = town_with_point(s)[0].name
    page = logged_in(browser, desk_url)
    assert "还没有委派案件" in page.inner_text("#delegated-list")
    page.click("#new-delegation")
    page.wait_for_url("**/delegated/new")
    for name, value in (("applicant_name", "张三"), ("applicant_phone", "13912345678"), ("respondent_name", "李四"),
                        ("respondent_phone", "13987654321"), ("summary", "借款三万元到期未还"), ("amount", "30000"),
                        ("judge", "王法官"), ("place", town)):
        page.fill(f'[name="{name}"]', value)
    page.select_option('select[name="dispute_type"]', "debt")
    page.select_option('select[name="channel"]', "judge")
    page.check('input[name="consent"]')
    page.click("#propose")
    page.wait_for_selector("#candidates")
    options = page.locator('#candidates input[name="candidate"]')
    assert options.count() >= 2 and options.first.is_checked()
    options.nth(1).check()  # the clerk picks another than the first proposal
    picked = options.nth(1).get_attribute("value")
    page.click("#confirm-delegate")
    page.wait_for_url(re.compile(r".*/delegated/\d+$"))
    assert "已委派" in page.content() and page.inner_text("#status") == "待调解员确认"
    assert "13912345678" in page.inner_text("#parties")  # the case page: whole, for the clerk
    with clerk_db.reader() as s:
        d = s.execute(select(Delegation)).scalar_one()
        assert f"{d.case.service_point_id}:{d.case.mediator_id}" == picked and d.channel == "judge"
        assert s.execute(select(OutboxMessage.recipient_id).where(OutboxMessage.template == "delegation_offer")
                         ).scalar_one() == d.case.mediator_id
        d_id = d.id

    page.fill('input[name="days"]', "10")
    page.fill('#extend input[name="reason"]', "双方同意延长")
    page.click('#extend button')
    page.wait_for_selector("text=期限已延长到1月9日")
    assert "原定12月30日" in page.inner_text("#deadline") and page.locator("#extend").count() == 0

    # The one clock moves to the day before the new last day: the list says so (after a fresh sign-in).
    desk_clock.set(dt.datetime(2027, 1, 8, 9, 0, tzinfo=NOW.tzinfo))
    try:
        page = logged_in(browser, desk_url)
        row = page.inner_text("#delegated-list")
        assert "明天到期" in row and "139****5678" in row and "13912345678" not in row
        page.click(f'a[href="/delegated/{d_id}"]')
        page.wait_for_selector("#delegation")
    finally:
        desk_clock.set(NOW)
